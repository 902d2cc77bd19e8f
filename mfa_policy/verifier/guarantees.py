"""G1-G11 of the require-MFA guarantees, as checks that return counterexamples (pure).

Each ``check_gN`` takes a ``Verifier`` (a policy document compiled alone and next to allow-all,
with the ``Intent``: the options it is meant to implement) and returns the requests that break the
guarantee. An empty list means the guarantee holds over the whole catalog of AWS actions, for
alice at ``/`` and at ``/team/``, in every context.

The bootstrap set below is written from the guarantees (docs), not taken from the builder, so the
builder is checked against the contract rather than against itself.

With the ``enrollment`` option, the base contexts carry the ticket (the tag, a source IP in the
first network), and every check that expects a deny (or, for G5, an allow whatever the request
carries) also runs in the context's *variants*: the same session with the tag and the source IP
set to one sample of every class the policies can tell apart (``enrollment_ticket``), keeping one
variant per class of decisions.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.policy.document import SELF_SERVICE, SELF_SERVICE_NAMES, build_policy_document
from mfa_policy.policy.enrollment import ENROLLMENT_ACTIONS, EnrollmentGates, enrollment_gates
from mfa_policy.policy.validation import CERTIFICATION_LEVELS, check_security_key_certification
from mfa_policy.verifier.catalog import Catalog, CatalogAction, load_catalog
from mfa_policy.verifier.enrollment_ticket import (
    TicketRequest,
    condition_entries,
    representable,
    ticket_requests,
    ticket_values,
    varied_keys,
)
from mfa_policy.verifier.evaluation import (
    Decision,
    LayeredPolicySet,
    PolicySet,
    decided_outside_policies,
    normalize_context,
    policy_variables,
    uses_policy_variables,
)
from mfa_policy.verifier.lint import MAX_POLICY_CHARACTERS as MAX_POLICY_CHARACTERS  # re-exported from lint
from mfa_policy.verifier.lint import lint

TEST_ACCOUNT_ID = "111122223333"
ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ALONE = "alone"
NEXT_TO_ALLOW_ALL = "next to allow-all"

USER = "alice"
OWN_USER_PATHS = ("alice", "team/alice")  # alice at / and at a nested IAM path
OTHER_USER_PATHS = ("bob", "team/bob")

# The bootstrap set, from the guarantees: (action, where) with where "own user", "mfa/*" or "*".
# sts:GetSessionToken is in it, though AWS decides it outside policies (G1 and G2 skip it).
BOOTSTRAP = (
    ("iam:GetUser", "own user"),
    ("iam:ListMFADevices", "own user"),
    ("iam:GetMFADevice", "own user"),
    ("iam:EnableMFADevice", "own user"),
    ("iam:ResyncMFADevice", "own user"),
    ("iam:CreateVirtualMFADevice", "mfa/*"),
    ("iam:ListVirtualMFADevices", "*"),
    ("sts:GetSessionToken", "*"),
)
PASSWORD_CHANGE_BOOTSTRAP = (("iam:ChangePassword", "own user"), ("iam:GetAccountPasswordPolicy", "*"))
LIST_USERS_BOOTSTRAP = (("iam:ListUsers", "*"), ("iam:ListAccountAliases", "*"))
DEVICE_NAMES = ("alice", "My Phone")

# mfa_devices="security_keys" (G9): the bootstrap set without what only virtual or TOTP devices use.
SECURITY_KEY_ONLY_DROPS = ("iam:ResyncMFADevice", "iam:CreateVirtualMFADevice", "iam:ListVirtualMFADevices")
# The request keys of a FIDO registration (IAM condition-key reference): RegisterSecurityKey is
# Create, then Activate, and absent for a TOTP device; the certification keys come at Activate.
REGISTER_SECURITY_KEY = "iam:RegisterSecurityKey"
CERTIFICATION_KEYS = {
    "fido": "iam:FIDO-certification",
    "fips-140-2": "iam:FIDO-FIPS-140-2-certification",
    "fips-140-3": "iam:FIDO-FIPS-140-3-certification",
}
Certification = tuple[tuple[str, tuple[str, ...]], ...]


def _certification_tuple(value: Any) -> Certification:
    """A certification rule as a hashable tuple, in a fixed order; () for none."""
    if not value:
        return ()
    if isinstance(value, Mapping):
        return tuple(check_security_key_certification(value).items())
    return tuple((name, tuple(levels)) for name, levels in value)


@dataclass(frozen=True)
class Intent:
    """What a policy is meant to do: the account, partition and options it was built for."""

    account_id: str = TEST_ACCOUNT_ID
    partition: str = "aws"
    allow_password_change_without_mfa: bool = False
    allow_list_users: bool = False
    self_service: tuple[str, ...] = SELF_SERVICE_NAMES
    max_mfa_age_seconds: int | None = None
    mfa_devices: str = "any"
    # (certification, accepted levels) pairs; a mapping is accepted and normalized.
    security_key_certification: Certification = ()
    # The enrollment gates (tag, networks): the builder's ``enrollment`` option (a mapping, checked
    # and normalized) or ``EnrollmentGates``; None: enrollment needs no ticket. ``ticket`` reads it.
    enrollment: EnrollmentGates | Mapping[str, Any] | None = None
    # Rebuilds the document from the same inputs, to check determinism; None for a policy file.
    rebuild: Callable[[], dict[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "security_key_certification", _certification_tuple(self.security_key_certification))
        if self.enrollment is not None and not isinstance(self.enrollment, EnrollmentGates):
            object.__setattr__(self, "enrollment", enrollment_gates(self.enrollment))

    @property
    def ticket(self) -> EnrollmentGates | None:
        """The enrollment gates (what a user without MFA needs to enroll), or None."""
        return self.enrollment if isinstance(self.enrollment, EnrollmentGates) else None

    @property
    def security_keys_only(self) -> bool:
        return self.mfa_devices == "security_keys"

    def bootstrap(self) -> tuple[tuple[str, str], ...]:
        """The bootstrap set with this intent's options."""
        base: tuple[tuple[str, str], ...] = BOOTSTRAP
        if self.security_keys_only:
            base = tuple(entry for entry in BOOTSTRAP if entry[0] not in SECURITY_KEY_ONLY_DROPS)
        extra: tuple[tuple[str, str], ...] = ()
        if self.allow_password_change_without_mfa:
            extra += PASSWORD_CHANGE_BOOTSTRAP
        if self.allow_list_users:
            extra += LIST_USERS_BOOTSTRAP
        return base + extra

    def document_options(self) -> dict[str, Any]:
        """The ``build_policy_document`` options this intent stands for (unset ones left out)."""
        options: dict[str, Any] = {
            "allow_password_change_without_mfa": self.allow_password_change_without_mfa,
            "allow_list_users": self.allow_list_users,
            "self_service": self.self_service,
            "mfa_devices": self.mfa_devices,
        }
        if self.max_mfa_age_seconds is not None:
            options["max_mfa_age_seconds"] = self.max_mfa_age_seconds
        if self.security_key_certification:
            options["security_key_certification"] = dict(self.security_key_certification)
        if self.ticket is not None:
            options["enrollment"] = self.ticket.as_option()
        return options

    def arn(self, resource: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:{resource}"

    def own_user_arns(self) -> tuple[str, ...]:
        return tuple(self.arn(f"user/{path}") for path in OWN_USER_PATHS)

    def other_user_arns(self) -> tuple[str, ...]:
        return tuple(self.arn(f"user/{path}") for path in OTHER_USER_PATHS)


def intent_for_builder(account_id: str, partition: str = "aws", **options: Any) -> tuple[dict[str, Any], Intent]:
    """The project's document for these options, and the intent to check it against."""
    document = build_policy_document(account_id, partition, **options)
    intent = Intent(
        account_id=account_id,
        partition=partition,
        allow_password_change_without_mfa=options.get("allow_password_change_without_mfa", False),
        allow_list_users=options.get("allow_list_users", False),
        self_service=tuple(n for n in SELF_SERVICE_NAMES if n in options.get("self_service", SELF_SERVICE_NAMES)),
        max_mfa_age_seconds=options.get("max_mfa_age_seconds"),
        mfa_devices=options.get("mfa_devices", "any"),
        security_key_certification=_certification_tuple(options.get("security_key_certification")),
        enrollment=options.get("enrollment"),
        rebuild=lambda: build_policy_document(account_id, partition, **options),
    )
    return document, intent


def intent_for_file(document: Mapping[str, Any], **options: Any) -> Intent:
    """The intent of a hand-written policy: account and partition read from its ARNs.

    The first ARN whose account and partition are spelled out (no wildcard) decides; otherwise
    the test account and ``aws``. ``options`` say which optional bootstrap actions it intends.
    """
    for element in ("Resource", "NotResource"):
        for _, resource in _policy_strings(document, element):
            parts = resource.split(":", 5)
            if len(parts) == 6 and parts[0] == "arn" and parts[4] and not set("*?$") & set(parts[4] + parts[1]):
                return Intent(account_id=parts[4], partition=parts[1], **options)
    return Intent(account_id=TEST_ACCOUNT_ID, partition="aws", **options)


@dataclass(frozen=True)
class RequestContext:
    """A named request context, as AWS builds it for alice."""

    name: str
    values: Mapping[str, tuple[str, ...]]


def request_contexts(intent: Intent) -> dict[str, RequestContext]:
    """keys, console and mfa (plus mfa-expired when a max MFA age is set); with the enrollment
    option, each carries the ticket (the tag on alice's user, a source IP in the first network)."""
    base = {"aws:username": USER, "aws:userid": "AIDAEXAMPLEALICE", "aws:principaltype": "User"}
    base.update(ticket_values(intent.ticket))
    age = 60 if intent.max_mfa_age_seconds is None else min(60, intent.max_mfa_age_seconds)
    contexts = {
        "keys": base,
        "console": {**base, "aws:MultiFactorAuthPresent": "false"},
        "mfa": {**base, "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": str(age)},
    }
    if intent.max_mfa_age_seconds is not None:
        contexts["mfa-expired"] = {
            **base,
            "aws:MultiFactorAuthPresent": "true",
            "aws:MultiFactorAuthAge": str(intent.max_mfa_age_seconds + 1),
        }
    return {name: RequestContext(name, normalize_context(values)) for name, values in contexts.items()}


@dataclass(frozen=True)
class Registration:
    """One kind of ``iam:EnableMFADevice`` request: the keys it adds, and whether G9 lets it enroll."""

    name: str
    label: str
    keys: Mapping[str, str]
    enrolls: bool


def registrations(intent: Intent) -> list[Registration]:
    """The device-type variants of an enrollment request, as IAM builds them.

    ``totp`` (no registration key: a virtual or hardware TOTP device), ``key-create`` and
    ``key-activate`` (a security key certified at an accepted level for every certification the
    intent requires, the lowest level for the others), ``key-activate-uncertified`` (no
    certification keys), and per required certification a key at a level it does not accept.
    With ``any`` every variant enrolls.
    """
    anything = not intent.security_keys_only
    required = dict(intent.security_key_certification)
    certified = {
        CERTIFICATION_KEYS[name]: (required[name][0] if name in required else levels[0])
        for name, levels in CERTIFICATION_LEVELS.items()
    }
    found = [
        Registration("totp", "TOTP device (virtual or hardware)", {}, anything),
        Registration("key-create", "security key: Create", {REGISTER_SECURITY_KEY: "Create"}, True),
        Registration(
            "key-activate",
            "security key: Activate, accepted certification",
            {REGISTER_SECURITY_KEY: "Activate", **certified},
            True,
        ),
        Registration(
            "key-activate-uncertified",
            "security key: Activate, no certification",
            {REGISTER_SECURITY_KEY: "Activate"},
            anything or not required,
        ),
    ]
    for name, accepted in required.items():
        rejected = [level for level in CERTIFICATION_LEVELS[name] if level not in accepted]
        if rejected:
            found.append(
                Registration(
                    f"key-activate-{name}-not-accepted",
                    f"security key: Activate, {name} {rejected[0]} (not accepted)",
                    {REGISTER_SECURITY_KEY: "Activate", **certified, CERTIFICATION_KEYS[name]: rejected[0]},
                    anything,
                )
            )
    return found


def registration_context(context: RequestContext, registration: Registration) -> RequestContext:
    """``context`` with the keys of one enrollment request (named apart, for decision caching)."""
    values = {**context.values, **normalize_context(registration.keys)}
    return RequestContext(f"{context.name}+{registration.name}", values)


@dataclass(frozen=True)
class Counterexample:
    """One request (or one finding, for G8) that breaks a guarantee."""

    guarantee: str
    action: str
    resource: str = ""
    context: str = ""
    policies: str = ""
    decision: str = ""
    expected: str = ""
    # For G8: the lint finding's stable id (mfa_policy.verifier.lint.CHECKS).
    finding: str = ""

    def __str__(self) -> str:
        if self.finding:
            return f"{self.finding}: {self.decision}"
        if not self.context:
            return f"{self.action}: {self.decision}"
        return (
            f"{self.action} on {self.resource} [{self.context}, {self.policies}]: "
            f"{self.decision}, expected {self.expected}"
        )

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.__dict__.items() if value}


