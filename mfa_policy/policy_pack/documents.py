"""Does a policy document's MFA condition enforce MFA? The whole document, judged on its own (pure).

A document that mentions ``aws:MultiFactorAuthPresent`` or ``aws:MultiFactorAuthAge`` is meant to
hold something back until the user signs in with MFA. This is G1 asked of one document, for what
its MFA statements speak for:

* an Allow conditioned on an MFA key grants only with MFA: what it covers must not be allowed
  without MFA (``BoolIfExists aws:MultiFactorAuthPresent true`` lets access keys through);
* a Deny conditioned on an MFA key closes what it covers without MFA, even next to a policy that
  allows everything: its ``Action`` and ``Resource``, or, for a Deny with ``NotAction`` or
  ``NotResource`` (an exception list), everything but the MFA bootstrap set.

The document's Deny statements all count (a ``NumericGreaterThan aws:MultiFactorAuthAge`` Deny is
fine next to a ``BoolIfExists`` one); its Allow statements without an MFA key are grants the author
meant without MFA and are left out. What is left, next to an Allow of what the Deny statements
cover, goes through ``decide.decide_enforcement``: every request it allows without MFA, beyond the
bootstrap set, is a leak, and the first few are named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mfa_policy.audit.aws import AccountSnapshot, InlinePolicy, User
from mfa_policy.audit.verdicts import Exposure
from mfa_policy.policy_pack.decide import decide_enforcement
from mfa_policy.policy_pack.stack import SIGNS_IN_BOTH_WAYS
from mfa_policy.verifier.catalog import Catalog
from mfa_policy.verifier.evaluation import PolicyFormatError, PolicySet
from mfa_policy.verifier.guarantees import BOOTSTRAP, intent_for_file

MFA_PRESENT = "aws:MultiFactorAuthPresent"
MFA_AGE = "aws:MultiFactorAuthAge"
_MFA_KEYS = frozenset({MFA_PRESENT.lower(), MFA_AGE.lower()})
# The user the document is judged for, and the labels of its two parts (they name the policy that
# allows a request in the audit's answer).
_USER = "mfa-check"
_DOCUMENT = "the document (its Deny statements and MFA-conditioned Allows)"
_COVERED = "what its MFA-conditioned Deny statements cover"


@dataclass(frozen=True)
class DocumentJudgement:
    """Whether a document's MFA condition holds: the requests that get through without MFA (empty:
    it holds), why (hints naming the statements), the audit's notes, or why it cannot be judged."""

    leaks: tuple[Exposure, ...] = ()
    hints: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    error: str | None = None


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The document's statements (a single statement object counts as a list of one)."""
    body = document.get("Statement", [])
    body = [body] if isinstance(body, Mapping) else body
    return [statement for statement in body if isinstance(statement, Mapping)] if isinstance(body, list) else []


