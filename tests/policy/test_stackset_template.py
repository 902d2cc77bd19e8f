"""The StackSet template: cfn-lint clean, and after CloudFormation's substitution byte-for-byte
the managed policy of build_policy_document."""

from __future__ import annotations

import itertools
import json

import cfnlint.api
import pytest

from mfa_policy import build_policy_document
from mfa_policy.policy.stackset_template import (
    POLICY_LOGICAL_ID,
    build_stackset_template,
    group_logical_id,
    resolve_policy_document,
    resolve_sub,
)

OPTIONS = [
    {},
    {"allow_password_change_without_mfa": True, "self_service": ["access_keys"]},
    {"allow_list_users": True, "max_mfa_age_seconds": 43200, "self_service": []},
    {"allow_password_change_without_mfa": True, "allow_list_users": True, "max_mfa_age_seconds": 900},
]
ACCOUNTS = [("444455556666", "aws"), ("777788889999", "aws-cn"), ("123456789012", "aws-us-gov")]


def lint(template) -> list[str]:
    return [str(match) for match in cfnlint.api.lint(json.dumps(template), regions=["us-east-1"])]


@pytest.mark.parametrize("create_groups", [False, True])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_cfn_lint_reports_nothing(options, create_groups):
    template = build_stackset_template(
        ["admins", "dev-admins"], create_groups=create_groups, description="Require MFA.", **options
    )
    assert lint(template) == []


def test_cfn_lint_can_fail():
    template = build_stackset_template(["admins"])
    template["Resources"][POLICY_LOGICAL_ID]["Properties"]["Groups"] = [{"Ref": "NoSuchGroup"}]
    assert lint(template)


@pytest.mark.parametrize(("options", "account"), list(itertools.product(OPTIONS, ACCOUNTS)), ids=str)
def test_the_deployed_document_is_byte_for_byte_the_builders(options, account):
    account_id, partition = account
    template = json.loads(json.dumps(build_stackset_template(["admins"], **options)))  # as CloudFormation reads it
    resolved = resolve_policy_document(template, account_id, partition)
    expected = build_policy_document(account_id, partition, **options)
    assert json.dumps(resolved, indent=2) == json.dumps(expected, indent=2)
    assert json.dumps(resolved, separators=(",", ":")) == json.dumps(expected, separators=(",", ":"))


def test_policy_variables_are_escaped_and_only_there():
    text = json.dumps(build_stackset_template(["admins"]))
    assert "${!aws:username}" in text
    assert "${aws:username}" not in text  # CloudFormation would try to resolve it
    assert "000000000000" not in text  # no placeholder left
    # Every ${...} CloudFormation resolves is a pseudo parameter it knows.
    for piece in text.split("${")[1:]:
        assert piece.startswith(("!", "AWS::Partition}", "AWS::AccountId}")), piece


def test_resolve_sub_does_what_cloudformation_does():
    value = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${!aws:username}"}
    assert resolve_sub(value, {"AWS::Partition": "aws", "AWS::AccountId": "1"}) == "arn:aws:iam::1:user/${aws:username}"
    with pytest.raises(KeyError):
        resolve_sub({"Fn::Sub": "${AWS::Region}"}, {})


def test_existing_groups_by_name():
    template = build_stackset_template(["admins", "ops"], policy_name="RequireMfa", path="/security/")
    policy = template["Resources"][POLICY_LOGICAL_ID]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    assert policy["Properties"]["Groups"] == ["admins", "ops"]
    assert policy["Properties"]["ManagedPolicyName"] == "RequireMfa"
    assert policy["Properties"]["Path"] == "/security/"
    assert list(template["Resources"]) == [POLICY_LOGICAL_ID]


def test_created_groups_are_referenced():
    template = build_stackset_template(["dev-admins", "devadmins"], create_groups=True, path="/p/")
    ids = [group_logical_id("dev-admins"), group_logical_id("devadmins")]
    assert ids[0] != ids[1] and all(i.isalnum() for i in ids)
    for logical_id, name in zip(ids, ["dev-admins", "devadmins"], strict=True):
        assert template["Resources"][logical_id] == {
            "Type": "AWS::IAM::Group",
            "Properties": {"GroupName": name, "Path": "/p/"},
        }
    assert template["Resources"][POLICY_LOGICAL_ID]["Properties"]["Groups"] == [{"Ref": i} for i in ids]


def test_deterministic():
    assert json.dumps(build_stackset_template(["a", "b"], create_groups=True)) == json.dumps(
        build_stackset_template(["a", "b"], create_groups=True)
    )