class Verifier:
    """A document compiled alone and next to allow-all, with its intent and the catalog."""

    def __init__(self, document: Mapping[str, Any], intent: Intent, catalog: Catalog | None = None) -> None:
        self.document = document
        self.intent = intent
        self.catalog = catalog or load_catalog()
        self.policy_sets: dict[str, PolicySet | LayeredPolicySet] = {
            ALONE: PolicySet([document]),
            NEXT_TO_ALLOW_ALL: PolicySet([document, ALLOW_ALL]),
        }
        self.contexts = request_contexts(intent)
        self.no_mfa_contexts = [c for name, c in self.contexts.items() if name != "mfa"]
        bootstrap = intent.bootstrap()
        self._own_user_bootstrap = {a.lower() for a, where in bootstrap if where == "own user"}
        self._device_bootstrap = {a.lower() for a, where in bootstrap if where == "mfa/*"}
        self._account_bootstrap = {a.lower() for a, where in bootstrap if where == "*"}
        self._own_arns = set(intent.own_user_arns())
        self._device_prefix = intent.arn("mfa/")
        self.bootstrap_services = {action.split(":", 1)[0].lower() for action, _ in bootstrap}
        self.registrations = registrations(intent)
        # Requests that security_keys denies on purpose, in every context (G9 proves them).
        self._device_type_denies = (
            {"iam:createvirtualmfadevice", "iam:enablemfadevice"} if intent.security_keys_only else set()
        )
        self._variants: dict[str, list[RequestContext]] = {}
        self._ticket_requests: list[TicketRequest] | None = None

    def documents(self) -> list[Mapping[str, Any]]:
        """The policies under test (the document; the SCP too, for the organization)."""
        return [self.document]

    def ticket_requests(self) -> list[TicketRequest]:
        """The samples of the keys the enrollment gates read (none without the option)."""
        if self._ticket_requests is None:
            self._ticket_requests = ticket_requests(self.intent.ticket, self.documents())
        return self._ticket_requests

    def with_request(self, context: RequestContext, request: TicketRequest) -> RequestContext:
        """``context`` with the tag and source IP of ``request`` (named apart, for decision caching)."""
        gates = self.intent.ticket
        assert gates is not None
        return RequestContext(f"{context.name}, {request.label}", request.applied(gates, context.values))

    def variants(self, context: RequestContext) -> list[RequestContext]:
        """``context`` and the same session with the gates' keys in every class the policies tell
        apart, one per class (just ``context`` without the enrollment option).

        Two requests whose every statement's conditions come out the same are decided the same,
        whatever the action and resource, so one of them stands for both; a request that holds the
        ticket never stands for one that does not (the checks expect different things of them).
        """
        found = self._variants.get(context.name)
        if found is None:
            found = [context]
            if self.ticket_requests():
                statements = [
                    statement
                    for policy_set in self.policy_sets.values()
                    for layer in (policy_set.layers if isinstance(policy_set, LayeredPolicySet) else [policy_set])
                    for statement in layer.statements
                ]

                def signature(candidate: RequestContext) -> tuple[bool, ...]:
                    return tuple(all(c.matches(candidate.values) for c in s.conditions) for s in statements)

                merge = not self._variables_read_varied_keys()
                seen = {(self.enrollment_open(context), signature(context) if merge else context.name)}
                for request in self.ticket_requests():
                    variant = self.with_request(context, request)
                    key = (self.enrollment_open(variant), signature(variant) if merge else variant.name)
                    if key not in seen:
                        seen.add(key)
                        found.append(variant)
            self._variants[context.name] = found
        return found

    def every_variant(self, contexts: Iterable[RequestContext]) -> list[RequestContext]:
        """The variants of each context, in order."""
        return [variant for context in contexts for variant in self.variants(context)]

    def _variables_read_varied_keys(self) -> bool:
        # A policy variable that reads the tag or the source IP makes resources or values depend on
        # them beyond the classes: then no request stands for another.
        varied = varied_keys(self.intent.ticket)
        for document in self.documents():
            strings = [
                value for element in ("Resource", "NotResource") for _, value in _policy_strings(document, element)
            ]
            strings += [
                str(value)
                for _, _, _, values in condition_entries([document])
                for value in (values if isinstance(values, list) else [values])
            ]
            if any(key.lower() in varied for text in strings for key in policy_variables(text)):
                return True
        return False

    def enrollment_open(self, context: RequestContext) -> bool:
        """Whether the intent lets alice enroll in ``context``: with a fresh MFA session, or when
        the request holds the ticket (always, without the enrollment option)."""
        gates = self.intent.ticket
        fresh_mfa = context.values.get("aws:multifactorauthpresent") == ("true",) and not self._expired(context)
        if gates is None or fresh_mfa:
            return True
        if gates.tag is not None and context.values.get(f"aws:principaltag/{gates.tag[0].lower()}") != (gates.tag[1],):
            return False
        if gates.source_ips:
            source = context.values.get("aws:sourceip")
            return source is not None and any(
                ipaddress.ip_address(source[0]) in ipaddress.ip_network(network) for network in gates.source_ips
            )
        return True

    def _expired(self, context: RequestContext) -> bool:
        age = context.values.get("aws:multifactorauthage")
        limit = self.intent.max_mfa_age_seconds
        return limit is not None and age is not None and float(age[0]) > limit

    def denied_by_device_type(self, action: str) -> bool:
        """Whether ``mfa_devices`` denies ``action`` on purpose in a plain request (no registration keys)."""
        return action.lower() in self._device_type_denies

    def decide(self, policies: str, action: str, resource: str, context: RequestContext) -> Decision:
        return self.policy_sets[policies].evaluate_normalized(action, resource, context.values, context.name)

    def resources(self, action: CatalogAction) -> list[str]:
        """The concrete resources of an action: alice's own (both paths), bob's (both), or ``*``."""
        return self.catalog.resources_for(
            action,
            account_id=self.intent.account_id,
            partition=self.intent.partition,
            users_with_path=OWN_USER_PATHS + OTHER_USER_PATHS,
        )

    def is_exempt_from_lockdown(self, action: str, resource: str) -> bool:
        """Whether G1 lets ``action`` on ``resource`` through without MFA: the bootstrap set, and
        the actions AWS decides outside policies (no policy can deny them)."""
        return self.is_bootstrap(action, resource) or decided_outside_policies(action) is not None

    def is_bootstrap(self, action: str, resource: str) -> bool:
        """Whether the bootstrap set allows ``action`` on ``resource`` without MFA."""
        name = action.lower()
        if name in self._own_user_bootstrap:
            return resource in self._own_arns
        if name in self._device_bootstrap:
            return resource.startswith(self._device_prefix)
        return name in self._account_bootstrap and resource == "*"

    def expect(
        self,
        guarantee: str,
        policies: str,
        action: str,
        resource: str,
        context: RequestContext,
        allowed: bool,
    ) -> Counterexample | None:
        """A counterexample if the decision is not what is expected (allowed or not)."""
        decision = self.decide(policies, action, resource, context)
        if (decision is Decision.ALLOW) == allowed:
            return None
        return Counterexample(
            guarantee, action, resource, context.name, policies, decision.value, "Allow" if allowed else "deny"
        )


