"""Enrollment tickets in the audit (issue 18): open or closed for users who must enroll, and a
finding for an enrolled user who still carries one. Hand-built snapshots; the same against moto in
test_audit_moto_tickets.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mfa_policy.audit.aws import VIRTUAL, AccountSnapshot, Credentials, ManagedPolicy, MfaDevice, User
from mfa_policy.audit.findings import OPEN_TICKET
from mfa_policy.audit.tickets import CLOSED, OPEN, TicketTag, source_networks, ticket_tags
from mfa_policy.audit.verdicts import MUST_ENROLL, PROTECTED, audit
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog

ACCOUNT = "111122223333"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
TAG = {"key": "mfa-enrollment", "value": "allowed"}


def _managed(name: str, document: dict[str, Any]) -> ManagedPolicy:
    return ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/{name}", name, document)


ALLOW_ALL = _managed(
    "allow-all", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
TICKETED = _managed("require-mfa", build_policy_document(ACCOUNT, enrollment={"require_tag": TAG}))
NETWORKS = _managed("require-mfa-office", build_policy_document(ACCOUNT, enrollment={"source_ips": ["203.0.113.0/24"]}))
BOTH = _managed(
    "require-mfa-both",
    build_policy_document(ACCOUNT, enrollment={"require_tag": TAG, "source_ips": ["203.0.113.0/24"]}),
)
PLAIN = _managed("require-mfa-plain", build_policy_document(ACCOUNT))
# Names the tag in a statement about enrollment, but next to PLAIN and ALLOW_ALL it gates nothing.
TAG_ALLOW = _managed("tag-allow", {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "iam:EnableMFADevice", "Resource": "*",
    "Condition": {"StringEquals": {"aws:PrincipalTag/mfa-enrollment": "allowed"}}}]})
POLICIES = {policy.arn: policy for policy in (ALLOW_ALL, TICKETED, NETWORKS, BOTH, PLAIN, TAG_ALLOW)}
DEVICE = (MfaDevice(f"arn:aws:iam::{ACCOUNT}:mfa/enrolled", VIRTUAL),)


def _user(name: str, policy: ManagedPolicy, tags: dict[str, str] | None = None, *more: ManagedPolicy,
          **fields: Any) -> User:
    return User(
        name, "/", f"arn:aws:iam::{ACCOUNT}:user/{name}", f"AIDA{name.upper()}",
        attached=(policy.arn, ALLOW_ALL.arn, *(extra.arn for extra in more)),
        credentials=Credentials(password_enabled=True),
        tags=None if tags is None else tuple(tags.items()), **fields,
    )


def _report(*users: User):
    snapshot = AccountSnapshot(ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:user/auditor", users, {}, POLICIES)
    return audit(snapshot, load_catalog(), now=NOW)


def _by_name(report) -> dict[str, Any]:
    return {user.user: user for user in report.users}


def test_the_ticket_is_read_from_the_policies_and_open_or_closed_by_the_user_tags():
    users = _by_name(_report(
        _user("newcomer", TICKETED, {}),
        _user("ticketed", TICKETED, {"mfa-enrollment": "allowed", "team": "data"}),
        _user("wrong-value", TICKETED, {"mfa-enrollment": "yes"}),
        _user("other-case", TICKETED, {"MFA-Enrollment": "allowed"}),
    ))
    assert {name: user.verdict for name, user in users.items()} == dict.fromkeys(users, MUST_ENROLL)
    closed = users["newcomer"].enrollment
    assert closed.state == CLOSED and closed.tag == TicketTag("mfa-enrollment", "allowed")
    assert (
        "enrollment closed until an administrator opens it (tag mfa-enrollment=allowed): "
        "aws iam tag-user --user-name newcomer --tags Key=mfa-enrollment,Value=allowed"
    ) in users["newcomer"].notes
    # Closed: the ticket is what stops enrollment, so the notes do not also say that an
    # administrator must assign the device (with the ticket the user enrolls alone).
    assert not any(note.startswith("cannot enroll alone") for note in users["newcomer"].notes)
    assert users["ticketed"].enrollment.state == OPEN
    assert (
        "enrollment open: the user carries the enrollment ticket (tag mfa-enrollment=allowed); remove it once a "
        "device is enrolled: aws iam untag-user --user-name ticketed --tag-keys mfa-enrollment"
    ) in users["ticketed"].notes
    assert users["wrong-value"].enrollment.state == CLOSED
    # IAM compares tag keys without case: the tag under another spelling opens enrollment too, and
    # the command that closes it names the key as the user carries it.
    assert users["other-case"].enrollment.state == OPEN
    assert "aws iam untag-user --user-name other-case --tag-keys MFA-Enrollment" in users["other-case"].notes[-1]
    assert users["ticketed"].as_dict()["enrollment"] == {
        "state": OPEN,
        "ticketTag": TAG,
        "sourceIps": [],
        "open": None,
        "close": "aws iam untag-user --user-name ticketed --tag-keys mfa-enrollment",
    }
    json.dumps(users["newcomer"].as_dict())  # the report's JSON carries it
    assert users["newcomer"].as_dict()["enrollment"]["open"].startswith("aws iam tag-user --user-name newcomer ")


def test_networks_are_named_and_the_tag_still_decides():
    users = _by_name(_report(_user("office", NETWORKS, {}), _user("both", BOTH, {"mfa-enrollment": "allowed"})))
    office = users["office"].enrollment
    assert office.tag is None and office.state is None and office.source_ips == ("203.0.113.0/24",)
    assert any("enrollment only from the networks 203.0.113.0/24" in note for note in users["office"].notes)
    assert users["both"].enrollment.state == OPEN and users["both"].enrollment.source_ips == ("203.0.113.0/24",)


def test_without_a_gate_or_without_tags_nothing_is_claimed():
    users = _by_name(_report(
        _user("plain", PLAIN, {}), _user("unread", TICKETED, None), _user("abac", PLAIN, {}, TAG_ALLOW)
    ))
    assert users["plain"].enrollment.tag is None and users["plain"].enrollment.source_ips == ()
    # The tag is named about enrollment, yet the user may enroll without it: not a ticket.
    assert users["abac"].enrollment.tag is None and users["abac"].enrollment.state is None
    assert not any("enrollment" in note and "ticket" in note for note in users["plain"].notes)
    # Tags not read: the ticket's state is unknown, so the report claims neither open nor closed.
    assert users["unread"].enrollment.state is None


def test_an_enrolled_user_who_still_carries_the_ticket_fails_the_run():
    report = _report(
        _user("forgot", TICKETED, {"mfa-enrollment": "allowed"}, mfa_devices=DEVICE),
        _user("tidy", TICKETED, {"team": "data"}, mfa_devices=DEVICE),
        _user("tag-gates-nothing", PLAIN, {"mfa-enrollment": "allowed"}, TAG_ALLOW, mfa_devices=DEVICE),
    )
    users = _by_name(report)
    assert {name: user.verdict for name, user in users.items()} == dict.fromkeys(users, PROTECTED)
    (finding,) = users["forgot"].findings
    assert finding.kind == OPEN_TICKET
    assert "aws iam untag-user --user-name forgot --tag-keys mfa-enrollment" in finding.message
    assert users["forgot"].failing and report.failing
    assert not users["tidy"].findings and not users["tag-gates-nothing"].findings
    assert not _report(_user("tidy", TICKETED, {}, mfa_devices=DEVICE)).failing


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Deny", "Action": "iam:EnableMFADevice", "Resource": "*",
          "Condition": {"StringNotEquals": {"aws:PrincipalTag/ticket": ["open", "yes"]}}},
         (TicketTag("ticket", "open"), TicketTag("ticket", "yes"))),
        ({"Effect": "Allow", "Action": "iam:*MFA*", "Resource": "*",
          "Condition": {"StringEqualsIgnoreCaseIfExists": {"aws:PrincipalTag/t": "v"}}}, (TicketTag("t", "v"),)),
        ({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*",
          "Condition": {"ForAnyValue:StringEquals": {"aws:PrincipalTag/t": "v"}}}, (TicketTag("t", "v"),)),
        # A statement about other actions, a pattern, another key: no ticket.
        ({"Effect": "Deny", "Action": "s3:*", "Resource": "*",
          "Condition": {"StringNotEquals": {"aws:PrincipalTag/t": "v"}}}, ()),
        ({"Effect": "Deny", "Action": "iam:EnableMFADevice", "Resource": "*",
          "Condition": {"StringNotLike": {"aws:PrincipalTag/t": "v*"}}}, ()),
        ({"Effect": "Deny", "Action": "iam:EnableMFADevice", "Resource": "*",
          "Condition": {"StringNotEquals": {"aws:RequestTag/t": "v"}}}, ()),
    ],
)
def test_ticket_tags_proposes_literal_tags_of_enrollment_statements(statement, expected):
    assert ticket_tags([{"Version": "2012-10-17", "Statement": [statement]}]) == expected


def test_source_networks_reads_both_operators():
    document = {"Statement": [
        {"Effect": "Deny", "Action": "iam:CreateVirtualMFADevice", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}},
        {"Effect": "Allow", "Action": "iam:EnableMFADevice", "Resource": "*",
         "Condition": {"IpAddressIfExists": {"aws:sourceip": "10.0.0.0/8"}}},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}},
    ]}
    assert source_networks([document]) == ("10.0.0.0/8", "2001:db8::/32")


def test_shell_commands_quote_what_the_shell_would_read():
    tag = TicketTag("mfa enrollment", "it's")
    assert tag.tag_command("a b") == "aws iam tag-user --user-name 'a b' --tags 'Key=mfa enrollment,Value=it'\"'\"'s'"
    assert tag.untag_command("alice") == "aws iam untag-user --user-name alice --tag-keys 'mfa enrollment'"
