"""Component messages as the caller wrote the call: a wrong call says how to call, an output is
never shown as a Python repr, the lockout names the argument (Python), the config key (the
program) or the schema's input (other languages, through the provider)."""

from __future__ import annotations

import runpy

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.errors import InputPropertyError
from pulumi.output import Output, Unknown

from conftest import ACCOUNT_ID, ROOT
from mfa_policy import OrganizationMfaGuardrail, RequireMfaPolicy
from mfa_policy.components.errors import UserInputError
from mfa_policy.components.organization import TYPE_TOKEN as ORGANIZATION_TOKEN
from mfa_policy.components.require_mfa import TYPE_TOKEN, DeployerLockoutError
from mfa_policy.program.preview import OfflineMocks, run_program

ALICE = f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
ORG_ARGS = {"targets": ["r-ab12"], "group_names": ["admins"]}


@pytest.mark.parametrize("component", [RequireMfaPolicy, OrganizationMfaGuardrail])
@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda c: c("m", ["admins"]), "args"),
        (lambda c: c("m", None), "args"),
        (lambda c: c("m"), "args"),
        (lambda c: c("m", group_names=["admins"]), "group_names"),
    ],
    ids=["positional-list", "none", "nothing", "keywords"],
)
def test_a_wrong_call_is_one_line_saying_how_to_call(pulumi_mocks, component, call, key):
    with pytest.raises(UserInputError) as raised:
        call(component)
    message = str(raised.value)
    assert raised.value.key == key and "\n" not in message
    assert f'the second positional argument: {component.__name__}("m", {{' in message
    assert pulumi_mocks.mocks.created == []


@pytest.mark.parametrize(
    ("component", "args", "key"),
    [
        (RequireMfaPolicy, {"group_names": ["a"], "account_id": Output.from_input("111122223333")}, "account_id"),
        (RequireMfaPolicy, {"group_names": ["a"], "tags": {"team": Output.from_input("x")}}, "tags"),
        (OrganizationMfaGuardrail, {**ORG_ARGS, "region": Output.from_input("us-east-1")}, "region"),
        (OrganizationMfaGuardrail, {**ORG_ARGS, "scp_description": Output.from_input("d")}, "scp_description"),
    ],
)
def test_an_output_is_refused_as_not_known_at_preview_without_a_repr(pulumi_mocks, component, args, key):
    with pytest.raises(UserInputError) as raised:
        component("m", args)
    message = str(raised.value)
    assert raised.value.key == key
    assert "<output>" in message and "known at preview" in message
    assert "object at 0x" not in message


def test_the_organization_guardrail_refuses_group_resources_with_the_reason(pulumi_mocks):
    @pulumi.runtime.test
    def run():
        group = aws.iam.Group("platform-admins", name="admins")
        with pytest.raises(UserInputError) as raised:
            OrganizationMfaGuardrail("org", {**ORG_ARGS, "group_names": [group]})
        message = str(raised.value)
        assert "got [<aws.iam.Group 'platform-admins'>]" in message and "object at 0x" not in message
        assert "lives in the deploying account" in message
        return group.name

    run()


def test_the_programs_lockout_message_names_its_config_key():
    mocks = OfflineMocks(ACCOUNT_ID, caller_arn=ALICE, group_members={"admins": [ALICE]})
    config = {"mfa-policy:groups": '["admins"]'}
    with pytest.raises(DeployerLockoutError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="t")
    assert "confirm with mfa-policy:allowEnforcingDeployer: true;" in str(raised.value)
    assert "allow_enforcing_deployer" not in str(raised.value)


@pytest.fixture(scope="module")
def provider():
    return runpy.run_path(str(ROOT / "provider" / "__main__.py"), run_name="mfa_policy_provider")["provider"]()


def lockout_over_the_provider(provider, token, inputs) -> InputPropertyError:
    """Construct through the provider and await its outputs, as the provider's server does."""
    result = provider.construct("x", token, inputs)

    @pulumi.runtime.test
    def run():
        return pulumi.Output.all(*result.state.values())

    with pytest.raises(InputPropertyError) as raised:
        run()
    return raised.value