def _collect(found: list[Counterexample | None]) -> list[Counterexample]:
    return [item for item in found if item is not None]


def _catalog_wide(
    verifier: Verifier,
    guarantee: str,
    contexts: list[RequestContext],
    allowed: bool,
    exempt: Callable[[str], bool] | None = None,
) -> list[Counterexample]:
    """Every action in the catalog on each of its resources, next to allow-all, must be allowed
    (or not): bootstrap requests are exempt when expecting a deny, and actions ``exempt`` names.
    A service the policy never names is decided once per context instead of once per action."""
    policy_set = verifier.policy_sets[NEXT_TO_ALLOW_ALL]
    bootstrap_services = verifier.bootstrap_services if not allowed else set()
    found: list[Counterexample | None] = []
    catalog = verifier.catalog
    for service in catalog.service_names():
        for context in contexts:
            shared = None
            if service not in bootstrap_services:
                shared = policy_set.service_decision(service, context.values, context.name)
            if shared is not None and (shared is Decision.ALLOW) == allowed:
                continue
            for action in catalog.service_actions(service):
                if exempt is not None and exempt(action.name):
                    continue
                for resource in verifier.resources(action):
                    if allowed or not verifier.is_exempt_from_lockdown(action.name, resource):
                        found.append(
                            verifier.expect(guarantee, NEXT_TO_ALLOW_ALL, action.name, resource, context, allowed)
                        )
    return _collect(found)


