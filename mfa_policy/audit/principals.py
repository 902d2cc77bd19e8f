"""Which statements of a resource policy apply to an IAM user (pure: no AWS, no I/O).

A resource policy names who it is for in each statement's ``Principal`` (or ``NotPrincipal``).
AWS's rules (IAM User Guide, "AWS JSON policy elements: Principal" and "...: NotPrincipal"):

* ``"*"`` or ``{"AWS": "*"}`` is everyone, anonymous users included; for IAM users of the
  resource's own account "no other permissions are required";
* ``{"AWS": "arn:aws:iam::<account>:user/<path/name>"}`` is that user (the name is case
  sensitive; no wildcard may match part of a principal). AWS stores it as the user's unique ID
  (``AIDA...``) and shows the ID once the user is deleted: the ID names the user too;
* ``{"AWS": "<account>"}`` or ``{"AWS": "arn:aws:iam::<account>:root"}`` (and S3's
  ``{"CanonicalUser": ...}``) is the account: it *delegates* to the account's identity policies,
  and grants no IAM user anything by itself;
* ``Service``, ``Federated`` and other AWS accounts' principals are never an IAM user of this
  account;
* ``NotPrincipal`` is everyone except those listed.

``select_statements`` sorts a document's statements by what they do for one user: the ones that
grant or deny the user directly (with ``Principal``/``NotPrincipal`` removed, ready for the
evaluator's ``PolicySet``), and notes on what it could not read. When a statement's principal
cannot be read, an Allow counts as applying and a Deny as not applying: what the audit cannot
decide leans against the user. For the same reason a Deny counts only when it surely names the
user: ``*``, the user's ARN or ID, or a ``NotPrincipal`` that lists neither the user nor its
account (AWS "might" apply a Deny on the account to its users: the audit does not count on it).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Caller:
    """The IAM user a request comes from."""

    arn: str
    user_id: str
    account_id: str
    partition: str = "aws"


class Reach(enum.Enum):
    """Whom a statement's principal names, seen from one user."""

    USER = "the user"  # the user's ARN or unique ID
    EVERYONE = "everyone"  # "*"
    ACCOUNT = "the account"  # delegation to the account's identity policies
    OTHERS = "others"  # other principals only
    UNKNOWN = "unknown"  # a principal the audit cannot read


@dataclass(frozen=True)
class Selected:
    """The statements of one resource policy that apply to a user, ready for ``PolicySet``."""

    statements: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)
    labels: tuple[str, ...] = ()  # per statement: its Sid, or #index in the document
    indexes: tuple[int, ...] = ()  # per statement: its position in the document
    notes: tuple[str, ...] = ()

    @property
    def grants(self) -> bool:
        """Whether an Allow statement applies to the user directly."""
        return any(statement.get("Effect") == "Allow" for statement in self.statements)


def _values(element: Any) -> dict[str, list[str]] | None:
    """A Principal element as {type: [values]}; ``"*"`` as {"AWS": ["*"]}; None if unreadable."""
    if element == "*":
        return {"AWS": ["*"]}
    if isinstance(element, str):
        # Not IAM's grammar, but what moto returns for a Lambda permission: the value alone.
        return {"AWS": [element]}
    if not isinstance(element, Mapping) or not element:
        return None
    found: dict[str, list[str]] = {}
    for kind, values in element.items():
        listed = [values] if isinstance(values, str) else values
        if not isinstance(listed, list) or not all(isinstance(value, str) for value in listed):
            return None
        found[str(kind)] = listed
    return found


def reach(element: Any, caller: Caller) -> set[Reach]:
    """Every way a ``Principal`` element names ``caller`` (several values may match)."""
    values = _values(element)
    if values is None:
        return {Reach.UNKNOWN}
    found: set[Reach] = set()
    account_arn = f"arn:{caller.partition}:iam::{caller.account_id}:root"
    for kind, listed in values.items():
        for value in listed:
            if kind == "AWS":
                if value == "*":
                    found.add(Reach.EVERYONE)
                elif value == caller.arn or (caller.user_id and value == caller.user_id):
                    found.add(Reach.USER)
                elif value in (caller.account_id, account_arn):
                    found.add(Reach.ACCOUNT)
                else:
                    found.add(Reach.OTHERS)
            elif kind == "CanonicalUser":
                # An S3 canonical user ID stands for an account: at most a delegation.
                found.add(Reach.ACCOUNT)
            else:
                found.add(Reach.OTHERS)
    return found


def applies(statement: Mapping[str, Any], caller: Caller) -> bool | None:
    """Whether ``statement`` grants or denies ``caller`` directly: True, False, or None when its
    principal cannot be read. A delegation to the account is False: the identity policies decide."""
    deny = statement.get("Effect") == "Deny"
    if ("Principal" in statement) == ("NotPrincipal" in statement):
        return None
    if "Principal" in statement:
        named = reach(statement["Principal"], caller)
        if Reach.UNKNOWN in named:
            return None
        return bool(named & {Reach.USER, Reach.EVERYONE})
    excluded = reach(statement["NotPrincipal"], caller)
    if Reach.UNKNOWN in excluded:
        return None
    if Reach.USER in excluded or Reach.EVERYONE in excluded:
        return False
    if Reach.ACCOUNT in excluded:
        # Everyone but the account: its users may or may not be spared. An Allow may reach
        # them; a Deny is not counted on.
        return not deny
    return True


def select_statements(document: Mapping[str, Any], caller: Caller, label: str) -> Selected:
    """The statements of a resource policy that grant or deny ``caller`` directly.

    An Allow whose principal cannot be read counts as applying, a Deny as not applying (with a
    note each): the audit over-approximates what the user can do. ``label`` names the policy in
    the notes (``the bucket policy of reports``).
    """
    body = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [body] if isinstance(body, Mapping) else body
    if not isinstance(statements, list):
        return Selected(notes=(f"{label} has no readable Statement: left out",))
    kept: list[Mapping[str, Any]] = []
    labels: list[str] = []
    indexes: list[int] = []
    notes: list[str] = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            notes.append(f"{label}, statement #{index}: not an object: left out")
            continue
        sid = str(statement.get("Sid", f"#{index}"))
        verdict = applies(statement, caller)
        deny = statement.get("Effect") == "Deny"
        if verdict is None:
            notes.append(
                f"{label}, statement {sid}: a principal the audit cannot read: counted as "
                + ("not applying (a Deny)" if deny else "naming the user (an Allow)")
            )
            verdict = not deny
        if verdict:
            kept.append({key: value for key, value in statement.items() if key not in ("Principal", "NotPrincipal")})
            labels.append(sid)
            indexes.append(index)
    return Selected(tuple(kept), tuple(labels), tuple(indexes), tuple(notes))


def granted_to(document: Mapping[str, Any]) -> frozenset[str] | None:
    """The principal values the Allow statements of a resource policy name (ARNs, IDs, accounts),
    or None when an Allow may reach anyone (``*``, a ``NotPrincipal``, a principal that cannot be
    read): only the users it names need ``select_statements``, unless it is None."""
    body = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [body] if isinstance(body, Mapping) else body
    if not isinstance(statements, list):
        return frozenset()
    named: set[str] = set()
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") == "Deny":
            continue
        values = _values(statement.get("Principal")) if "NotPrincipal" not in statement else None
        if values is None:
            return None
        for listed in values.values():
            if "*" in listed:
                return None
            named.update(listed)
    return frozenset(named)
