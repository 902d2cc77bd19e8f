"""The project's own components in a stack, unweakened (pure).

A ``RequireMfaPolicy`` registers its document twice: as its ``policy_document`` output, which is
what ``build_policy_document`` returned for the component's options, and as the ``policy`` of its
child ``aws.iam.Policy``, which is what AWS receives. A transformation (or any later edit of the
child's inputs) changes the second, never the first. So the options are read back from the
builder's output (the Sids and conditions ``build_policy_document`` writes for each option) and
proven by building the document again from them: equal, the intent is the component's; not
equal (an option this pack does not know), the check cannot decide. The child's document is then
checked against every guarantee with ``check_all`` (``check_all_organization`` under the
guardrail's SCP for an ``OrganizationMfaGuardrail``).

The components register no inputs (``props=None``), so their options cannot be read from the
engine's view of their inputs; the output is the component's own record of them.

Around the policy, two things can re-open what it closes: a resource that detaches it from a group
(``PolicyAttachment`` owns every attachment of its policy; ``GroupPolicyAttachmentsExclusive``
every managed policy of its group), and, when the document no longer denies something, another
policy of the same group that allows it. Both are found on the stack's ``AccountModel``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.audit.aws import AccountSnapshot, User
from mfa_policy.policy.document import CERTIFICATION_CONDITION_KEYS, SELF_SERVICE, SELF_SERVICE_NAMES
from mfa_policy.policy.enrollment import PRINCIPAL_TAG_PREFIX, SOURCE_IP_KEY
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.policy.stackset_template import resolve_policy_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.policy_pack.decide import decide_enforcement, describe
from mfa_policy.policy_pack.stack import (
    GROUP,
    GROUP_POLICY_ATTACHMENT,
    GROUP_POLICY_ATTACHMENTS_EXCLUSIVE,
    POLICY,
    POLICY_ATTACHMENT,
    SIGNS_IN_BOTH_WAYS,
    AccountModel,
    Resolver,
    StackResource,
    parse_document,
    policy_key,
)
from mfa_policy.verifier.catalog import Catalog
from mfa_policy.verifier.guarantees import (
    ALLOW_ALL,
    GUARANTEES,
    TEST_ACCOUNT_ID,
    Counterexample,
    Intent,
    OrganizationVerifier,
    check_all,
    check_all_organization,
    check_g10,
    intent_for_builder,
    intent_for_file,
    organization_guarantees,
)

REQUIRE_MFA_POLICY = "mfa-policy:index:RequireMfaPolicy"
ORGANIZATION_GUARDRAIL = "mfa-policy:index:OrganizationMfaGuardrail"
COMPONENT_TYPES = (REQUIRE_MFA_POLICY, ORGANIZATION_GUARDRAIL)
SCP = "aws:organizations/policy:Policy"
STACK_SET = "aws:cloudformation/stackSet:StackSet"
# How many counterexamples a message names per failing guarantee.
_SHOWN = 2


@dataclass
class ComponentReport:
    """What is wrong with one component (``failures``) and what could not be decided."""

    component: StackResource
    failures: list[str] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# The options a builder's document was made with


def options_from_document(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``build_policy_document`` options a builder's document (or SCP) shows, ``enrollment``
    included, or None when it is not one. Read from what the builder writes for each option;
    ``component_intent`` proves it."""
    body = document.get("Statement")
    if not isinstance(body, list):
        return None
    by_sid = {s.get("Sid"): s for s in body if isinstance(s, Mapping)}
    lockdown = by_sid.get("DenyAllExceptMfaBootstrapWithoutMfa")
    if lockdown is None or not isinstance(lockdown.get("NotAction"), list):
        return None
    exempt = set(lockdown["NotAction"])
    options: dict[str, Any] = {
        "allow_password_change_without_mfa": "iam:ChangePassword" in exempt,
        "allow_list_users": "iam:ListUsers" in exempt,
        "mfa_devices": "security_keys" if "DenyVirtualMfaDevices" in by_sid else "any",
    }
    if any(s.get("Effect") == "Allow" for s in by_sid.values()):  # an SCP has no Allow: no self-service
        options["self_service"] = tuple(name for name in SELF_SERVICE_NAMES if SELF_SERVICE[name][0] in by_sid)
    older = by_sid.get("DenyAllExceptMfaBootstrapWhenMfaIsOlderThanMaxAge")
    if older is not None:
        try:
            options["max_mfa_age_seconds"] = int(older["Condition"]["NumericGreaterThan"]["aws:MultiFactorAuthAge"])
        except (KeyError, TypeError, ValueError):
            return None
    certification = {}
    for statement in body:
        differs = statement.get("Condition", {}).get("StringNotEquals", {}) if isinstance(statement, Mapping) else {}
        for name, key in CERTIFICATION_CONDITION_KEYS.items():
            if isinstance(differs, Mapping) and key in differs:
                certification[name] = list(differs[key])
    if certification:
        options["security_key_certification"] = certification
    enrollment = _enrollment_option(by_sid)
    if enrollment is None:
        return None
    if enrollment:
        options["enrollment"] = enrollment
    return options