def check_g1(verifier: Verifier) -> list[Counterexample]:
    """G1 lockdown: without MFA, next to allow-all, everything but the bootstrap set is denied.

    A Deny conditioned on a key the request contexts never set (``aws:SourceIp``, a principal
    tag, ...) is evaluated as if the key were absent, which a real request may not be: where it
    carries the key, such a Deny may not apply. The lockdown is then not proven, and each such
    key is a counterexample. With the enrollment option the tag and the source IP are varied (every
    variant of each context), as long as the conditions on them are ones the samples decide."""
    contexts = verifier.every_variant(verifier.no_mfa_contexts)
    found = _unmodelled_deny_keys(verifier) + _catalog_wide(verifier, "G1", contexts, allowed=False)
    return found + _pattern_exposures(verifier, found)


def _pattern_exposures(verifier: Verifier, found: list[Counterexample]) -> list[Counterexample]:
    """G1 decided over the resource patterns too (the verifier's exposures call): a request the
    concrete resources above miss, such as an allow-all next to a Deny with a NotResource
    carve-out, is a counterexample with the resource the patterns leave open."""
    from mfa_policy.verifier.exposures import ExposureFinder
    from mfa_policy.verifier.requests import MFA_KEYS, Principal, Scenario

    seen = {(c.action.lower(), c.context) for c in found}
    scenarios = [
        Scenario(c.name, {key: values[0] for key, values in c.values.items() if key in MFA_KEYS})
        for c in verifier.no_mfa_contexts
    ]
    bootstrap = verifier.intent.bootstrap()
    finder = ExposureFinder(verifier.policy_sets[NEXT_TO_ALLOW_ALL], verifier.catalog, bootstrap=bootstrap)
    more = []
    for path in ("/", "/team/"):
        principal = Principal(verifier.intent.account_id, verifier.intent.partition, USER, path, "AIDAEXAMPLEALICE")
        for exposure in finder.find(principal, scenarios, limit=None):
            if (exposure.action.lower(), exposure.context) not in seen:
                seen.add((exposure.action.lower(), exposure.context))
                more.append(
                    Counterexample("G1", exposure.action, exposure.resource, exposure.context, NEXT_TO_ALLOW_ALL,
                                   Decision.ALLOW.value, "deny")
                )
    return more


def modelled_condition_keys(verifier: Verifier) -> set[str]:
    """The condition keys (lower case) the verifier's request contexts set, in some context."""
    keys = {key for context in verifier.contexts.values() for key in context.values}
    keys |= {key.lower() for registration in verifier.registrations for key in registration.keys}
    return keys


# Keys the contexts set to one value only (alice's): a Deny conditioned on them could exempt other
# users, which no check here would see.
_FIXED_KEYS = frozenset({"aws:username", "aws:userid"})


def _unmodelled_deny_keys(verifier: Verifier) -> list[Counterexample]:
    """A counterexample per key a Deny depends on that the checks do not vary: in its Condition
    (any key the contexts never set, or one they fix to alice's value), or as a policy variable
    in its Resource, NotResource or condition values (any key the contexts never set)."""
    modelled = modelled_condition_keys(verifier)
    gates = verifier.intent.ticket
    # The gates' keys are varied by class; a policy variable reading them is not (any text).
    varied = varied_keys(gates)
    found = []
    for document in verifier.documents():
        # Without Version 2012-10-17, ${...} is literal text: it depends on no key.
        variables = uses_policy_variables(document)
        statements = document.get("Statement", [])
        for statement in [statements] if isinstance(statements, dict) else statements:
            if statement.get("Effect") != "Deny":
                continue
            depends: list[str] = []
            for operator, keys in statement.get("Condition", {}).items():
                for key, values in keys.items():
                    if (
                        key.lower() not in modelled
                        or key.lower() in _FIXED_KEYS
                        or (key.lower() in varied and not representable(operator, key, values, gates))
                    ):
                        depends.append(key)
                    for value in values if isinstance(values, list) else [values]:
                        if variables:
                            depends += [
                                v
                                for v in policy_variables(str(value))
                                if v.lower() not in modelled or v.lower() in varied
                            ]
            for element in ("Resource", "NotResource"):
                patterns = statement.get(element, []) if variables else []
                for pattern in [patterns] if isinstance(patterns, str) else patterns:
                    depends += [
                        v for v in policy_variables(pattern) if v.lower() not in modelled or v.lower() in varied
                    ]
            for key in dict.fromkeys(depends):
                found.append(
                    Counterexample(
                        "G1",
                        key,
                        decision=f"Deny {statement.get('Sid', '?')} depends on {key}, which the verifier "
                        "does not vary: where a request carries another value, the Deny may not apply"
                        + _enrollment_hint(key, varied),
                    )
                )
    return found


