"""Sets of resources named by patterns, and whether a request can reach one (pure).

IAM resource patterns are globs (``*``, ``?``), so "is there a resource that some Allow reaches,
every guard layer allows and no applicable Deny covers?" is a question about regular languages.
This module answers it exactly with a small automaton: each pattern (or list of patterns) is a
nondeterministic automaton whose state set is a bit mask, and a question is a Boolean formula over
such automata (``Resource`` is "in the union", ``NotResource`` "not in it"). A breadth-first walk of
their product finds the shortest resource that satisfies the formula, or proves there is none.

The meaning of a pattern is the evaluator's: ``glob_of(pattern)`` reads back the regular expression
``mfa_policy.verifier.evaluation`` compiles the pattern into (``PolicySet._compiled_resource``:
where a ``*`` stays in its ARN segment, and where it may cross colons), so this module holds no
second ARN matcher. The alphabet of a
question is the characters its patterns name, the colon, and one stand-in for every other
character; the walk explores only characters that keep the resource inside the action's ARN
formats, so a question on real policies takes well under a millisecond.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mfa_policy.verifier.evaluation import PolicySet

# Token kinds: one literal character, one character of a class, any run of a class.
LITERAL, ONE, STAR = 0, 1, 2
ANY = "any"  # every character
SEGMENT = "segment"  # every character but the colon (inside one ARN segment)
# The stand-in for "a character no pattern names": spelled with the first of these that is free.
_READABLE = "xyzqjkwvbgfhmpdcluotnsriaeXYZ0123456789-_"

Token = tuple[int, str]  # (LITERAL, char) or (ONE|STAR, ANY|SEGMENT)


class UnsupportedPattern(ValueError):
    """The evaluator compiled a pattern into a regular expression this module cannot read."""


def _tokens_of_regex(regex: str) -> list[Token]:
    """The glob tokens of a regular expression built from literals, ``.``, ``[^:]`` and ``*``."""
    tokens: list[Token] = []
    index = 0
    while index < len(regex):
        char = regex[index]
        if char == "\\" and index + 1 < len(regex):
            tokens.append((LITERAL, regex[index + 1]))
            index += 2
            continue
        if char == ".":
            token: Token = (ONE, ANY)
            index += 1
        elif regex.startswith("[^:]", index):
            token = (ONE, SEGMENT)
            index += 4
        elif char in "()|+?{}[]^$*":
            raise UnsupportedPattern(f"cannot read {regex!r} at {index}: {char!r}")
        else:
            tokens.append((LITERAL, char))
            index += 1
            continue
        if regex.startswith("*", index):
            token = (STAR, token[1])
            index += 1
        tokens.append(token)
    return tokens


# An empty policy set: its pattern compiler is the evaluator's own.
_EVALUATOR = PolicySet([])


@functools.lru_cache(maxsize=65536)
def glob_of(pattern: str) -> tuple[Token, ...]:
    """The tokens of a Resource/NotResource pattern (policy variables already substituted, their
    values escaped as the evaluator escapes them), read from the evaluator's compiled pattern."""
    return tuple(_tokens_of_regex(_EVALUATOR._compiled_resource(pattern).pattern))


def literal(text: str) -> tuple[Token, ...]:
    """The tokens that match ``text`` and nothing else."""
    return tuple((LITERAL, char) for char in text)


def _accepts(kind: str, char: str) -> bool:
    return kind == ANY or char != ":"


