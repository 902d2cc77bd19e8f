"""Small drawing helpers the templates use: numbers, state marks, bar geometry (pure).

States are never told by colour alone: each has a mark (a symbol that reads in grey and in print)
and an SVG fill with its own pattern (plain, hatched, dotted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mfa_policy.report import audit

# The decision states of explain's grid (mfa_policy.verifier.matrix), in drawing order.
STATES = ("allowed", "explicitDeny", "implicitDeny")
MARKS = {"allowed": "✓", "explicitDeny": "✕", "implicitDeny": "○", "mixed": "±", "none": "—"}
STATE_LABELS = {
    "allowed": "allowed",
    "explicitDeny": "denied by an explicit Deny",
    "implicitDeny": "implicitly denied (no statement allows it)",
    "mixed": "some allowed, some denied",
    "none": "no such request",
}
# How a count reads after its number: "3 allowed", "3 explicitly denied", ...
STATE_VERBS = {"allowed": "allowed", "explicitDeny": "explicitly denied", "implicitDeny": "implicitly denied"}
# The kebab-case form used in class names, data attributes and pattern ids.
STATE_SLUGS = {"allowed": "allowed", "explicitDeny": "explicit-deny", "implicitDeny": "implicit-deny"}

# Counterexamples shown per failing guarantee; the JSON lists them all.
SHOWN_COUNTEREXAMPLES = 10
COUNTEREXAMPLE_FIELDS = ("action", "resource", "context", "policies", "decision", "expected", "finding")

BAR_WIDTH = 100.0
# The narrowest segment drawn: a single request among 28,000 still shows.
MIN_SEGMENT = 4.0


def thousands(number: int) -> str:
    """``28666`` -> ``28,666``."""
    return f"{number:,}"


def counted(number: int, noun: str) -> str:
    """``1, "user"`` -> ``1 user``; ``1000, "user"`` -> ``1,000 users``."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def bar_segments(counts: Mapping[str, int], order: Sequence[str] = STATES) -> list[dict[str, Any]]:
    """The stacked bar of a cell: ``[{state, x, width}]`` over ``BAR_WIDTH``, in ``order`` (the
    grid's ``STATES``; the audit's verdicts, worst first).

    Each present state gets at least ``MIN_SEGMENT``; the rest is shared in proportion."""
    present = [(state, counts.get(state, 0)) for state in order if counts.get(state, 0) > 0]
    if not present:
        return []
    total = sum(count for _, count in present)
    spare = BAR_WIDTH - MIN_SEGMENT * len(present)
    segments, x = [], 0.0
    for index, (state, count) in enumerate(present):
        width = MIN_SEGMENT + spare * count / total
        if index == len(present) - 1:
            # To the end, and past it: the bar clips it, and no sliver of background shows where
            # the cell's width falls between two pixels.
            width = BAR_WIDTH - x + 1
        segments.append({"state": state, "x": round(x, 2), "width": round(width, 2)})
        x += width
    return segments


def by_row(cells: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """A grid's cells grouped by row id, each row's cells in column order."""
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        rows.setdefault(cell["row"], []).append(cell)
    return rows


def counterexample_fields(counterexamples: Sequence[Mapping[str, str]]) -> list[str]:
    """The fields the shown counterexamples carry, in a fixed order (a table's columns)."""
    return [field for field in COUNTEREXAMPLE_FIELDS if any(field in item for item in counterexamples)]


# The audit's verdicts (mfa_policy.audit.verdicts.VERDICTS), each with a mark beside its colour and
# pattern. A verdict not listed here (a new one) is drawn with "?" and a plain grey: never hidden.
VERDICT_MARKS = {
    "unprotected": "✕",
    "will be locked out": "⊘",
    "must enroll": "!",
    "protected": "✓",
    "no access": "○",
    "no credentials": "∅",
}
UNKNOWN_VERDICT_MARK = "?"
# The verdicts that make the audit fail, shown in capitals as the text report does.
LOUD_VERDICTS = frozenset({"unprotected", "will be locked out"})


def verdict_mark(verdict: str) -> str:
    """The symbol drawn beside a verdict's colour."""
    return VERDICT_MARKS.get(verdict, UNKNOWN_VERDICT_MARK)


def verdict_slug(verdict: str) -> str:
    """``will be locked out`` -> ``will-be-locked-out`` (class names, pattern ids)."""
    return "-".join(verdict.lower().split())


def verdict_label(verdict: str) -> str:
    """A verdict as the text report prints it: failing ones in capitals."""
    return verdict.upper() if verdict in LOUD_VERDICTS else verdict


FILTERS = {
    "thousands": thousands,
    "counted": counted,
    "bar_segments": bar_segments,
    "by_row": by_row,
    "counterexample_fields": counterexample_fields,
    "verdict_mark": verdict_mark,
    "verdict_slug": verdict_slug,
    "verdict_label": verdict_label,
    # The audit's (mfa_policy.report.audit): its JSON as the page spells it.
    "display_name": audit.display_name,
    "keys_text": audit.keys_text,
    "evidence_lines": audit.evidence_lines,
    "summary_line": audit.summary_line,
    "resource_policy_line": audit.resource_policy_line,
    "counts_text": audit.counts_text,
    "other_fields": audit.other_fields,
    "organization_facts": audit.organization_facts,
    "entry_facts": audit.entry_facts,
    "root_details": audit.root_details,
}
GLOBALS = {
    "STATES": STATES,
    "MARKS": MARKS,
    "STATE_LABELS": STATE_LABELS,
    "STATE_VERBS": STATE_VERBS,
    "STATE_SLUGS": STATE_SLUGS,
    "SHOWN_COUNTEREXAMPLES": SHOWN_COUNTEREXAMPLES,
    "BAR_WIDTH": BAR_WIDTH,
    "ORGANIZATION_FIELDS": audit.ORGANIZATION_FIELDS,
}