def _enrollment_hint(key: str, varied: frozenset[str]) -> str:
    """What to say when a Deny reads a key the enrollment option could make the verifier vary."""
    lowered = key.lower()
    if lowered in varied:
        return " (not with this operator or value: use StringEquals/StringNotEquals on the tag and " \
            "IpAddress/NotIpAddress on the source IP, with literal values)"
    if lowered == "aws:sourceip":
        return " (if it is an enrollment gate, state the networks: --enrollment-source-ips)"
    if lowered.startswith("aws:principaltag/"):
        return " (if it is an enrollment gate, state the tag: --enrollment-tag KEY=VALUE)"
    return ""


def _bootstrap_requests(verifier: Verifier) -> Iterator[tuple[str, str, RequestContext]]:
    """Every bootstrap step alice takes on herself without MFA: (action, resource, context).

    With ``security_keys``, ``iam:EnableMFADevice`` comes in both steps of a security-key
    registration (the only enrollment that option allows; G9 checks the rest). A step AWS decides
    outside policies (sts:GetSessionToken) needs no Allow statement."""
    intent = verifier.intent
    key_steps = [r for r in verifier.registrations if r.name in ("key-create", "key-activate")]
    for context in verifier.no_mfa_contexts:
        for action, where in intent.bootstrap():
            if decided_outside_policies(action) is not None:
                continue
            if action == "iam:EnableMFADevice" and intent.security_keys_only:
                for registration in key_steps:
                    for resource in intent.own_user_arns():
                        yield action, resource, registration_context(context, registration)
                continue
            if where == "own user":
                resources = intent.own_user_arns()
            elif where == "mfa/*":
                resources = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
            else:
                resources = ("*",)
            for resource in resources:
                yield action, resource, context


def check_g2(verifier: Verifier) -> list[Counterexample]:
    """G2 enrollment works: without MFA, the policy alone allows every bootstrap step on alice."""
    return _collect(
        [
            verifier.expect("G2", ALONE, action, resource, context, True)
            for action, resource, context in _bootstrap_requests(verifier)
        ]
    )


def check_g3(verifier: Verifier) -> list[Counterexample]:
    """G3 others are out of reach: the policy alone allows nothing on another user, in any context."""
    others = set(verifier.intent.other_user_arns())
    found: list[Counterexample | None] = []
    user_actions = verifier.catalog.with_resource_type("user")
    for context in verifier.every_variant(verifier.contexts.values()):
        for action in user_actions:
            for resource in verifier.resources(action):
                if resource in others:
                    found.append(verifier.expect("G3", ALONE, action.name, resource, context, False))
    return _collect(found)


def check_g4(verifier: Verifier) -> list[Counterexample]:
    """G4 removing MFA needs MFA: denied without MFA next to allow-all; allowed on alice with MFA."""
    intent = verifier.intent
    devices = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
    found: list[Counterexample | None] = []
    for context in verifier.every_variant(verifier.no_mfa_contexts):
        for resource in intent.own_user_arns() + intent.other_user_arns():
            found.append(verifier.expect("G4", NEXT_TO_ALLOW_ALL, "iam:DeactivateMFADevice", resource, context, False))
        for resource in devices:
            found.append(
                verifier.expect("G4", NEXT_TO_ALLOW_ALL, "iam:DeleteVirtualMFADevice", resource, context, False)
            )
    for mfa in verifier.variants(verifier.contexts["mfa"]):
        for resource in intent.own_user_arns():
            found.append(verifier.expect("G4", ALONE, "iam:DeactivateMFADevice", resource, mfa, True))
    return _collect(found)


def check_g5(verifier: Verifier) -> list[Counterexample]:
    """G5 no collateral damage: with MFA, next to allow-all, every action in the catalog is allowed.

    With ``security_keys``, only ``iam:CreateVirtualMFADevice`` and a plain ``iam:EnableMFADevice``
    (a TOTP enrollment) are left out: that option denies them on purpose, and G9 checks them."""
    return _catalog_wide(
        verifier, "G5", verifier.variants(verifier.contexts["mfa"]), allowed=True, exempt=verifier.denied_by_device_type
    )


def check_g6(verifier: Verifier) -> list[Counterexample]:
    """G6 self-service is self-only and MFA-only (and a capability that is off grants nothing)."""
    intent = verifier.intent
    without_mfa_by_option = {a.lower() for a, _ in intent.bootstrap()}
    mfa_variants = verifier.variants(verifier.contexts["mfa"])
    no_mfa_variants = verifier.every_variant(verifier.no_mfa_contexts)
    found: list[Counterexample | None] = []
    for name in SELF_SERVICE_NAMES:
        enabled = name in intent.self_service
        for action in SELF_SERVICE[name][1]:
            needs_mfa = action.lower() not in without_mfa_by_option
            for mfa in mfa_variants:
                if not enabled:
                    # Off grants nothing, unless an option allows the action anyway (password change).
                    if needs_mfa:
                        for resource in intent.own_user_arns():
                            found.append(verifier.expect("G6", ALONE, action, resource, mfa, False))
                    continue
                for resource in intent.own_user_arns():
                    found.append(verifier.expect("G6", ALONE, action, resource, mfa, True))
                for resource in intent.other_user_arns():
                    found.append(verifier.expect("G6", ALONE, action, resource, mfa, False))
            if enabled and needs_mfa:
                for context in no_mfa_variants:
                    for resource in intent.own_user_arns():
                        found.append(verifier.expect("G6", ALONE, action, resource, context, False))
    return _collect(found)


