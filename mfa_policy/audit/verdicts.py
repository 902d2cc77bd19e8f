"""Who is protected: one verdict per user of an ``AccountSnapshot`` (pure: no AWS, no I/O).

The account is modelled by ``mfa_policy.audit.model`` (each user's effective policies: identity,
permission boundary, SCP levels); the question "without MFA, can this user do anything beyond the
bootstrap set?" is the verifier's (``mfa_policy.verifier.exposures``); this module turns the
answers into verdicts and the evidence a reader can act on. Users whose policy sets are identical
share one compiled set and every decision that does not depend on who asks.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mfa_policy.audit.aws import (
    HARDWARE_TOTP,
    SCPS_FROM_FILES,
    SCPS_FROM_ORGANIZATION,
    SCPS_NONE_APPLY,
    SECURITY_KEY,
    VIRTUAL,
    AccountSnapshot,
    User,
)
from mfa_policy.audit.findings import (
    DeviceRequirement,
    Finding,
    RootVerdict,
    device_findings,
    judge_root,
    open_ticket_finding,
)
from mfa_policy.audit.model import AccountModel, Applied, EffectivePolicies, PlannedPolicy
from mfa_policy.audit.resource_policies import (
    Coverage,
    Guards,
    ResourceExposure,
    ResourcePolicies,
    coverage,
    guards_from,
)
from mfa_policy.audit.tickets import CLOSED, OPEN, EnrollmentTicket, TicketTag, source_networks, ticket_tags
from mfa_policy.policy.validation import CERTIFICATION_LEVELS
from mfa_policy.verifier.catalog import Catalog
from mfa_policy.verifier.evaluation import Decision, LayeredPolicySet, PolicySet
from mfa_policy.verifier.exposures import ALLOWED_WITHOUT_MFA, ExposureFinder
from mfa_policy.verifier.exposures import Exposure as Request
from mfa_policy.verifier.guarantees import (
    CERTIFICATION_KEYS,
    REGISTER_SECURITY_KEY,
    Intent,
    Registration,
    registrations,
)
from mfa_policy.verifier.requests import (
    CONSOLE,
    KEYS,
    MFA_SCENARIO,
    NO_MFA_SCENARIOS,
    KeyModel,
    Principal,
    Scenario,
    relax_document,
    request_context,
)

__all__ = [
    "ALLOWED_WITHOUT_MFA",
    "CONSOLE",
    "FAILING",
    "KEYS",
    "LOCKED_OUT",
    "MUST_ENROLL",
    "NO_ACCESS",
    "NO_CREDENTIALS",
    "PROTECTED",
    "UNPROTECTED",
    "VERDICTS",
    "AuditReport",
    "Exposure",
    "PlannedPolicy",
    "UserVerdict",
    "audit",
]

UNPROTECTED = "unprotected"
LOCKED_OUT = "will be locked out"
MUST_ENROLL = "must enroll"
PROTECTED = "protected"
NO_ACCESS = "no access"
NO_CREDENTIALS = "no credentials"
VERDICTS = (UNPROTECTED, LOCKED_OUT, MUST_ENROLL, PROTECTED, NO_ACCESS, NO_CREDENTIALS)  # worst first
FAILING = frozenset({UNPROTECTED, LOCKED_OUT})  # what makes the audit exit 1

# The security-key registration keys: set by the enrollment check's requests, unknown otherwise.
_REGISTRATION_KEYS = frozenset({REGISTER_SECURITY_KEY.lower(), *(key.lower() for key in CERTIFICATION_KEYS.values())})


@dataclass(frozen=True)
class Exposure:
    """A request the user may make without MFA that is not in the bootstrap set."""

    action: str
    resource: str
    context: str  # KEYS or CONSOLE
    policies: tuple[str, ...]  # the user's identity policies that allow it (each alone)

    def __str__(self) -> str:
        via = ", ".join(self.policies) or "the policies together"
        return f"{self.action} on {self.resource} ({self.context}; allowed by {via})"


@dataclass(frozen=True)
class UserVerdict:
    """The audit's answer for one user."""

    user: str
    path: str
    verdict: str
    enforced: bool
    exposures: tuple[Exposure, ...] = ()
    groups: tuple[str, ...] = ()
    mfa_devices: tuple[str, ...] = ()  # device kinds
    password: bool = False
    active_keys: int = 0
    keys_last_used: datetime | None = None
    notes: tuple[str, ...] = ()
    # Requests same-account resource policies grant without MFA (they make the
    # user unprotected), and findings on the user's devices (they fail the audit).
    resource_exposures: tuple[ResourceExposure, ...] = ()
    findings: tuple[Finding, ...] = ()
    # For a user without MFA: whether an enrollment ticket gates their enrollment, and its state.
    enrollment: EnrollmentTicket | None = None

    @property
    def failing(self) -> bool:
        """Whether this user makes the audit fail: a failing verdict, or a finding."""
        return self.verdict in FAILING or bool(self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "path": self.path,
            "verdict": self.verdict,
            "enforced": self.enforced,
            "groups": list(self.groups),
            "mfaDevices": list(self.mfa_devices),
            "password": self.password,
            "activeAccessKeys": self.active_keys,
            "accessKeysLastUsed": self.keys_last_used.isoformat() if self.keys_last_used else None,
            "allowedWithoutMfa": [
                {"action": e.action, "resource": e.resource, "context": e.context, "policies": list(e.policies)}
                for e in self.exposures
            ],
            "notes": list(self.notes),
            "grantedByResourcePolicies": [exposure.as_dict() for exposure in self.resource_exposures],
            "findings": [finding.as_dict() for finding in self.findings],
            "enrollment": None if self.enrollment is None else self.enrollment.as_dict(self.user),
        }


