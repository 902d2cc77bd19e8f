"""The decision grid ``explain`` draws: action groups x request contexts x whose resource (pure).

Every request of the catalog (each AWS action on each of its concrete resources, as ``verify``
walks them) falls in one row, an action group, and one column, a request context on alice's own
resources or on another user's. A cell counts its requests by state (allowed, denied by an
explicit Deny, implicitly denied) and names the statements that decided them. The same is done
for enrollment by device type (``iam:EnableMFADevice`` per registration: TOTP, security key).

``decision_grid(verifier)`` returns plain data (what ``explain --format json`` prints under
``grid``); the HTML report draws exactly that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from mfa_policy.policy.document import SELF_SERVICE
from mfa_policy.verifier.catalog import CatalogAction
from mfa_policy.verifier.enrollment_ticket import TicketRequest
from mfa_policy.verifier.evaluation import (
    Deciding,
    Decision,
    LayeredPolicySet,
    deciding_statement,
)
from mfa_policy.verifier.guarantees import (
    ALLOW_ALL,
    ALONE,
    DEVICE_NAMES,
    FULL_AWS_ACCESS,
    NEXT_TO_ALLOW_ALL,
    OTHER_USER_PATHS,
    OWN_USER_PATHS,
    OrganizationVerifier,
    Registration,
    RequestContext,
    Verifier,
    registration_context,
    shown_ticket_requests,
    ticket_steps,
)

# A cell's requests by state; a cell's own state is one of them, MIXED, or EMPTY (no request).
ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"
STATES = (ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY)
MIXED = "mixed"
EMPTY = "none"
_STATE = {Decision.ALLOW: ALLOWED, Decision.EXPLICIT_DENY: EXPLICIT_DENY, Decision.IMPLICIT_DENY: IMPLICIT_DENY}

OWN, OTHER = "own", "other"
WHOSE = {
    OWN: ("own", "alice's own user and devices, and every resource that is no user's"),
    OTHER: ("another user's", "bob's user: another user's resources"),
}

# The policy sets, as the report shows them: beside allow-all first (what MFA takes away).
POLICY_SETS = {
    NEXT_TO_ALLOW_ALL: (
        "Next to allow-all: what it takes away",
        "The policy beside a policy that allows everything (as beside AdministratorAccess): "
        "what a user with broad permissions can still do.",
    ),
    ALONE: (
        "The policy alone: what it grants",
        "The policy as a user's only permissions: what it lets a user do on its own.",
    ),
}

# The rows: (id, label, what it holds). Each request goes to the first row that claims its action.
BOOTSTRAP_ROW, MFA_REMOVAL_ROW, SELF_SERVICE_ROW, IAM_ROW, OTHER_SERVICES_ROW = (
    "bootstrap",
    "mfa-removal",
    "self-service",
    "iam-other",
    "other-services",
)
MFA_REMOVAL = ("iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice")
SELF_SERVICE_ACTIONS = tuple(action for _, user, account in SELF_SERVICE.values() for action in (*user, *account))

# Request contexts in the order the report shows them, with a label and what they stand for;
# a context not named here (a later kind) keeps its name and comes last.
_CONTEXT_ORDER = ("console", "keys", "mfa", "mfa-expired")


class _Tally:
    """The requests of one cell, by state and by deciding statement."""

    def __init__(self) -> None:
        self.states: Counter[str] = Counter()
        self.deciders: Counter[tuple[str, int | None, int | None]] = Counter()

    def add(self, deciding: Deciding, requests: int = 1) -> None:
        self.states[_STATE[deciding.decision]] += requests
        if deciding.decision is not Decision.IMPLICIT_DENY:
            self.deciders[(_STATE[deciding.decision], deciding.layer, deciding.statement)] += requests


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    body = document.get("Statement", [])
    return [body] if isinstance(body, Mapping) else list(body)


def layer_documents(verifier: Verifier, policies: str) -> list[list[tuple[str, Mapping[str, Any]]]]:
    """The documents of each layer of ``verifier.policy_sets[policies]``, each with a label, in the
    order the policy set compiled them (the identity policies first, then each SCP level)."""
    identity = [("the policy", verifier.document)]
    if policies == NEXT_TO_ALLOW_ALL:
        identity.append(("allow-all", ALLOW_ALL))
    if not isinstance(verifier, OrganizationVerifier):
        return [identity]
    return [
        identity,
        [("FullAWSAccess at the root", FULL_AWS_ACCESS), ("the SCP at the root", verifier.scp)],
        [("FullAWSAccess at the OU", FULL_AWS_ACCESS)],
        [("FullAWSAccess at the account", FULL_AWS_ACCESS)],
    ]


class _StatementNames:
    """Names the statements that can decide, in a fixed order: ``S1``, ``S2``, ... for the policy's
    statements in document order, then allow-all's, the SCP levels', and AWS (outside policies)
    last. ``legend()`` lists those that decided some request of the grid."""

    _OUTSIDE = "AWS, outside policies"

    def __init__(self, verifier: Verifier) -> None:
        self.by_position: dict[tuple[str, int | None, int | None], dict[str, Any]] = {}
        entries: dict[tuple[str, int | None], dict[str, Any]] = {}
        for policies in POLICY_SETS:
            policy_set = verifier.policy_sets[policies]
            layers = policy_set.layers if isinstance(policy_set, LayeredPolicySet) else [policy_set]
            for layer, documents in enumerate(layer_documents(verifier, policies)):
                located = [(label, i, s) for label, document in documents for i, s in enumerate(_statements(document))]
                if len(located) != len(layers[layer].statements):
                    raise AssertionError(f"{policies}, layer {layer}: the documents do not match the compiled policies")
                for position, (policy, index, statement) in enumerate(located):
                    entry = entries.setdefault((policy, index), self._entry(len(entries), policy, index, statement))
                    self.by_position[(policies, layer, position)] = entry
        outside = self._entry(len(entries), self._OUTSIDE, None, {"Effect": "Allow"})
        for policies in POLICY_SETS:
            self.by_position[(policies, None, None)] = outside
        self._order = [*entries.values(), outside]
        self._used: set[str] = set()

    @staticmethod
    def _entry(number: int, policy: str, index: int | None, statement: Mapping[str, Any]) -> dict[str, Any]:
        sid = statement.get("Sid")
        return {
            "id": f"S{number + 1}",
            "policy": policy,
            "statement": index,
            "sid": None if sid is None else str(sid),
            "effect": str(statement.get("Effect")),
        }

    def entry(self, policies: str, layer: int | None, position: int | None) -> dict[str, Any]:
        found = self.by_position[(policies, layer, position)]
        self._used.add(found["id"])
        return found

    def legend(self) -> list[dict[str, Any]]:
        return [entry for entry in self._order if entry["id"] in self._used]


def _cell(row: str, column: str, tally: _Tally | None, names: _StatementNames, policies: str) -> dict[str, Any]:
    counts = {state: (tally.states[state] if tally else 0) for state in STATES}
    present = [state for state in STATES if counts[state]]
    state = EMPTY if not present else present[0] if len(present) == 1 else MIXED
    decided_by = []
    if tally is not None:
        for (decided, layer, position), requests in sorted(
            tally.deciders.items(), key=lambda item: (STATES.index(item[0][0]), -item[1])
        ):
            entry = names.entry(policies, layer, position)
            decided_by.append(
                {
                    "state": decided,
                    "statementId": entry["id"],
                    "policy": entry["policy"],
                    "sid": entry["sid"],
                    "requests": requests,
                }
            )
    return {"row": row, "column": column, "state": state, "counts": counts, "decidedBy": decided_by}


def _ordered_contexts(verifier: Verifier) -> list[RequestContext]:
    known = [verifier.contexts[name] for name in _CONTEXT_ORDER if name in verifier.contexts]
    return known + [context for name, context in verifier.contexts.items() if name not in _CONTEXT_ORDER]


def _duration(seconds: int) -> str:
    """``43200`` -> ``12 h``, ``900`` -> ``15 min``, ``61`` -> ``61 s``."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def context_label(verifier: Verifier, name: str) -> tuple[str, str]:
    """A context's short label and what it stands for."""
    age = verifier.intent.max_mfa_age_seconds
    labels = {
        "console": (
            "console, no MFA",
            "signed in to the console with a password only (aws:MultiFactorAuthPresent false)",
        ),
        "keys": ("access keys", "long-term access keys: the request carries no MFA key at all"),
        "mfa": ("MFA session", "signed in with MFA, or a session from sts:GetSessionToken with an MFA code"),
        "mfa-expired": (
            f"MFA older than {_duration(age or 0)}",
            f"an MFA session older than the maximum MFA age ({age} seconds): it counts as one without MFA",
        ),
    }
    return labels.get(name, (name, name))


