"""What the policy pack reports about a stack, policy by policy (pure: no Pulumi, no I/O).

``analyze_stack`` does the work once per stack (the snapshot per provider, the audit's decision for
every user, the components' guarantees, the documents' MFA conditions) and is cached: each stack
policy asks it again with the same resources. The functions below turn it into the violations of
one policy, given that policy's config (``UserSettings``):

* ``not_enforced``: users for whom MFA is enforced neither by the stack's policies (next to
  anything granted outside the stack), nor by a group ``enforcedGroups`` names, nor (with
  ``organizationGuardrail``) by the organization's guardrail;
* ``left_to_guardrail``: with ``organizationGuardrail``, the users only the guardrail covers;
* ``undecided``: what could not be decided (values not known at preview, documents the evaluator
  cannot read, options this pack does not know); such a user is never reported as covered;
* ``component_failures``: the project's own components weakened, or re-opened around them;
* ``access_keys_of_enforced_users``: keys that will be able to do nothing without an MFA session;
* ``document_violation``: one document whose MFA condition lets requests without MFA through.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.policy_pack.components import ComponentReport, check_components
from mfa_policy.policy_pack.decide import Enforcement, decide_enforcement, describe
from mfa_policy.policy_pack.documents import DocumentJudgement, judge_mfa_document
from mfa_policy.policy_pack.stack import (
    ACCESS_KEY,
    DOCUMENT_TYPES,
    OUTSIDE_THE_STACK,
    USER,
    AccountModel,
    Resolver,
    StackResource,
    build_accounts,
    is_unknown,
    parse_document,
)
from mfa_policy.verifier.catalog import Catalog


class ConfigError(ValueError):
    """A policy's config value outside its rule: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        super().__init__(f"config {key}: got {json.dumps(value, default=str)}; expected {allowed}")


@dataclass(frozen=True)
class UserSettings:
    """The config of the policies about users (each policy has its own copy of these keys)."""

    enforced_groups: tuple[str, ...] = ()
    organization_guardrail: bool = False
    exempt_users: tuple[str, ...] = ()

    def exempt(self, user: str) -> bool:
        return any(fnmatch.fnmatchcase(user.lower(), pattern.lower()) for pattern in self.exempt_users)


def _names(config: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key, [])
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(key, value, "a list of non-empty strings")
    return tuple(value)


def user_settings(config: Mapping[str, Any]) -> UserSettings:
    """``UserSettings`` from a policy's config (``enforcedGroups``, ``organizationGuardrail``,
    ``exemptUsers``); raises ``ConfigError`` for a value outside its rule."""
    guardrail = config.get("organizationGuardrail", False)
    if not isinstance(guardrail, bool):
        raise ConfigError("organizationGuardrail", guardrail, "true or false")
    return UserSettings(_names(config, "enforcedGroups"), guardrail, _names(config, "exemptUsers"))


@dataclass(frozen=True)
class Finding:
    """One violation: the message and the resource it is about (None: the stack)."""

    message: str
    urn: str | None = None


class Status(enum.Enum):
    ENFORCED = "enforced by this stack's policies"
    ENFORCED_ELSEWHERE = "in a group enforcedGroups names"
    EXEMPT = "exempt"
    UNDECIDED = "could not decide"
    GUARDRAIL = "left to the organization guardrail"
    NOT_ENFORCED = "not enforced"


@dataclass(frozen=True)
class UserStatus:
    """One IAM user of the stack and what the pack makes of it."""

    name: str
    resource: StackResource
    model: AccountModel
    status: Status
    enforcement: Enforcement
    reasons: tuple[str, ...] = ()  # why it could not be decided, or which enforced group covers it


@dataclass
class StackAnalysis:
    """Everything the stack policies report, computed once per stack."""

    resources: Sequence[StackResource]
    models: list[AccountModel]
    decisions: dict[tuple[str, str], Enforcement]  # (provider, user) -> the audit's answer
    components: list[ComponentReport]
    documents: dict[str, DocumentJudgement | None] = field(default_factory=dict)  # URN -> judgement


_CACHE: dict[tuple[str, int], StackAnalysis] = {}


def _digest(resources: Sequence[StackResource], providers: Mapping[str, StackResource]) -> str:
    data = [
        (r.type, r.name, r.urn, r.props, r.parent, r.provider, r.property_dependencies)
        for r in [*resources, *providers.values()]
    ]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=repr).encode()).hexdigest()