@dataclass(frozen=True)
class AuditReport:
    """Every user's verdict, worst first, how much evaluation it took, and the SCPs applied."""

    account_id: str
    partition: str
    scenario: str
    users: tuple[UserVerdict, ...]
    policy_sets: int  # distinct policy sets evaluated
    key_age_days: int
    notes: tuple[str, ...] = ()
    scps: str = "not applied"  # how the service control policies were obtained (SCPS_* of aws.py)
    scp_levels: int = 0
    # The root user's verdict (None: not read), which resource policies were seen,
    # and the device requirement findings were checked against (None: none).
    root: RootVerdict | None = None
    resource_policies: Coverage = field(default_factory=lambda: Coverage(False))
    device_requirement: str | None = None

    def counts(self) -> dict[str, int]:
        return {verdict: sum(1 for u in self.users if u.verdict == verdict) for verdict in VERDICTS}

    @property
    def findings(self) -> int:
        """How many findings the users have (each fails the audit)."""
        return sum(len(user.findings) for user in self.users)

    @property
    def failing(self) -> bool:
        """Whether someone is unprotected or about to be locked out, a user has a finding, or the
        root user fails (the audit exits 1)."""
        return any(user.failing for user in self.users) or (self.root is not None and self.root.failing)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "partition": self.partition,
            "scenario": self.scenario,
            "keyAgeDays": self.key_age_days,
            "policySetsEvaluated": self.policy_sets,
            "serviceControlPolicies": {"source": self.scps, "levels": self.scp_levels},
            "summary": self.counts(),
            "failing": self.failing,
            "notes": list(self.notes),
            "root": self.root.as_dict() if self.root else None,
            "resourcePolicies": self.resource_policies.as_dict(),
            "mfaDevicesRequired": self.device_requirement,
            "findings": self.findings,
            "users": [user.as_dict() for user in self.users],
        }


# ---------------------------------------------------------------------------------------------


class _PolicySetEvaluation:
    """One distinct policy set, compiled once, shared by the users who have it."""

    def __init__(self, effective: EffectivePolicies, catalog: Catalog) -> None:
        self.policies = effective.layers().compile()
        self.finder = ExposureFinder(self.policies, catalog)
        self.catalog = catalog
        # Keyed by their own relaxed documents: two users whose sets relax alike without the
        # registration keys may still differ in a condition on them.
        self._enrollment: dict[tuple[Any, ...], PolicySet | LayeredPolicySet] = {}
        self._single: dict[str, PolicySet] = {}

    def enrollment_policies(self, model: AccountModel, user: User) -> PolicySet | LayeredPolicySet:
        """The user's set relaxed with the registration keys known (the enrollment check sets them)."""
        effective = model.effective(user, model.key_model(user, _REGISTRATION_KEYS))
        key = effective.key()
        found = self._enrollment.get(key)
        if found is None:
            found = self._enrollment[key] = effective.layers().compile()
        return found

    def allowing(self, identity: list[Applied], request: Request, principal: Principal) -> tuple[str, ...]:
        """The labels of the user's identity policies that, each alone, allow the request."""
        scenario = next(s for s in (*NO_MFA_SCENARIOS, MFA_SCENARIO) if s.name == request.context)
        values = request_context(principal, scenario)
        labels = []
        for applied in identity:
            compiled = self._single.get(applied.key)
            if compiled is None:
                compiled = self._single[applied.key] = PolicySet([applied.document])
            if compiled.evaluate_normalized(request.action, request.resource, values) is Decision.ALLOW:
                labels.append(applied.label)
        return tuple(dict.fromkeys(labels))


