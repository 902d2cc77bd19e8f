"""The deployer must not lock themselves out: the component's check before creating anything."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from conftest import ACCOUNT_ID
from mfa_policy import RequireMfaPolicy
from mfa_policy.components.require_mfa import DeployerLockoutError, check_deployer_not_enforced
from mfa_policy.program.preview import GET_GROUP_TOKEN

ALICE = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
ALICE_WITH_PATH = f"arn:aws:iam::{ACCOUNT_ID}:user/team/alice"
BOB = f"arn:aws:iam::{ACCOUNT_ID}:user/bob"
ROLE = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/deploy/session"
MEMBERS = {"admins": [ALICE, ALICE_WITH_PATH], "ops": [BOB]}
AWS_TYPES = ("aws:iam/policy:Policy", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")


def deploy(args, opts=None):
    @pulumi.runtime.test
    def run():
        component = RequireMfaPolicy("require-mfa", args, opts)
        return pulumi.Output.all(component.policy_arn, component.group_names)

    run()


def created_aws_resources(pulumi_mocks):
    return [name for type_, name in pulumi_mocks.mocks.created if type_ in AWS_TYPES]


@pytest.mark.parametrize("caller", [ALICE, ALICE_WITH_PATH])
def test_an_enforced_iam_user_is_stopped_before_anything_is_created(pulumi_mocks, caller):
    pulumi_mocks.install(caller_arn=caller, group_members=MEMBERS)
    with pytest.raises(DeployerLockoutError) as raised:
        deploy({"group_names": ["ops", "admins"]})
    message = str(raised.value)
    assert f"IAM user {caller}, a member of 'admins'" in message
    assert "deploy as a role" in message
    assert "aws sts get-session-token" in message
    # A Python user is told the argument, not this repository's config key.
    assert "confirm with allow_enforcing_deployer=True;" in message and "mfa-policy:" not in message
    assert created_aws_resources(pulumi_mocks) == []


def test_the_members_of_every_target_group_are_looked_up(pulumi_mocks):
    pulumi_mocks.install(caller_arn=BOB, group_members=MEMBERS)
    with pytest.raises(DeployerLockoutError, match="a member of 'ops'"):
        deploy({"group_names": ["admins", "ops"]})
    assert sorted(call.args["groupName"] for call in pulumi_mocks.calls(GET_GROUP_TOKEN)) == ["admins", "ops"]


def test_a_user_outside_the_groups_proceeds(pulumi_mocks):
    pulumi_mocks.install(caller_arn=f"arn:aws:iam::{ACCOUNT_ID}:user/carol", group_members=MEMBERS)
    deploy({"group_names": ["admins", "ops"]})
    assert len(created_aws_resources(pulumi_mocks)) == 3


@pytest.mark.parametrize(
    "caller",
    [ROLE, f"arn:aws:iam::{ACCOUNT_ID}:root", f"arn:aws:sts::{ACCOUNT_ID}:federated-user/alice"],
    ids=["assumed-role", "root", "federated"],
)
def test_roles_and_other_principals_are_never_blocked(pulumi_mocks, caller):
    pulumi_mocks.install(caller_arn=caller, group_members={"admins": [ALICE, caller]})
    deploy({"group_names": ["admins"]})
    assert len(created_aws_resources(pulumi_mocks)) == 2


def test_allow_enforcing_deployer_proceeds_without_looking(pulumi_mocks):
    pulumi_mocks.install(caller_arn=ALICE, group_members=MEMBERS)
    deploy({"group_names": ["admins"], "allow_enforcing_deployer": True})
    assert len(created_aws_resources(pulumi_mocks)) == 2
    assert pulumi_mocks.calls(GET_GROUP_TOKEN) == []


def test_groups_the_component_creates_are_not_looked_up(pulumi_mocks):
    pulumi_mocks.install(caller_arn=ALICE, group_members=MEMBERS)
    deploy({"group_names": ["admins"], "create_groups": True})
    assert pulumi_mocks.calls(GET_GROUP_TOKEN) == []


def test_the_lookups_go_through_the_components_provider(pulumi_mocks):
    pulumi_mocks.install(caller_arn=ROLE, group_members=MEMBERS)

    @pulumi.runtime.test
    def run():
        provider = aws.Provider("account-b", region="eu-west-1")
        component = RequireMfaPolicy(
            "require-mfa", {"group_names": ["admins"]}, pulumi.ResourceOptions(providers=[provider])
        )
        return component.policy_arn

    run()
    (call,) = pulumi_mocks.calls(GET_GROUP_TOKEN)
    assert "::account-b::" in call.provider


def test_check_deployer_not_enforced_is_exact_about_arns():
    check_deployer_not_enforced("c", f"arn:aws:iam::{ACCOUNT_ID}:user/alic", MEMBERS)  # a prefix is not a match
    check_deployer_not_enforced("c", ROLE, {"admins": [ROLE]})
    with pytest.raises(DeployerLockoutError, match="'admins'"):
        check_deployer_not_enforced("c", ALICE, MEMBERS)


def test_lookups_wait_for_the_callers_depends_on(pulumi_mocks):
    pulumi_mocks.install(caller_arn=ROLE)

    @pulumi.runtime.test
    def run():
        group = aws.iam.Group("made-here", name="made-here")
        component = RequireMfaPolicy(
            "require-mfa", {"group_names": ["made-here"]}, pulumi.ResourceOptions(depends_on=[group])
        )
        return component.policy_arn

    run()
    events = pulumi_mocks.mocks.events
    assert events.index("made-here") < events.index(GET_GROUP_TOKEN)


# OrganizationMfaGuardrail: a delegated administrator is a member account the SCP may cover ------

ORG_TYPES = (
    "aws:organizations/policy:Policy",
    "aws:organizations/policyAttachment:PolicyAttachment",
    "aws:cloudformation/stackSet:StackSet",
    "aws:cloudformation/stackSetInstance:StackSetInstance",
)
ORG_ARGS = {"targets": ["r-ab12"], "group_names": ["admins"]}


def deploy_guardrail(args):
    from mfa_policy import OrganizationMfaGuardrail

    @pulumi.runtime.test
    def run():
        guardrail = OrganizationMfaGuardrail("org", args)
        return pulumi.Output.all(guardrail.scp_id, guardrail.stack_set_name)

    run()


def created_org_resources(pulumi_mocks):
    return [type_ for type_, _ in pulumi_mocks.mocks.created if type_ in ORG_TYPES]


def test_an_iam_user_deploying_as_delegated_admin_is_stopped_before_anything_is_created(pulumi_mocks):
    pulumi_mocks.install(caller_arn=ALICE)
    with pytest.raises(DeployerLockoutError) as raised:
        deploy_guardrail({**ORG_ARGS, "call_as": "DELEGATED_ADMIN"})
    assert raised.value.args[0].startswith(f"OrganizationMfaGuardrail 'org': you are deploying as the IAM user {ALICE}")
    assert isinstance(raised.value, pulumi.RunError)
    assert created_org_resources(pulumi_mocks) == []


@pytest.mark.parametrize(
    ("caller", "extra"),
    [
        (ALICE, {"call_as": "SELF"}),  # SCPs never apply to the management account
        (ALICE, {"call_as": "DELEGATED_ADMIN", "allow_enforcing_deployer": True}),
        (ROLE, {"call_as": "DELEGATED_ADMIN"}),  # roles are untouched by the SCP
    ],
    ids=["management-account", "allowed", "role"],
)
def test_the_guardrail_proceeds_when_the_deployer_is_safe_or_says_so(pulumi_mocks, caller, extra):
    pulumi_mocks.install(caller_arn=caller)
    deploy_guardrail({**ORG_ARGS, **extra})
    assert len(created_org_resources(pulumi_mocks)) == 4
