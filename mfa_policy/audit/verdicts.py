"""Who is protected: one verdict per user of an ``AccountSnapshot`` (pure: no AWS, no I/O).

For each user the effective policies are the user's inline and attached managed policies and
those of each of its groups, capped by its permission boundary (a guard layer that must also
allow). The question is the one G1 asks of our own policy, asked of the user's real policies:
*without MFA* (long-term access keys, or a console session without MFA), can this user do
anything beyond the bootstrap set? It is decided with the verifier's evaluator over the whole
catalog of AWS actions: each action on the user's own ARN, another user's, the catalog's example
resources, and a witness of every resource an Allow statement names.

Users whose policy documents are identical share one evaluation: the policies are compiled once,
services the policies do not single out are decided once per policy set (``service_decision``),
and every request that cannot depend on who asks is decided once per policy set. Only requests
on the user's own ARN, and statements that use policy variables or name the user in a condition,
are decided per user.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mfa_policy.audit.aws import HARDWARE_TOTP, SECURITY_KEY, VIRTUAL, AccountSnapshot, User
from mfa_policy.audit.findings import DeviceRequirement, Finding, RootVerdict, device_findings, judge_root
from mfa_policy.audit.resource_policies import Coverage, Guards, ResourceExposure, ResourcePolicies, coverage
from mfa_policy.policy.validation import CERTIFICATION_LEVELS
from mfa_policy.verifier.catalog import Catalog, CatalogAction
from mfa_policy.verifier.evaluation import (
    Decision,
    LayeredPolicySet,
    PolicyFormatError,
    PolicySet,
    decided_outside_policies,
    normalize_context,
    substitute,
)
from mfa_policy.verifier.guarantees import (
    BOOTSTRAP,
    CERTIFICATION_KEYS,
    LIST_USERS_BOOTSTRAP,
    PASSWORD_CHANGE_BOOTSTRAP,
    REGISTER_SECURITY_KEY,
    Intent,
    Registration,
    RequestContext,
    registration_context,
    registrations,
)

UNPROTECTED = "unprotected"
LOCKED_OUT = "will be locked out"
MUST_ENROLL = "must enroll"
PROTECTED = "protected"
NO_CREDENTIALS = "no credentials"
VERDICTS = (UNPROTECTED, LOCKED_OUT, MUST_ENROLL, PROTECTED, NO_CREDENTIALS)  # worst first
FAILING = frozenset({UNPROTECTED, LOCKED_OUT})  # what makes the audit exit 1

# Every action the project's policy may allow without MFA, with all its options on: a user held
# to these is enforced (the password change and user listing options are choices, not leaks).
ALLOWED_WITHOUT_MFA = BOOTSTRAP + PASSWORD_CHANGE_BOOTSTRAP + LIST_USERS_BOOTSTRAP

KEYS = "access keys"
CONSOLE = "console without MFA"
# Stand-in for "any other user" (the resource that catches iam:CreateAccessKey on a colleague).
OTHER_USER = "another-user"
# Services worth naming first in an example: the ones an administrator recognises at once.
_FIRST_SERVICES = ("iam", "s3", "ec2", "sts", "lambda", "dynamodb", "rds", "kms", "secretsmanager")
# Condition keys whose value differs from user to user.
_USER_KEYS = frozenset({"aws:username", "aws:userid", "aws:principalarn"})
# The condition keys the audit models (lower case), in one place: the keys its request contexts
# set (``_contexts``, and the security-key registration keys ``can_enroll`` adds), and the MFA
# keys, whose absence is the truth in a request without MFA. Any other key (source IP, tags,
# VPC, time, ...) may take a value that helps the user: before evaluating, a Deny statement
# conditioned on one is dropped and an Allow statement's condition on one counts as met, so the
# audit over-approximates what a user can do without MFA (``relax_document``).
MODELLED_KEYS = frozenset(
    {
        "aws:username",
        "aws:userid",
        "aws:principalarn",
        "aws:principaltype",
        "aws:principalaccount",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        REGISTER_SECURITY_KEY.lower(),
        *(key.lower() for key in CERTIFICATION_KEYS.values()),
    }
)
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_WILDCARD = re.compile(r"[*?]")
_IAM_USER = re.compile(r"arn:[^:]*:iam::[^:]*:user/")


@dataclass(frozen=True)
class PlannedPolicy:
    """A policy to evaluate as if it were attached to ``groups`` now (``--stack`` / ``--groups``)."""

    name: str
    document: Mapping[str, Any] = field(compare=False)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Exposure:
    """A request the user may make without MFA that is not in the bootstrap set."""

    action: str
    resource: str
    context: str  # KEYS or CONSOLE
    policies: tuple[str, ...]  # the user's policies that allow it (each alone)

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
    # audit-reads: requests same-account resource policies grant without MFA (they make the
    # user unprotected), and findings on the user's devices (they fail the audit).
    resource_exposures: tuple[ResourceExposure, ...] = ()
    findings: tuple[Finding, ...] = ()

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
        }


@dataclass(frozen=True)
class AuditReport:
    """Every user's verdict, worst first, and how much evaluation it took."""

    account_id: str
    partition: str
    scenario: str
    users: tuple[UserVerdict, ...]
    policy_sets: int  # distinct policy sets evaluated
    key_age_days: int
    notes: tuple[str, ...] = ()
    # audit-reads: the root user's verdict (None: not read), which resource policies were seen,
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
        return (
            any(user.verdict in FAILING for user in self.users)
            or self.findings > 0
            or (self.root is not None and self.root.failing)
        )