def _scenarios_for(user: User) -> tuple[Scenario, ...]:
    """The no-MFA contexts, the one matching the user's credentials first (the console for a
    password alone, access keys otherwise)."""
    credentials = user.credentials
    if credentials is not None and credentials.password_enabled and not credentials.active_keys:
        return NO_MFA_SCENARIOS[::-1]
    return NO_MFA_SCENARIOS


def _most_telling(found: tuple[Request, ...], count: int) -> tuple[Request, ...]:
    """Up to ``count`` requests on a resource of their own service (or ``*``), when there is one: a
    request a reader recognises, rather than one on a resource that another service's ARN format
    happens to admit (ssm:SendCommand names an S3 bucket for its output); else the first ones."""

    def natural(request: Request) -> bool:
        if request.resource == "*":
            return True
        parts = request.resource.split(":", 3)
        service = request.action.split(":", 1)[0].lower()
        return len(parts) > 2 and parts[2] in (service, "iam" if service == "sts" else service)

    recognised = [request for request in found if natural(request)]
    return tuple((recognised or list(found))[:count])


def _has_credentials(user: User) -> bool | None:
    credentials = user.credentials
    if credentials is None:
        return None
    return credentials.password_enabled or bool(credentials.active_keys)


def _verdict(
    user: User, enforced: bool, access: bool, now: datetime, key_age_days: int
) -> tuple[str, list[str]]:
    notes: list[str] = []
    credentials = user.credentials
    if credentials is None:
        notes.append("not in the credential report yet (created after it was generated): credentials unknown")
    elif not credentials.password_enabled and not credentials.active_keys:
        return NO_CREDENTIALS, notes
    if not enforced:
        return UNPROTECTED, notes
    if not access:
        return NO_ACCESS, notes
    if user.mfa_devices:
        return PROTECTED, notes
    if credentials is not None:
        recent = now - timedelta(days=key_age_days)
        if any(key.last_used is not None and key.last_used >= recent for key in credentials.active_keys):
            return LOCKED_OUT, notes
    return MUST_ENROLL, notes


def _scp_notes(snapshot: AccountSnapshot) -> list[str]:
    notes = list(snapshot.notes)
    if snapshot.scp_source == SCPS_FROM_ORGANIZATION:
        notes.append(f"service control policies read from AWS Organizations: {len(snapshot.scp_levels)} levels applied")
    elif snapshot.scp_source == SCPS_FROM_FILES:
        notes.append(f"service control policies from --scp files: {len(snapshot.scp_levels)} levels applied")
    elif snapshot.scp_source != SCPS_NONE_APPLY and not any("service control policies not applied" in n for n in notes):
        notes.append(
            "service control policies not applied (not read, no --scp): a user whom an SCP protects may be reported "
            "unprotected; never the other way round"
        )
    return notes


