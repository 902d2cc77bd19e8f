"""RequireMfaPolicy under Pulumi mocks: children, invokes, provider, outputs, validation."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from mfa_policy import RequireMfaPolicy, build_policy_document
from mfa_policy.components.require_mfa import DEFAULT_DESCRIPTION, TYPE_TOKEN
from mfa_policy.program.preview import CALLER_IDENTITY_TOKEN, PARTITION_TOKEN

ACCOUNT = "111122223333"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
GROUP = "aws:iam/group:Group"


def resolved(component: RequireMfaPolicy) -> pulumi.Output:
    return pulumi.Output.all(
        component.policy_arn, component.policy_name, component.policy_document, component.group_names
    )


@pulumi.runtime.test
def test_one_policy_and_one_attachment_per_group(pulumi_mocks):
    component = RequireMfaPolicy("require-mfa", {"group_names": ["admins", "developers"]})

    def check(values):
        policies = pulumi_mocks.registered(POLICY)
        attachments = pulumi_mocks.registered(ATTACHMENT)
        assert [p.name for p in policies] == ["require-mfa-policy"]
        assert sorted(a.name for a in attachments) == ["require-mfa-admins", "require-mfa-developers"]
        assert sorted(a.inputs["group"] for a in attachments) == ["admins", "developers"]
        assert {a.inputs["policyArn"] for a in attachments} == {values[0]}
        assert pulumi_mocks.registered("aws:iam/policyAttachment:PolicyAttachment") == []
        assert pulumi_mocks.registered(GROUP) == []
        (component_registration,) = pulumi_mocks.registered(TYPE_TOKEN)
        for child in policies + attachments:
            assert child.parent_urn == component_registration.urn

    return resolved(component).apply(check)


@pulumi.runtime.test
def test_account_and_partition_come_from_the_invokes(pulumi_mocks):
    pulumi_mocks.install("444455556666", partition="aws-cn")
    component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"]})

    def check(values):
        arn, _, document, _ = values
        assert json.loads(document) == build_policy_document("444455556666", "aws-cn")
        assert arn == "arn:aws-cn:iam::444455556666:policy/require-mfa"
        for token in (CALLER_IDENTITY_TOKEN, PARTITION_TOKEN):
            assert len(pulumi_mocks.calls(token)) == 1

    return resolved(component).apply(check)


@pytest.mark.parametrize("option", ["providers", "provider"])
def test_a_provider_passed_to_the_component_decides_the_account(pulumi_mocks, option):
    pulumi_mocks.install(ACCOUNT, provider_accounts={"account-b": "444455556666"})

    @pulumi.runtime.test
    def run():
        provider = aws.Provider("account-b", region="eu-west-1")
        opts = pulumi.ResourceOptions(**{option: [provider] if option == "providers" else provider})
        component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"]}, opts)

        def check(values):
            arn, _, document, _ = values
            assert "arn:aws:iam::444455556666:user/${aws:username}" in document
            assert ACCOUNT not in document
            assert arn.startswith("arn:aws:iam::444455556666:")
            for token in (CALLER_IDENTITY_TOKEN, PARTITION_TOKEN):
                (call,) = pulumi_mocks.calls(token)
                assert "::account-b::" in call.provider
            for resource in pulumi_mocks.registered(POLICY) + pulumi_mocks.registered(ATTACHMENT):
                assert "::account-b::" in resource.provider

        return resolved(component).apply(check)

    run()


@pulumi.runtime.test
def test_account_id_override_skips_the_caller_identity(pulumi_mocks):
    args = {"group_names": ["admins"], "account_id": "999988887777", "allow_enforcing_deployer": True}
    component = RequireMfaPolicy("require-mfa", args)

    def check(values):
        assert json.loads(values[2]) == build_policy_document("999988887777")
        assert pulumi_mocks.calls(CALLER_IDENTITY_TOKEN) == []

    return resolved(component).apply(check)


@pulumi.runtime.test
def test_outputs_and_policy_inputs(pulumi_mocks):
    args = {
        "group_names": ["ops", "admins"],
        "allow_password_change_without_mfa": True,
        "allow_list_users": True,
        "self_service": ["access_keys"],
        "max_mfa_age_seconds": 900,
        "policy_name": "RequireMfa",
        "path": "/security/",
        "description": "Custom.",
        "tags": {"team": "security"},
    }
    component = RequireMfaPolicy("mfa", args)

    def check(values):
        arn, name, document, groups = values
        assert arn == "arn:aws:iam::111122223333:policy/security/RequireMfa"
        assert name == "RequireMfa"
        assert groups == ["ops", "admins"]
        expected = build_policy_document(
            ACCOUNT,
            allow_password_change_without_mfa=True,
            allow_list_users=True,
            self_service=["access_keys"],
            max_mfa_age_seconds=900,
        )
        assert json.loads(document) == expected
        (policy,) = pulumi_mocks.registered(POLICY)
        assert policy.inputs["name"] == "RequireMfa"
        assert policy.inputs["path"] == "/security/"
        assert policy.inputs["description"] == "Custom."
        assert policy.inputs["tags"] == {"team": "security"}
        assert json.loads(policy.inputs["policy"]) == expected

    return resolved(component).apply(check)


@pulumi.runtime.test
def test_defaults(pulumi_mocks):
    component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"]})

    def check(values):
        (policy,) = pulumi_mocks.registered(POLICY)
        assert policy.inputs["name"] == "require-mfa"
        assert policy.inputs["path"] == "/"
        assert policy.inputs["description"] == DEFAULT_DESCRIPTION
        assert "tags" not in policy.inputs
        assert json.loads(values[2]) == build_policy_document(ACCOUNT)

    return resolved(component).apply(check)


@pulumi.runtime.test
def test_create_groups_creates_then_attaches(pulumi_mocks):
    component = RequireMfaPolicy(
        "require-mfa", {"group_names": ["admins", "ops"], "create_groups": True, "path": "/p/"}
    )

    def check(values):
        groups = pulumi_mocks.registered(GROUP)
        assert sorted((g.name, g.inputs["name"], g.inputs["path"]) for g in groups) == [
            ("require-mfa-admins", "admins", "/p/"),
            ("require-mfa-ops", "ops", "/p/"),
        ]
        (component_registration,) = pulumi_mocks.registered(TYPE_TOKEN)
        assert all(g.parent_urn == component_registration.urn for g in groups)
        assert sorted(a.inputs["group"] for a in pulumi_mocks.registered(ATTACHMENT)) == ["admins", "ops"]
        assert values[3] == ["admins", "ops"]

    return resolved(component).apply(check)
