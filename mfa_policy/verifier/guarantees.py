"""G1-G8 of the require-MFA guarantees, as checks that return counterexamples (pure).

Each ``check_gN`` takes a ``Verifier`` (a policy document compiled alone and next to allow-all,
with the ``Intent``: the options it is meant to implement) and returns the requests that break the
guarantee. An empty list means the guarantee holds over the whole catalog of AWS actions, for
alice at ``/`` and at ``/team/``, in every context.

The bootstrap set below is written from the guarantees (docs), not taken from the builder, so the
builder is checked against the contract rather than against itself.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.extras import requires_extra
from mfa_policy.policy.document import SELF_SERVICE, SELF_SERVICE_NAMES, build_policy_document
from mfa_policy.verifier.catalog import Catalog, CatalogAction, load_catalog
from mfa_policy.verifier.evaluation import Decision, PolicySet, normalize_context

TEST_ACCOUNT_ID = "111122223333"
MAX_POLICY_CHARACTERS = 6144  # AWS's quota for a customer managed policy, white space excluded.
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


@dataclass(frozen=True)
class Intent:
    """What a policy is meant to do: the account, partition and options it was built for."""

    account_id: str = TEST_ACCOUNT_ID
    partition: str = "aws"
    allow_password_change_without_mfa: bool = False
    allow_list_users: bool = False
    self_service: tuple[str, ...] = SELF_SERVICE_NAMES
    max_mfa_age_seconds: int | None = None
    # Rebuilds the document from the same inputs, to check determinism; None for a policy file.
    rebuild: Callable[[], dict[str, Any]] | None = field(default=None, compare=False)

    def bootstrap(self) -> tuple[tuple[str, str], ...]:
        """The bootstrap set with this intent's options."""
        extra: tuple[tuple[str, str], ...] = ()
        if self.allow_password_change_without_mfa:
            extra += PASSWORD_CHANGE_BOOTSTRAP
        if self.allow_list_users:
            extra += LIST_USERS_BOOTSTRAP
        return BOOTSTRAP + extra

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
    """keys, console and mfa (plus mfa-expired when a max MFA age is set)."""
    base = {"aws:username": USER, "aws:userid": "AIDAEXAMPLEALICE", "aws:principaltype": "User"}
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
class Counterexample:
    """One request (or one finding, for G8) that breaks a guarantee."""

    guarantee: str
    action: str
    resource: str = ""
    context: str = ""
    policies: str = ""
    decision: str = ""
    expected: str = ""

    def __str__(self) -> str:
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
        self.policy_sets = {ALONE: PolicySet([document]), NEXT_TO_ALLOW_ALL: PolicySet([document, ALLOW_ALL])}
        self.contexts = request_contexts(intent)
        self.no_mfa_contexts = [c for name, c in self.contexts.items() if name != "mfa"]
        bootstrap = intent.bootstrap()
        self._own_user_bootstrap = {a.lower() for a, where in bootstrap if where == "own user"}
        self._device_bootstrap = {a.lower() for a, where in bootstrap if where == "mfa/*"}
        self._account_bootstrap = {a.lower() for a, where in bootstrap if where == "*"}
        self._own_arns = set(intent.own_user_arns())
        self._device_prefix = intent.arn("mfa/")
        self.bootstrap_services = {action.split(":", 1)[0].lower() for action, _ in bootstrap}

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
    verifier: Verifier, guarantee: str, contexts: list[RequestContext], allowed: bool
) -> list[Counterexample]:
    """Every action in the catalog on each of its resources, next to allow-all, must be allowed
    (or not): bootstrap requests are exempt when expecting a deny. A service the policy never
    names is decided once per context instead of once per action."""
    policy_set = verifier.policy_sets[NEXT_TO_ALLOW_ALL]
    bootstrap_services = verifier.bootstrap_services if not allowed else set()
    found: list[Counterexample | None] = []
    for service, actions in verifier.catalog.services().items():
        for context in contexts:
            shared = None
            if service not in bootstrap_services:
                shared = policy_set.service_decision(service, context.values, context.name)
            if shared is not None and (shared is Decision.ALLOW) == allowed:
                continue
            for action in actions:
                for resource in verifier.resources(action):
                    if allowed or not verifier.is_bootstrap(action.name, resource):
                        found.append(
                            verifier.expect(guarantee, NEXT_TO_ALLOW_ALL, action.name, resource, context, allowed)
                        )
    return _collect(found)


