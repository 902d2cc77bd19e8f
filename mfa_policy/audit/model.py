"""The account as policy sets: which documents apply to each user (pure: no AWS, no I/O).

For each user the effective policies are the user's inline and attached managed policies and
those of each of its groups (and a planned policy, for the impact preview), under guard layers
that must also allow: the permission boundary, and each level of service control policies from
the root down to the account. Each document is relaxed for what the audit cannot know about a
request (``mfa_policy.verifier.requests.relax_document``), with notes; identical relaxed sets
share one key, so they are compiled and decided once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.audit.aws import AccountSnapshot, ManagedPolicy, ScpLevel, User
from mfa_policy.verifier.evaluation import PolicyFormatError, PolicySet
from mfa_policy.verifier.exposures import PolicyLayers
from mfa_policy.verifier.requests import KeyModel, Principal, canonical, relax_document


@dataclass(frozen=True)
class PlannedPolicy:
    """A policy to evaluate as if it were attached to ``groups`` now (``--stack`` / ``--groups``)."""

    name: str
    document: Mapping[str, Any] = field(compare=False)
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Applied:
    """One policy document applying to a user (relaxed), with its label."""

    label: str
    key: str  # the relaxed document as canonical JSON: identical documents share evaluations
    document: Mapping[str, Any] = field(compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # what the relaxation changed
    # The document as written, before relaxation (what the enrollment-ticket notes read).
    original: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass
class EffectivePolicies:
    """What applies to one user: identity documents, the boundary, the SCP levels; notes; and
    why enforcement cannot be proven (a policy or group that could not be read or parsed)."""

    identity: list[Applied]
    boundary: Applied | None
    scp_levels: list[list[Applied]]
    notes: list[str]
    unproven: list[str]

    def key(self) -> tuple[Any, ...]:
        """Identical policy sets (order and duplicates of identity documents aside) share one key."""
        return (
            tuple(sorted({applied.key for applied in self.identity})),
            self.boundary.key if self.boundary else None,
            tuple(tuple(applied.key for applied in level) for level in self.scp_levels),
        )

    def layers(self) -> PolicyLayers:
        documents = {applied.key: applied.document for applied in self.identity}
        return PolicyLayers(
            tuple(documents[key] for key in sorted(documents)),
            self.boundary.document if self.boundary else None,
            tuple(tuple(applied.document for applied in level) for level in self.scp_levels),
        )

    def relaxation_notes(self) -> list[str]:
        found = [note for applied in self.identity for note in applied.notes]
        found += list(self.boundary.notes) if self.boundary else []
        found += [note for level in self.scp_levels for applied in level for note in applied.notes]
        return list(dict.fromkeys(found))


class AccountModel:
    """The effective policies of every user of a snapshot, with documents relaxed and checked once."""

    def __init__(self, snapshot: AccountSnapshot, planned: PlannedPolicy | None = None) -> None:
        self.snapshot = snapshot
        self.planned = planned
        self._applied: dict[tuple[str, str, KeyModel], Applied] = {}
        self._errors: dict[str, str | None] = {}
        known_organization = snapshot.organization_id == "" or bool(snapshot.organization_paths)
        self._organization_known = known_organization

    def key_model(
        self, user: User, extra: frozenset[str] = frozenset(), quiet: frozenset[str] = frozenset()
    ) -> KeyModel:
        return KeyModel(
            tags_known=user.tags is not None, organization_known=self._organization_known, extra=extra, quiet=quiet
        )

    def principal(self, user: User) -> Principal:
        snapshot = self.snapshot
        return Principal(
            account_id=snapshot.account_id,
            partition=snapshot.partition,
            name=user.name,
            path=user.path,
            user_id=user.user_id,
            arn=user.arn,
            tags=dict(user.tags) if user.tags is not None else None,
            organization_id=snapshot.organization_id if self._organization_known else None,
            organization_paths=snapshot.organization_paths,
        )

    def applied(self, label: str, document: Mapping[str, Any], model: KeyModel) -> Applied:
        raw = canonical(document) if isinstance(document, Mapping) else json.dumps(str(document))
        cache_key = (label, raw, model)
        found = self._applied.get(cache_key)
        if found is None:
            relaxed, notes = relax_document(document, label, model)
            original = document if isinstance(document, Mapping) else None
            found = Applied(label, canonical(relaxed), relaxed, tuple(notes), original)
            self._applied[cache_key] = found
        return found

    def compile_error(self, applied: Applied) -> str | None:
        """Why the evaluator cannot read a document, or None."""
        if applied.key not in self._errors:
            self._errors[applied.key] = _compile_error(applied.key, applied.document)
        return self._errors[applied.key]

    def effective(self, user: User, model: KeyModel) -> EffectivePolicies:
        """The policies that apply to ``user``, relaxed under ``model``."""
        snapshot = self.snapshot
        notes: list[str] = []
        unproven: list[str] = []
        found: list[Applied] = []

        def managed(arn: str, via: str) -> None:
            policy = snapshot.policies.get(arn)
            if policy is None:
                unproven.append(f"managed policy {arn}{via} could not be read: MFA enforcement cannot be proven")
            else:
                found.append(self.applied(f"{policy.name}{via}", policy.document, model))

        for inline in user.inline:
            found.append(self.applied(f"inline {inline.name}", inline.document, model))
        for arn in user.attached:
            managed(arn, "")
        for name in user.groups:
            group = snapshot.groups.get(name)
            if group is None:
                unproven.append(f"group {name} could not be read: MFA enforcement cannot be proven")
                continue
            for inline in group.inline:
                found.append(self.applied(f"inline {inline.name} (group {name})", inline.document, model))
            for arn in group.attached:
                managed(arn, f" (group {name})")
        planned = self.planned
        if planned is not None:
            for name in planned.groups:
                if name in user.groups:
                    found.append(self.applied(f"{planned.name} (planned, group {name})", planned.document, model))
                    break
        for applied in found:
            error = self.compile_error(applied)
            if error is not None:
                unproven.append(
                    f"policy {applied.label} cannot be evaluated ({error}): MFA enforcement cannot be proven"
                )
        boundary = None
        if user.boundary:
            policy = snapshot.policies.get(user.boundary)
            if policy is None:
                # Leaving a boundary out can only allow more: the verdict errs on the safe side.
                notes.append(f"permission boundary {user.boundary} was not readable: left out")
            else:
                boundary = self.applied(f"{policy.name} (permission boundary)", policy.document, model)
                error = self.compile_error(boundary)
                if error is not None:
                    notes.append(f"{boundary.label} cannot be evaluated ({error}): left out")
                    boundary = None
        levels = [self._scp_level(level, model, notes) for level in snapshot.scp_levels]
        return EffectivePolicies(found, boundary, levels, notes, unproven)

    def _scp_level(self, level: ScpLevel, model: KeyModel, notes: list[str]) -> list[Applied]:
        kept = []
        for policy in level.policies:
            applied = self.applied(f"SCP {policy.name} ({level.target})", policy.document, model)
            error = self.compile_error(applied)
            if error is None:
                kept.append(applied)
            else:
                # An SCP can only take permissions away: leaving one out errs on the safe side.
                notes.append(f"{applied.label} cannot be evaluated ({error}): left out")
        if len(kept) < len(level.policies) and not kept:
            # Every SCP of the level unreadable: the level is left out rather than allowing nothing.
            return [self.applied("FullAWSAccess (stand-in)", _ALLOW_ALL, model)]
        return kept


# Why the evaluator cannot read a relaxed document (its canonical JSON), for every account of a
# run: the organization audit meets the same documents in every account. A pure function of the
# key, so the cache needs no lock; bounded for long-lived processes.
_COMPILE_ERRORS: dict[str, str | None] = {}
_COMPILE_ERRORS_MAX = 10_000


def _compile_error(key: str, document: Mapping[str, Any]) -> str | None:
    if key in _COMPILE_ERRORS:
        return _COMPILE_ERRORS[key]
    try:
        PolicySet([document])
        found = None
    except PolicyFormatError as error:
        found = str(error)
    if len(_COMPILE_ERRORS) >= _COMPILE_ERRORS_MAX:
        _COMPILE_ERRORS.clear()
    _COMPILE_ERRORS[key] = found
    return found


_ALLOW_ALL: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def scp_level_from_json(value: Any, target: str) -> ScpLevel:
    """One ``--scp`` file's content: a policy document, or a JSON list of them. Raises
    ``PolicyFormatError`` naming ``target`` for anything the evaluator cannot read."""
    documents = value if isinstance(value, list) else [value]
    policies = []
    for index, document in enumerate(documents, start=1):
        try:
            PolicySet([document])
        except PolicyFormatError as error:
            raise PolicyFormatError(f"{target}: policy {index}: {error}") from None
        name = f"{target} #{index}" if len(documents) > 1 else target
        policies.append(ManagedPolicy(f"{target}#{index}", name, document))
    return ScpLevel(target, tuple(policies))