def _conditions(statement: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(operator, key, values) of a statement's Condition."""
    found = []
    conditions = statement.get("Condition", {})
    for operator, entries in conditions.items() if isinstance(conditions, Mapping) else ():
        for key, values in entries.items() if isinstance(entries, Mapping) else ():
            items = values if isinstance(values, list) else [values]
            found.append((operator, key, [str(value).lower() for value in items]))
    return found


def mentions_mfa(statement: Mapping[str, Any]) -> bool:
    """Whether a statement's Condition uses an MFA key."""
    return any(key.lower() in _MFA_KEYS for _, key, _ in _conditions(statement))


def document_mentions_mfa(document: Mapping[str, Any]) -> bool:
    """Whether any statement of the document is conditioned on an MFA key."""
    return any(mentions_mfa(statement) for statement in statements(document))


def _judged_parts(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document cut to what its MFA statements speak for, and an Allow of what its MFA Deny
    statements cover (everything, for one with NotAction or NotResource)."""
    kept: list[Mapping[str, Any]] = []
    covered: list[dict[str, Any]] = []
    for statement in statements(document):
        deny = statement.get("Effect") == "Deny"
        if deny or mentions_mfa(statement):
            kept.append(statement)
        if deny and mentions_mfa(statement):
            if "NotAction" in statement or "NotResource" in statement or "Action" not in statement:
                covered.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
            else:
                covered.append(
                    {"Effect": "Allow", "Action": statement["Action"], "Resource": statement.get("Resource", "*")}
                )
    version = document.get("Version")
    part = {"Statement": kept} if version is None else {"Version": version, "Statement": kept}
    return part, {"Version": "2012-10-17", "Statement": covered}


_CACHE: dict[tuple[str, int], DocumentJudgement | None] = {}


def judge_mfa_document(document: Mapping[str, Any], catalog: Catalog) -> DocumentJudgement | None:
    """Judge a document's MFA condition (see the module); None when it mentions no MFA key."""
    key = (json.dumps(document, sort_keys=True, default=str), id(catalog))
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = _judge(document, catalog)
    return _CACHE[key]


def _judge(document: Mapping[str, Any], catalog: Catalog) -> DocumentJudgement | None:
    if not document_mentions_mfa(document):
        return None
    try:
        PolicySet([document])
    except PolicyFormatError as error:
        return DocumentJudgement(error=str(error))
    part, covered = _judged_parts(document)
    intent = intent_for_file(document)
    user = User(
        name=_USER,
        path="/",
        arn=f"arn:{intent.partition}:iam::{intent.account_id}:user/{_USER}",
        user_id="AIDAEXAMPLEMFACHECK",
        inline=(InlinePolicy(_DOCUMENT, part), InlinePolicy(_COVERED, covered)),
        credentials=SIGNS_IN_BOTH_WAYS,
    )
    snapshot = AccountSnapshot(intent.account_id, intent.partition, "", (user,), {}, {})
    answer = decide_enforcement(snapshot, catalog)[_USER]
    if answer.enforced:
        return DocumentJudgement(notes=answer.notes)
    hints = _hints(document, answer.exposures)
    return DocumentJudgement(answer.exposures, tuple(hints), answer.notes)


def _hints(document: Mapping[str, Any], leaks: tuple[Exposure, ...]) -> list[str]:
    """Which statements let requests without MFA through, and how to fix each."""
    hints: list[str] = []
    for index, statement in enumerate(statements(document)):
        sid = statement.get("Sid") or f"#{index + 1}"
        deny = statement.get("Effect") == "Deny"
        for operator, key, values in _conditions(statement):
            name = operator.split(":")[-1]
            if key.lower() == MFA_PRESENT.lower():
                if not deny and name == "BoolIfExists" and "true" in values:
                    hints.append(
                        f"statement {sid} allows with BoolIfExists {MFA_PRESENT} true: a request signed with "
                        f"long-term access keys carries no {MFA_PRESENT}, and IfExists lets it through; use Bool "
                        f"(without IfExists), or deny with BoolIfExists {MFA_PRESENT} false"
                    )
                if deny and name == "Bool" and "false" in values:
                    hints.append(
                        f"statement {sid} denies with Bool {MFA_PRESENT} false: a request signed with long-term "
                        f"access keys carries no {MFA_PRESENT}, so the Deny never applies to it; use BoolIfExists"
                    )
            older = name.startswith("NumericGreaterThan") and not name.endswith("IfExists")
            if key.lower() == MFA_AGE.lower() and deny and older:
                hints.append(
                    f"statement {sid} denies with {name} {MFA_AGE}: a request without MFA carries no "
                    f"{MFA_AGE}, so the Deny does not apply to it; add a Deny with BoolIfExists {MFA_PRESENT} "
                    f"false (or use {name}IfExists)"
                )
        if deny and mentions_mfa(statement):
            others = [leak for leak in leaks if _on_another_user(leak)]
            if others and "NotAction" in statement:
                hints.append(
                    f"statement {sid} exempts {', '.join(dict.fromkeys(leak.action for leak in others))} on every "
                    "user: without MFA a user may then run it on another user (next to a policy that allows it); "
                    f"the bootstrap set is for one's own user only: add a Deny of those actions with NotResource "
                    "arn:aws:iam::<account>:user/${aws:username} and BoolIfExists "
                    f"{MFA_PRESENT} false"
                )
                leaks = tuple(leak for leak in leaks if leak not in others)
            for element in ("NotAction", "NotResource"):
                left_open = _left_open(statement.get(element), leaks, element)
                if left_open:
                    hints.append(
                        f"statement {sid}'s {element} leaves {', '.join(left_open)} open without MFA: it should "
                        "name only the MFA bootstrap set (enrolling and managing one's own MFA device)"
                    )
    return list(dict.fromkeys(hints))


def _on_another_user(leak: Exposure) -> bool:
    """Whether a leak is a bootstrap action (allowed on one's own user) run on another user."""
    own_user = {action.lower() for action, where in BOOTSTRAP if where == "own user"}
    return leak.action.lower() in own_user and ":user/" in leak.resource


def _left_open(patterns: Any, leaks: tuple[Exposure, ...], element: str) -> list[str]:
    """The leaked actions (or resources) a NotAction (NotResource) list names."""
    items = [patterns] if isinstance(patterns, str) else patterns if isinstance(patterns, list) else []
    compiled = [
        re.compile(re.escape(str(item)).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE) for item in items
    ]
    found = []
    for leak in leaks:
        subject = leak.action if element == "NotAction" else leak.resource
        if any(pattern.fullmatch(subject) for pattern in compiled):
            found.append(subject)
    return list(dict.fromkeys(found))