# ---------------------------------------------------------------------------------------------
# The policies that apply to a user


@dataclass(frozen=True)
class _Applied:
    """One policy document applying to a user (relaxed: ``relax_document``), with its label."""

    label: str
    key: str  # the relaxed document as canonical JSON: identical documents share evaluations
    document: Mapping[str, Any] = field(compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # what the relaxation changed


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _unmodelled(text: Any, key: str | None = None) -> list[str]:
    """The keys the audit does not model among ``key`` and the policy variables in ``text``."""
    found = [key] if key is not None and key.lower() not in MODELLED_KEYS else []
    values = text if isinstance(text, list) else [text]
    for value in values:
        for name in _VARIABLE.findall(value) if isinstance(value, str) else []:
            name = name.split(",", 1)[0].strip()
            if name not in ("*", "?", "$") and name.lower() not in MODELLED_KEYS and name not in found:
                found.append(name)
    return found


def relax_document(document: Mapping[str, Any], label: str) -> tuple[Mapping[str, Any], list[str]]:
    """``document`` with what the audit cannot evaluate resolved in the user's favour, and notes.

    A Deny statement whose Condition (or Resource) uses a key outside ``MODELLED_KEYS`` is
    dropped: from some source IP, with some tag, at some time, it does not apply. In an Allow
    statement each condition on such a key counts as met (the entry is dropped), and a policy
    variable on such a key in a Resource matches anything. A document the evaluator cannot read
    is returned unchanged (compiling it raises ``PolicyFormatError``).
    """
    body = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [body] if isinstance(body, dict) else body
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        return document, []
    notes: list[str] = []
    relaxed: list[dict[str, Any]] = []
    for index, statement in enumerate(statements):
        sid = statement.get("Sid", f"#{index}")
        conditions = statement.get("Condition", {})
        if not isinstance(conditions, dict) or not all(isinstance(keys, dict) for keys in conditions.values()):
            relaxed.append(statement)
            continue
        if statement.get("Effect") == "Deny":
            keys = [
                k
                for entries in conditions.values()
                for key, values in entries.items()
                for k in _unmodelled(values, key)
            ]
            keys += [k for element in ("Resource", "NotResource") for k in _unmodelled(statement.get(element, []))]
            if keys:
                notes.append(
                    f"{label}, statement {sid}: a Deny conditioned on {', '.join(dict.fromkeys(keys))}, which the "
                    "audit does not model: counted as not applying"
                )
                continue
            relaxed.append(statement)
            continue
        kept: dict[str, dict[str, Any]] = {}
        dropped: list[str] = []
        for operator, entries in conditions.items():
            for key, values in entries.items():
                unknown = _unmodelled(values, key)
                if unknown:
                    dropped += unknown
                else:
                    kept.setdefault(operator, {})[key] = values
        resources = statement.get("Resource")
        if isinstance(resources, (str, list)) and _unmodelled(resources):
            dropped += _unmodelled(resources)
            patterns = resources if isinstance(resources, list) else [resources]
            resources = [
                _VARIABLE.sub(lambda m: "*" if _unmodelled(m.group(0)) else m.group(0), p)
                if isinstance(p, str)
                else p
                for p in patterns
            ]
        if not dropped:
            relaxed.append(statement)
            continue
        notes.append(
            f"{label}, statement {sid}: an Allow conditioned on {', '.join(dict.fromkeys(dropped))}, which the "
            "audit does not model: counted as met"
        )
        changed = {k: v for k, v in statement.items() if k != "Condition"}
        if kept:
            changed["Condition"] = kept
        if "Resource" in statement:
            changed["Resource"] = resources
        relaxed.append(changed)
    if not notes:
        return document, []
    return {**document, "Statement": relaxed}, notes


def _applied(label: str, document: Mapping[str, Any]) -> _Applied:
    relaxed, notes = relax_document(document, label)
    return _Applied(label, _canonical(relaxed), relaxed, tuple(notes))


def effective_policies(
    user: User, snapshot: AccountSnapshot, planned: PlannedPolicy | None = None
) -> tuple[list[_Applied], _Applied | None, list[str], list[str]]:
    """The identity policies of ``user`` (own, through groups, planned), its boundary, notes, and
    why enforcement cannot be proven (an identity policy or group that could not be read: leaving
    it out could leave out a Deny, so the user is not judged enforced)."""
    notes: list[str] = []
    unproven: list[str] = []
    found: list[_Applied] = []

    def managed(arn: str, via: str) -> None:
        policy = snapshot.policies.get(arn)
        if policy is None:
            unproven.append(f"managed policy {arn}{via} could not be read: MFA enforcement cannot be proven")
        else:
            found.append(_applied(f"{policy.name}{via}", policy.document))

    for inline in user.inline:
        found.append(_applied(f"inline {inline.name}", inline.document))
    for arn in user.attached:
        managed(arn, "")
    for name in user.groups:
        group = snapshot.groups.get(name)
        if group is None:
            unproven.append(f"group {name} could not be read: MFA enforcement cannot be proven")
            continue
        for inline in group.inline:
            found.append(_applied(f"inline {inline.name} (group {name})", inline.document))
        for arn in group.attached:
            managed(arn, f" (group {name})")
    if planned is not None:
        for name in planned.groups:
            if name in user.groups:
                found.append(_applied(f"{planned.name} (planned, group {name})", planned.document))
                break
    boundary = None
    if user.boundary:
        policy = snapshot.policies.get(user.boundary)
        if policy is None:
            # Leaving a boundary out can only allow more: the verdict errs on the safe side.
            notes.append(f"permission boundary {user.boundary} was not readable: left out")
        else:
            boundary = _applied(f"{policy.name} (permission boundary)", policy.document)
    return found, boundary, notes, unproven


# ---------------------------------------------------------------------------------------------
# Evaluating one policy set


def _is_user_dependent(statement: Any) -> bool:
    """Whether a statement's outcome can differ between users (policy variables, user keys)."""
    if any("${" in pattern for pattern in statement.resources):
        return True
    return any(
        condition.key in _USER_KEYS or any("${" in value for value in condition.values)
        for condition in statement.conditions
    )


def _witness(pattern: str) -> str:
    """A resource the pattern matches: every wildcard filled with ``example`` (``?`` with ``x``)."""
    return _WILDCARD.sub(lambda match: "example" if match.group(0) == "*" else "x", pattern)


def _user_with_path(user: User) -> str:
    return f"{user.path.strip('/')}/{user.name}".lstrip("/")


class _BootstrapSet:
    """Decides whether a request is in the bootstrap set (with every option), for one account."""

    def __init__(self, account_id: str, partition: str) -> None:
        self.own_user = {a.lower() for a, where in ALLOWED_WITHOUT_MFA if where == "own user"}
        self.device = {a.lower() for a, where in ALLOWED_WITHOUT_MFA if where == "mfa/*"}
        self.account = {a.lower() for a, where in ALLOWED_WITHOUT_MFA if where == "*"}
        self.device_prefix = f"arn:{partition}:iam::{account_id}:mfa/"

    def contains(self, action: str, resource: str, own_arn: str) -> bool:
        """Whether ``action`` on ``resource`` is exempt: in the bootstrap set on the user's own
        resources, or decided by AWS outside policies (``sts:GetCallerIdentity``: no policy can
        deny it, so its Allow says nothing about enforcement)."""
        if decided_outside_policies(action) is not None:
            return True
        name = action.lower()
        if name in self.own_user:
            return resource == own_arn
        if name in self.device:
            return resource.startswith(self.device_prefix)
        return name in self.account and resource == "*"


@dataclass(frozen=True)
class _Context:
    name: str
    values: Mapping[str, tuple[str, ...]]
    key: Hashable


# Actions named first in an example, when their service is open without MFA.
_TELLING_ACTIONS = (
    "iam:CreateUser",
    "iam:CreateAccessKey",
    "s3:ListAllMyBuckets",
    "s3:GetObject",
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "sts:AssumeRole",
    "lambda:InvokeFunction",
)


@functools.lru_cache(maxsize=4)
def _catalog_order(catalog: Catalog) -> tuple[list[tuple[str, list[CatalogAction]]], frozenset[str]]:
    """The services in example order (telling actions first), and the actions on IAM users."""
    services = catalog.services()
    telling = {name.lower(): index for index, name in enumerate(_TELLING_ACTIONS)}
    order = [s for s in _FIRST_SERVICES if s in services] + [s for s in services if s not in _FIRST_SERVICES]
    ordered = [
        (service, sorted(services[service], key=lambda action: telling.get(action.name.lower(), len(telling))))
        for service in order
    ]
    with_user_arn = frozenset(
        action.name for action in catalog if any("${UserName" in arn_format for arn_format in action.arn_formats)
    )
    return ordered, with_user_arn


class _CatalogView:
    """The catalog in the order examples are looked for, shared by every policy set."""

    def __init__(self, catalog: Catalog, account_id: str, partition: str) -> None:
        self.catalog = catalog
        self.account_id = account_id
        self.partition = partition
        self.services, self.with_user_arn = _catalog_order(catalog)

    def resources(self, action: CatalogAction, user_with_path: str) -> list[str]:
        return self.catalog.resources_for(
            action, account_id=self.account_id, partition=self.partition, users_with_path=(user_with_path,)
        )


# A request to decide per user: the action, the context's name, and whether every resource
# (not only the user's own ARN) must be decided per user.
_Check = tuple[CatalogAction, str, bool]


class _PolicySetEvaluation:
    """One distinct policy set (identity documents + boundary), shared by the users who have it."""

    def __init__(
        self,
        identity: list[Mapping[str, Any]],
        boundary: Mapping[str, Any] | None,
        view: _CatalogView,
        bootstrap: _BootstrapSet,
    ) -> None:
        self.identity = PolicySet(identity)
        # The boundary is a guard layer that must also allow; without one, the identity set alone.
        self.layers = [self.identity] if boundary is None else [self.identity, PolicySet([boundary])]
        self.policies: PolicySet | LayeredPolicySet = (
            LayeredPolicySet(self.identity, self.layers[1:]) if boundary is not None else self.identity
        )
        self.view = view
        self.bootstrap = bootstrap
        statements = [s for layer in self.layers for s in layer.statements]
        # When no condition can tell users apart, everything but the user's own ARN and policy
        # variables in resources is decided once for the whole set (one context key per context).
        self.shared_contexts = not any(
            condition.key in _USER_KEYS or any("${" in v for v in condition.values)
            for statement in statements
            for condition in statement.conditions
        )
        # Per service, in example order: a request every user may make without MFA, or the
        # checks left to do per user. Built on the first user (shared_contexts only).
        self._plan: list[tuple[str, tuple[str, str, str] | None, list[_Check]]] | None = None

    def _user_dependent(self, action: str) -> bool:
        return any(
            _is_user_dependent(statement)
            for layer in self.layers
            for group in layer.statements_for(action)
            for statement in group
        )

    def _witnesses(self, action: str, context: _Context) -> list[str]:
        # Resources named by the Allow statements that cover the action: a statement scoped to
        # one bucket is caught although the catalog's example bucket is not in it.
        found: list[str] = []
        for statement in self.identity.statements_for(action)[1]:
            if statement.not_resource:
                continue
            for pattern in statement.resources:
                # IAM user ARNs are the own user's and another's: a witness such as
                # user/example/<name> would be a user that cannot exist (names are unique).
                if pattern == "*" or _IAM_USER.match(pattern):
                    continue
                resolved = substitute(pattern, context.values, escape=lambda text: text)
                if resolved is not None and _witness(resolved) not in found:
                    found.append(_witness(resolved))
        return found

    def _first_allowed(
        self, action: CatalogAction, resources: Iterable[str], context: _Context, own_arn: str
    ) -> tuple[str, str, str] | None:
        for resource in resources:
            if self.bootstrap.contains(action.name, resource, own_arn):
                continue
            if self.policies.evaluate_normalized(action.name, resource, context.values, context.key) is Decision.ALLOW:
                return action.name, resource, context.name
        return None

    def _service_allows(self, actions: list[CatalogAction], contexts: list[_Context]) -> tuple[str, str, str] | None:
        for context in contexts:
            for action in actions:
                resource = self.view.resources(action, OTHER_USER)[0]
                if not self.bootstrap.contains(action.name, resource, ""):
                    return action.name, resource, context.name
        return None

    def _build_plan(self, contexts: list[_Context]) -> list[tuple[str, tuple[str, str, str] | None, list[_Check]]]:
        plan: list[tuple[str, tuple[str, str, str] | None, list[_Check]]] = []
        for service, actions in self.view.services:
            decisions = {c.name: self.policies.service_decision(service, c.values, c.key) for c in contexts}
            open_contexts = [c for c in contexts if decisions[c.name] is Decision.ALLOW]
            hit = self._service_allows(actions, open_contexts) if open_contexts else None
            checks: list[_Check] = []
            walked = [c for c in contexts if decisions[c.name] is None]
            for context in walked if hit is None else []:
                for action in actions:
                    if not self.identity.statements_for(action.name)[1]:
                        continue  # no Allow statement names it: denied for everyone
                    dependent = self._user_dependent(action.name)
                    if not dependent:
                        resources = self.view.resources(action, OTHER_USER) + self._witnesses(action.name, context)
                        hit = self._first_allowed(action, resources, context, "")
                        if hit is not None:
                            break
                    if dependent or action.name in self.view.with_user_arn:
                        checks.append((action, context.name, dependent))
                if hit is not None:
                    break
            if hit is not None:
                plan.append((service, hit, []))
            elif checks:
                plan.append((service, None, checks))
        return plan

    def _user_check(
        self, check: _Check, by_name: Mapping[str, _Context], own: str, own_arn: str
    ) -> tuple[str, str, str] | None:
        action, context_name, dependent = check
        context = by_name[context_name]
        resources: list[str] = []
        if action.name in self.view.with_user_arn:
            resources += self.view.resources(action, own)
        if dependent:
            resources += self.view.resources(action, OTHER_USER) + self._witnesses(action.name, context)
        return self._first_allowed(action, resources, context, own_arn)

    def exposures(self, user: User, contexts: list[_Context], limit: int) -> list[tuple[str, str, str]]:
        """Up to ``limit`` requests (action, resource, context) allowed without MFA beyond the
        bootstrap set, at most one per service; empty when MFA is enforced for ``user``."""
        own = _user_with_path(user)
        own_arn = f"arn:{self.view.partition}:iam::{self.view.account_id}:user/{own}"
        by_name = {context.name: context for context in contexts}
        found: list[tuple[str, str, str]] = []
        if not self.shared_contexts:
            # Conditions tell users apart: every request is decided for this user alone.
            for _, actions in self.view.services:
                hit = self._full_service(actions, contexts, own, own_arn)
                if hit is not None:
                    found.append(hit)
                    if len(found) >= limit:
                        break
            return found
        if self._plan is None:
            self._plan = self._build_plan(contexts)
        for _, shared_hit, checks in self._plan:
            hit = shared_hit
            for check in checks if hit is None else []:
                hit = self._user_check(check, by_name, own, own_arn)
                if hit is not None:
                    break
            if hit is not None:
                found.append(hit)
                if len(found) >= limit:
                    break
        return found

    def enrollable(self, user: User, contexts: list[_Context]) -> list[str]:
        """The device kinds the user may enroll on its own user without MFA, from the console: a
        virtual device (CreateVirtualMFADevice, then EnableMFADevice), a hardware TOTP token
        (EnableMFADevice), a security key (EnableMFADevice with iam:RegisterSecurityKey Create,
        then Activate with some certification)."""
        own_arn = f"arn:{self.view.partition}:iam::{self.view.account_id}:user/{_user_with_path(user)}"
        device = f"arn:{self.view.partition}:iam::{self.view.account_id}:mfa/{user.name}"
        console = next(c for c in contexts if c.name == CONSOLE)

        def allowed(action: str, resource: str, registration: Registration | None = None) -> bool:
            context = console
            if registration is not None:
                request = registration_context(RequestContext(console.name, console.values), registration)
                context = _Context(request.name, request.values, (console.key, registration.name))
            return self.policies.evaluate_normalized(action, resource, context.values, context.key) is Decision.ALLOW

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

    def _full_service(
        self, actions: list[CatalogAction], contexts: list[_Context], own: str, own_arn: str
    ) -> tuple[str, str, str] | None:
        service = actions[0].name.split(":", 1)[0].lower()
        for context in contexts:
            decision = self.policies.service_decision(service, context.values, context.key)
            if decision is Decision.ALLOW:
                return self._service_allows(actions, [context])
            if decision is not None:
                continue
            for action in actions:
                if not self.identity.statements_for(action.name)[1]:
                    continue  # no Allow statement names it: denied
                resources = self.view.resources(action, OTHER_USER) + self._witnesses(action.name, context)
                if action.name in self.view.with_user_arn:
                    resources += self.view.resources(action, own)
                hit = self._first_allowed(action, resources, context, own_arn)
                if hit is not None:
                    return hit
        return None


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


def _contexts(user: User, account_id: str, partition: str, shared: bool) -> list[_Context]:
    base = {
        "aws:username": user.name,
        "aws:userid": user.user_id,
        "aws:principalarn": user.arn,
        "aws:principaltype": "User",
        "aws:principalaccount": account_id,
    }
    # Access keys leave aws:MultiFactorAuthPresent out of the request; a console session without
    # MFA sets it to false.
    contexts = {KEYS: base, CONSOLE: {**base, "aws:MultiFactorAuthPresent": "false"}}
    return [
        _Context(name, normalize_context(values), name if shared else (name, user.arn))
        for name, values in contexts.items()
    ]


# ---------------------------------------------------------------------------------------------
# Verdicts


def _verdict(user: User, enforced: bool, now: datetime, key_age_days: int) -> tuple[str, list[str]]:
    notes: list[str] = []
    credentials = user.credentials
    if credentials is None:
        notes.append("not in the credential report yet (created after it was generated): credentials unknown")
    elif not credentials.password_enabled and not credentials.active_keys:
        return NO_CREDENTIALS, notes
    if not enforced:
        return UNPROTECTED, notes
    if user.mfa_devices:
        return PROTECTED, notes
    if credentials is not None:
        recent = now - timedelta(days=key_age_days)
        if any(key.last_used is not None and key.last_used >= recent for key in credentials.active_keys):
            return LOCKED_OUT, notes
    return MUST_ENROLL, notes


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
) -> AuditReport:
    """One verdict per user of ``snapshot``, worst first.

    ``planned``: a policy evaluated as if attached to its groups now (the impact preview).
    ``key_age_days``: access keys used this recently are automation that MFA enforcement breaks.
    ``examples``: how many requests allowed without MFA an unprotected user's verdict names.
    ``devices``: the devices users must have (findings for those who have others).
    """
    now = now or datetime.now(UTC)
    resources = ResourcePolicies(snapshot.resource_policies or (), catalog, relax_document)
    bootstrap = _BootstrapSet(snapshot.account_id, snapshot.partition)
    view = _CatalogView(catalog, snapshot.account_id, snapshot.partition)
    evaluations: dict[tuple[tuple[str, ...], str | None], _PolicySetEvaluation] = {}
    single: dict[str, PolicySet] = {}
    verdicts = []
    report_notes = []
    if planned is not None:
        missing = [name for name in planned.groups if name not in snapshot.groups]
        if missing:
            report_notes.append(f"group(s) {', '.join(missing)} do not exist in the account: nobody is in them yet")
    for done, user in enumerate(snapshot.users, start=1):
        identity, boundary, notes, unproven = effective_policies(user, snapshot, planned)
        for applied in identity:
            error = _compile_error(applied, single)
            if error is not None:
                unproven.append(
                    f"policy {applied.label} cannot be evaluated ({error}): MFA enforcement cannot be proven"
                )
        if boundary is not None:
            error = _compile_error(boundary, single)
            if error is not None:
                # Leaving a boundary out can only allow more: the verdict errs on the safe side.
                notes.append(f"{boundary.label} cannot be evaluated ({error}): left out")
                boundary = None
        notes = unproven + [n for a in identity for n in a.notes] + list(boundary.notes if boundary else ()) + notes
        exposures: tuple[Exposure, ...] = ()
        if unproven:
            enforced = False
            verdict, more_notes = _verdict(user, enforced, now, key_age_days)
        else:
            # Identical policy sets (order and duplicates aside) share one evaluation.
            documents = {applied.key: applied.document for applied in identity}
            set_key = (tuple(sorted(documents)), boundary.key if boundary else None)
            evaluation = evaluations.get(set_key)
            if evaluation is None:
                evaluation = _PolicySetEvaluation(
                    [documents[key] for key in set_key[0]], boundary.document if boundary else None, view, bootstrap
                )
                evaluations[set_key] = evaluation
            contexts = _contexts(user, snapshot.account_id, snapshot.partition, evaluation.shared_contexts)
            found = evaluation.exposures(user, contexts, examples)
            found = [_in_preferred_context(evaluation, user, hit, contexts) for hit in found]
            exposures = tuple(
                Exposure(action, resource, context, _allowing(identity, single, action, resource, contexts, context))
                for action, resource, context in found
            )
            enforced = not found
            verdict, more_notes = _verdict(user, enforced, now, key_age_days)
            if verdict in (MUST_ENROLL, LOCKED_OUT):
                more_notes += _enrollment_notes(evaluation.enrollable(user, contexts))
        # audit-reads hook: grants of resource policies make the user unprotected; device findings.
        granted: list[ResourceExposure] = []
        if verdict != NO_CREDENTIALS and resources.policies:
            granted, granted_notes = resources.exposures(
                user, snapshot.account_id, snapshot.partition, _preferred_first(user, snapshot),
                _resource_guards(identity, boundary, single),
            )
            notes += granted_notes
            if granted and enforced:
                enforced = False
                verdict, more_notes = _verdict(user, enforced, now, key_age_days)
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
                notes=tuple(notes + more_notes),
                resource_exposures=tuple(granted),
                findings=device_findings(user, devices),
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
        policy_sets=len(evaluations),
        key_age_days=key_age_days,
        notes=tuple(report_notes),
        root=judge_root(snapshot.root),
        resource_policies=coverage(
            snapshot.resource_policies, snapshot.unread_policies, snapshot.regions, resources.unevaluated
        ),
        device_requirement=devices.source if devices else None,
    )