def _columns(verifier: Verifier, contexts: list[RequestContext]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    context_entries = []
    columns = []
    for context in contexts:
        label, description = context_label(verifier, context.name)
        context_entries.append({"id": context.name, "label": label, "description": description})
        for whose, (whose_label, whose_description) in WHOSE.items():
            columns.append(
                {
                    "id": f"{context.name} / {whose}",
                    "context": context.name,
                    "whose": whose,
                    "label": whose_label,
                    "description": whose_description,
                }
            )
    return context_entries, columns


def _row_of(verifier: Verifier) -> Callable[[str], str]:
    bootstrap = {action.lower() for action, _ in verifier.intent.bootstrap()}
    removal = {action.lower() for action in MFA_REMOVAL}
    self_service = {action.lower() for action in SELF_SERVICE_ACTIONS}

    def row_of(action: str) -> str:
        name = action.lower()
        if name in bootstrap:
            return BOOTSTRAP_ROW
        if name in removal:
            return MFA_REMOVAL_ROW
        if name in self_service:
            return SELF_SERVICE_ROW
        return IAM_ROW if name.startswith("iam:") else OTHER_SERVICES_ROW

    return row_of


def _rows(verifier: Verifier, service_count: int) -> list[dict[str, str]]:
    bootstrap = ", ".join(action for action, _ in verifier.intent.bootstrap())
    return [
        {
            "id": BOOTSTRAP_ROW,
            "label": "Enrolling one's own MFA device",
            "description": f"the bootstrap set, what a user needs without MFA to enroll: {bootstrap}",
        },
        {"id": MFA_REMOVAL_ROW, "label": "Removing MFA", "description": ", ".join(MFA_REMOVAL)},
        {
            "id": SELF_SERVICE_ROW,
            "label": "Own credentials (self-service)",
            "description": "every action of the five self-service capabilities (password, access keys, "
            "signing certificates, SSH public keys, service-specific credentials), whether the policy "
            "offers them or not; " + ", ".join(SELF_SERVICE_ACTIONS),
        },
        {
            "id": IAM_ROW,
            "label": "Everything else in IAM",
            "description": "every other IAM action: users, groups, roles, policies, account settings, ...",
        },
        {
            "id": OTHER_SERVICES_ROW,
            "label": "Every other AWS service",
            "description": f"every action of the catalog's {service_count} other services, STS's included "
            "(sts:GetSessionToken is in the bootstrap set)",
        },
    ]


def _split_resources(verifier: Verifier, action: CatalogAction) -> dict[str, list[str]]:
    """An action's resources (as ``verify`` walks them): alice's own (and no user's), and bob's."""
    intent, catalog = verifier.intent, verifier.catalog
    place = {"account_id": intent.account_id, "partition": intent.partition}
    own = catalog.resources_for(action, **place, users_with_path=OWN_USER_PATHS)
    if not any("${UserName" in arn_format for arn_format in action.arn_formats):
        return {OWN: own, OTHER: []}  # no user in its ARNs: nothing of bob's (and half the work)
    others = catalog.resources_for(action, **place, users_with_path=OTHER_USER_PATHS)
    return {OWN: own, OTHER: [resource for resource in others if resource not in own]}


def decision_grid(verifier: Verifier) -> dict[str, Any]:
    """The grid ``explain`` shows, for the policy set next to allow-all and for the policy alone.

    ``{"rows": [{id, label, description}], "contexts": [{id, label, description}], "columns":
    [{id: "<context> / own|other", context, whose, label, description}], "statements": [legend],
    "policySets": [{id, title, description, cells: [{row, column, state, counts, decidedBy}]}],
    "enrollment": {"rows": [...], "policySets": [...]}, "ticket": None or {"carried", "rows",
    "policySets"}}``. With the ``enrollment`` option every request of ``policySets`` and
    ``enrollment`` carries the ticket (``ticket.carried`` names it); ``ticket`` holds the
    enrollment steps with it and without it (``_ticket_grid``). A cell's ``counts`` map each state
    (``allowed``, ``explicitDeny``, ``implicitDeny``) to its number of requests; its ``state`` is
    the one state present, ``mixed``, or ``none`` (no request); ``decidedBy`` lists the deciding
    statements with their number of requests (an implicit deny has none).
    """
    contexts = _ordered_contexts(verifier)
    context_entries, columns = _columns(verifier, contexts)
    row_of = _row_of(verifier)
    catalog = verifier.catalog
    names = _StatementNames(verifier)
    tallies: dict[str, dict[tuple[str, str], _Tally]] = {policies: {} for policies in POLICY_SETS}
    services = catalog.service_names()
    for service in services:
        actions = catalog.service_actions(service)
        if not actions:
            continue
        requests = []
        per_cell: Counter[tuple[str, str]] = Counter()
        for action in actions:
            row = row_of(action.name)
            for whose, resources in _split_resources(verifier, action).items():
                for resource in resources:
                    requests.append((action.name, resource, row, whose))
                    per_cell[(row, whose)] += 1
        for policies in POLICY_SETS:
            policy_set = verifier.policy_sets[policies]
            cells = tallies[policies]
            for context in contexts:
                if policy_set.service_decision(service, context.values, context.name) is not None:
                    # One decision for the whole service: every covering statement covers all its
                    # actions on "*", so the statement that decides one request decides them all.
                    deciding = deciding_statement(policy_set, actions[0].name, "*", context.values)
                    for (row, whose), count in per_cell.items():
                        cells.setdefault((row, f"{context.name} / {whose}"), _Tally()).add(deciding, count)
                    continue
                for action_name, resource, row, whose in requests:
                    deciding = deciding_statement(policy_set, action_name, resource, context.values)
                    cells.setdefault((row, f"{context.name} / {whose}"), _Tally()).add(deciding)
    rows = _rows(verifier, len(services) - len({"iam"} & set(services)))
    policy_sets = [
        {
            "id": policies,
            "title": title,
            "description": description,
            "cells": [
                _cell(row["id"], column["id"], tallies[policies].get((row["id"], column["id"])), names, policies)
                for row in rows
                for column in columns
            ],
        }
        for policies, (title, description) in POLICY_SETS.items()
    ]
    enrollment = _enrollment_grid(verifier, contexts, columns, names)
    ticket = _ticket_grid(verifier, contexts, columns, names)
    return {
        "unit": "requests: one AWS action on one of its concrete resources (alice's user at / and at /team/ "
        "count as two)",
        "rows": rows,
        "contexts": context_entries,
        "columns": columns,
        "policySets": policy_sets,
        "enrollment": enrollment,
        "ticket": ticket,
        "statements": names.legend(),
    }


def _enrollment_grid(
    verifier: Verifier, contexts: list[RequestContext], columns: list[dict[str, Any]], names: _StatementNames
) -> dict[str, Any]:
    """Enrollment by device type: creating a virtual device, then ``iam:EnableMFADevice`` as each
    kind of registration sends it (TOTP; a security key's Create and Activate steps, ...)."""
    intent = verifier.intent
    devices = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
    rows = [
        {
            "id": "virtual-device",
            "label": "virtual device (authenticator app): create",
            "description": "iam:CreateVirtualMFADevice on a device of any name",
        }
    ]
    requests: list[_Requests] = [("virtual-device", "iam:CreateVirtualMFADevice", {OWN: devices, OTHER: ()}, _as_is)]
    for registration in verifier.registrations:
        rows.append(
            {
                "id": registration.name,
                "label": registration.label,
                "description": "iam:EnableMFADevice with "
                + (", ".join(f"{key}={value}" for key, value in registration.keys.items()) or "no registration keys"),
            }
        )
        users = {OWN: intent.own_user_arns(), OTHER: intent.other_user_arns()}
        requests.append((registration.name, "iam:EnableMFADevice", users, partial(_registered, registration)))
    policy_sets = _tallied_policy_sets(verifier, "Enrollment by device type", rows, requests, contexts, columns, names)
    return {"rows": rows, "policySets": policy_sets}


# A grid's requests of one row: (row, action, whose -> resources, what the request adds to the
# base context it is sent in).
_Requests = tuple[str, str, dict[str, tuple[str, ...]], Callable[[RequestContext], RequestContext]]


def _as_is(context: RequestContext) -> RequestContext:
    return context


def _registered(registration: Registration, context: RequestContext) -> RequestContext:
    return registration_context(context, registration)


def _tallied_policy_sets(
    verifier: Verifier,
    title: str,
    rows: list[dict[str, Any]],
    requests: list[_Requests],
    contexts: list[RequestContext],
    columns: list[dict[str, Any]],
    names: _StatementNames,
) -> list[dict[str, Any]]:
    """The cells of a small grid (enrollment by device type, with and without the ticket) for each
    policy set: every request decided in every context, counted per cell with its deciders."""
    policy_sets = []
    for policies, (set_title, description) in POLICY_SETS.items():
        policy_set = verifier.policy_sets[policies]
        tallies: dict[tuple[str, str], _Tally] = {}
        for row, action, by_whose, adapt in requests:
            for context in contexts:
                sent = adapt(context)
                for whose, resources in by_whose.items():
                    for resource in resources:
                        deciding = deciding_statement(policy_set, action, resource, sent.values)
                        tallies.setdefault((row, f"{context.name} / {whose}"), _Tally()).add(deciding)
        policy_sets.append(
            {
                "id": policies,
                "title": f"{title}, {set_title[0].lower()}{set_title[1:]}",
                "description": description,
                "cells": [
                    _cell(row["id"], column["id"], tallies.get((row["id"], column["id"])), names, policies)
                    for row in rows
                    for column in columns
                ],
            }
        )
    return policy_sets


def _ticket_grid(
    verifier: Verifier, contexts: list[RequestContext], columns: list[dict[str, Any]], names: _StatementNames
) -> dict[str, Any] | None:
    """With the ``enrollment`` option (None without it): the enrollment steps (and ``iam:GetUser``,
    which stays open) with the ticket and each way to miss it, as the Markdown's tables with and
    without the ticket show them, counted per cell with their deciding statements.

    ``{"carried": the ticket's label (what every request of the other grids carries), "rows":
    [{id, label, description, group, ticket}] (``group``: the request, ``ticket``: whether it holds
    the ticket), "policySets": [{id, title, description, cells}]}``."""
    shown = shown_ticket_requests(verifier)
    if not shown:
        return None
    intent = verifier.intent
    devices = tuple(intent.arn(f"mfa/{name}") for name in DEVICE_NAMES)
    # EnableMFADevice as the intended device type enrolls (a TOTP device, or a security key's Create).
    registration = next(r for r in verifier.registrations if r.enrolls)
    rows: list[dict[str, Any]] = []
    # (row, action, whose -> resources, the ticket request)
    requests: list[_Requests] = []
    for number, request in enumerate(shown, start=1):
        group = f"the ticket: {request.label}" if request.ticket else f"without the ticket: {request.label}"
        for action, where in ticket_steps(intent):
            row = f"ticket-{number}:{action}"
            by_whose: dict[str, tuple[str, ...]]
            if where == "own user":
                by_whose = {OWN: intent.own_user_arns(), OTHER: intent.other_user_arns()}
                place = "on alice's user (another user's: bob's)"
            elif where == "mfa/*":
                by_whose, place = {OWN: devices, OTHER: ()}, "on a virtual MFA device of any name"
            else:
                by_whose, place = {OWN: ("*",), OTHER: ()}, "on no resource in particular"
            rows.append(
                {
                    "id": row,
                    "label": action,
                    "description": f"{action} {place}, {group}",
                    "group": group,
                    "ticket": request.ticket,
                }
            )
            adapt = partial(_with_ticket_request, verifier, request, action, registration)
            requests.append((row, action, by_whose, adapt))
    title = "Enrollment with and without the ticket"
    policy_sets = _tallied_policy_sets(verifier, title, rows, requests, contexts, columns, names)
    return {"carried": shown[0].label, "rows": rows, "policySets": policy_sets}


def _with_ticket_request(
    verifier: Verifier, request: TicketRequest, action: str, registration: Registration, context: RequestContext
) -> RequestContext:
    """``context`` with the tag and source IP of ``request``; ``iam:EnableMFADevice`` as the
    intended device type enrolls."""
    sent = verifier.with_request(context, request)
    return registration_context(sent, registration) if action == "iam:EnableMFADevice" else sent