def test_over_the_provider_the_lockout_is_an_input_error_naming_the_schema_input(provider, pulumi_mocks):
    pulumi_mocks.install(caller_arn=ALICE, group_members={"admins": [ALICE]})
    error = lockout_over_the_provider(provider, TYPE_TOKEN, {"groupNames": ["admins"]})
    assert error.property_path == "allowEnforcingDeployer"
    assert "confirm with allowEnforcingDeployer: true;" in error.reason
    assert "allow_enforcing_deployer" not in error.reason and "mfa-policy:" not in error.reason


def test_over_the_provider_the_delegated_admin_lockout_too(provider, pulumi_mocks):
    pulumi_mocks.install(caller_arn=ALICE)
    inputs = {"targets": ["r-ab12"], "groupNames": ["admins"], "callAs": "DELEGATED_ADMIN"}
    error = lockout_over_the_provider(provider, ORGANIZATION_TOKEN, inputs)
    assert error.property_path == "allowEnforcingDeployer"
    assert "allowEnforcingDeployer: true" in error.reason


@pytest.mark.parametrize(
    ("token", "inputs", "prop", "words"),
    [
        (TYPE_TOKEN, {"groupNames": ["a"], "createGroup": True}, "createGroup", "(did you mean createGroups?)"),
        (ORGANIZATION_TOKEN, {"targets": ["r-ab12"], "stackset": False}, "stackset", "(did you mean stackSet?)"),
    ],
)
def test_over_the_provider_an_unknown_input_is_refused(provider, pulumi_mocks, token, inputs, prop, words):
    with pytest.raises(InputPropertyError) as raised:
        provider.construct("x", token, inputs)
    assert raised.value.property_path == prop
    assert words in raised.value.reason
    assert pulumi_mocks.mocks.created == []


def secret(value):
    return Output.secret(value)


@pytest.mark.parametrize(
    ("token", "inputs", "prop", "words"),
    [
        (TYPE_TOKEN, {"groupNames": ["a"], "accountId": Unknown()}, "accountId", "accountId must be known at preview"),
        (TYPE_TOKEN, {"groupNames": ["a"], "tags": {"t": Unknown()}}, "tags", "tags must be known at preview"),
        (
            ORGANIZATION_TOKEN,
            {"targets": ["r-ab12"], "stackSet": False, "region": Unknown()},
            "region",
            "region must be known at preview",
        ),
        (
            ORGANIZATION_TOKEN,
            {"targets": ["r-ab12"], "stackSet": False, "scpDescription": Unknown()},
            "scpDescription",
            "scpDescription must be known at preview",
        ),
        (TYPE_TOKEN, {"groupNames": ["a"], "accountId": "secret"}, "accountId", "accountId may not be secret"),
    ],
)
def test_over_the_provider_unknown_or_secret_inputs_say_so(provider, pulumi_mocks, token, inputs, prop, words):
    inputs = {key: secret(value) if value == "secret" else value for key, value in inputs.items()}

    @pulumi.runtime.test
    def run():
        with pytest.raises(InputPropertyError) as raised:
            provider.construct("x", token, inputs)
        assert raised.value.property_path == prop
        assert raised.value.reason.startswith(words)
        assert "got" not in raised.value.reason.split(":")[0]

    run()


@pytest.mark.parametrize(
    ("token", "inputs", "prop", "forbidden"),
    [
        (ORGANIZATION_TOKEN, {"targets": ["111122223333"], "groupNames": ["a"]}, "targets", "stack_set"),
        (ORGANIZATION_TOKEN, {"targets": ["r-ab12"]}, "groupNames", "stack_set"),
        (TYPE_TOKEN, {"groupNames": ["bad name"]}, "groupNames", "aws.iam.Group"),
    ],
)
def test_over_the_provider_messages_use_the_schema_names(provider, pulumi_mocks, token, inputs, prop, forbidden):
    with pytest.raises(InputPropertyError) as raised:
        provider.construct("x", token, inputs)
    assert raised.value.property_path == prop
    assert forbidden not in raised.value.reason and "False" not in raised.value.reason
