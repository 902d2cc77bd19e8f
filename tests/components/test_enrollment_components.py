"""The enrollment option in both components and through the component provider, under Pulumi mocks."""

from __future__ import annotations

import json
import runpy

import pulumi
import pytest
from pulumi.errors import InputPropertyError

from conftest import ROOT
from mfa_policy import OrganizationMfaGuardrail, RequireMfaPolicy, build_policy_document
from mfa_policy.components import organization
from mfa_policy.components.errors import UserInputError
from mfa_policy.components.require_mfa import TYPE_TOKEN
from mfa_policy.policy.scp import build_scp_document, scp_json
from mfa_policy.policy.stackset_template import resolve_policy_document
from mfa_policy.policy.validation import InvalidInputError

ACCOUNT = "111122223333"
POLICY = "aws:iam/policy:Policy"
GATES = {"require_tag": {"key": "onboarding"}, "source_ips": ["2001:db8::/32", "203.0.113.0/24"]}
CANONICAL = {
    "require_tag": {"key": "onboarding", "value": "allowed"},
    "source_ips": ["203.0.113.0/24", "2001:db8::/32"],
}
TOO_LARGE = {
    "require_tag": {"key": "k" * 128, "value": "v" * 256},
    "source_ips": [f"2001:db8:{i:x}:ffff:ffff:ffff:ffff:ff00/120" for i in range(20)],
}


@pulumi.runtime.test
def test_require_mfa_policy_writes_the_gates(pulumi_mocks):
    component = RequireMfaPolicy("require-mfa", {"group_names": ["admins"], "enrollment": GATES})

    def check(values):
        document = values[0]
        expected = build_policy_document(ACCOUNT, enrollment=CANONICAL)
        assert json.loads(document) == expected
        assert "DenyMfaEnrollmentOutsideNetworksWithoutMfa" in document
        (policy,) = pulumi_mocks.registered(POLICY)
        assert json.loads(policy.inputs["policy"]) == expected

    return pulumi.Output.all(component.policy_document, component.policy_arn).apply(check)


@pytest.mark.parametrize(
    ("enrollment", "other", "key"),
    [
        ({}, {}, "enrollment"),
        ({"require_tag": {"key": "aws:ticket"}}, {}, "enrollment.require_tag.key"),
        ({"source_ips": ["203.0.113.7/24"]}, {}, "enrollment.source_ips"),
        ({"source_ips": ["203.0.113.0/24", "203.0.113.0/24"]}, {}, "enrollment.source_ips"),
        # Over the quota only with the max-age gates: refused before anything is registered.
        (TOO_LARGE, {"max_mfa_age_seconds": 900}, "enrollment"),
    ],
    ids=["empty", "aws-key", "host-bits", "duplicate", "too-large"],
)
@pytest.mark.parametrize("component", [RequireMfaPolicy, OrganizationMfaGuardrail], ids=lambda c: c.__name__)
def test_a_bad_value_is_one_line_and_creates_nothing(pulumi_mocks, component, enrollment, other, key):
    args = {"group_names": ["admins"], "enrollment": enrollment, **other}
    if component is OrganizationMfaGuardrail:
        args["targets"] = ["r-ab12"]
    with pytest.raises(UserInputError) as raised:
        component("mfa", args)
    assert isinstance(raised.value, pulumi.RunError) and isinstance(raised.value, InvalidInputError)
    assert raised.value.key == key
    assert str(raised.value).startswith(f"{key}: got ") and "\n" not in str(raised.value)
    assert pulumi_mocks.mocks.created == []
    assert pulumi_mocks.mocks.calls == []


def test_the_size_is_checked_for_the_longest_partition_name(pulumi_mocks):
    # Fits in aws, not in aws-us-gov (whose ARNs are longer): the partition is only known at
    # deployment, so the component refuses it up front rather than fail half-way.
    gates = {"require_tag": {"key": "k" * 128, "value": "v" * 224}, "source_ips": TOO_LARGE["source_ips"][:5]}
    every = {"max_mfa_age_seconds": 900, "allow_password_change_without_mfa": True, "allow_list_users": True}
    build_policy_document(ACCOUNT, "aws", enrollment=gates, **every)
    with pytest.raises(InvalidInputError):
        build_policy_document(ACCOUNT, "aws-us-gov", enrollment=gates, **every)
    with pytest.raises(UserInputError, match=r"^enrollment: got .*quota of 6,144"):
        RequireMfaPolicy("mfa", {"group_names": ["admins"], "enrollment": gates, **every})
    assert pulumi_mocks.mocks.created == []