def check_g1(verifier: Verifier) -> list[Counterexample]:
    """G1 lockdown: without MFA, next to allow-all, everything but the bootstrap set is denied."""
    return _catalog_wide(verifier, "G1", verifier.no_mfa_contexts, allowed=False)


def check_g2(verifier: Verifier) -> list[Counterexample]:
    """G2 enrollment works: without MFA, the policy alone allows every bootstrap step on alice."""
    intent = verifier.intent
    found: list[Counterexample | None] = []
    for context in verifier.no_mfa_contexts:
        for action, where in intent.bootstrap():
            if where == "own user":
                resources = intent.own_user_arns()
            elif where == "mfa/*":
                resources = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
            else:
                resources = ("*",)
            for resource in resources:
                found.append(verifier.expect("G2", ALONE, action, resource, context, True))
    return _collect(found)


def check_g3(verifier: Verifier) -> list[Counterexample]:
    """G3 others are out of reach: the policy alone allows nothing on another user, in any context."""
    others = set(verifier.intent.other_user_arns())
    found: list[Counterexample | None] = []
    for context in verifier.contexts.values():
        for action in verifier.catalog:
            if "user" not in action.resource_types:
                continue
            for resource in verifier.resources(action):
                if resource in others:
                    found.append(verifier.expect("G3", ALONE, action.name, resource, context, False))
    return _collect(found)


def check_g4(verifier: Verifier) -> list[Counterexample]:
    """G4 removing MFA needs MFA: denied without MFA next to allow-all; allowed on alice with MFA."""
    intent = verifier.intent
    devices = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
    found: list[Counterexample | None] = []
    for context in verifier.no_mfa_contexts:
        for resource in intent.own_user_arns() + intent.other_user_arns():
            found.append(verifier.expect("G4", NEXT_TO_ALLOW_ALL, "iam:DeactivateMFADevice", resource, context, False))
        for resource in devices:
            found.append(
                verifier.expect("G4", NEXT_TO_ALLOW_ALL, "iam:DeleteVirtualMFADevice", resource, context, False)
            )
    for resource in intent.own_user_arns():
        found.append(verifier.expect("G4", ALONE, "iam:DeactivateMFADevice", resource, verifier.contexts["mfa"], True))
    return _collect(found)


def check_g5(verifier: Verifier) -> list[Counterexample]:
    """G5 no collateral damage: with MFA, next to allow-all, every action in the catalog is allowed."""
    return _catalog_wide(verifier, "G5", [verifier.contexts["mfa"]], allowed=True)


def check_g6(verifier: Verifier) -> list[Counterexample]:
    """G6 self-service is self-only and MFA-only (and a capability that is off grants nothing)."""
    intent = verifier.intent
    without_mfa_by_option = {a.lower() for a, _ in intent.bootstrap()}
    mfa = verifier.contexts["mfa"]
    found: list[Counterexample | None] = []
    for name in SELF_SERVICE_NAMES:
        enabled = name in intent.self_service
        for action in SELF_SERVICE[name][1]:
            needs_mfa = action.lower() not in without_mfa_by_option
            if not enabled:
                # Off grants nothing, unless an option allows the action anyway (password change).
                if needs_mfa:
                    for resource in intent.own_user_arns():
                        found.append(verifier.expect("G6", ALONE, action, resource, mfa, False))
                continue
            for resource in intent.own_user_arns():
                found.append(verifier.expect("G6", ALONE, action, resource, mfa, True))
                if needs_mfa:
                    for context in verifier.no_mfa_contexts:
                        found.append(verifier.expect("G6", ALONE, action, resource, context, False))
            for resource in intent.other_user_arns():
                found.append(verifier.expect("G6", ALONE, action, resource, mfa, False))
    return _collect(found)


