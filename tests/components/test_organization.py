"""OrganizationMfaGuardrail under Pulumi mocks: the SCP, its attachments, the StackSet, validation."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from mfa_policy import OrganizationMfaGuardrail, build_policy_document
from mfa_policy.components.organization import DEFAULT_SCP_DESCRIPTION, TYPE_TOKEN
from mfa_policy.components.require_mfa import DEFAULT_DESCRIPTION
from mfa_policy.policy.scp import build_scp_document, scp_json
from mfa_policy.policy.stackset_template import build_stackset_template, resolve_policy_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.preview import PARTITION_TOKEN

SCP = "aws:organizations/policy:Policy"
SCP_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
STACK_SET = "aws:cloudformation/stackSet:StackSet"
INSTANCE = "aws:cloudformation/stackSetInstance:StackSetInstance"
ROOT, OU_A, OU_B, ACCOUNT = "r-ab12", "ou-ab12-cd34ef56", "ou-ab12-99998888", "444455556666"


def deploy(name: str, args, provider: dict | None = None) -> list:
    """Build the component under the mocks, wait until every child is registered, return its outputs.

    The attachments and the stack instance wait on other resources, so they can register after the
    outputs resolve: the assertions run once the whole program has settled.
    """
    resolved: list = []

    @pulumi.runtime.test
    def program():
        options = None
        if provider is not None:  # {option name: how to pass the provider}, built inside the program
            management = aws.Provider("management", region="cn-north-1")
            options = pulumi.ResourceOptions(**{key: wrap(management) for key, wrap in provider.items()})
        component = OrganizationMfaGuardrail(name, args, options)
        return pulumi.Output.all(
            component.scp_id, component.scp_document, component.stack_set_name, component.stack_set_template
        ).apply(resolved.extend)

    program()
    assert len(resolved) == 4
    return resolved


def test_an_scp_one_attachment_per_target_and_a_stack_set(pulumi_mocks):
    args = {"targets": [ROOT, OU_A, ACCOUNT], "group_names": ["admins", "ops"]}
    values = deploy("guardrail", args)
    scp_id, document, stack_set_name, template = values
    (scp,) = pulumi_mocks.registered(SCP)
    assert scp.name == "guardrail-scp"
    assert scp.inputs["type"] == "SERVICE_CONTROL_POLICY"
    assert scp.inputs["name"] == "guardrail"
    assert scp.inputs["description"] == DEFAULT_SCP_DESCRIPTION
    assert scp.inputs["content"] == document == scp_json(build_scp_document())
    assert "\n" not in document and ": " not in document  # minified: AWS counts white space
    attachments = pulumi_mocks.registered(SCP_ATTACHMENT)
    assert sorted((a.name, a.inputs["targetId"]) for a in attachments) == [
        (f"guardrail-{ACCOUNT}", ACCOUNT),
        (f"guardrail-{OU_A}", OU_A),
        (f"guardrail-{ROOT}", ROOT),
    ]
    assert {a.inputs["policyId"] for a in attachments} == {scp_id}
    (stack_set,) = pulumi_mocks.registered(STACK_SET)
    assert stack_set.name == "guardrail-stackset"
    assert stack_set.inputs["name"] == stack_set_name == "guardrail"
    assert stack_set.inputs["permissionModel"] == "SERVICE_MANAGED"
    assert stack_set.inputs["autoDeployment"] == {"enabled": True, "retainStacksOnAccountRemoval": False}
    assert stack_set.inputs["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set.inputs["callAs"] == "SELF"
    assert stack_set.inputs["templateBody"] == template
    assert json.loads(template) == build_stackset_template(
        ["admins", "ops"], policy_name="guardrail", description=DEFAULT_DESCRIPTION
    )
    (instance,) = pulumi_mocks.registered(INSTANCE)
    assert instance.name == "guardrail-stackset-instance"
    assert instance.inputs["stackSetName"] == "guardrail"
    # The root and the OU; the account target gets the SCP only.
    assert instance.inputs["deploymentTargets"] == {"organizationalUnitIds": [ROOT, OU_A]}
    assert instance.inputs["callAs"] == "SELF"
    assert "stackSetInstanceRegion" not in instance.inputs  # the provider's region
    (registration,) = pulumi_mocks.registered(TYPE_TOKEN)
    for child in [scp, stack_set, instance, *attachments]:
        assert child.parent_urn == registration.urn, child.name


def test_the_stack_set_deploys_the_same_policy_as_require_mfa_policy(pulumi_mocks):
    options = {"allow_password_change_without_mfa": True, "self_service": ["access_keys"], "max_mfa_age_seconds": 900}
    values = deploy("g", {"targets": [OU_A], "group_names": ["admins"], **options})
    template = json.loads(values[3])
    resolved = resolve_policy_document(template, "777788889999", "aws")
    assert json.dumps(resolved) == json.dumps(build_policy_document("777788889999", **options))
    assert json.loads(values[1]) == build_scp_document(allow_password_change_without_mfa=True, max_mfa_age_seconds=900)


def test_options_region_call_as_and_names(pulumi_mocks):
    args = {
        "targets": [OU_A, OU_B],
        "group_names": ["admins"],
        "create_groups": True,
        "region": "eu-west-1",
        "call_as": "DELEGATED_ADMIN",
        "scp_name": "Require MFA",
        "scp_description": "Custom.",
        "stack_set_name": "RequireMfa",
        "policy_name": "RequireMfa",
        "path": "/security/",
        "tags": {"team": "security"},
    }
    values = deploy("g", args)
    (scp,) = pulumi_mocks.registered(SCP)
    assert (scp.inputs["name"], scp.inputs["description"], scp.inputs["tags"]) == (
        "Require MFA",
        "Custom.",
        {"team": "security"},
    )
    (stack_set,) = pulumi_mocks.registered(STACK_SET)
    assert stack_set.inputs["callAs"] == "DELEGATED_ADMIN"
    assert stack_set.inputs["tags"] == {"team": "security"}
    (instance,) = pulumi_mocks.registered(INSTANCE)
    assert instance.inputs["callAs"] == "DELEGATED_ADMIN"
    assert instance.inputs["stackSetInstanceRegion"] == "eu-west-1"
    assert instance.inputs["deploymentTargets"] == {"organizationalUnitIds": [OU_A, OU_B]}
    template = json.loads(values[3])
    policy = template["Resources"]["RequireMfaPolicy"]["Properties"]
    assert policy["ManagedPolicyName"] == "RequireMfa" and policy["Path"] == "/security/"
    assert [r["Type"] for r in template["Resources"].values()].count("AWS::IAM::Group") == 1
    assert values[2] == "RequireMfa"


def test_without_stack_set_only_the_scp(pulumi_mocks):
    values = deploy("g", {"targets": [ACCOUNT], "stack_set": False})
    assert len(pulumi_mocks.registered(SCP)) == 1
    assert len(pulumi_mocks.registered(SCP_ATTACHMENT)) == 1
    assert pulumi_mocks.registered(STACK_SET) == [] and pulumi_mocks.registered(INSTANCE) == []
    assert values[2] == "" and values[3] == ""


def test_the_scp_is_attached_after_the_self_service_policy_is_deployed(pulumi_mocks):
    deploy("g", {"targets": [ROOT], "group_names": ["admins"]})
    events = pulumi_mocks.mocks.events
    assert events.index("g-stackset-instance") < events.index(f"g-{ROOT}")


@pytest.mark.parametrize("option", ["providers", "provider"])
def test_a_provider_passed_to_the_component_is_used_for_every_child(pulumi_mocks, option):
    pulumi_mocks.install(partition="aws-cn")
    as_option = {option: (lambda provider: [provider]) if option == "providers" else (lambda provider: provider)}
    values = deploy("g", {"targets": [ROOT, ACCOUNT], "group_names": ["a"]}, provider=as_option)
    children = [r for r in pulumi_mocks.monitor.registered if r.type.startswith(("aws:organizations", "aws:cloud"))]
    assert len(children) == 5
    for resource in children:
        assert "::management::" in resource.provider, resource.name
    (call,) = pulumi_mocks.calls(PARTITION_TOKEN)
    assert "::management::" in call.provider
    assert "arn:aws-cn:iam::*:user/${aws:username}" in values[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"targets": ["x-ab12"]}, r"^targets: got 'x-ab12'"),
        ({"targets": ["ou-ab12-" + "c" * 33]}, r"^targets: got 'ou-ab12-c+'"),
        ({"targets": ["r-" + "a" * 33]}, r"^targets: got 'r-a+'"),
        ({"targets": [OU_A, OU_A]}, r"^targets: .*appears more than once"),
        ({"targets": []}, r"^targets: got \[\]"),
        ({"targets": [ROOT], "call_as": "ADMIN"}, r"^call_as: got 'ADMIN'"),
        ({"targets": [ROOT], "region": "EU"}, r"^region: got 'EU'"),
        ({"targets": [ROOT]}, r"^group_names: got None"),
        ({"targets": [ACCOUNT], "group_names": ["a"]}, r"^targets: .*at least one root or OU target"),
        ({"targets": [ROOT], "group_names": ["a", "A"]}, r"^group_names: "),
        ({"targets": [ROOT], "group_names": ["a"], "max_mfa_age_seconds": 0}, r"^max_mfa_age_seconds: got 0"),
        ({"targets": [ROOT], "group_names": ["a"], "stack_set_name": "bad_name"}, r"^stack_set_name: "),
    ],
)
def test_bad_input_fails_before_anything_is_registered(pulumi_mocks, args, message):
    with pytest.raises(InvalidInputError, match=message):
        OrganizationMfaGuardrail("g", args)
    assert pulumi_mocks.monitor.registered == []
    assert pulumi_mocks.mocks.calls == []


def test_unknown_or_missing_arguments_are_input_errors(pulumi_mocks):
    # As for RequireMfaPolicy: an InvalidInputError naming the argument, which Pulumi prints as one line.
    with pytest.raises(InvalidInputError, match=r"^targets: got None; expected a value") as raised:
        OrganizationMfaGuardrail("g", {"group_names": ["a"]})  # type: ignore[typeddict-item]
    assert isinstance(raised.value, pulumi.RunError)
    with pytest.raises(InvalidInputError, match=r"^account_id: got '\d{12}'; expected one of Organization"):
        OrganizationMfaGuardrail("g", {"targets": [ROOT], "account_id": ACCOUNT})  # type: ignore[typeddict-unknown-key]
    assert pulumi_mocks.monitor.registered == []