# ---------------------------------------------------------------------------------------------
# audit-reads: what stops a resource-policy grant, and the contexts it is tried in


def _resource_guards(identity: list[_Applied], boundary: _Applied | None, single: dict[str, PolicySet]) -> Guards:
    """The user's identity policies and boundary as layers whose explicit Deny stops a
    resource-policy grant (their implicit deny does not: IAM User Guide, "Policy evaluation
    logic"). Built from ``effective_policies`` as it is today, from the documents compiled in
    ``single`` (one that did not compile is left out: without its Deny the user can only do more).
    SCP levels go in ``allow_layers`` once the snapshot has them."""
    applied = [*identity, *([boundary] if boundary is not None else [])]
    return Guards([single[a.key] for a in applied if a.key in single])


def _preferred_first(user: User, snapshot: AccountSnapshot) -> list[_Context]:
    """The contexts without MFA, the one matching the user's credentials first."""
    contexts = _contexts(user, snapshot.account_id, snapshot.partition, shared=False)
    preferred = _preferred_context(user)
    return sorted(contexts, key=lambda context: context.name != preferred)


_ALL_KINDS = (VIRTUAL, HARDWARE_TOTP, SECURITY_KEY)


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


def _compile_error(applied: _Applied, single: dict[str, PolicySet]) -> str | None:
    """Why the evaluator cannot read a policy document, or None (it is compiled and kept)."""
    if applied.key in single:
        return None
    try:
        single[applied.key] = PolicySet([applied.document])
    except PolicyFormatError as error:
        return str(error)
    return None