def analyze_stack(
    resources: Sequence[StackResource], catalog: Catalog, providers: Mapping[str, StackResource] | None = None
) -> StackAnalysis:
    """The stack's snapshot per provider, each user's decision, the components' checks and the
    documents' MFA conditions (cached: every stack policy of one run asks with the same stack)."""
    providers = providers or {}
    key = (_digest(resources, providers), id(catalog))
    if key not in _CACHE:
        if len(_CACHE) > 8:
            _CACHE.clear()
        models = build_accounts(resources, providers)
        decisions = {}
        for model in models:
            for user, answer in decide_enforcement(model.snapshot(), catalog).items():
                decisions[(model.provider, user)] = answer
        analysis = StackAnalysis(resources, models, decisions, check_components(resources, models, catalog))
        for resource in resources:
            if resource.type in DOCUMENT_TYPES:
                document = parse_document(resource.props.get("policy"))
                analysis.documents[resource.urn] = None if document is None else judge_mfa_document(document, catalog)
        _CACHE[key] = analysis
    return _CACHE[key]


# ---------------------------------------------------------------------------------------------
# Users


def user_statuses(analysis: StackAnalysis, settings: UserSettings) -> list[UserStatus]:
    """Every IAM user of the stack with what the pack makes of it under ``settings``."""
    enforced_groups = {group.lower() for group in settings.enforced_groups}
    found = []
    for model in analysis.models:
        for name, resource in model.users.items():
            answer = analysis.decisions[(model.provider, name)]
            groups = model.user_groups.get(name, [])
            named = [group for group in groups if group.lower() in enforced_groups]
            unsure = model.unsure(name)
            if enforced_groups:
                unsure += [
                    f"the name of group {group} is not known yet (it may be one enforcedGroups names)"
                    for group in groups
                    if group.startswith("<")
                ]
            reasons: tuple[str, ...] = ()
            if settings.exempt(name):
                status = Status.EXEMPT
            elif answer.enforced:
                status = Status.ENFORCED
            elif named:
                status, reasons = Status.ENFORCED_ELSEWHERE, tuple(named)
            elif unsure:
                status, reasons = Status.UNDECIDED, tuple(unsure)
            elif settings.organization_guardrail:
                status = Status.GUARDRAIL
            else:
                status = Status.NOT_ENFORCED
            found.append(UserStatus(name, resource, model, status, answer, reasons))
    return found


def _who(status: UserStatus) -> str:
    """``IAM user alice``, and the resource's logical name when it differs from the user's name."""
    logical = status.resource.name
    return f"IAM user {status.name}" + (f" (resource {logical})" if logical != status.name else "")


def _groups_text(status: UserStatus) -> str:
    model = status.model
    groups = model.user_groups.get(status.name, [])
    if not groups:
        return "It is in no group of this stack."
    shown = []
    for group in dict.fromkeys(groups):
        policies = [
            model.policies[key].name if key in model.policies else key for key in model.group_managed.get(group, [])
        ]
        policies += [label for label, _ in model.group_inline.get(group, [])]
        shown.append(f"{group} ({', '.join(policies) or 'no policy in this stack'})")
    return f"Its groups in this stack: {'; '.join(shown)}."


def _exposures_text(enforcement: Enforcement) -> str:
    parts = []
    for exposure in enforcement.exposures:
        via = [label for label in exposure.policies if OUTSIDE_THE_STACK not in label]
        parts.append(describe(exposure) + (f" (allowed by {', '.join(via)})" if via else ""))
    return "; ".join(parts)


def not_enforced(analysis: StackAnalysis, settings: UserSettings) -> list[Finding]:
    """The users MFA is not enforced for (the mandatory policy's violations)."""
    findings = []
    for status in user_statuses(analysis, settings):
        if status.status is not Status.NOT_ENFORCED:
            continue
        notes = f" Notes: {'; '.join(status.enforcement.notes)}." if status.enforcement.notes else ""
        findings.append(
            Finding(
                f"{_who(status)}: MFA is not enforced. Next to anything granted "
                "outside this stack, no policy of the user in this stack denies requests without MFA; these get "
                f"through: {_exposures_text(status.enforcement) or 'requests beyond enrolling an MFA device'}. "
                f"{_groups_text(status)}{notes} Fix: add the user to a group that RequireMfaPolicy (mfa-policy) "
                "protects, or attach a policy that denies everything but MFA enrollment without MFA; if MFA is "
                "enforced for one of its groups outside this stack, name the group in enforcedGroups; if an "
                "organization guardrail (SCP) covers the account, set organizationGuardrail; to exempt the user, "
                "add a pattern to exemptUsers.",
                status.resource.urn,
            )
        )
    return findings


