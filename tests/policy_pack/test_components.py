"""The project's components in a stack: their options read back from their outputs, and the
OrganizationMfaGuardrail checked under its SCP (recorded from the project's own program)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pack_engine import record_program, record_programs
from stacks import POLICIES

from conftest import ACCOUNT_ID, ROOT
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.enrollment import enrollment_gates
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.policy.stackset_template import build_stackset_template
from mfa_policy.policy_pack.components import ORGANIZATION_GUARDRAIL, SCP, component_intent, guardrail_intent
from mfa_policy.policy_pack.policies import COMPONENT_UNWEAKENED, UNDECIDED
from mfa_policy.program.project import stack_config
from mfa_policy.verifier.guarantees import intent_for_builder

OPTIONS = [
    {},
    {"allow_password_change_without_mfa": True, "allow_list_users": True},
    {"self_service": ("password", "access_keys"), "max_mfa_age_seconds": 43200},
    {"self_service": (), "allow_password_change_without_mfa": True},
    {"mfa_devices": "security_keys"},
    {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L2", "L3"], "fips-140-3": ["L3"]}},
    # The enrollment gates (issue 18): the tag, the networks, both; with the options they combine with.
    {"enrollment": {"require_tag": {}}},
    {"enrollment": {"require_tag": {"key": "onboarding ticket", "value": "INC-42"}}},
    {"enrollment": {"source_ips": ["2001:db8::/32", "203.0.113.0/24"]}},
    {"enrollment": {"require_tag": {}, "source_ips": ["198.51.100.0/24"]}, "max_mfa_age_seconds": 3600,
     "allow_password_change_without_mfa": True},
    {"enrollment": {"source_ips": ["198.51.100.0/24"]}, "mfa_devices": "security_keys"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda options: ",".join(options) or "defaults")
@pytest.mark.parametrize("partition", ["aws", "aws-cn"])
def test_the_options_are_read_back_from_the_builders_document(options: dict[str, Any], partition: str) -> None:
    built = json.loads(json.dumps(build_policy_document(ACCOUNT_ID, partition, **options)))
    _, expected = intent_for_builder(ACCOUNT_ID, partition, **options)
    intent = component_intent(built)
    assert intent is not None and intent.rebuild is None
    assert intent.document_options() == expected.document_options()
    assert (intent.account_id, intent.partition) == (ACCOUNT_ID, partition)


@pytest.mark.parametrize("options", [o for o in OPTIONS if "enrollment" in o], ids=lambda o: ",".join(o))
@pytest.mark.parametrize("stack_set", [True, False], ids=["with StackSet", "SCP only"])
def test_the_guardrails_enrollment_gates_are_read_back_from_its_scp_and_template(
    options: dict[str, Any], stack_set: bool
) -> None:
    scp_options = {key: value for key, value in options.items() if key != "self_service"}
    scp = json.loads(json.dumps(build_scp_document("aws", **scp_options)))
    template = json.loads(json.dumps(build_stackset_template(["admins"], **options))) if stack_set else None
    intent = guardrail_intent(scp, template)
    assert intent is not None
    assert intent.ticket == enrollment_gates(options["enrollment"])


def test_a_document_with_the_gates_edited_is_not_read_as_the_builders() -> None:
    # Read back, then proven by building again: a gate's value edited by hand is no option.
    built = json.loads(json.dumps(build_policy_document(ACCOUNT_ID, enrollment={"require_tag": {}})))
    (gate,) = [s for s in built["Statement"] if s["Sid"] == "DenyMfaEnrollmentWithoutTagWithoutMfa"]
    gate["Condition"]["StringNotEquals"]["aws:PrincipalTag/mfa-enrollment"] = ["allowed", "yes"]
    assert component_intent(built) is None


def test_a_document_the_builder_did_not_make_has_no_intent() -> None:
    built = build_policy_document(ACCOUNT_ID)
    built["Statement"][0]["Action"].append("s3:ListAllMyBuckets")
    assert component_intent(built) is None
    assert component_intent({"Statement": []}) is None


def _organization_config(stack_set: bool) -> dict[str, str]:
    config = stack_config(ROOT, "org")[1]
    organization = {**json.loads(config["mfa-policy:organization"]), "stackSet": stack_set}
    return {**config, "mfa-policy:organization": json.dumps(organization)}


@pytest.fixture(scope="module", autouse=True)
def recorded() -> None:
    """The guardrail's program runs, recorded in one fresh interpreter (pack_engine.record_programs)."""
    runs = [{"program": ROOT / "__main__.py", "stack": "org", "config": _organization_config(s)} for s in (True, False)]
    record_programs(*runs)


def organization_stack(stack_set: bool) -> list:
    resources, _ = record_program(ROOT / "__main__.py", stack="org", config=_organization_config(stack_set))
    assert any(r.type == ORGANIZATION_GUARDRAIL for r in resources)
    return resources


def violations(policy: str, resources: list) -> list[str]:
    from pack_engine import stack_args

    found: list[str] = []
    POLICIES[policy].validate(stack_args(resources), lambda message, urn=None: found.append(message))
    return found


def _drop(text: str, sid: str) -> str:
    document = json.loads(text)
    return json.dumps({**document, "Statement": [s for s in document["Statement"] if s["Sid"] != sid]})


@pytest.mark.parametrize("stack_set", [True, False], ids=["with StackSet", "SCP only"])
def test_the_organization_guardrail_as_built_keeps_every_guarantee(stack_set: bool) -> None:
    resources = organization_stack(stack_set)
    assert violations(COMPONENT_UNWEAKENED, resources) == []
    assert violations(UNDECIDED, resources) == []


@pytest.mark.parametrize("stack_set", [True, False], ids=["with StackSet", "SCP only"])
def test_an_edited_scp_is_stopped(stack_set: bool) -> None:
    resources = organization_stack(stack_set)
    (scp,) = [r for r in resources if r.type == SCP]
    scp.properties["content"] = _drop(scp.properties["content"], "DenyAllExceptMfaBootstrapWithoutMfa")
    (message,) = violations(COMPONENT_UNWEAKENED, resources)
    assert "its SCP and StackSet policy fail the guarantees" in message
    # The StackSet's policy still denies in its groups; a user in no group is open (G10).
    assert "G10 (the organization guardrail touches IAM users only)" in message
    assert "removed DenyAllExceptMfaBootstrapWithoutMfa" in message