class Automaton:
    """A union of globs as one nondeterministic automaton; a state set is an int bit mask.

    Position ``i`` of a glob is "before token i"; each glob ends in a position of its own (its
    accepting position), so the shift that advances a position never leaks into the next glob.
    """

    __slots__ = ("_steps", "_tokens", "accept", "literals", "stars", "start", "universal", "wild")

    def __init__(self, globs: Iterable[Sequence[Token]]) -> None:
        self._steps: dict[str | None, tuple[int, int]] = {}
        positions: list[Token | None] = []
        starts = accept = stars = wild = universal = 0
        for glob in globs:
            first = len(positions)
            starts |= 1 << first
            positions.extend(glob)
            positions.append(None)
            accept |= 1 << (len(positions) - 1)
            # From a position followed only by ``*`` of any character, every continuation is accepted.
            tail = len(positions) - 1
            while tail > first and glob[tail - first - 1] == (STAR, ANY):
                tail -= 1
                universal |= 1 << tail
        self.literals: dict[str, int] = {}
        for index, token in enumerate(positions):
            if token is None:
                continue
            kind, value = token
            if kind == LITERAL:
                self.literals[value] = self.literals.get(value, 0) | 1 << index
            else:
                wild |= 1 << index
                if kind == STAR:
                    stars |= 1 << index
        self._tokens = positions
        self.stars = stars
        self.wild = wild
        self.accept = accept
        self.universal = universal
        self.start = self.closure(starts)

    def closure(self, mask: int) -> int:
        """``mask`` with every position a ``*`` may skip to (a star matches the empty run too)."""
        while True:
            grown = mask | ((mask & self.stars) << 1)
            if grown == mask:
                return mask
            mask = grown

    def _masks(self, char: str | None) -> tuple[int, int]:
        """(positions that advance on ``char``, star positions that stay on it); None: a character
        no pattern names (not a colon)."""
        found = self._steps.get(char)
        if found is None:
            advance = stay = 0
            for index, token in enumerate(self._tokens):
                if token is None:
                    continue
                kind, value = token
                hit = value == char if kind == LITERAL else char is None or _accepts(value, char)
                if hit:
                    if kind == STAR:
                        stay |= 1 << index
                    else:
                        advance |= 1 << index
            found = (advance, stay)
            self._steps[char] = found
        return found

    def step(self, mask: int, char: str | None) -> int:
        advance, stay = self._masks(char)
        return self.closure((mask & stay) | ((mask & advance) << 1))

    def status(self, mask: int) -> int:
        """1: every continuation is accepted; 0: none is (dead); -1: it depends."""
        if mask & self.universal:
            return 1
        return 0 if mask == 0 else -1

    def matches(self, text: str) -> bool:
        mask = self.start
        for char in text:
            mask = self.step(mask, char if char in self.literals or char == ":" else None)
            if not mask:
                return False
        return bool(mask & self.accept)


# A formula over automata: ("in", index) is "the resource is in automaton index's language";
# ("not", f), ("and", [f...]), ("or", [f...]); True and False.
Formula = Any


def _value(formula: Formula, statuses: Sequence[int]) -> int:
    """Three-valued: 1 true for every continuation, 0 false for every one, -1 undecided."""
    if formula is True:
        return 1
    if formula is False:
        return 0
    op, arg = formula
    if op == "in":
        return statuses[arg]
    if op == "not":
        inner = _value(arg, statuses)
        return inner if inner < 0 else 1 - inner
    values = [_value(item, statuses) for item in arg]
    if op == "and":
        return 0 if 0 in values else (1 if all(v == 1 for v in values) else -1)
    return 1 if 1 in values else (0 if all(v == 0 for v in values) else -1)


def _holds(formula: Formula, accepted: Sequence[bool]) -> bool:
    if formula is True or formula is False:
        return bool(formula)
    op, arg = formula
    if op == "in":
        return accepted[arg]
    if op == "not":
        return not _holds(arg, accepted)
    if op == "and":
        return all(_holds(item, accepted) for item in arg)
    return any(_holds(item, accepted) for item in arg)