def test_the_organization_guardrail_writes_the_gates_into_the_scp_and_the_stack_set(pulumi_mocks):
    resolved: list = []

    @pulumi.runtime.test
    def program():
        guardrail = OrganizationMfaGuardrail(
            "guardrail",
            {"targets": ["r-ab12"], "group_names": ["admins"], "enrollment": GATES, "max_mfa_age_seconds": 900},
        )
        return pulumi.Output.all(guardrail.scp_document, guardrail.stack_set_template).apply(resolved.extend)

    program()
    scp, template = resolved
    assert scp == scp_json(build_scp_document(enrollment=CANONICAL, max_mfa_age_seconds=900))
    assert [s["Sid"] for s in json.loads(scp)["Statement"] if "Enrollment" in s["Sid"]] == [
        "DenyMfaEnrollmentWithoutTagWithoutMfa",
        "DenyMfaEnrollmentOutsideNetworksWithoutMfa",
        "DenyMfaEnrollmentWithoutTagWhenMfaIsOlderThanMaxAge",
        "DenyMfaEnrollmentOutsideNetworksWhenMfaIsOlderThanMaxAge",
    ]
    deployed = resolve_policy_document(json.loads(template), "444455556666", "aws")
    assert deployed == build_policy_document("444455556666", enrollment=CANONICAL, max_mfa_age_seconds=900)


def test_the_arguments_document_the_option():
    for args in (organization.OrganizationMfaGuardrailArgs, RequireMfaPolicy.__init__.__annotations__["args"]):
        assert "enrollment" in args.__annotations__


# Through the component provider (TypeScript, Go, C#, Java, YAML): camelCase inputs -----------------


@pytest.fixture(scope="module")
def provider():
    return runpy.run_path(str(ROOT / "provider" / "__main__.py"), run_name="mfa_policy_provider")["provider"]()


def test_the_schema_has_the_object_types(provider):
    schema = json.loads(provider.schema)
    enrollment = schema["types"]["mfa-policy:index:EnrollmentArgs"]
    assert set(enrollment["properties"]) == {"requireTag", "sourceIps"}
    assert enrollment["properties"]["sourceIps"] == {
        "description": enrollment["properties"]["sourceIps"]["description"],
        "type": "array",
        "items": {"type": "string", "plain": True},
        "plain": True,
    }
    assert enrollment["properties"]["requireTag"]["$ref"] == "#/types/mfa-policy:index:EnrollmentTagArgs"
    tag = schema["types"]["mfa-policy:index:EnrollmentTagArgs"]
    assert set(tag["properties"]) == {"key", "value"} and "required" not in tag
    for resource in schema["resources"].values():
        assert resource["inputProperties"]["enrollment"]["$ref"] == "#/types/mfa-policy:index:EnrollmentArgs"
    # The object types' texts read as Markdown paragraphs: no indented line (it would render as code).
    for definition in (enrollment, tag):
        for text in [definition["description"], *(p["description"] for p in definition["properties"].values())]:
            assert "\n " not in text and "``" not in text


def test_camel_case_inputs_reach_the_component(provider, pulumi_mocks):
    inputs = {
        "groupNames": ["admins"],
        "enrollment": {"requireTag": {"key": "onboarding"}, "sourceIps": GATES["source_ips"]},
    }
    mapped = provider.map_inputs(inputs, provider._component_defs["RequireMfaPolicy"])
    assert mapped["enrollment"] == {"require_tag": {"key": "onboarding"}, "source_ips": GATES["source_ips"]}

    @pulumi.runtime.test
    def run():
        result = provider.construct("require-mfa", TYPE_TOKEN, inputs)

        def check(document):
            assert json.loads(document) == build_policy_document(ACCOUNT, enrollment=CANONICAL)

        return result.state["policyDocument"].apply(check)

    run()


@pytest.mark.parametrize(
    ("enrollment", "path", "reason"),
    [
        (
            {"requireTag": {"key": "aws:x"}},
            "enrollment.requireTag.key",
            'enrollment.requireTag.key: got "aws:x"; expected',
        ),
        ({"sourceIps": ["10.0.0.1/8"]}, "enrollment.sourceIps", 'enrollment.sourceIps: got ["10.0.0.1/8"]; expected'),
        ({}, "enrollment", "enrollment: got {}; expected"),
    ],
)
def test_a_bad_nested_input_names_the_schema_path(provider, pulumi_mocks, enrollment, path, reason):
    with pytest.raises(InputPropertyError) as raised:
        provider.construct("require-mfa", TYPE_TOKEN, {"groupNames": ["admins"], "enrollment": enrollment})
    assert raised.value.property_path == path
    assert raised.value.reason.startswith(reason)
    assert pulumi_mocks.mocks.created == []
