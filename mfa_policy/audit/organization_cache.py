"""Policy sets shared across the accounts of an organization (pure: no AWS, no I/O).

The single-account audit compiles each distinct policy set once and asks it about every user who
has it (``verdicts.audit``). Across an organization most sets repeat: AWS managed policies are
the same documents everywhere, and a customer policy deployed to every account (by a StackSet,
say) differs only by the account ID in its ARNs. ``SharedEvaluations`` keeps the compiled sets of
the whole run, so evaluation cost grows with distinct policy sets, not with accounts.

**Renaming the account ID.** ``portable(snapshot)`` decides whether an account can be evaluated
with its 12-digit ID replaced everywhere (documents, ARNs, user names, the principal) by
``PLACEHOLDER``; ``rename(value, old, new)`` does the replacement on any snapshot or report, and
the report is renamed back, so the evidence names the real account. Two accounts whose documents
differ only by their IDs then have the same policy-set key and share one compiled set.

Why that is sound (a false "protected" is the worst defect this project can have): renaming is a
bijection of strings that maps every maximal run of digits equal to the account ID to the
placeholder and back, leaving every other string alone. The evaluator decides requests by string
equality and by ``*``/``?`` globs (StringLike, ArnLike, Resource, Action). Equality is preserved
by any bijection. A glob decides the same on renamed strings when no literal digit of a pattern
can line up with only part of the account ID: ``portable`` checks that (a) the placeholder occurs
nowhere in the account, (b) the account ID never sits inside a longer run of digits, (c) in every
pattern (a string with ``*``, ``?`` or a policy variable) every run of digits is bounded by
characters that are neither digits nor wildcards, and every policy variable is bounded by
characters that are neither digits, wildcards nor other variables (so no substituted value can
glue digits to the account ID or a wildcard), (d) no numeric or date condition reads an account key
or compares with a 12-digit number (a number or time orders the ID and the placeholder differently),
(e) no document holds a 12-digit run in a JSON number rather than a string (renaming reaches only
strings, and the evaluator compares a number as its text), and the request model's fixed values
hold neither ID. Under
(a)-(e) a run of digits in a request is matched either by a literal run of exactly the same digits
or entirely by wildcards, which match the placeholder as they match the ID (both 12 digits). An
account that fails any check is evaluated under its own ID: correct, only not shared.

**The shared key.** ``verdicts.audit`` keys a set by its relaxed documents. The verifier's
``ExposureFinder`` shares its decisions between principals with the same account, partition,
organization ID and scenario, which a single account always has in common; across accounts the
OU path can differ too, so ``SharedEvaluations.view`` adds the account's OU paths to the key of
any set that mentions ``aws:PrincipalOrgPaths``.

**Threads.** A compiled set (its finder's caches) is not thread-safe: the organization's walk
reads accounts in a pool but evaluates under ``SharedEvaluations.lock``, one account at a time
(evaluation is CPU-bound, so the GIL would serialise it anyway).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from mfa_policy.audit.aws import AccountSnapshot
from mfa_policy.verifier.requests import CHOSEN_KEYS, FIXED_KEYS

# A syntactically valid account ID that stands for "this account" in shared policy sets.
PLACEHOLDER = "987654321098"

_DIGITS = re.compile(r"[0-9]+")
_VARIABLE = re.compile(r"\$\{[^}]*\}")
_WILDCARDS = "*?"


def map_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (dataclasses, mappings, tuples, lists, sets) with every string, keys included,
    replaced by ``change(string)``; anything else (numbers, dates, None) is kept."""
    if isinstance(value, str):
        return change(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        updates = {
            item.name: map_strings(getattr(value, item.name), change) for item in dataclasses.fields(value) if item.init
        }
        return dataclasses.replace(value, **updates)
    if isinstance(value, Mapping):
        return {map_strings(key, change): map_strings(item, change) for key, item in value.items()}
    if isinstance(value, tuple):
        items = [map_strings(item, change) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [map_strings(item, change) for item in value]
    if isinstance(value, (set, frozenset)):
        return type(value)(map_strings(item, change) for item in value)
    return value


def strings_of(value: Any) -> Iterator[str]:
    """Every string in ``value`` (as ``map_strings`` walks it), keys included."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    map_strings(value, collect)
    yield from found


def rename(value: Any, old: str, new: str) -> Any:
    """``value`` with every occurrence of ``old`` replaced by ``new`` in every string."""
    return map_strings(value, lambda text: text.replace(old, new) if old in text else text)


def _documents(snapshot: AccountSnapshot) -> Iterator[Any]:
    for user in snapshot.users:
        yield from (policy.document for policy in user.inline)
    for group in snapshot.groups.values():
        yield from (policy.document for policy in group.inline)
    yield from (policy.document for policy in snapshot.policies.values())
    for level in snapshot.scp_levels:
        yield from (policy.document for policy in level.policies)
    yield from (policy.document for policy in snapshot.resource_policies or ())


def _pattern_ok(text: str) -> bool:
    """Whether a pattern's digit runs and policy variables are bounded by plain characters."""
    for match in _DIGITS.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if (before and before in _WILDCARDS + "}") or (after and after in _WILDCARDS + "$"):
            return False
    for match in _VARIABLE.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if (before and (before.isdigit() or before in _WILDCARDS + "}")) or (
            after and (after.isdigit() or after in _WILDCARDS + "$")
        ):
            return False
    return True


def _ordered_ok(document: Any) -> bool:
    """Whether no ordered condition (Numeric, Date: they compare values as numbers or times, where
    a 12-digit ID and the placeholder need not order alike) reads an account key or compares with
    a 12-digit number; the operator may carry a set prefix (``ForAnyValue:NumericLessThan``)."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            operator = key.rsplit(":", 1)[-1].lower() if isinstance(key, str) else ""
            if operator.startswith(("numeric", "date")) and isinstance(value, Mapping):
                for condition_key, values in value.items():
                    if "account" in str(condition_key).lower():
                        return False
                    if any(len(run) >= 12 for run in _DIGITS.findall(json.dumps(values))):
                        return False
            if not _ordered_ok(value):
                return False
    elif isinstance(document, list):
        return all(_ordered_ok(item) for item in document)
    return True


def _long_numbers(value: Any) -> Iterator[str]:
    """The JSON numbers in ``value`` (not strings: renaming never touches them, yet the evaluator
    compares a condition's number as its text) that hold a run of 12 or more digits."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _long_numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _long_numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = f"{value!r} {json.dumps(value)}"
        if any(len(run) >= 12 for run in _DIGITS.findall(text)):
            yield text.split(" ", 1)[0]


def portable(
    snapshot: AccountSnapshot, *, extra: Sequence[Mapping[str, Any]] = (), placeholder: str = PLACEHOLDER
) -> tuple[bool, str]:
    """Whether renaming the account's ID to ``placeholder`` keeps every decision (see the module's
    docstring), and if not, why (one line). ``extra``: more documents evaluated with the account's
    (a planned policy)."""
    account = snapshot.account_id
    if not re.fullmatch(r"[0-9]{12}", account) or account == placeholder:
        return False, f"the account ID {account!r} is not a 12-digit ID other than the placeholder"
    constants = json.dumps([FIXED_KEYS, CHOSEN_KEYS])
    if account in constants or placeholder in constants:
        return False, "the request model's fixed values hold the account ID"
    atomic = re.compile(rf"(?<![0-9]){account}(?![0-9])")
    for text in strings_of((snapshot, tuple(extra))):
        if placeholder in text:
            return False, f"{placeholder} occurs in the account ({text[:80]!r})"
        if account in text and len(atomic.findall(text)) != text.count(account):
            return False, f"the account ID sits inside a longer number ({text[:80]!r})"
    for document in (*_documents(snapshot), *extra):
        if not _ordered_ok(document):
            return False, "a numeric or date condition reads an account key or compares with a 12-digit number"
        number = next(_long_numbers(document), None)
        if number is not None:
            return False, f"a policy holds a 12-digit number, not a string ({number}): renaming would not reach it"
        for text in strings_of(document):
            if ("*" in text or "?" in text or "${" in text) and not _pattern_ok(text):
                return False, f"a pattern has digits or a variable next to a wildcard ({text[:80]!r})"
    return True, ""


class SharedEvaluations:
    """The compiled policy sets of a whole run, shared by every account (see the module's docstring).

    Use ``view(org_paths)`` as ``verdicts.audit``'s ``evaluations`` while holding ``lock``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._store: dict[tuple[Any, ...], Any] = {}

    def __len__(self) -> int:
        """How many distinct policy sets were compiled and evaluated."""
        return len(self._store)

    def view(self, organization_paths: tuple[str, ...]) -> MutableMapping[tuple[Any, ...], Any]:
        """The store as one account sees it: a set that mentions ``aws:PrincipalOrgPaths`` is
        keyed by the account's OU paths too."""
        return _AccountView(self._store, organization_paths)


class _AccountView(MutableMapping[tuple[Any, ...], Any]):
    def __init__(self, store: dict[tuple[Any, ...], Any], organization_paths: tuple[str, ...]) -> None:
        self._store = store
        self._paths = organization_paths
        self._keys: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def _key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        found = self._keys.get(key)
        if found is None:
            mentions_paths = "orgpaths" in json.dumps(key).lower()
            found = self._keys[key] = (key, self._paths if mentions_paths else None)
        return found

    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        return self._store[self._key(key)]

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._store[self._key(key)] = value

    def __delitem__(self, key: tuple[Any, ...]) -> None:
        del self._store[self._key(key)]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(key for key, _ in self._store)

    def __len__(self) -> int:
        return len(self._store)