def find_member(domain: Automaton, automata: Sequence[Automaton], formula: Formula, limit: int = 200_000) -> str | None:
    """The shortest string of ``domain`` for which ``formula`` holds (a resource a request can
    reach), or None when there is none.

    ``domain`` is also a positive constraint that guides the walk: only characters that keep the
    string inside it are tried. Raises ``RuntimeError`` past ``limit`` product states (never seen
    on IAM patterns; a caller treats it as "cannot prove empty").
    """
    alphabet: set[str] = {":"}
    for automaton in (domain, *automata):
        alphabet.update(automaton.literals)
    other = next((char for char in _READABLE if char not in alphabet), None)
    if other is None:
        other = next(chr(code) for code in range(0x100, 0x10000) if chr(code) not in alphabet)
    chars: list[str | None] = [None, *sorted(alphabet)]  # the readable stand-in first
    everyone = (domain, *automata)
    start = tuple(automaton.start for automaton in everyone)
    parents: dict[tuple[int, ...], tuple[tuple[int, ...], str | None] | None] = {start: None}
    queue = deque([start])

    def witness(state: tuple[int, ...]) -> str:
        spelled: list[str] = []
        link = parents[state]
        while link is not None:
            state, char = link
            spelled.append(other if char is None else char)  # type: ignore[arg-type]
            link = parents[state]
        return "".join(reversed(spelled))

    while queue:
        state = queue.popleft()
        statuses = [automaton.status(mask) for automaton, mask in zip(everyone, state, strict=True)]
        if statuses[0] == 0:
            continue
        verdict = _value(formula, statuses[1:])
        if verdict == 0:
            continue
        accepted = [bool(mask & automaton.accept) for automaton, mask in zip(everyone, state, strict=True)]
        if accepted[0] and (verdict == 1 or _holds(formula, accepted[1:])):
            return witness(state)
        head = state[0]
        candidates = chars if head & domain.wild else [char for char, mask in domain.literals.items() if head & mask]
        for char in candidates:
            following = tuple(automaton.step(mask, char) for automaton, mask in zip(everyone, state, strict=True))
            if following[0] == 0 or following in parents:
                continue
            parents[following] = (state, char)
            if len(parents) > limit:
                raise RuntimeError("resource question too large")
            queue.append(following)
    return None


# ---------------------------------------------------------------------------------------------
# The resources an action can name: its ARN formats from the catalog.

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_NONEMPTY_SEGMENT = ((ONE, SEGMENT), (STAR, SEGMENT))
_NONEMPTY_ANY = ((ONE, ANY), (STAR, ANY))
ANY_RUN = ((STAR, ANY),)


def format_glob(arn_format: str, *, partition: str, account_id: str | None) -> tuple[Token, ...]:
    """The resources an ARN format of the catalog stands for: the given partition; the given
    account, or any (``account_id`` None); any region; any non-empty value for every other
    placeholder: without a colon in the first five segments of the ARN (its structure), anything
    in the resource part (names and paths may hold ``/`` and ``:``, which admits a few that cannot
    exist, such as a bucket name with a ``/``)."""
    tokens: list[Token] = []
    last = 0
    for match in _PLACEHOLDER.finditer(arn_format):
        tokens.extend(literal(arn_format[last : match.start()]))
        name = match.group(1)
        in_header = arn_format.count(":", 0, match.start()) < 5
        if name == "Partition":
            tokens.extend(literal(partition))
        elif name == "Account" and account_id is not None:
            tokens.extend(literal(account_id))
        elif in_header or name in ("Account", "Region"):
            tokens.extend(_NONEMPTY_SEGMENT)
        else:
            tokens.extend(_NONEMPTY_ANY)
        last = match.end()
    tokens.extend(literal(arn_format[last:]))
    return tuple(tokens)


@functools.lru_cache(maxsize=8192)
def exempt_globs(kind: str, partition: str, account_id: str, name: str) -> tuple[tuple[Any, ...], ...]:
    """The resources a bootstrap action is allowed on without MFA, as globs: ``own user``, ``device``
    (``mfa/*`` of the account) or account-wide (``*``)."""
    prefix = f"arn:{partition}:iam::{account_id}:"
    if kind == "own user":
        # User names are unique in an account: any ARN ending in the name at some path is the
        # user itself or no user at all.
        return (literal(f"{prefix}user/{name}"), literal(f"{prefix}user/") + ANY_RUN + literal(f"/{name}"))
    if kind == "device":
        return (literal(f"{prefix}mfa/") + ANY_RUN,)
    return (literal("*"),)


