"""Whether a request reaches some resource of a domain through layers of policies (pure).

The one question behind both the identity exposures (``exposures.ExposureFinder``) and the audit's
resource-policy grants (``mfa_policy.audit.resource_policies``): for one action in one request
context, is there a resource of ``domain`` (the resources the action can name) that

* every layer that must allow allows (some Allow statement of it applies), and
* no Deny statement of any layer covers,

where a layer is a compiled ``PolicySet``, and ``needs_allow=False`` marks a layer whose explicit
Denies count but whose implicit deny does not (the identity policies and the permission boundary
against a resource policy's grant to the user's ARN: IAM User Guide, "Policy evaluation logic").

Conditions are decided first (they do not depend on the resource); what remains is a question
about the regular languages of the Resource/NotResource patterns, answered exactly by
``resource_sets``: never by trying sample resources, so a Deny with a ``NotResource`` carve-out,
or one whose ``Resource`` covers only part of the domain, is decided for every resource at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mfa_policy.verifier.evaluation import PolicySet, _escape_glob, substitute
from mfa_policy.verifier.resource_sets import (
    Answers,
    Question,
    Token,
    domain_regex,
    domain_starts,
    glob_of,
    literal_start,
    may_overlap,
)

Domain = tuple[tuple[Token, ...], ...]

# How much of a domain's resources a statement's Resource/NotResource covers.
NONE, SOME, ALL = 0, 1, 2

SHARED_ANSWERS = Answers()


@dataclass(frozen=True)
class Layer:
    """A compiled policy set a request must get through: ``needs_allow`` False when only its
    explicit Denies count."""

    policies: PolicySet
    needs_allow: bool = True


@dataclass
class Applicable:
    """The statements that may decide a request in one context, per layer: (Denies, Allows; None
    where the layer's Allows do not count); ``everywhere``: every statement kept applies to every
    resource of the domain, and no Deny is kept."""

    layers: list[tuple[list[Any], list[Any] | None]]
    everywhere: bool


class Reachability:
    """Decides whether a request reaches some resource of a domain; remembers how much of a domain
    each statement covers (a statement is kept alive with its entry, so an id is never reused)."""

    def __init__(self, answers: Answers | None = None) -> None:
        self.answers = answers or SHARED_ANSWERS
        self._relevances: dict[tuple[int, Domain], tuple[Any, int]] = {}

    def relevance(self, statement: Any, domain: Domain) -> int:
        """Whether a statement's Resource/NotResource covers every resource of ``domain`` (ALL),
        none (NONE), or some (SOME): a pattern whose literal start no resource of the domain can
        have is left out."""
        key = (id(statement), domain)
        entry = self._relevances.get(key)
        if entry is not None and entry[0] is statement:
            return entry[1]
        starts = domain_starts(domain)
        kept = [p for p in statement.resources if any(may_overlap(literal_start(p), start) for start in starts)]
        if statement.not_resource:
            found = ALL if not kept else (NONE if "*" in kept else SOME)
        else:
            found = NONE if not kept else (ALL if "*" in kept else SOME)
        self._relevances[key] = (statement, found)
        return found

    def applicable(
        self, layers: Sequence[Layer], action: str, domain: Domain, values: Any
    ) -> Applicable | None:
        """The statements of ``layers`` that may decide ``action`` on a resource of ``domain`` in
        the context ``values``; None when the request surely reaches nothing there (a layer that
        must allow has no Allow that applies, or a Deny applies to every resource)."""
        found: list[tuple[list[Any], list[Any] | None]] = []
        everywhere = True
        for layer in layers:
            denies, allows = layer.policies.statements_for(action)
            kept_allows: list[Any] | None = None
            if layer.needs_allow:
                kept_allows = []
                for statement in allows:
                    reach = self.relevance(statement, domain)
                    if reach != NONE and all(c.matches(values) for c in statement.conditions):
                        kept_allows.append(statement)
                        everywhere = everywhere and reach == ALL
                if not kept_allows:
                    return None  # this layer allows nothing here
            kept_denies = []
            for statement in denies:
                reach = self.relevance(statement, domain)
                if reach != NONE and all(c.matches(values) for c in statement.conditions):
                    if reach == ALL:
                        return None  # denied on every resource
                    kept_denies.append(statement)
                    everywhere = False
            found.append((kept_denies, kept_allows))
        return Applicable(found, everywhere)

    def member(
        self, domain: Domain, applicable: Applicable, values: Any, exempt: Domain | None = None
    ) -> str | None:
        """The shortest resource of ``domain`` (outside ``exempt``) that the ``applicable``
        statements let through in the context ``values``, or None when there is none."""
        specs: list[Domain] = []

        def spec(statement: Any) -> object:
            patterns = []
            for pattern in statement.resources:
                resolved: str | None = pattern
                if statement.variables and "${" in pattern:
                    resolved = substitute(pattern, values, escape=_escape_glob)
                if resolved is not None:
                    patterns.append(glob_of(resolved))
            if not patterns:  # every pattern reads a key the context lacks: none matches
                return statement.not_resource
            globs = tuple(patterns)
            if globs not in specs:
                specs.append(globs)
            inside = ("in", specs.index(globs))
            return ("not", inside) if statement.not_resource else inside

        terms: list[object] = []
        denied: list[object] = []
        for denies, allows in applicable.layers:
            if allows is not None:
                terms.append(("or", tuple(spec(s) for s in allows)))
            denied += [spec(s) for s in denies]
        if denied:
            terms.append(("not", ("or", tuple(denied))))
        if exempt is not None:
            specs.append(exempt)
            terms.append(("not", ("in", len(specs) - 1)))
        formula = ("and", tuple(terms))
        try:
            return self.answers.member(Question(domain, tuple(specs), formula))
        except RuntimeError:
            return "*"  # too large to decide: counted as reached (never seen on real policies)


def in_domain(domain: Domain, resource: str) -> bool:
    """Whether ``resource`` is one of the resources ``domain`` stands for."""
    return domain_regex(domain).fullmatch(resource) is not None