def audit(
    snapshot: AccountSnapshot,
    catalog: Catalog,
    *,
    planned: PlannedPolicy | None = None,
    key_age_days: int = 30,
    now: datetime | None = None,
    examples: int = 3,
    progress: Callable[[int, int], None] | None = None,
    devices: DeviceRequirement | None = None,
    evaluations: MutableMapping[tuple[Any, ...], Any] | None = None,
) -> AuditReport:
    """One verdict per user of ``snapshot``, worst first.

    ``planned``: a policy evaluated as if attached to its groups now (the impact preview).
    ``key_age_days``: access keys used this recently are automation that MFA enforcement breaks.
    ``examples``: how many requests allowed without MFA an unprotected user's verdict names.
    ``devices``: the devices users must have (findings for those who have others).
    ``evaluations``: a cache of compiled policy sets by ``EffectivePolicies.key()`` to share with
    other accounts (``mfa_policy.audit.organization``); the caller keeps it sound and single-threaded.
    """
    now = now or datetime.now(UTC)
    model = AccountModel(snapshot, planned)
    if evaluations is None:
        evaluations = {}
    account_sets: set[tuple[Any, ...]] = set()  # the distinct policy sets of this account
    account_keys = KeyModel(
        tags_known=all(user.tags is not None for user in snapshot.users),
        organization_known=model.key_model(snapshot.users[0]).organization_known if snapshot.users else False,
    )
    resources = ResourcePolicies(
        snapshot.resource_policies or (),
        catalog,
        lambda document, label: relax_document(document, label, account_keys),
    )
    guards: dict[tuple[Any, ...], Guards] = {}
    verdicts = []
    report_notes = _scp_notes(snapshot)
    if planned is not None:
        missing = [name for name in planned.groups if name not in snapshot.groups]
        if missing:
            report_notes.append(f"group(s) {', '.join(missing)} do not exist in the account: nobody is in them yet")
    for done, user in enumerate(snapshot.users, start=1):
        effective = model.effective(user, model.key_model(user, quiet=_REGISTRATION_KEYS))
        notes = effective.unproven + effective.relaxation_notes() + effective.notes
        principal = model.principal(user)
        exposures: tuple[Exposure, ...] = ()
        more_notes: list[str] = []
        if effective.unproven:
            enforced, access = False, True
        else:
            set_key = effective.key()
            evaluation = evaluations.get(set_key)
            if evaluation is None:
                evaluation = evaluations[set_key] = _PolicySetEvaluation(effective, catalog)
            account_sets.add(set_key)
            # A few more than shown, so that requests on their own service's resources come first.
            found = _most_telling(evaluation.finder.find(principal, _scenarios_for(user), examples * 2), examples)
            enforced = not found
            access = True
            if enforced:
                access = bool(evaluation.finder.find(principal, (MFA_SCENARIO,), 1))
            if _has_credentials(user) is not False:
                exposures = tuple(
                    Exposure(r.action, r.resource, r.context, evaluation.allowing(effective.identity, r, principal))
                    for r in found
                )
        # Same-account resource policies may grant the user directly, whatever the identity
        # policies say: such a grant without MFA makes the user unprotected.
        granted: list[ResourceExposure] = []
        if resources.policies and _has_credentials(user) is not False:
            granted, granted_notes = resources.exposures(
                user,
                snapshot.account_id,
                snapshot.partition,
                _named_contexts(principal, _scenarios_for(user)),
                _guards(guards, effective),
            )
            notes += [note for note in granted_notes if note not in notes]
            if granted:
                enforced, access = False, True
            elif not access:
                # Allowed nothing by its identity policies, even with MFA: a resource policy may
                # still grant it something once it signs in with MFA (enforcement then takes it).
                with_mfa, _ = resources.exposures(
                    user,
                    snapshot.account_id,
                    snapshot.partition,
                    _named_contexts(principal, (MFA_SCENARIO,)),
                    _guards(guards, effective),
                )
                access = bool(with_mfa)
        verdict, verdict_notes = _verdict(user, enforced, access, now, key_age_days)
        if verdict == NO_ACCESS:
            more_notes.append(
                "allowed nothing beyond the bootstrap set even with MFA: enforcement takes nothing away"
            )
        ticket: EnrollmentTicket | None = None
        ticket_findings: tuple[Finding, ...] = ()
        if verdict in (MUST_ENROLL, LOCKED_OUT) and not effective.unproven:
            policies = evaluations[effective.key()].enrollment_policies(model, user)
            ticket = _enrollment_ticket(policies, principal, effective)
            # A closed ticket is what stops enrollment: say what the user can enroll once it opens.
            opened = principal
            if ticket.tag is not None and ticket.state == CLOSED:
                opened = _retagged(principal, ticket.tag, True)
            more_notes += _enrollment_notes(_enrollable(policies, opened))
            more_notes += ticket.notes(user.name)
        elif user.mfa_devices and not effective.unproven and effective.key() in evaluations:
            policies = evaluations[effective.key()].enrollment_policies(model, user)
            ticket_findings = tuple(
                open_ticket_finding(user.name, tag.key, tag.value, tag.untag_command(user.name))
                for tag in _open_tickets(policies, principal, effective)
            )
        credentials = user.credentials
        used = [key.last_used for key in credentials.active_keys if key.last_used] if credentials else []
        verdicts.append(
            UserVerdict(
                user=user.name,
                path=user.path,
                verdict=verdict,
                enforced=enforced,
                exposures=exposures,
                groups=user.groups,
                mfa_devices=tuple(device.kind for device in user.mfa_devices),
                password=bool(credentials and credentials.password_enabled),
                active_keys=len(credentials.active_keys) if credentials else 0,
                keys_last_used=max(used) if used else None,
                notes=tuple(dict.fromkeys(notes + verdict_notes + more_notes)),
                resource_exposures=tuple(granted),
                findings=device_findings(user, devices) + ticket_findings,
                enrollment=ticket,
            )
        )
        if progress is not None:
            progress(done, len(snapshot.users))
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    verdicts.sort(key=lambda v: (order[v.verdict], v.user))
    scenario = "as the account stands"
    if planned is not None:
        scenario = f"as if {planned.name} were attached to group(s) {', '.join(planned.groups)} now"
    return AuditReport(
        account_id=snapshot.account_id,
        partition=snapshot.partition,
        scenario=scenario,
        users=tuple(verdicts),
        policy_sets=len(account_sets),
        key_age_days=key_age_days,
        notes=tuple(report_notes),
        scps=snapshot.scp_source,
        scp_levels=len(snapshot.scp_levels),
        root=judge_root(snapshot.root),
        resource_policies=coverage(
            snapshot.resource_policies, snapshot.unread_policies, snapshot.regions, resources.unevaluated
        ),
        device_requirement=devices.source if devices else None,
    )