def _enrollment_option(by_sid: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The ``enrollment`` option the gates of a builder's document show (``{}``: no gate), from
    the gates for a session without MFA (``enrollment.enrollment_statements``); None when a gate
    is there but cannot be read."""
    option: dict[str, Any] = {}
    tag = by_sid.get("DenyMfaEnrollmentWithoutTagWithoutMfa")
    networks = by_sid.get("DenyMfaEnrollmentOutsideNetworksWithoutMfa")
    try:
        if tag is not None:
            differs = tag["Condition"]["StringNotEquals"]
            (key,) = [name for name in differs if name.startswith(PRINCIPAL_TAG_PREFIX)]
            option["require_tag"] = {"key": key[len(PRINCIPAL_TAG_PREFIX) :], "value": differs[key]}
        if networks is not None:
            option["source_ips"] = list(networks["Condition"]["NotIpAddress"][SOURCE_IP_KEY])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return option


def _normalized(value: Any) -> Any:
    return json.loads(json.dumps(value))


def component_intent(builder_document: Mapping[str, Any]) -> Intent | None:
    """The intent of a ``RequireMfaPolicy`` from its ``policy_document`` output: the options read
    back, proven by building the same document again; None when they cannot be read."""
    options = options_from_document(builder_document)
    if options is None:
        return None
    where = intent_for_file(builder_document)
    try:
        rebuilt, intent = intent_for_builder(where.account_id, where.partition, **options)
    except (InvalidInputError, ValueError, TypeError):
        return None
    if _normalized(rebuilt) != _normalized(builder_document):
        return None
    # Determinism (G8) is the builder's promise, not the stack's: a document edited after the
    # builder is judged on what it allows, and its differences are named separately.
    return dataclasses.replace(intent, rebuild=None)


def _scp_partition(scp: Mapping[str, Any]) -> str | None:
    for statement in scp.get("Statement", []) if isinstance(scp.get("Statement"), list) else []:
        for element in ("Resource", "NotResource"):
            values = statement.get(element, []) if isinstance(statement, Mapping) else []
            for value in [values] if isinstance(values, str) else values:
                if isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5:
                    return value.split(":")[1]
    return None


def guardrail_intent(scp: Mapping[str, Any], template: Mapping[str, Any] | None) -> Intent | None:
    """The intent of an ``OrganizationMfaGuardrail`` from its ``scp_document`` and
    ``stack_set_template`` outputs (the template's policy carries the self-service options),
    proven by building both again; None when they cannot be read."""
    partition = _scp_partition(scp) or "aws"
    source: Mapping[str, Any] = scp
    if template is not None:
        try:
            source = resolve_policy_document(template, TEST_ACCOUNT_ID, partition)
        except (KeyError, TypeError, AttributeError):
            return None
    options = options_from_document(source)
    if options is None:
        return None
    try:
        rebuilt, intent = intent_for_builder(TEST_ACCOUNT_ID, partition, **options)
        scp_options = {key: value for key, value in options.items() if key != "self_service"}
        rebuilt_scp = build_scp_document(partition, **scp_options)
    except (InvalidInputError, ValueError, TypeError):
        return None
    if _normalized(rebuilt_scp) != _normalized(scp):
        return None
    if template is not None and _normalized(rebuilt) != _normalized(source):
        return None
    return dataclasses.replace(intent, rebuild=None)


# ---------------------------------------------------------------------------------------------
# Messages


def _differences(built: Mapping[str, Any], deployed: Mapping[str, Any]) -> str:
    """How the deployed document differs from the built one, by statement Sid."""
    if _normalized(built) == _normalized(deployed):
        return ""

    def by_sid(document: Mapping[str, Any]) -> dict[str, Any]:
        body = document.get("Statement", [])
        body = [body] if isinstance(body, Mapping) else body if isinstance(body, list) else []
        return {
            str(s.get("Sid", f"#{i + 1}")) if isinstance(s, Mapping) else f"#{i + 1}": s for i, s in enumerate(body)
        }

    old, new = by_sid(built), by_sid(deployed)
    parts = []
    for label, sids in (
        ("removed", [sid for sid in old if sid not in new]),
        ("added", [sid for sid in new if sid not in old]),
        ("changed", [sid for sid in old if sid in new and _normalized(old[sid]) != _normalized(new[sid])]),
    ):
        if sids:
            parts.append(f"{label} {', '.join(sids)}")
    changed = "; ".join(parts) or "elements outside the statements changed"
    return (
        f" It differs from the document the component built ({changed}): a transformation or a later "
        "edit of the child's inputs changed it."
    )


def _failed_guarantees(results: Mapping[str, list[Counterexample]], titles: Mapping[str, str]) -> str:
    parts = []
    for name, found in results.items():
        if found:
            shown = "; ".join(str(c) for c in found[:_SHOWN])
            more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
            parts.append(f"{name} ({titles.get(name, '')}): {shown}{more}")
    return " | ".join(parts)


# ---------------------------------------------------------------------------------------------
# The checks


def check_components(
    resources: Sequence[StackResource], models: Sequence[AccountModel], catalog: Catalog
) -> list[ComponentReport]:
    """One report per ``RequireMfaPolicy`` and ``OrganizationMfaGuardrail`` in the stack."""
    reports = []
    for component in resources:
        if component.type == REQUIRE_MFA_POLICY:
            reports.append(_check_require_mfa(component, resources, models, catalog))
        elif component.type == ORGANIZATION_GUARDRAIL:
            reports.append(_check_guardrail(component, resources, catalog))
    return reports


def _children(component: StackResource, resources: Sequence[StackResource], kind: str) -> list[StackResource]:
    return [resource for resource in resources if resource.parent == component.urn and resource.type == kind]


def _check_require_mfa(
    component: StackResource, resources: Sequence[StackResource], models: Sequence[AccountModel], catalog: Catalog
) -> ComponentReport:
    report = ComponentReport(component)
    policies = _children(component, resources, POLICY)
    if len(policies) != 1:
        report.undecided.append(f"{component.label} has {len(policies)} aws.iam.Policy children, expected one")
        return report
    (policy,) = policies
    built = parse_document(component.props.get("policy_document"))
    deployed = parse_document(policy.props.get("policy"))
    if built is None or deployed is None:
        which = "its policy_document output" if built is None else f"the document of {policy.label}"
        report.undecided.append(f"{component.label}: {which} is not known yet; the guarantees are checked when it is")
        return report
    intent = component_intent(built)
    if intent is None:
        report.undecided.append(
            f"{component.label}: the options cannot be read back from its policy_document output (an option this "
            "policy pack does not know: upgrade the pack to the component's version)"
        )
        return report
    results = check_all(deployed, intent, catalog)
    failed = _failed_guarantees(results, {name: title for name, (title, _) in GUARANTEES.items()})
    if failed:
        differences = _differences(built, deployed)
        report.failures.append(
            f"{component.label}: its policy {policy.label} fails the guarantees: {failed}.{differences}"
            " Remove the transformation or edit, or fix it so that `mfa-policy verify --policy-file` passes."
        )
    model = next((m for m in models if m.provider == policy.provider), None)
    if model is not None:
        _reopened(report, component, policy, resources, model, catalog)
    return report


def _reopened(
    report: ComponentReport,
    component: StackResource,
    policy: StackResource,
    resources: Sequence[StackResource],
    model: AccountModel,
    catalog: Catalog,
) -> None:
    """Groups the component attaches its policy to that lose it, or whose other policies allow
    requests without MFA that the policy no longer denies."""
    resolver = Resolver(resources)
    key = policy_key(policy)
    groups = []
    for attachment in _children(component, resources, GROUP_POLICY_ATTACHMENT):
        groups += resolver.names(attachment, "group", GROUP).keys
    snapshot = model.snapshot()
    for group in dict.fromkeys(groups):
        if key not in model.group_managed.get(group, ()):
            culprits = [
                r.label
                for r in resources
                if (r.type == POLICY_ATTACHMENT and key in resolver.policies(r, "policyArn", {}).keys)
                or (
                    r.type == GROUP_POLICY_ATTACHMENTS_EXCLUSIVE and group in resolver.names(r, "groupName", GROUP).keys
                )
            ]
            report.failures.append(
                f"{component.label}: group {group} loses the policy {policy.label}: "
                f"{', '.join(culprits) or 'another resource'} detaches it (PolicyAttachment owns every attachment "
                "of its policy, GroupPolicyAttachmentsExclusive every managed policy of its group). List the policy "
                "there, or use GroupPolicyAttachment."
            )
            continue
        member = User(
            name=f"member-of-{group}",
            path="/",
            arn=f"arn:{model.partition}:iam::{model.account_id}:user/member-of-{group}",
            user_id="AIDAEXAMPLEMEMBER",
            groups=(group,),
            credentials=SIGNS_IN_BOTH_WAYS,
        )
        members = AccountSnapshot(model.account_id, model.partition, "", (member,), snapshot.groups, snapshot.policies)
        answer = decide_enforcement(members, catalog)[member.name]
        for exposure in answer.exposures:
            others = [label for label in exposure.policies if policy.name not in label]
            if others:
                report.failures.append(
                    f"{component.label}: in group {group}, {', '.join(others)} allows {describe(exposure)}, "
                    f"which the policy {policy.label} no longer denies."
                )


def _check_guardrail(component: StackResource, resources: Sequence[StackResource], catalog: Catalog) -> ComponentReport:
    report = ComponentReport(component)
    scps = _children(component, resources, SCP)
    stack_sets = _children(component, resources, STACK_SET)
    if len(scps) != 1:
        report.undecided.append(f"{component.label} has {len(scps)} SCP children, expected one")
        return report
    built_scp = parse_document(component.props.get("scp_document"))
    deployed_scp = parse_document(scps[0].props.get("content"))
    built_template = component.props.get("stack_set_template")
    template = parse_document(built_template) if built_template else None
    deployed_template = parse_document(stack_sets[0].props.get("templateBody")) if stack_sets else None
    unknown = [
        what
        for what, value in (
            ("its scp_document output", built_scp),
            (f"the content of {scps[0].label}", deployed_scp),
            ("its stack_set_template output", template if built_template else {}),
            ("the StackSet's template", deployed_template if stack_sets else {}),
        )
        if value is None
    ]
    if unknown:
        report.undecided.append(f"{component.label}: {', '.join(unknown)} not known yet; checked when it is")
        return report
    assert built_scp is not None and deployed_scp is not None
    intent = guardrail_intent(built_scp, template)
    if intent is None:
        report.undecided.append(
            f"{component.label}: the options cannot be read back from its outputs (an option this policy pack "
            "does not know: upgrade the pack to the component's version)"
        )
        return report
    titles = {name: title for name, (title, _) in organization_guarantees().items()}
    if deployed_template is not None:
        try:
            document = resolve_policy_document(deployed_template, TEST_ACCOUNT_ID, intent.partition)
        except (KeyError, TypeError, AttributeError):
            report.failures.append(f"{component.label}: the StackSet's template has no RequireMfaPolicy document")
            return report
        results = check_all_organization(document, intent, deployed_scp, catalog)
    else:
        results = {"G10": check_g10(OrganizationVerifier(ALLOW_ALL, intent, deployed_scp, catalog))}
    failed = _failed_guarantees(results, titles)
    if failed:
        differences = _differences(built_scp, deployed_scp)
        if template is not None and deployed_template is not None:
            differences += _differences(template, deployed_template).replace("document", "StackSet template", 1)
        report.failures.append(
            f"{component.label}: its SCP and StackSet policy fail the guarantees: {failed}.{differences} Remove the "
            "transformation or edit, or fix it so that `mfa-policy verify --organization` passes."
        )
    return report