def left_to_guardrail(analysis: StackAnalysis, settings: UserSettings) -> list[Finding]:
    """With ``organizationGuardrail``: the users only the organization's guardrail covers."""
    return [
        Finding(
            f"{_who(status)}: MFA is not enforced by this stack; the config says "
            "an organization guardrail (SCP) covers the account, so this is advisory. SCPs do not apply to the "
            "management account: make sure this stack does not deploy there. Without MFA, next to anything "
            f"granted outside this stack, these would get through: {_exposures_text(status.enforcement)}.",
            status.resource.urn,
        )
        for status in user_statuses(analysis, settings)
        if status.status is Status.GUARDRAIL
    ]


def undecided(analysis: StackAnalysis, settings: UserSettings) -> list[Finding]:
    """What the pack could not decide: users (never reported as covered), components, documents."""
    findings = [
        Finding(
            f"{_who(status)}: could not decide whether MFA is enforced: "
            f"{'; '.join(status.reasons)}. The user is not counted as covered; the stack policies decide again "
            "at the end of `pulumi up`, when every value is known.",
            status.resource.urn,
        )
        for status in user_statuses(analysis, settings)
        if status.status is Status.UNDECIDED
    ]
    for report in analysis.components:
        findings += [Finding(message, report.component.urn) for message in report.undecided]
    by_urn = {resource.urn: resource for resource in analysis.resources}
    for urn, judgement in analysis.documents.items():
        resource = by_urn[urn]
        if is_unknown(resource.props.get("policy")):
            findings.append(
                Finding(
                    f"{resource.label}: its document is not known yet, so whether its MFA condition enforces MFA "
                    "is checked when it is (at `pulumi up`)",
                    urn,
                )
            )
        elif judgement is not None and judgement.error is not None:
            findings.append(
                Finding(f"{resource.label}: the evaluator cannot read its document ({judgement.error})", urn)
            )
    return findings


def component_failures(analysis: StackAnalysis) -> list[Finding]:
    """The project's own components whose policy is weakened or re-opened."""
    return [Finding(message, report.component.urn) for report in analysis.components for message in report.failures]


def access_keys_of_enforced_users(analysis: StackAnalysis, settings: UserSettings) -> list[Finding]:
    """Access keys of users for whom MFA is enforced: automation that will be locked out."""
    statuses = {(status.model.provider, status.name): status for status in user_statuses(analysis, settings)}
    covered = (Status.ENFORCED, Status.ENFORCED_ELSEWHERE, Status.GUARDRAIL)
    resolver = Resolver(analysis.resources)
    findings = []
    for resource in analysis.resources:
        if resource.type != ACCESS_KEY:
            continue
        for user in resolver.names(resource, "user", USER).keys:
            status = statuses.get((resource.provider, user))
            if status is None or status.status not in covered:
                continue
            how = {
                Status.ENFORCED: "by this stack's policies",
                Status.ENFORCED_ELSEWHERE: f"by group {', '.join(status.reasons)} (enforcedGroups)",
                Status.GUARDRAIL: "by the organization guardrail",
            }[status.status]
            findings.append(
                Finding(
                    f"{resource.label}: access keys for IAM user {user}, for whom MFA is enforced {how}. With these "
                    "keys alone the user can do nothing but enroll an MFA device and call sts:GetSessionToken: a "
                    "script must first get an MFA session (aws sts get-session-token --serial-number <MFA device "
                    "ARN> --token-code <code>) and use its temporary credentials. For unattended automation, use a "
                    "role instead of an IAM user in an enforced group.",
                    resource.urn,
                )
            )
    return findings


# ---------------------------------------------------------------------------------------------
# One document


def document_violation(resource: StackResource, catalog: Catalog) -> str | None:
    """The violation message for a policy document whose MFA condition does not enforce MFA, or
    None (it holds, it mentions no MFA key, or it is not known yet)."""
    document = parse_document(resource.props.get("policy"))
    if document is None:
        return None
    judgement = judge_mfa_document(document, catalog)
    if judgement is None or not judgement.leaks:
        return None
    leaks = "; ".join(describe(leak) for leak in judgement.leaks)
    hints = f" Why: {' '.join(hint + '.' for hint in judgement.hints)}" if judgement.hints else ""
    notes = f" Notes: {'; '.join(judgement.notes)}." if judgement.notes else ""
    return (
        f"{resource.label}: its MFA condition does not enforce MFA. Judged as a whole document (its Deny "
        "statements, and its MFA-conditioned Allows, next to a policy that allows what its MFA Deny statements "
        f"cover), these requests get through without MFA: {leaks}.{hints}{notes}"
    )