def check_g7(verifier: Verifier) -> list[Counterexample]:
    """G7 options do exactly what they say (password change and user listing without MFA)."""
    intent = verifier.intent
    console = verifier.contexts["console"]  # with the enrollment option, it holds the ticket
    found: list[Counterexample | None] = []
    for variant in verifier.variants(console):
        for resource in intent.own_user_arns():
            if not intent.allow_password_change_without_mfa:
                found.append(verifier.expect("G7", NEXT_TO_ALLOW_ALL, "iam:ChangePassword", resource, variant, False))
        for resource in intent.other_user_arns():
            found.append(verifier.expect("G7", ALONE, "iam:ChangePassword", resource, variant, False))
        for action in ("iam:ListUsers", "iam:ListAccountAliases"):
            # Listing users is no enrollment step: no gate applies to it.
            if intent.allow_list_users:
                found.append(verifier.expect("G7", ALONE, action, "*", variant, True))
            else:
                found.append(verifier.expect("G7", NEXT_TO_ALLOW_ALL, action, "*", variant, False))
    if intent.allow_password_change_without_mfa:
        for resource in intent.own_user_arns():
            found.append(verifier.expect("G7", ALONE, "iam:ChangePassword", resource, console, True))
    return _collect(found)


def check_g9(verifier: Verifier) -> list[Counterexample]:
    """G9 only the allowed device types enroll.

    In every context, ``iam:EnableMFADevice`` on alice's own user (both paths) for each device-type
    variant: next to allow-all it is allowed exactly when the intent lets that type enroll (with
    ``any``: every type), and with the policy alone too where the bootstrap set or MFA grants it.
    ``iam:CreateVirtualMFADevice`` is denied next to allow-all with ``security_keys`` and allowed by
    the policy alone with ``any``. With the enrollment option, in every variant of each context;
    an enrollment without MFA and without the ticket is G11's to decide."""
    intent = verifier.intent
    found: list[Counterexample | None] = []
    for context in verifier.every_variant(verifier.contexts.values()):
        enrollment_open = verifier.enrollment_open(context)
        for registration in verifier.registrations:
            if registration.enrolls and not enrollment_open:
                continue
            request = registration_context(context, registration)
            for resource in intent.own_user_arns():
                found.append(
                    verifier.expect(
                        "G9", NEXT_TO_ALLOW_ALL, "iam:EnableMFADevice", resource, request, registration.enrolls
                    )
                )
                if registration.enrolls:
                    found.append(verifier.expect("G9", ALONE, "iam:EnableMFADevice", resource, request, True))
        for name in DEVICE_NAMES:
            resource = intent.arn(f"mfa/{name}")
            if intent.security_keys_only:
                found.append(
                    verifier.expect("G9", NEXT_TO_ALLOW_ALL, "iam:CreateVirtualMFADevice", resource, context, False)
                )
            elif enrollment_open:
                found.append(verifier.expect("G9", ALONE, "iam:CreateVirtualMFADevice", resource, context, True))
    return _collect(found)


# The bootstrap actions that only read: the console's enrollment page needs them, ticket or not.
READ_ONLY_BOOTSTRAP = frozenset(
    {
        "iam:GetUser",
        "iam:ListMFADevices",
        "iam:GetMFADevice",
        "iam:ListVirtualMFADevices",
        "iam:GetAccountPasswordPolicy",
        "iam:ListUsers",
        "iam:ListAccountAliases",
    }
)


def _enrollment_steps(verifier: Verifier, context: RequestContext) -> Iterator[tuple[str, str, RequestContext]]:
    """alice's enrollment requests in ``context``: (action, resource, request) for each enrollment
    action of the bootstrap set on her own user or a device she names; ``iam:EnableMFADevice`` in
    each registration of a device type the intent lets enroll (G9 decides the others)."""
    intent = verifier.intent
    for action, where in intent.bootstrap():
        if action not in ENROLLMENT_ACTIONS:
            continue
        if where == "mfa/*":
            resources = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
        else:
            resources = intent.own_user_arns()
        requests = [context]
        if action == "iam:EnableMFADevice":
            requests = [registration_context(context, r) for r in verifier.registrations if r.enrolls]
        for request in requests:
            for resource in resources:
                yield action, resource, request


def check_g11(verifier: Verifier) -> list[Counterexample]:
    """G11 enrollment needs the ticket (the ``enrollment`` option; holds vacuously without it).

    In every context, for every sample of the tag on alice's user and of the request's source IP
    (``Verifier.ticket_requests``: absent, the intended and other values; inside each network,
    outside, none): next to allow-all, alice's enrollment steps on herself (creating a device,
    enabling it, and the first-sign-in password change where allowed) are allowed exactly when
    she has a fresh MFA session (G5) or the request holds the ticket, and then the policy alone
    allows them too (G2 with the ticket). The read-only bootstrap actions stay allowed alone."""
    intent = verifier.intent
    if intent.ticket is None:
        return []
    read_only = [(action, where) for action, where in intent.bootstrap() if action in READ_ONLY_BOOTSTRAP]
    found: list[Counterexample | None] = []
    for base in verifier.contexts.values():
        for request in verifier.ticket_requests():
            context = verifier.with_request(base, request)
            enrolls = verifier.enrollment_open(context)
            for action, resource, step in _enrollment_steps(verifier, context):
                found.append(verifier.expect("G11", NEXT_TO_ALLOW_ALL, action, resource, step, enrolls))
                if enrolls:
                    found.append(verifier.expect("G11", ALONE, action, resource, step, True))
            for action, where in read_only:
                for resource in intent.own_user_arns() if where == "own user" else ("*",):
                    found.append(verifier.expect("G11", ALONE, action, resource, context, True))
    return _collect(found)


def vacuous_reason(name: str, intent: Intent) -> str | None:
    """Why guarantee ``name`` holds with nothing to check for ``intent`` (a report says so), or None."""
    if name == "G11" and intent.ticket is None:
        return "vacuously: the enrollment option is off"
    return None


def _policy_strings(document: Mapping[str, Any], element: str) -> list[tuple[str, str]]:
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    found = []
    for statement in statements:
        value = statement.get(element, [])
        for item in [value] if isinstance(value, str) else value:
            found.append((statement.get("Sid", "?"), item))
    return found


def check_g8(verifier: Verifier) -> list[Counterexample]:
    """G8 valid and small: no lint finding (known actions, resources and condition keys that fit
    the actions, ARNs in the intent's partition and account, size), and deterministic output."""
    intent, document = verifier.intent, verifier.document
    found = [
        Counterexample("G8", finding.subject, decision=f"{finding.message} ({finding.statement})", finding=finding.id)
        for finding in lint(document, verifier.catalog, partition=intent.partition, account_id=intent.account_id)
    ]
    if intent.rebuild is not None and json.dumps(intent.rebuild()) != json.dumps(document):
        found.append(Counterexample("G8", "determinism", decision="the same inputs gave a different document"))
    return found


