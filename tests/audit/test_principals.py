"""Which resource-policy statements apply to an IAM user: ``Principal`` and ``NotPrincipal`` as
the IAM User Guide defines them ("AWS JSON policy elements: Principal", "...: NotPrincipal").

Each case reads as a specification: the element, the statement's effect, and whether the
statement grants (or denies) alice directly. ``None``: the principal cannot be read (an Allow
then counts as applying, a Deny as not: ``select_statements``).
"""

from __future__ import annotations

from typing import Any

import pytest

from mfa_policy.audit.principals import Caller, Reach, applies, reach, select_statements

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/team/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
CALLER = Caller(ALICE, "AIDAALICE", ACCOUNT, "aws")


@pytest.mark.parametrize(
    ("element", "effect", "expected"),
    [
        # The user's ARN (with its path), alone or in a list; its unique ID, which AWS stores.
        ({"AWS": ALICE}, "Allow", True),
        ({"AWS": [BOB, ALICE]}, "Allow", True),
        ({"AWS": "AIDAALICE"}, "Allow", True),
        ({"AWS": ALICE}, "Deny", True),
        # Everyone, in both spellings.
        ("*", "Allow", True),
        ({"AWS": "*"}, "Allow", True),
        ("*", "Deny", True),
        # Somebody else: another user, the same name in another account, another case (the name
        # part of a principal ARN is case sensitive), a service, a federation, a canonical user.
        ({"AWS": BOB}, "Allow", False),
        ({"AWS": "arn:aws:iam::999999999999:user/team/alice"}, "Allow", False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:user/team/Alice"}, "Allow", False),
        ({"Service": "lambda.amazonaws.com"}, "Allow", False),
        ({"Federated": "accounts.google.com"}, "Allow", False),
        # The account, as an ARN or a bare ID (or S3's canonical user): a delegation to the
        # identity policies, not a grant to alice; a Deny on it is not counted on.
        ({"AWS": ROOT}, "Allow", False),
        ({"AWS": ACCOUNT}, "Allow", False),
        ({"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}, "Allow", False),
        ({"AWS": ROOT}, "Deny", False),
        # moto's Lambda answer: the principal as a bare string.
        (ALICE, "Allow", True),
        # Unreadable.
        ({"AWS": 5}, "Allow", None),
        ({}, "Allow", None),
    ],
)
def test_principal(element: Any, effect: str, expected: bool | None) -> None:
    statement = {"Effect": effect, "Principal": element, "Action": "s3:GetObject", "Resource": "*"}
    assert applies(statement, CALLER) is expected


@pytest.mark.parametrize(
    ("excluded", "effect", "expected"),
    [
        ({"AWS": BOB}, "Allow", True),  # everyone but bob
        ({"AWS": BOB}, "Deny", True),
        ({"AWS": ALICE}, "Allow", False),
        ({"AWS": [ALICE, ROOT]}, "Deny", False),  # AWS's own example: the user and its account
        ({"AWS": "*"}, "Allow", False),
        # Everyone but the account: its users may be spared. An Allow may reach alice, a Deny is
        # not counted on.
        ({"AWS": ROOT}, "Allow", True),
        ({"AWS": ROOT}, "Deny", False),
    ],
)
def test_not_principal(excluded: Any, effect: str, expected: bool) -> None:
    statement = {"Effect": effect, "NotPrincipal": excluded, "Action": "s3:GetObject", "Resource": "*"}
    assert applies(statement, CALLER) is expected


def test_a_statement_with_both_or_neither_cannot_be_read() -> None:
    both = {"Effect": "Allow", "Principal": "*", "NotPrincipal": {"AWS": BOB}, "Action": "*", "Resource": "*"}
    assert applies(both, CALLER) is None
    assert applies({"Effect": "Allow", "Action": "*", "Resource": "*"}, CALLER) is None


def test_reach_names_every_way_a_principal_matches() -> None:
    assert reach({"AWS": [ALICE, ROOT, "*"], "Service": "s3.amazonaws.com"}, CALLER) == {
        Reach.USER, Reach.ACCOUNT, Reach.EVERYONE, Reach.OTHERS}


def test_select_statements_keeps_what_applies_without_principals() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"},
            {"Sid": "Odd", "Effect": "Allow", "Principal": {"AWS": 5}, "Action": "s3:PutObject", "Resource": "*"},
            {"Sid": "OddDeny", "Effect": "Deny", "Principal": {"AWS": 5}, "Action": "s3:GetObject", "Resource": "*"},
        ],
    }
    selected = select_statements(document, CALLER, "the bucket policy of reports")
    assert selected.labels == ("Alice", "#2", "Odd") and selected.indexes == (0, 2, 3)
    assert all("Principal" not in statement for statement in selected.statements)
    assert selected.grants
    assert selected.notes == (
        "the bucket policy of reports, statement Odd: a principal the audit cannot read: counted as naming the user "
        "(an Allow)",
        "the bucket policy of reports, statement OddDeny: a principal the audit cannot read: counted as not applying "
        "(a Deny)",
    )


def test_a_delegation_alone_grants_nothing() -> None:
    # The KMS default key policy: the account, then the identity policies decide.
    document = {"Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT},
                               "Action": "kms:*", "Resource": "*"}]}
    assert not select_statements(document, CALLER, "the key policy of k").grants


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        # Only the users an Allow names can be granted anything: the audit selects for them alone.
        ([{"Effect": "Allow", "Principal": {"AWS": [ALICE, ROOT]}}], frozenset({ALICE, ROOT})),
        ([{"Effect": "Allow", "Principal": {"AWS": ALICE}}, {"Effect": "Deny", "Principal": "*"}],
         frozenset({ALICE})),
        ([{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}}], frozenset({"s3.amazonaws.com"})),
        # Anyone: *, NotPrincipal, a principal that cannot be read, none at all.
        ([{"Effect": "Allow", "Principal": {"AWS": [ALICE, "*"]}}], None),
        ([{"Effect": "Allow", "NotPrincipal": {"AWS": BOB}}], None),
        ([{"Effect": "Allow", "Principal": {"AWS": 5}}], None),
        ([{"Effect": "Allow"}], None),
    ],
)
def test_granted_to(statements, expected):
    from mfa_policy.audit.principals import granted_to

    assert granted_to({"Statement": statements}) == expected