# ---------------------------------------------------------------------------------------------
# Resource policies: what stops a grant, and the contexts it is tried in


@dataclass(frozen=True)
class _NamedContext:
    name: str
    values: Mapping[str, tuple[str, ...]]


def _named_contexts(principal: Principal, scenarios: tuple[Scenario, ...]) -> list[_NamedContext]:
    """The request contexts without MFA, in order of preference, as resource policies are tried in."""
    return [_NamedContext(scenario.name, request_context(principal, scenario)) for scenario in scenarios]


def _guards(cache: dict[tuple[Any, ...], Guards], effective: EffectivePolicies) -> Guards:
    """The user's identity policies and boundary, whose explicit Deny stops a resource-policy grant
    (their implicit deny does not: IAM User Guide, "Policy evaluation logic"), and the SCP levels,
    each of which must also allow; one ``Guards`` per distinct policy set (its compiled layers are
    what shared answers are keyed by)."""
    key = effective.key()
    found = cache.get(key)
    if found is None:
        documents = [applied.document for applied in effective.identity]
        if effective.boundary is not None:
            documents.append(effective.boundary.document)
        levels = [PolicySet([applied.document for applied in level]) for level in effective.scp_levels]
        found = cache[key] = guards_from(documents, levels)
    return found


# ---------------------------------------------------------------------------------------------
# Enrollment: which devices a user who must enroll can enroll alone

_ALL_KINDS = (VIRTUAL, HARDWARE_TOTP, SECURITY_KEY)
_REGISTRATIONS = {registration.name: registration for registration in registrations(Intent())}
_KEY_CREATE = _REGISTRATIONS["key-create"]


@functools.cache
def _key_activations() -> tuple[Registration, ...]:
    """The Activate step of every security key there can be: uncertified, then each combination
    of certification levels (a certification may be absent), the verifier's usual ones first."""
    choices = [[None, *levels] for levels in CERTIFICATION_LEVELS.values()]
    combinations = [
        {CERTIFICATION_KEYS[name]: level for name, level in zip(CERTIFICATION_LEVELS, combo, strict=True) if level}
        for combo in itertools.product(*choices)
    ]
    found = [_REGISTRATIONS["key-activate-uncertified"], _REGISTRATIONS["key-activate"]]
    found += [
        Registration(
            f"key-activate-{index}", "security key: Activate", {REGISTER_SECURITY_KEY: "Activate", **keys}, True
        )
        for index, keys in enumerate(combinations)
        if keys
    ]
    return tuple(found)


def _enrollable(policies: PolicySet | LayeredPolicySet, principal: Principal, context: str = CONSOLE) -> list[str]:
    """The device kinds the user may enroll on its own user without MFA, from the console (or
    ``context``): a virtual device (CreateVirtualMFADevice, then EnableMFADevice), a hardware TOTP
    token (EnableMFADevice), a security key (EnableMFADevice with iam:RegisterSecurityKey Create,
    then Activate with some certification)."""
    scenario = next(s for s in NO_MFA_SCENARIOS if s.name == context)
    base = request_context(principal, scenario)
    own_arn = principal.own_arn
    device = f"arn:{principal.partition}:iam::{principal.account_id}:mfa/{principal.name}"

    def allowed(action: str, resource: str, registration: Registration | None = None) -> bool:
        values = dict(base)
        if registration is not None:
            values.update({key.lower(): (value,) for key, value in registration.keys.items()})
        return policies.evaluate_normalized(action, resource, values) is Decision.ALLOW

    kinds = []
    totp = allowed("iam:EnableMFADevice", own_arn)
    if totp and allowed("iam:CreateVirtualMFADevice", device):
        kinds.append(VIRTUAL)
    if totp:
        kinds.append(HARDWARE_TOTP)
    if allowed("iam:EnableMFADevice", own_arn, _KEY_CREATE) and any(
        allowed("iam:EnableMFADevice", own_arn, activation) for activation in _key_activations()
    ):
        kinds.append(SECURITY_KEY)
    return kinds