def check_g7(verifier: Verifier) -> list[Counterexample]:
    """G7 options do exactly what they say (password change and user listing without MFA)."""
    intent = verifier.intent
    console = verifier.contexts["console"]
    found: list[Counterexample | None] = []
    for resource in intent.own_user_arns():
        if intent.allow_password_change_without_mfa:
            found.append(verifier.expect("G7", ALONE, "iam:ChangePassword", resource, console, True))
        else:
            found.append(verifier.expect("G7", NEXT_TO_ALLOW_ALL, "iam:ChangePassword", resource, console, False))
    for resource in intent.other_user_arns():
        found.append(verifier.expect("G7", ALONE, "iam:ChangePassword", resource, console, False))
    for action in ("iam:ListUsers", "iam:ListAccountAliases"):
        if intent.allow_list_users:
            found.append(verifier.expect("G7", ALONE, action, "*", console, True))
        else:
            found.append(verifier.expect("G7", NEXT_TO_ALLOW_ALL, action, "*", console, False))
    return _collect(found)


def _policy_strings(document: Mapping[str, Any], element: str) -> list[tuple[str, str]]:
    statements = document.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    found = []
    for statement in statements:
        value = statement.get(element, [])
        for item in [value] if isinstance(value, str) else value:
            found.append((statement.get("Sid", "?"), item))
    return found


def parliament_findings(document: Mapping[str, Any]) -> list[str]:
    """What parliament (the IAM policy linter) reports, as ``ISSUE: detail`` strings."""
    with warnings.catch_warnings(), requires_extra("verify", "the policy linter (G8)"):
        # parliament 1.6 imports the deprecated pkg_resources; the warning is not the user's concern.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import parliament

    policy = parliament.analyze_policy_string(json.dumps(document))
    return [f"{finding.issue}: {finding.detail}" for finding in policy.findings]


def check_g8(verifier: Verifier) -> list[Counterexample]:
    """G8 valid and small: known actions, no parliament finding, right ARNs, size, determinism."""
    intent, document = verifier.intent, verifier.document
    found = []
    for element in ("Action", "NotAction"):
        for sid, pattern in _policy_strings(document, element):
            if pattern != "*" and not verifier.catalog.matching(pattern):
                found.append(Counterexample("G8", pattern, decision=f"{element} in {sid} names no AWS action"))
    for finding in parliament_findings(document):
        found.append(Counterexample("G8", "parliament", decision=finding))
    for element in ("Resource", "NotResource"):
        for sid, resource in _policy_strings(document, element):
            if resource == "*":
                continue
            parts = resource.split(":", 5)
            if len(parts) < 6 or parts[1] != intent.partition or parts[4] != intent.account_id:
                found.append(
                    Counterexample(
                        "G8",
                        resource,
                        decision=f"{element} in {sid} is not an ARN in partition {intent.partition} "
                        f"naming account {intent.account_id}",
                    )
                )
    size = len(json.dumps(document, separators=(",", ":")))
    if size > MAX_POLICY_CHARACTERS:
        found.append(Counterexample("G8", "size", decision=f"{size} characters minified, over {MAX_POLICY_CHARACTERS}"))
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
}


def check_all(
    document: Mapping[str, Any], intent: Intent, catalog: Catalog | None = None
) -> dict[str, list[Counterexample]]:
    """Run G1-G8 on ``document``; map each guarantee to its counterexamples (empty: it holds)."""
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

    ``{"columns": [...], "tables": {policies: [{"group", "action", "cells": {column: decision}}]}}``
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
    return {"columns": columns, "tables": tables}
