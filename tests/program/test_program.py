"""The program (__main__.py) for each stack, run under mocks with the stack's config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pulumi
import pytest

from conftest import ACCOUNT_ID, ROOT
from mfa_policy import DeployerLockoutError, build_policy_document, check_python
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.preview import OfflineMocks, run_program
from mfa_policy.program.project import stack_config

ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"


def run_stack(stack: str, directory=ROOT, account_id: str = ACCOUNT_ID):
    project, config = stack_config(directory, stack)
    return run_program(directory / "__main__.py", config, OfflineMocks(account_id), project=project, stack=stack)


def test_dev_stack_exports():
    run = run_stack("dev")
    assert run.outputs["policyName"] == "require-mfa-dev"
    assert run.outputs["policyArn"] == f"arn:aws:iam::{ACCOUNT_ID}:policy/require-mfa-dev"
    assert run.outputs["groups"] == ["developers", "dev-admins"]
    expected = build_policy_document(ACCOUNT_ID, allow_password_change_without_mfa=True, allow_list_users=True)
    assert json.loads(run.outputs["policyDocument"]) == expected
    assert sorted(r.name for r in run.resources if r.type == "aws:iam/group:Group") == [
        "require-mfa-dev-admins",
        "require-mfa-developers",
    ]


def test_prod_stack_exports():
    run = run_stack("prod")
    assert run.outputs["policyName"] == "require-mfa"
    assert run.outputs["groups"] == ["administrators", "operators", "read-only"]
    expected = build_policy_document(ACCOUNT_ID, self_service=["password", "access_keys"], max_mfa_age_seconds=43200)
    assert json.loads(run.outputs["policyDocument"]) == expected
    assert not [r for r in run.resources if r.type == "aws:iam/group:Group"]
    assert len([r for r in run.resources if r.type == ATTACHMENT]) == 3


def test_stacks_differ():
    assert run_stack("dev").outputs["policyDocument"] != run_stack("prod").outputs["policyDocument"]


@pytest.fixture
def project_copy(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("mfa-policy:createGroups: yes", "mfa-policy:createGroups"),
        ("mfa-policy:maxMfaAgeSeconds: -60", "mfa-policy:maxMfaAgeSeconds"),
        ("mfa-policy:selfService: password", "mfa-policy:selfService"),
        ("mfa-policy:accountId: '12345'", "mfa-policy:accountId"),
    ],
)
def test_a_bad_config_value_fails_naming_its_key(project_copy, line, key):
    (project_copy / "Pulumi.bad.yaml").write_text(f"config:\n  mfa-policy:groups: [admins]\n  {line}\n")
    with pytest.raises(InvalidInputError, match=f"^{key}: got "):
        run_stack("bad", project_copy)


def test_a_bad_config_value_registers_nothing(project_copy):
    (project_copy / "Pulumi.bad.yaml").write_text("config:\n  mfa-policy:groups: [admins, 'bad name']\n")
    project, config = stack_config(project_copy, "bad")
    mocks = OfflineMocks(ACCOUNT_ID)
    with pytest.raises(InvalidInputError, match=r"^mfa-policy:groups: got "):
        run_program(project_copy / "__main__.py", config, mocks, project=project, stack="bad")
    assert mocks.calls == []
    assert mocks.created == []


ORG_ACCOUNTS = [
    {"name": "prod", "roleArn": "arn:aws:iam::444455556666:role/mfa-deployer"},
    {"name": "sandbox", "roleArn": "arn:aws:iam::777788889999:role/mfa-deployer", "region": "us-west-2"},
]


def run_accounts(accounts, region="eu-west-1"):
    config = {
        "mfa-policy:groups": '["admins", "developers"]',
        "mfa-policy:accounts": json.dumps(accounts),
    }
    if region:
        config["aws:region"] = region
    mocks = OfflineMocks(ACCOUNT_ID)
    run = run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="org")
    return run, mocks


def test_one_provider_and_one_component_per_account():
    run, _ = run_accounts(ORG_ACCOUNTS)
    providers = {r.name: r for r in run.resources if r.type == "pulumi:providers:aws"}
    assert set(providers) == {"require-mfa-prod", "require-mfa-sandbox"}
    assert json.loads(providers["require-mfa-prod"].inputs["assumeRoles"])[0]["roleArn"] == ORG_ACCOUNTS[0]["roleArn"]
    assert providers["require-mfa-prod"].inputs["region"] == "eu-west-1"  # the stack's aws:region
    assert providers["require-mfa-sandbox"].inputs["region"] == "us-west-2"  # the entry's own
    components = sorted(r.name for r in run.resources if r.type == "mfa-policy:index:RequireMfaPolicy")
    assert components == ["require-mfa-prod", "require-mfa-sandbox"]
    for resource in run.resources:
        if resource.type.startswith("aws:iam/"):
            account = resource.name.split("-")[2]  # require-mfa-<account>-...
            assert f"::require-mfa-{account}::" in resource.provider, resource.name


def test_every_policy_names_its_own_account():
    run, mocks = run_accounts(ORG_ACCOUNTS)
    exported = run.outputs["accounts"]
    assert set(exported) == {"prod", "sandbox"}
    for name, account, other in (("prod", "444455556666", "777788889999"), ("sandbox", "777788889999", "444455556666")):
        document = json.loads(exported[name]["policyDocument"])
        assert document == build_policy_document(account)
        assert exported[name]["policyArn"] == f"arn:aws:iam::{account}:policy/require-mfa"
        assert exported[name]["accountId"] == account
        assert other not in exported[name]["policyDocument"] and ACCOUNT_ID not in exported[name]["policyDocument"]
        assert exported[name]["groups"] == ["admins", "developers"]
    # The answers came from the caller-identity invoke made through each account's provider.
    identities = [call for call in mocks.calls if call.token.endswith("getCallerIdentity")]
    assert sorted(call.provider.split("::")[3] for call in identities) == ["require-mfa-prod", "require-mfa-sandbox"]


def test_region_defaults_to_us_east_1_without_aws_region():
    run, _ = run_accounts(ORG_ACCOUNTS[:1], region=None)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "us-east-1"


def test_without_accounts_no_provider_is_created():
    run = run_stack("prod")
    assert not [r for r in run.resources if r.type == "pulumi:providers:aws"]
    assert "accounts" not in run.outputs


# Errors a user causes reach Pulumi as a pulumi.RunError, which it prints as one clean line.


def test_a_bad_config_value_is_a_run_error_with_the_clean_message(project_copy):
    (project_copy / "Pulumi.bad.yaml").write_text(
        "config:\n  mfa-policy:groups: [admins]\n  mfa-policy:createGroups: yes\n"
    )
    with pytest.raises(pulumi.RunError) as raised:
        run_stack("bad", project_copy)
    assert str(raised.value) == "mfa-policy:createGroups: got 'yes'; expected true or false."


def test_the_lockout_check_is_a_run_error_with_the_clean_message():
    alice = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
    mocks = OfflineMocks(ACCOUNT_ID, caller_arn=alice, group_members={"admins": [alice]})
    config = {"mfa-policy:groups": '["admins"]'}
    with pytest.raises(pulumi.RunError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="dev")
    assert isinstance(raised.value, DeployerLockoutError)
    assert str(raised.value).startswith(f"RequireMfaPolicy 'require-mfa': you are deploying as the IAM user {alice}")
    assert "\n" not in str(raised.value)


OLD_PYTHON = "import sys; sys.version_info = (3, 10, 14, 'final', 0); "


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)


def test_python_3_10_is_told_which_version_it_needs():
    with pytest.raises(ImportError, match=r"^mfa-policy needs Python 3.11 or later; this is Python 3.10$"):
        check_python((3, 10, 14))
    check_python((3, 11, 0))
    check_python((4, 0))
    completed = run_python(OLD_PYTHON + "import mfa_policy")
    assert completed.returncode == 1
    assert (
        completed.stderr.splitlines()[-1] == "ImportError: mfa-policy needs Python 3.11 or later; this is Python 3.10"
    )


def test_the_program_on_python_3_10_fails_with_a_run_error():
    completed = run_python("import pulumi, runpy; " + OLD_PYTHON + "runpy.run_path('__main__.py')")
    assert completed.returncode == 1
    last = completed.stderr.splitlines()[-1]
    assert last == "pulumi.errors.RunError: mfa-policy needs Python 3.11 or later; this is Python 3.10"