def _preferred_context(user: User) -> str | None:
    """The context matching the user's credentials: the console for a password alone, access
    keys for keys alone; None for both (or unknown)."""
    credentials = user.credentials
    if credentials is None:
        return None
    if credentials.password_enabled and not credentials.active_keys:
        return CONSOLE
    if credentials.active_keys and not credentials.password_enabled:
        return KEYS
    return None


def _in_preferred_context(
    evaluation: _PolicySetEvaluation, user: User, hit: tuple[str, str, str], contexts: list[_Context]
) -> tuple[str, str, str]:
    """``hit`` shown in the context matching the user's credentials, when allowed there too."""
    action, resource, context_name = hit
    wanted = _preferred_context(user)
    if wanted is None or wanted == context_name:
        return hit
    context = next(c for c in contexts if c.name == wanted)
    if evaluation.policies.evaluate_normalized(action, resource, context.values, context.key) is Decision.ALLOW:
        return action, resource, wanted
    return hit


def _allowing(
    identity: Iterable[_Applied],
    single: dict[str, PolicySet],
    action: str,
    resource: str,
    contexts: list[_Context],
    context_name: str,
) -> tuple[str, ...]:
    """The labels of the user's policies that, each alone, allow the request."""
    context = next(c for c in contexts if c.name == context_name)
    labels = []
    for applied in identity:
        compiled = single.get(applied.key)
        if compiled is None:
            compiled = single[applied.key] = PolicySet([applied.document])
        if compiled.evaluate_normalized(action, resource, context.values) is Decision.ALLOW:
            labels.append(applied.label)
    return tuple(labels)
