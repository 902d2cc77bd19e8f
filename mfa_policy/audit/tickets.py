"""Enrollment tickets in the policies a user has: which tag, which networks (pure: no AWS, no I/O).

The ``enrollment`` option (docs/policy.md) lets a user without MFA enroll only while their own IAM
user carries a tag (``aws:PrincipalTag/<key>`` equals a value) and/or only from listed networks
(``aws:SourceIp``). Other people's policies can do the same in their own words. This module only
proposes: it lists the tags and networks that statements about enrollment compare with. Whether a
tag actually gates enrollment is decided by evaluating the user's policies with and without it
(``mfa_policy.audit.verdicts``), so a proposal that gates nothing is never reported.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mfa_policy.policy.enrollment import PRINCIPAL_TAG_PREFIX, SOURCE_IP_KEY

# The actions that enroll a device (the tag and networks of a ticket are compared in statements
# about them). iam:ChangePassword is gated too, but a statement about it alone enrolls nothing.
ENROLLMENT_ACTIONS = ("iam:enablemfadevice", "iam:createvirtualmfadevice")
_TAG_PREFIX = PRINCIPAL_TAG_PREFIX.lower()
_SOURCE_IP = SOURCE_IP_KEY.lower()
_WILDCARDS = frozenset("*?$")

OPEN = "open"
CLOSED = "closed"


@dataclass(frozen=True, order=True)
class TicketTag:
    """A tag whose presence on the user's own IAM user opens enrollment without MFA."""

    key: str
    value: str

    def tag_command(self, user: str) -> str:
        """The AWS CLI command that opens the user's enrollment."""
        tag = shlex.quote(f"Key={self.key},Value={self.value}")
        return f"aws iam tag-user --user-name {shlex.quote(user)} --tags {tag}"

    def untag_command(self, user: str) -> str:
        """The AWS CLI command that closes it again."""
        return f"aws iam untag-user --user-name {shlex.quote(user)} --tag-keys {shlex.quote(self.key)}"


@dataclass(frozen=True)
class EnrollmentTicket:
    """For a user without MFA: whether a ticket tag gates their enrollment and whether they carry
    it (``state`` open or closed), and the networks enrollment is limited to (as written in the
    policies: the audit cannot know where a request will come from)."""

    tag: TicketTag | None
    state: str | None  # OPEN / CLOSED when ``tag`` gates; None when no tag does
    source_ips: tuple[str, ...] = ()

    def notes(self, user: str) -> list[str]:
        """What the report says about it, with the command to run."""
        found = []
        if self.tag is not None and self.state == OPEN:
            found.append(
                f"enrollment open: the user carries the enrollment ticket (tag {self.tag.key}={self.tag.value}); "
                f"remove it once a device is enrolled: {self.tag.untag_command(user)}"
            )
        elif self.tag is not None:
            found.append(
                f"enrollment closed until an administrator opens it (tag {self.tag.key}={self.tag.value}): "
                f"{self.tag.tag_command(user)}"
            )
        if self.source_ips:
            found.append(
                f"enrollment only from the networks {', '.join(self.source_ips)} (aws:SourceIp; "
                "the audit cannot know where a request comes from)"
            )
        return found

    def as_dict(self, user: str) -> dict[str, Any]:
        return {
            "state": self.state,
            "ticketTag": None if self.tag is None else {"key": self.tag.key, "value": self.tag.value},
            "sourceIps": list(self.source_ips),
            "open": self.tag.tag_command(user) if self.tag is not None and self.state == CLOSED else None,
            "close": self.tag.untag_command(user) if self.tag is not None and self.state == OPEN else None,
        }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _covers_enrollment(statement: Mapping[str, Any]) -> bool:
    """Whether the statement's Action (or NotAction) takes in an enrollment action."""
    if "Action" in statement:
        patterns = [str(p).lower() for p in _as_list(statement["Action"])]
        return any(fnmatch.fnmatchcase(action, p) for action in ENROLLMENT_ACTIONS for p in patterns)
    patterns = [str(p).lower() for p in _as_list(statement.get("NotAction", []))]
    return any(not any(fnmatch.fnmatchcase(action, p) for p in patterns) for action in ENROLLMENT_ACTIONS)


def _conditions(statement: Mapping[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(operator without set prefix or IfExists, key, values) of a statement's conditions."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return
    for operator, block in condition.items():
        if not isinstance(block, Mapping):
            continue
        base = str(operator).split(":", 1)[-1]
        base = base.removesuffix("IfExists")
        for key, values in block.items():
            yield base, str(key), _as_list(values)


def _statements(documents: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for document in documents:
        for statement in _as_list(document.get("Statement", [])) if isinstance(document, Mapping) else []:
            if isinstance(statement, Mapping) and _covers_enrollment(statement):
                yield statement


def ticket_tags(documents: Iterable[Mapping[str, Any]]) -> tuple[TicketTag, ...]:
    """The (tag key, value) pairs that statements about enrollment compare the caller's tags with
    literally (``StringEquals``/``StringNotEquals`` and their IgnoreCase and IfExists forms)."""
    found = set()
    for statement in _statements(documents):
        for operator, key, values in _conditions(statement):
            if operator.removesuffix("IgnoreCase") not in ("StringEquals", "StringNotEquals"):
                continue
            if not key.lower().startswith(_TAG_PREFIX):
                continue
            for value in values:
                if isinstance(value, str) and not _WILDCARDS & set(value):
                    found.add(TicketTag(key[len(PRINCIPAL_TAG_PREFIX) :], value))
    return tuple(sorted(found))


def source_networks(documents: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The networks that statements about enrollment compare ``aws:SourceIp`` with."""
    found: dict[str, None] = {}
    for statement in _statements(documents):
        for operator, key, values in _conditions(statement):
            if operator in ("IpAddress", "NotIpAddress") and key.lower() == _SOURCE_IP:
                found.update((str(value), None) for value in values)
    return tuple(found)