@functools.lru_cache(maxsize=65536)
def action_domain(arn_formats: tuple[str, ...], partition: str, account: str | None) -> tuple[tuple[Any, ...], ...]:
    """The resources an action can name, as globs: ``*`` alone for an action without resource types."""
    if not arn_formats:
        return (literal("*"),)
    return tuple(
        dict.fromkeys(format_glob(arn_format, partition=partition, account_id=account) for arn_format in arn_formats)
    )


@functools.lru_cache(maxsize=65536)
def domain_regex(domain: tuple[tuple[Any, ...], ...]) -> Any:
    """The union of globs as a compiled regular expression, remembered."""
    return regex_of(domain)


def literal_start(pattern: str) -> str:
    """The text every resource a pattern matches starts with (up to a wildcard or a variable)."""
    end = len(pattern)
    for mark in ("*", "?", "${"):
        found = pattern.find(mark)
        if found != -1:
            end = min(end, found)
    return pattern[:end]


@functools.lru_cache(maxsize=65536)
def domain_starts(domain: tuple[tuple[Any, ...], ...]) -> tuple[str, ...]:
    """The literal text each glob of ``domain`` starts with."""
    starts = []
    for glob in domain:
        text = []
        for kind, value in glob:
            if kind != LITERAL:
                break
            text.append(value)
        starts.append("".join(text))
    return tuple(starts)


def may_overlap(first: str, second: str) -> bool:
    """Whether strings starting with ``first`` and with ``second`` can be the same string."""
    return first.startswith(second) or second.startswith(first)


@dataclass(frozen=True)
class Question:
    """Which resources of ``domain`` a request reaches: ``formula`` over ``specs``, each spec a
    tuple of patterns (its automaton is their union). Hashable: equal questions share answers."""

    domain: tuple[tuple[Token, ...], ...]
    specs: tuple[tuple[tuple[Token, ...], ...], ...]
    formula: Formula


class Answers:
    """Answers to questions, remembered (the same question recurs across users and policy sets)."""

    def __init__(self, size: int = 100_000) -> None:
        self._answers: dict[Question, str | None] = {}
        self._automata: dict[tuple[tuple[Token, ...], ...], Automaton] = {}
        self.size = size

    def automaton(self, globs: tuple[tuple[Token, ...], ...]) -> Automaton:
        found = self._automata.get(globs)
        if found is None:
            if len(self._automata) > self.size:
                self._automata.clear()
            found = self._automata[globs] = Automaton(globs)
        return found

    def member(self, question: Question) -> str | None:
        if question in self._answers:
            return self._answers[question]
        if len(self._answers) > self.size:
            self._answers.clear()
        answer = find_member(
            self.automaton(question.domain), [self.automaton(spec) for spec in question.specs], question.formula
        )
        self._answers[question] = answer
        return answer


def regex_of(globs: Iterable[Sequence[Token]]) -> re.Pattern[str]:
    """The union of ``globs`` as a compiled regular expression (fast membership tests)."""
    parts = []
    for glob in globs:
        text = []
        for kind, value in glob:
            if kind == LITERAL:
                text.append(re.escape(value))
            else:
                text.append(("." if value == ANY else "[^:]") + ("*" if kind == STAR else ""))
        parts.append("".join(text))
    return re.compile("|".join(f"(?:{part})" for part in parts), re.DOTALL)


def pattern_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """Whether a resource is in the union of ``patterns``, through the automaton (for tests)."""
    automaton = Automaton([glob_of(pattern) for pattern in patterns])
    return automaton.matches
