"""group_names with aws.iam.Group resources of the same program, and the outputs it refuses."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from mfa_policy import InvalidInputError, RequireMfaPolicy
from mfa_policy.testing import GET_GROUP_TOKEN

ATTACHMENT = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"


def deploy(make_groups):
    results = []

    @pulumi.runtime.test
    def run():
        component = RequireMfaPolicy("require-mfa", {"group_names": make_groups()})
        return component.group_names.apply(results.append)

    run()
    return results[0]


def test_a_group_resource_is_attached_through_its_name_output(pulumi_mocks):
    groups = deploy(lambda: [aws.iam.Group("platform-admins", name="ops-admins")])
    assert groups == ["ops-admins"]
    (attachment,) = pulumi_mocks.registered(ATTACHMENT)
    assert attachment.name == "require-mfa-platform-admins"  # from the logical name, known at preview
    assert attachment.inputs["group"] == "ops-admins"
    assert pulumi_mocks.calls(GET_GROUP_TOKEN) == []  # created here: nobody to lock out yet


def test_resources_and_names_mix(pulumi_mocks):
    groups = deploy(lambda: ["developers", aws.iam.Group("admins", name="admins-2")])
    assert groups == ["developers", "admins-2"]
    assert sorted(a.name for a in pulumi_mocks.registered(ATTACHMENT)) == [
        "require-mfa-admins",
        "require-mfa-developers",
    ]
    assert [call.args["groupName"] for call in pulumi_mocks.calls(GET_GROUP_TOKEN)] == ["developers"]


@pytest.mark.parametrize(
    "make_groups",
    [
        lambda: [aws.iam.Group("admins", name="admins").name],
        lambda: aws.iam.Group("admins", name="admins").name.apply(lambda name: [name]),
        lambda: ["developers", pulumi.Output.from_input("ops")],
    ],
    ids=["name-output-in-list", "list-output", "output-among-names"],
)
def test_an_output_is_refused_saying_what_to_pass(pulumi_mocks, make_groups):
    with pytest.raises(InvalidInputError) as raised:
        deploy(make_groups)
    assert raised.value.key == "group_names"
    assert "group names must be known at preview" in raised.value.allowed
    assert "pass the aws.iam.Group resource itself (group_names=[group], not group.name)" in raised.value.allowed
    assert not pulumi_mocks.registered(ATTACHMENT)


def test_an_unknown_value_says_group_names_must_be_known_at_preview(pulumi_mocks):
    with pytest.raises(InvalidInputError, match="group names must be known at preview"):
        deploy(lambda: ["admins", pulumi.output.Unknown()])


def test_a_logical_name_may_not_repeat_a_name(pulumi_mocks):
    with pytest.raises(InvalidInputError, match="logical name counts as its name"):
        deploy(lambda: ["admins", aws.iam.Group("admins", name="other")])