GUARANTEES: dict[str, tuple[str, Callable[[Verifier], list[Counterexample]]]] = {
    "G1": ("lockdown", check_g1),
    "G2": ("enrollment works", check_g2),
    "G3": ("others are out of reach", check_g3),
    "G4": ("removing MFA needs MFA", check_g4),
    "G5": ("no collateral damage", check_g5),
    "G6": ("self-service is self-only and MFA-only", check_g6),
    "G7": ("options do exactly what they say", check_g7),
    "G8": ("valid and small", check_g8),
    "G9": ("only the allowed device types enroll", check_g9),
    "G11": ("enrollment needs the ticket", check_g11),
}


def check_all(
    document: Mapping[str, Any], intent: Intent, catalog: Catalog | None = None
) -> dict[str, list[Counterexample]]:
    """Run G1-G9 and G11 on ``document``; map each guarantee to its counterexamples (empty: it holds)."""
    verifier = Verifier(document, intent, catalog)
    return {name: check(verifier) for name, (_, check) in GUARANTEES.items()}


# What ``explain`` shows: (group, action, alice's own resource, another user's resource or None).
def _explain_rows(intent: Intent) -> list[tuple[str, str, str, str | None]]:
    own, other = intent.arn("user/alice"), intent.arn("user/bob")
    rows: list[tuple[str, str, str, str | None]] = []
    labelled = (
        [("bootstrap", entry) for entry in BOOTSTRAP]
        + [("option: password change without MFA", entry) for entry in PASSWORD_CHANGE_BOOTSTRAP]
        + [("option: list users without MFA", entry) for entry in LIST_USERS_BOOTSTRAP]
    )
    for group, (action, where) in labelled:
        if where == "own user":
            rows.append((group, action, own, other))
        elif where == "mfa/*":
            rows.append((group, action, intent.arn("mfa/My Phone"), None))
        else:
            rows.append((group, action, "*", None))
    rows.append(("MFA removal", "iam:DeactivateMFADevice", own, other))
    rows.append(("MFA removal", "iam:DeleteVirtualMFADevice", intent.arn("mfa/My Phone"), None))
    for name in SELF_SERVICE_NAMES:
        for action in SELF_SERVICE[name][1]:
            rows.append((f"self-service: {name}", action, own, other))
    for action, resource in (
        ("iam:CreateUser", intent.arn("user/mallory")),
        ("iam:AttachUserPolicy", own),
        ("s3:ListAllMyBuckets", "*"),
        ("ec2:DescribeInstances", "*"),
        ("sts:AssumeRole", intent.arn("role/admin")),
    ):
        rows.append(("other services", action, resource, None))
    # One row per action: ChangePassword is both an option and a self-service action.
    unique: dict[str, tuple[str, str, str, str | None]] = {}
    for row in rows:
        unique.setdefault(row[1], row)
    return list(unique.values())


def decision_matrix(verifier: Verifier) -> dict[str, Any]:
    """The decisions a person reads at a glance, for the policy alone and next to allow-all.

    ``{"columns": [...], "tables": {policies: [{"group", "action", "cells": {column: decision}}]},
    "enrollment": {policies: [{"device", "action", "cells"}]}}`` (enrollment by device type)
    where a column is ``<context> / own`` or ``<context> / other`` and a decision is ``allow``,
    ``deny`` or ``-`` (no other user's resource for that action).
    """
    contexts = list(verifier.contexts.values())
    columns = [f"{context.name} / {whose}" for context in contexts for whose in ("own", "other")]
    tables: dict[str, list[dict[str, Any]]] = {}
    for policies in (ALONE, NEXT_TO_ALLOW_ALL):
        rows = []
        for group, action, own, other in _explain_rows(verifier.intent):
            cells = {}
            for context in contexts:
                for whose, resource in (("own", own), ("other", other)):
                    if resource is None:
                        cells[f"{context.name} / {whose}"] = "-"
                    else:
                        decision = verifier.decide(policies, action, resource, context)
                        cells[f"{context.name} / {whose}"] = "allow" if decision is Decision.ALLOW else "deny"
            rows.append({"group": group, "action": action, "cells": cells})
        tables[policies] = rows
    enrollment = {policies: _enrollment_rows(verifier, policies, contexts) for policies in (ALONE, NEXT_TO_ALLOW_ALL)}
    ticket = {policies: _ticket_rows(verifier, policies, contexts) for policies in (ALONE, NEXT_TO_ALLOW_ALL)}
    return {"columns": columns, "tables": tables, "enrollment": enrollment, "ticket": ticket}


def shown_ticket_requests(verifier: Verifier) -> list[TicketRequest]:
    """The ticket, then each way to miss it by one key: every other tag sample with the ticket's
    source IP, every other source IP sample with the ticket's tag."""
    requests = verifier.ticket_requests()
    if not requests:
        return []
    ticket = requests[0]
    return [ticket] + [
        request
        for request in requests[1:]
        if (request.tag == ticket.tag) != (request.source_ip == ticket.source_ip)
    ]


def ticket_steps(intent: Intent) -> list[tuple[str, str]]:
    """What the enrollment tables show with and without the ticket: the enrollment steps of the
    bootstrap set (``(action, where)``, as ``Intent.bootstrap``), then ``iam:GetUser``, which stays
    open without it."""
    steps = [(action, where) for action, where in intent.bootstrap() if action in ENROLLMENT_ACTIONS]
    return [*steps, ("iam:GetUser", "own user")]


def _ticket_rows(verifier: Verifier, policies: str, contexts: list[RequestContext]) -> list[dict[str, Any]]:
    """With the enrollment option: alice's enrollment steps (and ``iam:GetUser``, which stays open)
    with and without the ticket, per context, on her own user (or device) and on bob's."""
    intent = verifier.intent
    own, other, device = intent.arn("user/alice"), intent.arn("user/bob"), intent.arn("mfa/My Phone")
    steps = [(action, device if where == "mfa/*" else own) for action, where in ticket_steps(intent)]
    # EnableMFADevice as the intended device type enrolls: a TOTP device, or a security key's Create.
    registration = next(r for r in verifier.registrations if r.enrolls)
    rows = []
    for request in shown_ticket_requests(verifier):
        for action, resource in steps:
            cells = {}
            for base in contexts:
                context = verifier.with_request(base, request)
                if action == "iam:EnableMFADevice":
                    context = registration_context(context, registration)
                for whose, target in (("own", resource), ("other", other if resource == own else None)):
                    if target is None:
                        cells[f"{base.name} / {whose}"] = "-"
                    else:
                        decision = verifier.decide(policies, action, target, context)
                        cells[f"{base.name} / {whose}"] = "allow" if decision is Decision.ALLOW else "deny"
            label = f"the ticket: {request.label}" if request.ticket else request.label
            rows.append({"request": label, "ticket": request.ticket, "action": action, "cells": cells})
    return rows


