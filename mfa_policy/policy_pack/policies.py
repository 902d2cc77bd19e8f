"""The CrossGuard policies, written with the pulumi-policy SDK (the ``policy`` extra).

Each policy is a thin adapter: it turns what the engine sent (``ResourceValidationArgs``,
``StackValidationArgs``: SDK proxies that raise ``UnknownValueError`` on a value not known at
preview) into plain ``StackResource`` data, reads its config, and reports the findings of
``mfa_policy.policy_pack.analysis``, where every decision is made. ``policy-pack/__main__.py``
builds the pack from ``policies()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mfa_policy.extras import requires_extra

with requires_extra("policy", "the CrossGuard policy pack"):
    from pulumi_policy import (
        EnforcementLevel,
        Policy,
        PolicyConfigSchema,
        PolicyResource,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        Severity,
        StackValidationArgs,
        StackValidationPolicy,
        proxy,
    )
    from pulumi_policy.proxy import UnknownValueError

from mfa_policy.policy_pack import analysis
from mfa_policy.policy_pack.analysis import ConfigError, Finding, StackAnalysis, UserSettings, user_settings
from mfa_policy.policy_pack.stack import DOCUMENT_TYPES, UNKNOWN, StackResource
from mfa_policy.verifier.catalog import load_catalog

PACK_NAME = "mfa-policy"
PACK_DESCRIPTION = (
    "Stops IAM users without enforced MFA at `pulumi preview`: decides, with mfa-policy's evaluator and audit, "
    "whether each IAM user of the stack must use MFA, whether MFA conditions in policy documents hold, and "
    "whether mfa-policy's own components are unweakened."
)

USERS_COVERED = "iam-user-mfa-enforced"
GUARDRAIL_ONLY = "iam-user-mfa-organization-guardrail"
UNDECIDED = "mfa-check-undecided"
MFA_CONDITION = "mfa-condition-enforces"
COMPONENT_UNWEAKENED = "mfa-policy-component-unweakened"
ACCESS_KEYS = "access-keys-of-mfa-enforced-users"

# The engine's unknown values, one sentinel string per type (UNKNOWN_STRING_VALUE, ...).
_UNKNOWN_SENTINELS = frozenset(value for name, value in vars(proxy).items() if name.startswith("UNKNOWN_"))


def plain(value: Any) -> Any:
    """A property value as plain data: the SDK's proxies read element by element, and every value
    not known at preview (an ``UnknownValueError`` on access, or the engine's sentinel) ``UNKNOWN``."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        found: dict[str, Any] = {}
        for key in list(value):
            try:
                found[key] = plain(value[key])
            except UnknownValueError:
                found[key] = UNKNOWN
        return found
    if isinstance(value, Sequence):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def stack_resource(resource: PolicyResource) -> StackResource:
    """A resource of ``StackValidationArgs`` as plain data."""
    parent = resource.parent.urn if resource.parent is not None else (resource.opts.parent or "")
    return StackResource(
        type=resource.resource_type,
        name=resource.name,
        urn=resource.urn,
        props=plain(resource.props),
        parent=parent,
        provider=resource.provider.urn if resource.provider is not None else "",
        property_dependencies={
            key: tuple(dependency.urn for dependency in dependencies)
            for key, dependencies in resource.property_dependencies.items()
        },
    )


def _analyze(args: StackValidationArgs) -> StackAnalysis:
    resources = [stack_resource(resource) for resource in args.resources]
    providers = {
        resource.provider.urn: StackResource(
            resource.provider.resource_type,
            resource.provider.name,
            resource.provider.urn,
            plain(resource.provider.props),
        )
        for resource in args.resources
        if resource.provider is not None
    }
    return analysis.analyze_stack(resources, load_catalog(), providers)


_USER_CONFIG = PolicyConfigSchema(
    properties={
        "enforcedGroups": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "IAM groups whose members have MFA enforced outside this stack (their members count as "
            "covered). Set the same list on every iam-user policy of this pack.",
        },
        "organizationGuardrail": {
            "type": "boolean",
            "default": False,
            "description": "An organization guardrail (mfa-policy's OrganizationMfaGuardrail SCP) covers the "
            "accounts this stack deploys to: users the stack does not cover are reported as advisory only "
            f"({GUARDRAIL_ONLY}), not as violations of {USERS_COVERED}.",
        },
        "exemptUsers": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "default": [],
            "description": "IAM user names to leave alone: names or patterns with * and ? (case-insensitive), "
            "e.g. break-glass-*.",
        },
    }
)

UserFindings = Callable[[StackAnalysis, UserSettings], list[Finding]]


def _user_policy(
    name: str, description: str, level: EnforcementLevel, severity: Severity, findings: UserFindings
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            settings = user_settings(args.get_config())
        except ConfigError as error:
            report_violation(f"policy {name}: {error}", None)
            return
        for finding in findings(_analyze(args), settings):
            report_violation(finding.message, finding.urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=level,
        config_schema=_USER_CONFIG,
        severity=severity,
    )


def _validate_components(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for finding in analysis.component_failures(_analyze(args)):
        report_violation(finding.message, finding.urn)


def _validate_document(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type not in DOCUMENT_TYPES:
        return
    resource = StackResource(args.resource_type, args.name, args.urn, plain(args.props))
    message = analysis.document_violation(resource, load_catalog())
    if message is not None:
        report_violation(message, None)


def policies() -> list[Policy]:
    """The pack's policies, each with its default enforcement level."""
    return [
        _user_policy(
            USERS_COVERED,
            "Every IAM user in the stack has MFA enforced: a policy of the stack denies it everything but MFA "
            "enrollment without MFA, next to anything granted elsewhere.",
            EnforcementLevel.MANDATORY,
            Severity.HIGH,
            analysis.not_enforced,
        ),
        _user_policy(
            GUARDRAIL_ONLY,
            "IAM users that only the organization guardrail covers (with organizationGuardrail: true).",
            EnforcementLevel.ADVISORY,
            Severity.MEDIUM,
            analysis.left_to_guardrail,
        ),
        _user_policy(
            UNDECIDED,
            "What the mfa-policy checks could not decide, mostly values not known at preview; an undecided IAM "
            "user is never counted as covered.",
            EnforcementLevel.ADVISORY,
            Severity.MEDIUM,
            analysis.undecided,
        ),
        ResourceValidationPolicy(
            name=MFA_CONDITION,
            description="A policy document that mentions aws:MultiFactorAuthPresent or aws:MultiFactorAuthAge "
            "holds back what it names until the user signs in with MFA.",
            validate=_validate_document,
            enforcement_level=EnforcementLevel.MANDATORY,
            severity=Severity.HIGH,
        ),
        StackValidationPolicy(
            name=COMPONENT_UNWEAKENED,
            description="mfa-policy's RequireMfaPolicy and OrganizationMfaGuardrail keep every guarantee, and "
            "nothing in the stack re-opens what they close.",
            validate=_validate_components,
            enforcement_level=EnforcementLevel.MANDATORY,
            severity=Severity.HIGH,
        ),
        _user_policy(
            ACCESS_KEYS,
            "Access keys for an IAM user MFA is enforced for can do nothing without an MFA session.",
            EnforcementLevel.ADVISORY,
            Severity.LOW,
            analysis.access_keys_of_enforced_users,
        ),
    ]
