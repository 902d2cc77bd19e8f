"""The program in organization mode: mfa-policy:organization, the org stack, and its errors."""

from __future__ import annotations

import json

import pytest

from conftest import ACCOUNT_ID, ROOT
from mfa_policy import build_policy_document
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.policy.stackset_template import resolve_policy_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.config import OrganizationSettings, read_organization, read_settings
from mfa_policy.program.preview import OfflineMocks, run_program
from mfa_policy.program.project import stack_config

GUARDRAIL = "mfa-policy:index:OrganizationMfaGuardrail"


def run_stack(stack: str):
    project, config = stack_config(ROOT, stack)
    return run_program(ROOT / "__main__.py", config, OfflineMocks(ACCOUNT_ID), project=project, stack=stack)


@pytest.mark.parametrize("stack", sorted(path.name.split(".")[1] for path in ROOT.glob("Pulumi.*.yaml")))
def test_every_stack_file_runs_under_mocks(stack):
    run = run_stack(stack)
    assert run.resources and run.outputs


def test_the_org_stack_builds_one_guardrail():
    run = run_stack("org")
    (guardrail,) = [r for r in run.resources if r.type == GUARDRAIL]
    assert guardrail.name == "require-mfa-organization"
    assert not [r for r in run.resources if r.type.startswith(("aws:iam/", "pulumi:providers"))]
    attachments = sorted(
        r.inputs["targetId"] for r in run.resources if r.type == "aws:organizations/policyAttachment:PolicyAttachment"
    )
    assert attachments == ["444455556666", "ou-a1b2-sandbox01", "ou-a1b2-workload1"]
    (instance,) = [r for r in run.resources if r.type == "aws:cloudformation/stackSetInstance:StackSetInstance"]
    assert instance.inputs["deploymentTargets"] == {"organizationalUnitIds": ["ou-a1b2-workload1", "ou-a1b2-sandbox01"]}
    assert instance.inputs["stackSetInstanceRegion"] == "us-east-1"
    assert json.loads(run.outputs["scpDocument"]) == build_scp_document(max_mfa_age_seconds=43200)
    template = json.loads(run.outputs["stackSetTemplate"])
    assert resolve_policy_document(template, "444455556666", "aws") == build_policy_document(
        "444455556666", max_mfa_age_seconds=43200
    )
    assert [r["Properties"]["GroupName"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Group"] == [
        "administrators",
        "developers",
    ]
    assert run.outputs["stackSetName"] == "require-mfa-organization"
    assert set(run.outputs) == {"scpId", "scpDocument", "stackSetName", "stackSetTemplate"}


def base_config(organization) -> dict[str, str]:
    raw = organization if isinstance(organization, str) else json.dumps(organization)
    return {"mfa-policy:groups": '["admins"]', "mfa-policy:organization": raw}


def test_without_stack_set_only_the_scp():
    config = base_config({"targets": ["111122223333"], "stackSet": False})
    run = run_program(ROOT / "__main__.py", config, OfflineMocks(), project="mfa-policy", stack="t")
    assert not [r for r in run.resources if r.type.startswith("aws:cloudformation")]
    assert run.outputs["stackSetName"] == "" and run.outputs["stackSetTemplate"] == ""


def test_read_organization_defaults():
    assert read_organization({"organization": '{"targets": ["r-ab12"]}'}.get) == OrganizationSettings(("r-ab12",))
    assert read_organization({}.get) is None
    settings = read_settings({"groups": '["a"]', "allowListUsers": "true"}.get)
    args = OrganizationSettings(("r-ab12",), region="eu-west-1").guardrail_args(settings)
    assert args["targets"] == ("r-ab12",) and args["region"] == "eu-west-1" and args["allow_list_users"] is True
    assert "account_id" not in args  # the guardrail names no account; the lockout option passes on


@pytest.mark.parametrize(
    ("organization", "key"),
    [
        ("not json", "mfa-policy:organization"),
        (["r-ab12"], "mfa-policy:organization"),
        ({"stackSet": True}, "mfa-policy:organization.targets"),
        ({"targets": ["r-ab12"], "extra": 1}, "mfa-policy:organization.extra"),
        ({"targets": []}, "mfa-policy:organization.targets"),
        ({"targets": ["x-ab12"]}, "mfa-policy:organization.targets"),
        ({"targets": ["ou-ab12-" + "c" * 33]}, "mfa-policy:organization.targets"),
        ({"targets": ["r-ab12", "r-ab12"]}, "mfa-policy:organization.targets"),
        ({"targets": ["r-ab12"], "stackSet": "yes"}, "mfa-policy:organization.stackSet"),
        ({"targets": ["r-ab12"], "region": "mars"}, "mfa-policy:organization.region"),
        ({"targets": ["r-ab12"], "callAs": "self"}, "mfa-policy:organization.callAs"),
        ({"targets": ["111122223333"]}, "mfa-policy:organization.targets"),  # a StackSet needs an OU
    ],
)
def test_bad_organization_config_registers_nothing(organization, key):
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", base_config(organization), mocks, project="mfa-policy", stack="bad")
    assert raised.value.key == key
    assert str(raised.value).startswith(f"{key}: got ")
    assert mocks.created == [] and mocks.calls == []


@pytest.mark.parametrize(
    ("other", "value"),
    [
        ("accounts", '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"}]'),
        ("accountId", "111122223333"),
    ],
)
def test_organization_with_accounts_or_account_id_names_both_keys(other, value):
    config = {**base_config({"targets": ["r-ab12"]}), f"mfa-policy:{other}": value}
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    message = str(raised.value)
    assert message.startswith("mfa-policy:organization: got ")
    assert f"mfa-policy:{other}" in message
    assert mocks.created == []