def _enrollment_notes(kinds: list[str]) -> list[str]:
    """What a user who must enroll can enroll alone, when not every kind of device."""
    if not kinds:
        return [
            "cannot enroll alone: without MFA the policies allow neither a virtual device "
            "(iam:CreateVirtualMFADevice, iam:EnableMFADevice), a hardware TOTP token (iam:EnableMFADevice) "
            "nor a security key (iam:EnableMFADevice with iam:RegisterSecurityKey Create, then Activate) on the "
            "own user; an administrator must assign the device"
        ]
    if len(kinds) < len(_ALL_KINDS):
        missing = [kind for kind in _ALL_KINDS if kind not in kinds]
        return [f"can enroll alone only: {', '.join(kinds)} (not {', '.join(missing)})"]
    return []


# ---------------------------------------------------------------------------------------------
# Enrollment tickets: a tag that opens enrollment without MFA (the ``enrollment`` option's gate,
# or the same idea in someone else's words), decided by evaluating with and without it


def _originals(effective: EffectivePolicies) -> list[Mapping[str, Any]]:
    applied = [*effective.identity, *([effective.boundary] if effective.boundary else [])]
    applied += [entry for level in effective.scp_levels for entry in level]
    return [entry.original for entry in applied if entry.original is not None]


def _retagged(principal: Principal, tag: TicketTag, present: bool) -> Principal:
    """The principal with the tag (IAM compares tag keys without case) removed, or set."""
    tags = {key: value for key, value in (principal.tags or {}).items() if key.lower() != tag.key.lower()}
    if present:
        tags[tag.key] = tag.value
    return dataclasses.replace(principal, tags=tags)


def _gates(policies: PolicySet | LayeredPolicySet, principal: Principal, tag: TicketTag, context: str) -> bool:
    """Whether carrying the tag is what lets the user enroll a device without MFA."""
    return bool(_enrollable(policies, _retagged(principal, tag, True), context)) and not _enrollable(
        policies, _retagged(principal, tag, False), context
    )


def _enrollment_ticket(
    policies: PolicySet | LayeredPolicySet, principal: Principal, effective: EffectivePolicies
) -> EnrollmentTicket:
    """For a user without MFA: the ticket tag that gates their enrollment (open when they may
    enroll with the tags they carry now), and the networks enrollment is limited to."""
    documents = _originals(effective)
    networks = source_networks(documents)
    if principal.tags is None:  # tags not read: nothing to decide with
        return EnrollmentTicket(None, None, networks)
    for tag in ticket_tags(documents):
        if _gates(policies, principal, tag, CONSOLE):
            state = OPEN if _enrollable(policies, principal) else CLOSED
            return EnrollmentTicket(_as_carried(tag, principal), state, networks)
    return EnrollmentTicket(None, None, networks)


def _as_carried(tag: TicketTag, principal: Principal) -> TicketTag:
    """The tag with its key spelled as the user carries it (IAM compares tag keys without case, but
    the command that removes it is best given the key as stored)."""
    for key in principal.tags or {}:
        if key.lower() == tag.key.lower():
            return TicketTag(key, tag.value)
    return tag


def _open_tickets(
    policies: PolicySet | LayeredPolicySet, principal: Principal, effective: EffectivePolicies
) -> list[TicketTag]:
    """The ticket tags an enrolled user still carries that let anyone holding their password or
    access keys add a device without MFA."""
    carried = {key.lower() for key in principal.tags or {}}
    found = []
    for tag in ticket_tags(_originals(effective)):
        if tag.key.lower() not in carried:
            continue
        for context in (KEYS, CONSOLE):
            if _enrollable(policies, principal, context) and _gates(policies, principal, tag, context):
                found.append(_as_carried(tag, principal))
                break
    return found
