"""What same-account resource policies let a user do without MFA (pure: no AWS, no I/O).

AWS's rules for a request within one account (IAM User Guide, "Policy evaluation logic"):

* an identity-based *or* a resource-based policy may allow the request;
* a resource-based policy that grants permission to an IAM user's ARN (or to ``"*"``) is *not*
  limited by an implicit deny in the user's identity policies or its permissions boundary: the
  grant needs nothing else from them;
* an explicit Deny in any policy (identity, boundary, SCP, the resource policy itself) wins;
* service control policies still apply: every level must allow;
* a grant to the account (``arn:aws:iam::<account>:root`` or the bare ID) delegates to the
  identity policies, which the audit already judges: it exposes nobody by itself.

So an **exposure** here is a request on a resource whose policy grants the user directly (its
ARN, its ID, or ``*``), in a context without MFA (access keys: ``aws:MultiFactorAuthPresent``
absent; the console without MFA: ``false``), that no explicit Deny of the identity policies,
the boundary or the resource policy stops and every SCP level allows. The resource policy's own
conditions are evaluated: a grant that requires MFA is no exposure without it. Whether some
resource gets through (any object of a bucket, for S3's object actions) is decided over the
Resource/NotResource patterns (``mfa_policy.verifier.reachability``, as for identity policies),
never on sample objects: a guard that covers only part of the grant does not stop it.

The statements that apply to the user are chosen by ``principals.select_statements``; the keys
a service sets only when it calls another service (``aws:SourceArn``, ``aws:SourceAccount``,
SNS's ``AWS:SourceOwner``, ``kms:ViaService``, ``aws:CalledVia``, ...) are absent from a user's
own call (``requests.ABSENT_KEYS``, the identity policies' list too) and are resolved as such
(``resolve_absent_keys``); every other key the audit does not
model is resolved in the user's favour by the identity policies' relaxation (passed in as
``relax``), so a verdict built on these exposures over-approximates what the user can do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mfa_policy.audit.aws import ResourcePolicy, UnreadPolicy, User
from mfa_policy.audit.aws_resources import policy_label
from mfa_policy.audit.principals import Caller, granted_to, select_statements
from mfa_policy.verifier.catalog import Catalog
from mfa_policy.verifier.evaluation import Decision, PolicyFormatError, PolicySet, substitute
from mfa_policy.verifier.reachability import Domain, Layer, Reachability, in_domain
from mfa_policy.verifier.requests import ABSENT_KEYS
from mfa_policy.verifier.resource_sets import ANY, ONE, STAR, literal


@dataclass(frozen=True)
class PolicyKind:
    """What a resource policy of one kind can grant: the IAM service, the catalog's resource
    types its resource is (an S3 bucket policy covers the bucket and its objects), and the
    actions named first in an example."""

    service: str
    resource_types: tuple[str, ...]
    telling: tuple[str, ...] = ()


KINDS: dict[str, PolicyKind] = {
    "s3": PolicyKind("s3", ("bucket", "object"), ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket")),
    "kms": PolicyKind(
        "kms", ("key",), ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion")
    ),
    "sqs": PolicyKind("sqs", ("queue",), ("sqs:ReceiveMessage", "sqs:SendMessage", "sqs:PurgeQueue")),
    "sns": PolicyKind("sns", ("topic",), ("sns:Publish", "sns:Subscribe")),
    "secretsmanager": PolicyKind(
        "secretsmanager", ("secret",), ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
    ),
    "lambda": PolicyKind("lambda", ("function",), ("lambda:InvokeFunction", "lambda:UpdateFunctionCode")),
    "ecr": PolicyKind("ecr", ("repository",), ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage")),
    # NFS clients that mount with IAM authorization (the mount helper's -o iam) sign with the
    # user's credentials: these actions need no MFA either.
    "efs": PolicyKind(
        "elasticfilesystem",
        ("file-system",),
        ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"),
    ),
}

_WILDCARD = re.compile(r"[*?]")
_NONEMPTY_KEY = ((ONE, ANY), (STAR, ANY))  # an S3 object key: any non-empty text

Relax = Callable[[Mapping[str, Any], str], tuple[Mapping[str, Any], list[str]]]


class RequestContext(Protocol):
    """A request context as the audit builds them: its name (``access keys``, ...) and values."""

    @property
    def name(self) -> str: ...

    @property
    def values(self) -> Mapping[str, tuple[str, ...]]: ...


@dataclass(frozen=True)
class ResourceExposure:
    """A request a resource policy grants the user without MFA, that nothing stops."""

    action: str
    resource: str
    context: str  # access keys, or console without MFA
    policy: str  # "the bucket policy of reports"
    statement: str  # the granting statement's Sid, or #index
    resource_arn: str  # the resource the policy is attached to

    @property
    def policies(self) -> tuple[str, ...]:
        """What allows it, as identity exposures name their policies."""
        return (f"{self.policy}, statement {self.statement}",)

    def __str__(self) -> str:
        return f"{self.action} on {self.resource} ({self.context}; granted by {self.policies[0]})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resource": self.resource,
            "context": self.context,
            "policy": self.policy,
            "statement": self.statement,
            "resourceArn": self.resource_arn,
        }


@dataclass
class Guards:
    """What stops a resource-policy grant to a user: an explicit Deny in ``deny_layers`` (the
    user's identity policies and permission boundary: their implicit deny does not cap such a
    grant), and ``allow_layers`` that must each allow (SCP levels)."""

    deny_layers: Sequence[PolicySet] = ()
    allow_layers: Sequence[PolicySet] = ()

    @functools.cached_property
    def key(self) -> tuple[int, ...]:
        """Identifies the layers (the same compiled sets are shared by users with the same policies)."""
        return tuple(id(layer) for layer in (*self.deny_layers, None, *self.allow_layers))

    def user_dependent(self, service: str) -> bool:
        """Whether a decision on ``service``'s actions can differ between users: only the Deny
        statements of the deny layers count, and only those that may cover the service."""
        if service not in self._dependent:
            self._dependent[service] = any(
                _user_dependent(layer, service, denies_only=True) for layer in self.deny_layers
            ) or any(_user_dependent(level, service) for level in self.allow_layers)
        return self._dependent[service]

    def __post_init__(self) -> None:
        self._dependent: dict[str, bool] = {}

    def stop(self, action: str, resource: str, values: Mapping[str, tuple[str, ...]]) -> bool:
        for layer in self.deny_layers:
            if layer.evaluate_normalized(action, resource, values) is Decision.EXPLICIT_DENY:
                return True
        return any(
            level.evaluate_normalized(action, resource, values) is not Decision.ALLOW for level in self.allow_layers
        )


# Condition keys whose value differs from user to user (lower case; and every aws:PrincipalTag/).
_USER_KEYS = frozenset({"aws:username", "aws:userid", "aws:principalarn"})


def _user_dependent(policy_set: PolicySet, service: str | None = None, denies_only: bool = False) -> bool:
    """Whether a decision of ``policy_set`` (on ``service``'s actions, or on any) can differ
    between two users of the account: a policy variable, or a condition on who asks."""
    return any(
        any("${" in pattern for pattern in statement.resources)
        or any(
            condition.key in _USER_KEYS
            or condition.key.startswith("aws:principaltag/")
            or any("${" in value for value in condition.values)
            for condition in statement.conditions
        )
        for statement in policy_set.statements
        if (statement.deny or not denies_only)
        and (service is None or statement.not_action or statement.services is None or service in statement.services)
    )


def guards_from(documents: Iterable[Mapping[str, Any]], scp_levels: Sequence[PolicySet] = ()) -> Guards:
    """``Guards`` from the user's (relaxed) identity and boundary documents; a document the
    evaluator cannot read is left out (without its Deny the user can only do more)."""
    layers = []
    for document in documents:
        try:
            layers.append(PolicySet([document]))
        except PolicyFormatError:
            continue
    return Guards(layers, scp_levels)


def _met_when_absent(operator: str, key: str, values: Any) -> bool | None:
    """Whether one condition entry holds when ``key`` is absent; None if the evaluator cannot read it."""
    probe = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {operator: {key: values}}}]}
    try:
        return PolicySet([probe]).evaluate("probe:Probe", "*", {}) is Decision.ALLOW
    except PolicyFormatError:
        return None


def resolve_absent_keys(statements: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``statements`` with every condition on a key of ``ABSENT_KEYS`` (never in a user's own call:
    ``mfa_policy.verifier.requests``) decided as the
    evaluator decides it for an absent key: an entry that holds is dropped, and a statement with
    an entry that cannot hold is dropped (it never applies to the user's own call)."""
    resolved: list[Mapping[str, Any]] = []
    for statement in statements:
        conditions = statement.get("Condition")
        if not isinstance(conditions, Mapping) or not all(isinstance(e, Mapping) for e in conditions.values()):
            resolved.append(statement)
            continue
        kept: dict[str, dict[str, Any]] = {}
        never = False
        for operator, entries in conditions.items():
            for key, values in entries.items():
                met = _met_when_absent(operator, key, values) if key.lower() in ABSENT_KEYS else None
                if met is None:
                    kept.setdefault(operator, {})[key] = values
                elif not met:
                    never = True
        if never:
            continue
        changed = {k: v for k, v in statement.items() if k != "Condition"}
        if kept:
            changed["Condition"] = kept
        resolved.append(changed)
    return resolved


@functools.lru_cache(maxsize=16)
def _candidates(catalog: Catalog, kind: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The actions a policy of ``kind`` can grant (their resource types, lower case), telling
    actions first."""
    spec = KINDS[kind]
    types = {name.lower() for name in spec.resource_types}
    actions = [
        (action.name, frozenset(t.lower() for t in action.resource_types) & types)
        for action in catalog.service_actions(spec.service)
    ]
    found = [(name, taken) for name, taken in actions if taken]
    order = {name.lower(): index for index, name in enumerate(spec.telling)}
    found.sort(key=lambda item: order.get(item[0].lower(), len(order)))
    return tuple(found)


@dataclass
class _Compiled:
    """The statements of one resource policy that apply to a user, prepared and compiled."""

    policy_set: PolicySet
    statements: list[Mapping[str, Any]]  # prepared (relaxed), each with its label as Sid
    notes: tuple[str, ...]  # what the relaxation changed
    allow_patterns: tuple[str, ...]  # the resources the Allow statements name
    key: tuple[int, tuple[int, ...]]  # the policy's index and the statements selected
    user_dependent: bool


class ResourcePolicies:
    """The account's resource policies, compiled once per selection of statements and shared by
    the users the same statements apply to."""

    def __init__(self, policies: Sequence[ResourcePolicy], catalog: Catalog, relax: Relax) -> None:
        self.policies = list(policies)
        self.catalog = catalog
        self.relax = relax
        self.unevaluated: list[str] = []  # policies the evaluator cannot read: a report note each
        self.reachability = Reachability()
        self._broken: set[int] = set()
        self._compiled: dict[tuple[int, tuple[int, ...]], _Compiled | None] = {}
        # Which policies can grant whom: those that may reach anyone, and by principal value.
        self._anyone: list[int] = []
        self._named: dict[str, list[int]] = {}
        # Exposures that cannot differ between users, by selection, guards and contexts.
        self._shared: dict[tuple[Any, ...], tuple[ResourceExposure | None, tuple[PolicySet, ...]]] = {}
        for index, policy in enumerate(self.policies):
            try:
                PolicySet([_without_principals(policy.document)])
            except PolicyFormatError as error:
                self._broken.add(index)
                self.unevaluated.append(
                    f"could not evaluate {policy_label(policy.kind, policy.name)} ({error}): grants there are not seen"
                )
                continue
            named = granted_to(policy.document)
            if named is None:
                self._anyone.append(index)
            for value in named or ():
                self._named.setdefault(value, []).append(index)

    def _compile(self, index: int, caller: Caller) -> tuple[_Compiled | None, tuple[str, ...]]:
        """The statements of policy ``index`` that apply to ``caller``, compiled, and the notes of
        selecting them; None when none grants the caller anything."""
        if index in self._broken:
            return None, ()
        policy = self.policies[index]
        label = policy_label(policy.kind, policy.name)
        selected = select_statements(policy.document, caller, label)
        if not selected.grants:
            return None, selected.notes
        key = (index, selected.indexes)
        if key not in self._compiled:
            statements = [{**s, "Sid": sid} for s, sid in zip(selected.statements, selected.labels, strict=True)]
            body: dict[str, Any] = {"Statement": resolve_absent_keys(statements)}
            if "Version" in policy.document:
                body["Version"] = policy.document["Version"]
            relaxed, notes = self.relax(body, label)
            try:
                policy_set = PolicySet([relaxed])
            except PolicyFormatError:  # only a relaxation could break it: the document compiled
                self._compiled[key] = None
            else:
                patterns = tuple(
                    pattern
                    for statement in policy_set.statements
                    if not statement.deny and not statement.not_resource
                    for pattern in statement.resources
                )
                self._compiled[key] = _Compiled(
                    policy_set, list(relaxed["Statement"]), tuple(notes), patterns, key, _user_dependent(policy_set)
                )
        return self._compiled[key], selected.notes

    def exposures(
        self, user: User, account_id: str, partition: str, contexts: Sequence[RequestContext], guards: Guards
    ) -> tuple[list[ResourceExposure], list[str]]:
        """One exposure per resource policy that grants ``user`` something without MFA that
        ``guards`` do not stop (the most telling request), and the notes of those policies (what
        the audit counted as met, or as not applying, there). ``contexts`` in order of preference."""
        caller = Caller(user.arn, user.user_id, account_id, partition)
        found: list[ResourceExposure] = []
        notes: list[str] = []
        candidates = {*self._anyone, *self._named.get(user.arn, ()), *self._named.get(user.user_id, ())}
        for index in sorted(candidates):
            policy = self.policies[index]
            compiled, selection_notes = self._compile(index, caller)
            if compiled is None:
                continue
            if compiled.user_dependent or guards.user_dependent(KINDS[policy.kind].service):
                hit = _first_exposure(self.catalog, policy, compiled, contexts, guards, self.reachability)
            else:
                shared_key = (compiled.key, guards.key, tuple(context.name for context in contexts))
                if shared_key not in self._shared:
                    # The layers are kept with the answer: their ids in the key stay theirs.
                    hit = _first_exposure(self.catalog, policy, compiled, contexts, guards, self.reachability)
                    self._shared[shared_key] = (hit, (*guards.deny_layers, *guards.allow_layers))
                hit = self._shared[shared_key][0]
            if hit is not None:
                found.append(hit)
                notes += [note for note in (*selection_notes, *compiled.notes) if note not in notes]
        return found, notes


def _first_exposure(
    catalog: Catalog,
    policy: ResourcePolicy,
    compiled: _Compiled,
    contexts: Sequence[RequestContext],
    guards: Guards,
    reachability: Reachability,
) -> ResourceExposure | None:
    policy_set = compiled.policy_set
    # The grant's layer must allow; the guards' deny layers count by their Denies alone; each SCP
    # level must allow.
    layers = [
        Layer(policy_set),
        *(Layer(layer, needs_allow=False) for layer in guards.deny_layers),
        *(Layer(level) for level in guards.allow_layers),
    ]
    for action, types in _candidates(catalog, policy.kind):
        if not policy_set.statements_for(action)[1]:
            continue  # no Allow statement covers it
        domain = _domain(policy, types)
        for context in contexts:
            resource = _reach(policy, compiled, guards, reachability, layers, action, types, domain, context.values)
            if resource is not None:
                return ResourceExposure(
                    action,
                    resource,
                    context.name,
                    policy_label(policy.kind, policy.name),
                    _granting(compiled.statements, action, resource, context.values),
                    policy.arn,
                )
    return None


def _domain(policy: ResourcePolicy, types: frozenset[str]) -> Domain:
    """The resources an action taking ``types`` can name under ``policy``: the policy's own
    resource, and for S3 objects every object of the bucket (any non-empty key)."""
    globs: list[tuple[Any, ...]] = []
    if types - {"object"}:
        globs.append(literal(policy.arn))
    if "object" in types:
        globs.append(literal(f"{policy.arn}/") + _NONEMPTY_KEY)
    return tuple(globs)


def _reach(
    policy: ResourcePolicy,
    compiled: _Compiled,
    guards: Guards,
    reachability: Reachability,
    layers: Sequence[Layer],
    action: str,
    types: frozenset[str],
    domain: Domain,
    values: Mapping[str, tuple[str, ...]],
) -> str | None:
    """A resource of ``domain`` the grant lets ``action`` reach in the context ``values`` that the
    guards do not stop, or None: decided over the patterns (``reachability``), readable
    resources tried first for the report."""
    applicable = reachability.applicable(layers, action, domain, values)
    if applicable is None:
        return None  # nothing granted here, or a Deny covers every resource
    for resource in _resources(policy, types, compiled.allow_patterns, values):
        if not in_domain(domain, resource):
            continue
        if compiled.policy_set.evaluate_normalized(action, resource, values) is not Decision.ALLOW:
            continue
        if not guards.stop(action, resource, values):
            return resource
    if applicable.everywhere:
        return None  # every resource is decided alike, and no candidate got through
    return reachability.member(domain, applicable, values)


def _granting(
    statements: Sequence[Mapping[str, Any]], action: str, resource: str, values: Mapping[str, tuple[str, ...]]
) -> str:
    """The label of the first Allow statement that, alone, allows the request."""
    for statement in statements:
        if statement.get("Effect") == "Allow":
            alone = PolicySet([{"Statement": [statement]}])
            if alone.evaluate_normalized(action, resource, values) is Decision.ALLOW:
                return str(statement["Sid"])
    return "?"  # only the statements together allow it (cannot happen: one Allow suffices)


def _resources(
    policy: ResourcePolicy, types: frozenset[str], patterns: Sequence[str], values: Mapping[str, tuple[str, ...]]
) -> list[str]:
    """Readable resources to try first for an action taking ``types`` (the report names the first
    that gets through; whether any does is decided over the patterns): the policy's own resource,
    and for S3 objects a witness of every object pattern the Allow statements name under the
    bucket (the user's policy variables filled in), then ``<bucket>/example``."""
    found: list[str] = []
    if types - {"object"}:
        found.append(policy.arn)
    if "object" in types:
        prefix = f"{policy.arn}/"
        for pattern in patterns:
            resolved = substitute(pattern, values, escape=lambda text: text) if "${" in pattern else pattern
            if resolved and resolved.startswith(prefix):
                witness = _WILDCARD.sub(lambda m: "example" if m.group(0) == "*" else "x", resolved)
                if witness not in found:
                    found.append(witness)
        if f"{prefix}example" not in found:
            found.append(f"{prefix}example")
    return found


def _without_principals(document: Mapping[str, Any]) -> Mapping[str, Any]:
    body = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [body] if isinstance(body, Mapping) else body
    if not isinstance(statements, list):
        return document
    return {
        **document,
        "Statement": [
            {k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")} if isinstance(s, Mapping) else s
            for s in statements
        ],
    }


def summary(policies: Sequence[ResourcePolicy] | None) -> dict[str, int]:
    """How many policies of each kind were read."""
    counts = {kind: 0 for kind in KINDS}
    for policy in policies or ():
        counts[policy.kind] += 1
    return counts


@dataclass(frozen=True)
class Coverage:
    """Which resource policies the audit saw: whether it read them, in which regions, how many of
    each kind, and the gaps (a policy it could not read or evaluate: grants there are not seen)."""

    read: bool
    regions: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    gaps: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "regions": list(self.regions),
            "policies": dict(self.counts),
            "gaps": list(self.gaps),
        }


def coverage(
    policies: Sequence[ResourcePolicy] | None,
    unread: Iterable[UnreadPolicy],
    regions: Sequence[str],
    unevaluated: Iterable[str] = (),
) -> Coverage:
    """The ``Coverage`` of a snapshot's resource policies (``policies`` None: not read)."""
    if policies is None:
        return Coverage(False)
    counts = {kind: 0 for kind in KINDS}
    for policy in policies:
        counts[policy.kind] = counts.get(policy.kind, 0) + 1
    gaps = [f"could not read {gap.what} ({gap.reason}): grants there are not seen" for gap in unread]
    return Coverage(True, tuple(regions), counts, (*gaps, *unevaluated))
