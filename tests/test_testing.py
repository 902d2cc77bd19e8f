"""mfa_policy.testing: the mocks a consumer's tests use, and what happens without them."""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.settings import set_root_resource

from mfa_policy import RequireMfaPolicy, build_policy_document
from mfa_policy.components.errors import UnansweredInvokeError
from mfa_policy.program.preview import OfflineMocks
from mfa_policy.testing import CALLER_IDENTITY_TOKEN, GET_GROUP_TOKEN, INVOKES, PARTITION_TOKEN, Mocks

ACCOUNT = "111122223333"


class MinimalMocks(pulumi.runtime.Mocks):
    """Pulumi's documented minimal mocks: every call answers {}, every resource echoes its inputs."""

    def call(self, args: MockCallArgs):
        return {}

    def new_resource(self, args: MockResourceArgs):
        return f"{args.name}-id", args.inputs


class AnswersAllBut(Mocks):
    """mfa_policy.testing.Mocks extended the documented way, leaving one invoke unanswered."""

    def __init__(self, unanswered: str) -> None:
        super().__init__(ACCOUNT)
        self.unanswered = unanswered

    def call(self, args: MockCallArgs):
        if args.token == self.unanswered:
            return {}
        return super().call(args)


def use(mocks: pulumi.runtime.Mocks) -> None:
    set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, preview=False)


def deploy(args):
    @pulumi.runtime.test
    def run():
        component = RequireMfaPolicy("require-mfa", args)
        return pulumi.Output.all(component.policy_arn, component.policy_document, component.group_names)

    return run()


def test_there_is_one_implementation():
    assert OfflineMocks is Mocks
    assert set(INVOKES) == {CALLER_IDENTITY_TOKEN, PARTITION_TOKEN, GET_GROUP_TOKEN}


def test_a_consumer_test_with_the_ready_mocks(pulumi_mocks):
    use(Mocks(ACCOUNT, group_members={"admins": [f"arn:aws:iam::{ACCOUNT}:user/alice"]}))
    results = []

    @pulumi.runtime.test
    def run():
        component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"]})
        return pulumi.Output.all(component.policy_arn, component.policy_document).apply(results.append)

    run()
    ((arn, document),) = results
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/require-mfa"
    assert json.loads(document) == build_policy_document(ACCOUNT)


def test_minimal_mocks_get_a_message_naming_the_unanswered_invoke(pulumi_mocks):
    use(MinimalMocks())
    with pytest.raises(UnansweredInvokeError) as raised:
        deploy({"group_names": ["admins"]})
    message = str(raised.value)
    assert "was not answered" in message and "mfa_policy.testing.Mocks" in message
    assert "got None" not in message
    assert isinstance(raised.value, pulumi.RunError)


@pytest.mark.parametrize(
    ("token", "invoke", "field"),
    [
        (CALLER_IDENTITY_TOKEN, "aws.get_caller_identity", "accountId"),  # or arn: whichever comes first
        (PARTITION_TOKEN, "aws.get_partition", "partition"),
        (GET_GROUP_TOKEN, "aws.iam.get_group", "users"),
    ],
)
def test_each_unanswered_invoke_is_named(pulumi_mocks, token, invoke, field):
    use(AnswersAllBut(token))
    with pytest.raises(UnansweredInvokeError) as raised:
        deploy({"group_names": ["admins"]})
    if token == CALLER_IDENTITY_TOKEN:
        field = raised.value.field
        assert field in ("accountId", "arn")
    assert str(raised.value) == (
        f"RequireMfaPolicy 'require-mfa': {invoke} was not answered (no {field!r} in its result); "
        "under Pulumi's mocks every invoke a component makes must be answered: "
        "use mfa_policy.testing.Mocks in pulumi.runtime.set_mocks, "
        "or subclass it and call super().call(args) for the invokes you do not answer."
    )


def test_the_caller_arn_is_checked_too(pulumi_mocks):
    class NoArn(Mocks):
        def call(self, args: MockCallArgs):
            answer, secrets = super().call(args)
            if args.token == CALLER_IDENTITY_TOKEN:
                answer = {key: value for key, value in answer.items() if key != "arn"}
            return answer, secrets

    use(NoArn(ACCOUNT))
    with pytest.raises(UnansweredInvokeError, match=r"aws.get_caller_identity was not answered \(no 'arn'"):
        deploy({"group_names": ["admins"]})


def test_the_organization_guardrail_names_itself_when_an_invoke_is_unanswered(pulumi_mocks):
    from mfa_policy import OrganizationMfaGuardrail

    use(MinimalMocks())

    @pulumi.runtime.test
    def run():
        guardrail = OrganizationMfaGuardrail("org", {"targets": ["r-ab12"], "stack_set": False})
        return guardrail.scp_document

    with pytest.raises(UnansweredInvokeError) as raised:
        run()
    assert str(raised.value).startswith("OrganizationMfaGuardrail 'org': aws.get_partition was not answered")