def _enrollment_rows(verifier: Verifier, policies: str, contexts: list[RequestContext]) -> list[dict[str, Any]]:
    """Enrollment by device type: creating a virtual device, then ``iam:EnableMFADevice`` per
    registration variant (TOTP, security key Create/Activate, uncertified or not accepted key)."""
    intent = verifier.intent
    own, other = intent.arn("user/alice"), intent.arn("user/bob")
    device = intent.arn("mfa/My Phone")
    rows = []
    cells = {}
    for context in contexts:
        decision = verifier.decide(policies, "iam:CreateVirtualMFADevice", device, context)
        cells[f"{context.name} / own"] = "allow" if decision is Decision.ALLOW else "deny"
        cells[f"{context.name} / other"] = "-"
    rows.append(
        {"device": "virtual device (authenticator app): create", "action": "iam:CreateVirtualMFADevice", "cells": cells}
    )
    for registration in verifier.registrations:
        cells = {}
        for context in contexts:
            request = registration_context(context, registration)
            for whose, resource in (("own", own), ("other", other)):
                decision = verifier.decide(policies, "iam:EnableMFADevice", resource, request)
                cells[f"{context.name} / {whose}"] = "allow" if decision is Decision.ALLOW else "deny"
        rows.append({"device": registration.label, "action": "iam:EnableMFADevice", "cells": cells})
    return rows


# ---------------------------------------------------------------------------------------------
# The organization guardrail: G1-G9 and G11 under the SCP, and G10.

# AWS attaches FullAWSAccess to every root, OU and account unless someone replaces it.
FULL_AWS_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# Principals the guardrail must leave alone: aws:PrincipalType as AWS sets it, with their IDs.
UNTOUCHED_PRINCIPALS = {
    "assumed role": {"aws:principaltype": "AssumedRole", "aws:userid": "AROAEXAMPLEROLE:session"},
    "federated user": {"aws:principaltype": "FederatedUser", "aws:userid": f"{TEST_ACCOUNT_ID}:carol"},
    "root user": {"aws:principaltype": "Account", "aws:userid": TEST_ACCOUNT_ID},
}


def scp_levels(scp: Mapping[str, Any]) -> list[PolicySet]:
    """The SCP levels on a member account's path, each of which must allow: the root (where the
    guardrail is attached, next to FullAWSAccess), an OU and the account (FullAWSAccess)."""
    return [PolicySet([FULL_AWS_ACCESS, scp]), PolicySet([FULL_AWS_ACCESS]), PolicySet([FULL_AWS_ACCESS])]


class OrganizationVerifier(Verifier):
    """A ``Verifier`` whose policy sets sit under the organization's SCP levels.

    ``document`` is the identity policy (the StackSet's managed policy; ``ALLOW_ALL`` alone for a
    user in no group); every decision also needs each SCP level to allow.
    """

    def __init__(
        self, document: Mapping[str, Any], intent: Intent, scp: Mapping[str, Any], catalog: Catalog | None = None
    ) -> None:
        super().__init__(document, intent, catalog)
        self.scp = scp
        levels = scp_levels(scp)
        self.policy_sets = {
            ALONE: LayeredPolicySet(PolicySet([document]), levels),
            NEXT_TO_ALLOW_ALL: LayeredPolicySet(PolicySet([document, ALLOW_ALL]), levels),
        }

    def documents(self) -> list[Mapping[str, Any]]:
        return [self.document, self.scp]


def _untouched_contexts() -> list[RequestContext]:
    contexts = []
    for principal, values in UNTOUCHED_PRINCIPALS.items():
        contexts.append(RequestContext(f"{principal}, keys", normalize_context(values)))
        without_mfa = {**values, "aws:MultiFactorAuthPresent": "false"}
        contexts.append(RequestContext(f"{principal}, console", normalize_context(without_mfa)))
    return contexts


def _relabelled(found: list[Counterexample], who: str) -> list[Counterexample]:
    return [dataclasses.replace(c, guarantee="G10", context=f"{who}, {c.context}") for c in found]


def check_g10(verifier: OrganizationVerifier) -> list[Counterexample]:
    """G10 the guardrail touches IAM users only: under the SCP, next to allow-all, roles,
    federated users and the root user without MFA may do everything; an IAM user in no group
    gets G1 (only the bootstrap set without MFA, on herself, and she can enroll), G5 with MFA,
    G9 (only the allowed device types enroll: the SCP carries the device-type denies) and G11
    (enrollment needs the ticket: the SCP carries the gates)."""
    no_group = OrganizationVerifier(ALLOW_ALL, verifier.intent, verifier.scp, verifier.catalog)
    found = _catalog_wide(no_group, "G10", no_group.every_variant(_untouched_contexts()), allowed=True)
    for check in (check_g1, check_g5, check_g9, check_g11):
        found += _relabelled(check(no_group), "IAM user in no group")
    # Locked down, not locked out: the bootstrap set still works on her own user.
    enrolment = [
        no_group.expect("G10", NEXT_TO_ALLOW_ALL, action, resource, context, True)
        for action, resource, context in _bootstrap_requests(no_group)
    ]
    return found + _relabelled(_collect(enrolment), "IAM user in no group")


def organization_guarantees() -> dict[str, tuple[str, Callable[[Any], list[Counterexample]]]]:
    """Every guarantee (run under the SCP) plus G10, in order."""
    found = {**GUARANTEES, "G10": ("the organization guardrail touches IAM users only", check_g10)}
    return dict(sorted(found.items(), key=lambda item: int(item[0][1:])))


def check_all_organization(
    document: Mapping[str, Any], intent: Intent, scp: Mapping[str, Any], catalog: Catalog | None = None
) -> dict[str, list[Counterexample]]:
    """Run every guarantee on ``document`` under ``scp`` and FullAWSAccess, then G10."""
    verifier = OrganizationVerifier(document, intent, scp, catalog)
    return {name: check(verifier) for name, (_, check) in organization_guarantees().items()}
