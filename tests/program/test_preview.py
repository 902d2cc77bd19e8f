"""``python -m mfa_policy preview``: the offline preview of a stack."""

from __future__ import annotations

import json
import shutil

from conftest import ROOT
from mfa_policy import build_policy_document
from mfa_policy.cli import main
from mfa_policy.program.preview import PLACEHOLDER_ACCOUNT_ID
from mfa_policy.program.project import partition_for_region


def test_dev_preview_text_lists_every_resource_and_the_document(capsys):
    assert main(["preview", "--stack", "dev", "--cwd", str(ROOT), "--account-id", "111122223333"]) == 0
    out = capsys.readouterr().out
    assert "nothing was sent to AWS" in out
    assert "account: 111122223333\n" in out
    for line in (
        "+ mfa-policy:index:RequireMfaPolicy  require-mfa\n",
        "+ aws:iam/policy:Policy  require-mfa-policy  (parent: require-mfa)",
        "+ aws:iam/group:Group  require-mfa-developers  (parent: require-mfa)",
        "+ aws:iam/groupPolicyAttachment:GroupPolicyAttachment  require-mfa-dev-admins  (parent: require-mfa)",
        "      policyArn: arn:aws:iam::111122223333:policy/require-mfa-dev",
        '  groups: ["developers", "dev-admins"]',
    ):
        assert line in out
    document = json.loads(out.split("Policy document (output policyDocument):\n", 1)[1])
    assert document == build_policy_document(
        "111122223333", allow_password_change_without_mfa=True, allow_list_users=True
    )


def test_preview_without_account_labels_the_placeholder(capsys):
    assert main(["preview", "--cwd", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert f"account: {PLACEHOLDER_ACCOUNT_ID} (placeholder" in out


def test_preview_json(capsys):
    assert main(["preview", "--stack", "prod", "--cwd", str(ROOT), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accountIsPlaceholder"] is True
    assert [(r["type"], r["name"], r["parent"]) for r in report["resources"]] == [
        ("mfa-policy:index:RequireMfaPolicy", "require-mfa", None),
        ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "require-mfa-administrators", "require-mfa"),
        ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "require-mfa-operators", "require-mfa"),
        ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "require-mfa-read-only", "require-mfa"),
        ("aws:iam/policy:Policy", "require-mfa-policy", "require-mfa"),
    ]
    assert report["outputs"]["groups"] == ["administrators", "operators", "read-only"]
    assert report["policyDocument"]["Statement"][-1]["Sid"] == "DenyMfaBootstrapOnOtherUsersWhenMfaIsOlderThanMaxAge"


def test_stack_account_id_is_used(tmp_path, capsys):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "Pulumi.acct.yaml").write_text(
        "config:\n  aws:region: cn-north-1\n  mfa-policy:groups: [a]\n  mfa-policy:accountId: '444455556666'\n"
    )
    assert main(["preview", "--stack", "acct", "--cwd", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "account: 444455556666\n" in out
    assert "partition: aws-cn" in out
    assert "arn:aws-cn:iam::444455556666:policy/require-mfa" in out


def test_config_error_exits_non_zero_with_its_message(tmp_path, capsys):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  mfa-policy:groups: [a]\n  mfa-policy:allowListUsers: yes\n")
    assert main(["preview", "--stack", "bad", "--cwd", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: mfa-policy:allowListUsers: got 'yes'; expected true or false.\n"


def test_missing_required_key_and_missing_stack(tmp_path, capsys):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "Pulumi.empty.yaml").write_text("config: {}\n")
    assert main(["preview", "--stack", "empty", "--cwd", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Stack 'empty' is missing configuration value 'groups'; set mfa-policy:groups in Pulumi.empty.yaml" in err
    assert "Pulumi.empty.yaml: IAM groups whose members must use MFA" in err
    assert main(["preview", "--stack", "nope", "--cwd", str(tmp_path)]) == 2
    assert "stack 'nope' has no config file" in capsys.readouterr().err


def test_partition_follows_the_region():
    assert partition_for_region("cn-northwest-1") == "aws-cn"
    assert partition_for_region("us-gov-west-1") == "aws-us-gov"
    assert partition_for_region("eu-west-1") == "aws"
    assert partition_for_region(None) == "aws"


def test_a_run_leaves_no_event_loop_open():
    # The mock engine's worker threads each get an event loop; one left open is closed only at
    # interpreter exit, which prints "Exception ignored ... Invalid file descriptor" after output.
    import asyncio
    import gc

    from mfa_policy.program.preview import OfflineMocks, run_program
    from mfa_policy.program.project import stack_config

    def open_loops() -> set[int]:
        gc.collect()
        found = set()
        for candidate in gc.get_objects():
            try:
                if isinstance(candidate, asyncio.BaseEventLoop) and not candidate.is_closed():
                    found.add(id(candidate))
            except ReferenceError:  # a dead weak proxy (older libraries leave some)
                continue
        return found

    before = open_loops()  # other tests' loops are theirs to close
    project, config = stack_config(ROOT, "dev")
    run_program(ROOT / "__main__.py", config, OfflineMocks(), project=project, stack="dev")
    assert open_loops() - before == set()
