"""What a set of policies lets an IAM user do without MFA: G1 asked of anyone's policies (pure).

``exposures(layers, principal, catalog)`` is the one call the audit, the policy pack and
``verify`` make: given the layered policy set (identity documents, permission boundary, the SCP
levels above the account), a principal and the request contexts (long-term access keys, a console
session without MFA), it returns the requests allowed beyond the bootstrap set, with a witness
resource each, and the notes on what it had to assume. No exposure means MFA is enforced.

For every action of the catalog and every context, the question "is there a resource that some
Allow of the identity policies reaches, that every guard layer allows, that no applicable Deny
covers, and that is not in the bootstrap set?" is decided over the resources the action can name
(its ARN formats from the catalog, any account and region where the format has one; IAM's own
resources only in the user's account, since IAM has no resource-based policies). Conditions are
decided first (they do not depend on the resource); what remains is a question about the regular
languages of the Resource/NotResource patterns, answered exactly by ``resource_sets``. A carve-out
(a Deny with ``NotResource``, or scoped to some resources, next to an allow-all) is therefore
always found, whatever the names involved.

``ExposureFinder`` holds one compiled policy set for many principals: everything that does not
depend on who asks is decided once per set (per combination of the values of the principal keys
its conditions read), and the answers to resource questions are shared across sets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.verifier.catalog import Catalog, CatalogAction
from mfa_policy.verifier.evaluation import (
    Decision,
    LayeredPolicySet,
    PolicySet,
    decided_outside_policies,
    substitute,
)
from mfa_policy.verifier.guarantees import BOOTSTRAP, LIST_USERS_BOOTSTRAP, PASSWORD_CHANGE_BOOTSTRAP
from mfa_policy.verifier.reachability import Layer, Reachability, in_domain
from mfa_policy.verifier.requests import (
    NO_MFA_SCENARIOS,
    PRINCIPAL_TAG,
    KeyModel,
    Principal,
    Scenario,
    relax_document,
    request_context,
)
from mfa_policy.verifier.resource_sets import Answers, action_domain, domain_regex, exempt_globs, literal

# Every action the project's policy may allow without MFA, with all its options on: a user held
# to these is enforced (the password change and user listing options are choices, not leaks).
ALLOWED_WITHOUT_MFA = BOOTSTRAP + PASSWORD_CHANGE_BOOTSTRAP + LIST_USERS_BOOTSTRAP
# Actions that act on the caller alone: the API takes no user, so the resource is always the
# caller's own user (IAM API Reference: ChangePassword "changes the password of the IAM user who
# is calling this operation").
CALLER_ONLY = frozenset({"iam:changepassword"})
# Stand-in for "any other user" (the resource that catches iam:CreateAccessKey on a colleague).
OTHER_USER = "another-user"
# Condition keys whose value differs from user to user (lower case; tags by prefix).
_USER_KEYS = frozenset({"aws:username", "aws:userid", "aws:principalarn"})

# The most telling requests first: privilege escalation and enrollment on another user before
# reads. Services in this order, then the catalog's.
FIRST_SERVICES = ("iam", "sts", "s3", "ec2", "lambda", "dynamodb", "rds", "kms", "secretsmanager")
TELLING_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:CreateUser",
    "iam:PassRole",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:AddUserToGroup",
    "iam:EnableMFADevice",
    "iam:DeactivateMFADevice",
    "sts:AssumeRole",
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListAllMyBuckets",
    "ec2:RunInstances",
    "ec2:DescribeInstances",
    "lambda:UpdateFunctionCode",
    "lambda:InvokeFunction",
)
_RANK = {name.lower(): index for index, name in enumerate(TELLING_ACTIONS)}
_IAM_USER = re.compile(r"arn:[^:]*:iam::[^:]*:user/")


@dataclass(frozen=True)
class Exposure:
    """A request allowed without MFA beyond the bootstrap set: the action, a resource it reaches
    (a real one where the policies name one, else the shortest the patterns allow), the context."""

    action: str
    resource: str
    context: str


@dataclass(frozen=True)
class PolicyLayers:
    """The policies AWS applies to a user's request: identity documents, then guard layers that
    must also allow (the permission boundary, each SCP level from the root down)."""

    identity: tuple[Mapping[str, Any], ...]
    boundary: Mapping[str, Any] | None = None
    scp_levels: tuple[tuple[Mapping[str, Any], ...], ...] = ()

    def compile(self) -> PolicySet | LayeredPolicySet:
        identity = PolicySet(self.identity)
        guards = ([PolicySet([self.boundary])] if self.boundary is not None else []) + [
            PolicySet(level) for level in self.scp_levels
        ]
        return LayeredPolicySet(identity, guards) if guards else identity


@dataclass(frozen=True)
class Exposures:
    """The answer: up to ``limit`` exposures (one per service, most telling first) and notes."""

    found: tuple[Exposure, ...]
    notes: tuple[str, ...] = ()

    @property
    def enforced(self) -> bool:
        return not self.found


def exposures(
    layers: PolicyLayers,
    principal: Principal,
    catalog: Catalog,
    *,
    scenarios: Sequence[Scenario] = NO_MFA_SCENARIOS,
    bootstrap: Sequence[tuple[str, str]] = ALLOWED_WITHOUT_MFA,
    model: KeyModel | None = None,
    limit: int | None = 3,
) -> Exposures:
    """What ``layers`` let ``principal`` do without MFA beyond ``bootstrap``.

    Each document is first relaxed for what the request model cannot know (``relax_document``:
    unknown condition keys resolved in the user's favour), with a note each. Raises
    ``PolicyFormatError`` for a document the evaluator cannot read.
    """
    model = model or KeyModel(tags_known=principal.tags is not None)
    notes: list[str] = []

    def relaxed(document: Mapping[str, Any], label: str) -> Mapping[str, Any]:
        result, more = relax_document(document, label, model)
        notes.extend(more)
        return result

    compiled = PolicyLayers(
        tuple(relaxed(d, f"identity policy {i + 1}") for i, d in enumerate(layers.identity)),
        relaxed(layers.boundary, "permission boundary") if layers.boundary is not None else None,
        tuple(
            tuple(relaxed(d, f"SCP level {level + 1}, policy {i + 1}") for i, d in enumerate(documents))
            for level, documents in enumerate(layers.scp_levels)
        ),
    ).compile()
    finder = ExposureFinder(compiled, catalog, bootstrap=bootstrap)
    return Exposures(finder.find(principal, scenarios, limit), tuple(notes))


# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _catalog_order(catalog: Catalog) -> tuple[tuple[tuple[str, tuple[CatalogAction, ...]], ...], frozenset[str]]:
    """The services in example order (telling actions first), and the actions on IAM users."""
    services = catalog.services()
    order = [s for s in FIRST_SERVICES if s in services] + [s for s in services if s not in FIRST_SERVICES]
    ordered = tuple(
        (service, tuple(sorted(services[service], key=lambda a: _RANK.get(a.name.lower(), len(_RANK)))))
        for service in order
    )
    with_user_arn = frozenset(
        action.name for action in catalog if any("${UserName" in arn_format for arn_format in action.arn_formats)
    )
    return ordered, with_user_arn


# Actions that may be treated apart from others with the same resources (a bootstrap set, AWS's
# own decisions, caller-only actions): never grouped with other actions.
_SPECIAL = frozenset(
    {a.lower() for a, _ in ALLOWED_WITHOUT_MFA} | {a.lower() for a in ("sts:GetSessionToken", "sts:GetCallerIdentity")}
    | CALLER_ONLY
)


@functools.lru_cache(maxsize=8)
def _representatives(catalog: Catalog) -> dict[str, tuple[tuple[int, CatalogAction], ...]]:
    """Per service, the first action (in example order) of each group of actions that name the
    same resource formats: where the same statements cover a whole service, they share answers."""
    found = {}
    for service, actions in _catalog_order(catalog)[0]:
        seen: set[Hashable] = set()
        kept = []
        for index, action in enumerate(actions):
            name = action.name.lower()
            key = (action.arn_formats, name if name in _SPECIAL or decided_outside_policies(name) else None)
            if key not in seen:
                seen.add(key)
                kept.append((index, action))
        found[service] = tuple(kept)
    return found


_KIND_TABLES: dict[tuple[tuple[str, str], ...], dict[str, str | None]] = {}


@functools.cache
def _bootstrap_kinds(bootstrap: tuple[tuple[str, str], ...]) -> dict[str, str]:
    kinds = {"own user": "own user", "mfa/*": "device", "*": "account"}
    return {action: kinds[where] for action, where in bootstrap}


@functools.lru_cache(maxsize=200_000)
def _kind_of(bootstrap: tuple[tuple[str, str], ...], action: str) -> str | None:
    """How the bootstrap set treats an action: on the own user, on devices, account-wide; outside
    policies (AWS decides it); "caller only" (it acts on the caller alone); or None."""
    if decided_outside_policies(action) is not None:
        return "outside"
    name = action.lower()
    found = _bootstrap_kinds(bootstrap).get(name)
    if found is None and name in CALLER_ONLY:
        return "caller only"
    return found


def _is_user_dependent(statement: Any) -> bool:
    """Whether a statement's outcome can differ between users (policy variables, user keys)."""
    if statement.variables and any("${" in pattern for pattern in statement.resources):
        return True
    return any(
        condition.key in _USER_KEYS
        or condition.key.startswith(PRINCIPAL_TAG)
        or any("${" in value for value in condition.values)
        for condition in statement.conditions
    )


@dataclass(frozen=True)
class _Context:
    name: str
    values: Mapping[str, tuple[str, ...]] = field(compare=False)
    key: Hashable


# A request decided per principal: the action and the context's name.
_Check = tuple[CatalogAction, str]


class ExposureFinder:
    """One compiled policy set (``PolicySet`` or ``LayeredPolicySet``, documents already relaxed),
    asked for many principals; ``find`` is the exposures call."""

    def __init__(
        self,
        policies: PolicySet | LayeredPolicySet,
        catalog: Catalog,
        *,
        bootstrap: Sequence[tuple[str, str]] = ALLOWED_WITHOUT_MFA,
        answers: Answers | None = None,
    ) -> None:
        self.policies = policies
        self.layers = policies.layers if isinstance(policies, LayeredPolicySet) else [policies]
        self.identity = self.layers[0]
        self.catalog = catalog
        self.reachability = Reachability(answers)
        self._layers = [Layer(layer) for layer in self.layers]
        self._bootstrap = tuple(sorted((a.lower(), where) for a, where in bootstrap))
        self.services, self.with_user_arn = _catalog_order(catalog)
        self._representatives = _representatives(catalog)
        # Statements whose outcome can differ between users (policy variables, conditions on the
        # user's name, ID, ARN or tags): the actions they cover are decided per user; every other
        # decision is shared by all users of the set.
        self._dependent: set[int] = set()
        services: set[str] | None = set()
        for layer in self.layers:
            for statement in layer.statements:
                if _is_user_dependent(statement):
                    self._dependent.add(id(statement))
                    if statement.services is None or statement.not_action or services is None:
                        services = None
                    else:
                        services |= statement.services
        self._dependent_services = None if services is None else frozenset(services)
        self._per_user: dict[str, bool] = {}
        self._kinds = _KIND_TABLES.setdefault(self._bootstrap, {})
        self._plans: dict[Hashable, list[tuple[Exposure | None, list[_Check]] | None]] = {}

    # -- what a request may reach --------------------------------------------------------------

    def _kind(self, action: str) -> str | None:
        table = self._kinds
        if action not in table:
            table[action] = _kind_of(self._bootstrap, action)
        return table[action]

    def _domain(self, action: CatalogAction, principal: Principal) -> tuple[tuple[Any, ...], ...]:
        if action.name.lower() in CALLER_ONLY:
            return (literal(principal.own_arn),)
        # IAM has no resource-based policies: a user reaches IAM resources of its own account only.
        account = principal.account_id if action.service == "iam" else None
        return action_domain(action.arn_formats, principal.partition, account)

    def _exempt(self, kind: str | None, principal: Principal) -> tuple[tuple[Any, ...], ...] | None:
        """The resources the bootstrap set allows the action on, as globs."""
        if kind is None or kind in ("outside", "caller only"):
            return None
        return exempt_globs(kind, principal.partition, principal.account_id, principal.name)

    def _candidates(self, action: CatalogAction, context: _Context, principal: Principal, own: bool) -> list[str]:
        """Readable resources to try first: the catalog's (another user; the own user), then a
        witness of every pattern that a covering statement names."""
        found = sorted(
            self.catalog.resources_for(
                action, account_id=principal.account_id, partition=principal.partition, users_with_path=(OTHER_USER,)
            ),
            key=len,
        )
        if action.name.lower() in CALLER_ONLY:
            found = [principal.own_arn]
        elif own and action.name in self.with_user_arn:
            found += self.catalog.resources_for(
                action,
                account_id=principal.account_id,
                partition=principal.partition,
                users_with_path=(principal.name_with_path,),
            )
        for layer in self.layers:
            for group in layer.statements_for(action.name):
                for statement in group:
                    for pattern in statement.resources:
                        # IAM user ARNs are the own user's and another's: a witness such as
                        # user/example/<name> would be a user that cannot exist (names are unique).
                        if pattern == "*" or _IAM_USER.match(pattern):
                            continue
                        resolved: str | None = pattern
                        if statement.variables:
                            resolved = substitute(pattern, context.values, escape=lambda text: text)
                        if resolved is not None:
                            witness = resolved.replace("*", "example").replace("?", "x")
                            if witness not in found:
                                found.append(witness)
        return found

    def reach(self, action: CatalogAction, context: _Context, principal: Principal, own: bool) -> str | None:
        """A resource ``action`` reaches in ``context`` beyond the bootstrap set, or None.

        ``own``: whether to try the principal's own user among the readable candidates (the
        decision itself always covers every resource of the action's formats)."""
        if not self.identity.statements_for(action.name)[1]:
            return None  # no Allow statement names it
        kind = self._kind(action.name)
        if kind == "outside":
            return None
        domain = self._domain(action, principal)
        applicable = self.reachability.applicable(self._layers, action.name, domain, context.values)
        if applicable is None:
            return None  # a layer allows nothing here, or a Deny covers every resource
        exempt = self._exempt(kind, principal)
        for resource in self._candidates(action, context, principal, own):
            if self._is_exempt(kind, resource, principal) or not in_domain(domain, resource):
                continue
            if applicable.everywhere:
                return resource  # every layer allows every resource of the domain, no Deny applies
            if self.policies.evaluate_normalized(action.name, resource, context.values) is Decision.ALLOW:
                return resource
        if applicable.everywhere and exempt is None:
            return None  # every resource is decided alike, and no candidate got through
        return self.reachability.member(domain, applicable, context.values, exempt)

    def _is_exempt(self, kind: str | None, resource: str, principal: Principal) -> bool:
        exempt = self._exempt(kind, principal)
        return exempt is not None and domain_regex(exempt).fullmatch(resource) is not None

    # -- the walk ------------------------------------------------------------------------------

    def _contexts(self, principal: Principal, scenarios: Sequence[Scenario]) -> list[_Context]:
        found = []
        for scenario in scenarios:
            values = request_context(principal, scenario)
            # What users of this set share: everything but their own user and the statements
            # that tell them apart (decided per user).
            shared = (principal.account_id, principal.partition, principal.organization_id, scenario.name)
            found.append(_Context(scenario.name, values, shared))
        return found

    def _is_per_user(self, action: CatalogAction) -> bool:
        if self._kind(action.name) in ("own user", "caller only"):
            return True
        if not self._dependent or (
            self._dependent_services is not None and action.service not in self._dependent_services
        ):
            return False
        found = self._per_user.get(action.name)
        if found is None:
            found = any(
                id(statement) in self._dependent
                for layer in self.layers
                for group in layer.statements_for(action.name)
                for statement in group
            )
            self._per_user[action.name] = found
        return found

    def _service_denied(self, plans: list[tuple[list[int], list[int]]], context: _Context) -> bool:
        """Whether a Deny that covers every action of the service, on every resource, whatever
        the user, applies in ``context``."""
        for layer, (always, _) in zip(self.layers, plans, strict=True):
            for index in always:
                statement = layer.statements[index]
                if (
                    statement.deny
                    and id(statement) not in self._dependent
                    and "*" in statement.resources
                    and not statement.not_resource
                    and all(condition.matches(context.values) for condition in statement.conditions)
                ):
                    return True
        return False

    def _denied_for_everyone(self, action: CatalogAction, context: _Context) -> bool:
        """Whether a Deny that does not depend on the user covers every resource of the action."""
        for layer in self.layers:
            for statement in layer.statements_for(action.name)[0]:
                if (
                    id(statement) not in self._dependent
                    and "*" in statement.resources
                    and not statement.not_resource
                    and all(condition.matches(context.values) for condition in statement.conditions)
                ):
                    return True
        return False

    def _plan_entry(
        self, service: str, actions: tuple[CatalogAction, ...], contexts: list[_Context], principal: Principal
    ) -> tuple[Exposure | None, list[_Check]] | None:
        """For one service: the most telling request every user of this signature may make, and
        the more telling requests left to decide per user (None: nothing to find here)."""
        hit: Exposure | None = None
        rank = len(actions)
        checks: list[tuple[int, _Check]] = []
        # The statements that cover every action of the service, and those to test per action
        # (the evaluator's own plan), per layer.
        plans = [layer._service_plan(service) for layer in self.layers]
        for layer, (always, per_action) in zip(self.layers, plans, strict=True):
            if all(layer.statements[index].deny for index in (*always, *per_action)):
                return None  # this layer allows nothing of the service
        dependent = self._dependent_services is None or service in self._dependent_services
        uniform = not any(per_action for _, per_action in plans)
        for context in contexts:
            decision = None if dependent else self.policies.service_decision(service, context.values, context.key)
            if decision is not None and decision is not Decision.ALLOW:
                continue
            if self._service_denied(plans, context):
                continue
            # Where the same statements cover the whole service, actions that name the same
            # resources share an answer: one of each group is decided.
            walk = self._representatives[service] if uniform else tuple(enumerate(actions))
            for index, action in walk:
                if index >= rank:
                    break
                if self._is_per_user(action):
                    if not self._denied_for_everyone(action, context):
                        checks.append((index, (action, context.name)))
                    continue
                resource = self.reach(action, context, principal, own=False)
                if resource is not None:
                    hit, rank = Exposure(action.name, resource, context.name), index
                    break
        kept = [check for index, check in sorted(checks, key=lambda item: item[0]) if index < rank]
        if hit is None and not kept:
            return None
        return hit, kept

    def find(
        self, principal: Principal, scenarios: Sequence[Scenario] = NO_MFA_SCENARIOS, limit: int | None = 3
    ) -> tuple[Exposure, ...]:
        """Up to ``limit`` exposures of ``principal`` (None: one per service, every service), at
        most one per service, most telling first; empty when MFA is enforced."""
        contexts = self._contexts(principal, scenarios)
        by_name = {context.name: context for context in contexts}
        key = tuple(context.key for context in contexts)
        # Built service by service as far as some user needed it, shared by the signature.
        plan = self._plans.setdefault(key, [])
        found: list[Exposure] = []
        for index, (service, actions) in enumerate(self.services):
            if index == len(plan):
                plan.append(self._plan_entry(service, actions, contexts, principal))
            entry = plan[index]
            if entry is None:
                continue
            hit, checks = entry
            best = hit
            for action, context_name in checks:
                resource = self.reach(action, by_name[context_name], principal, own=True)
                if resource is not None:
                    best = Exposure(action.name, resource, context_name)
                    break
            if best is not None:
                found.append(best)
                if limit is not None and len(found) >= limit:
                    break
        return tuple(found)

    def allows(self, action: str, resource: str, principal: Principal, scenario: Scenario) -> bool:
        """Whether one request is allowed (for the verdicts' choice of context)."""
        values = request_context(principal, scenario)
        return self.policies.evaluate_normalized(action, resource, values) is Decision.ALLOW
