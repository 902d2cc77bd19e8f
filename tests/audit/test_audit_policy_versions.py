"""The audit reads ``${...}`` as a policy variable only where AWS does: under Version 2012-10-17.

With ``2008-10-17`` or no Version, "variables such as ${aws:username} aren't recognized as
variables and are instead treated as literal strings in the policy" (IAM User Guide, "IAM JSON
policy elements: Version"). Old policies are exactly the ones that lack it. Pure layer: the
account is built as the audit's reads return it (moto stores any document as given).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mfa_policy.audit.aws import AccountSnapshot, Credentials, InlinePolicy, User
from mfa_policy.audit.verdicts import UNPROTECTED, audit
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.requests import KeyModel, relax_document

ACCOUNT = "111122223333"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
NO_VERSION = None


def _document(statement: dict[str, Any], version: str | None) -> dict[str, Any]:
    return {"Statement": [statement], **({"Version": version} if version else {})}


def _audit_one(document: dict[str, Any]):
    user = User("sam", "/", f"arn:aws:iam::{ACCOUNT}:user/sam", "AIDASAM", inline=(InlinePolicy("old", document),),
                credentials=Credentials(password_enabled=True))
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (user,), {}, {})
    (verdict,) = audit(snapshot, load_catalog(), now=NOW).users
    return verdict


@pytest.mark.parametrize(
    ("version", "witness"),
    [
        ("2012-10-17", "arn:aws:s3:::shared/sam/example"),
        ("2008-10-17", "arn:aws:s3:::shared/${aws:username}/example"),
        (NO_VERSION, "arn:aws:s3:::shared/${aws:username}/example"),
    ],
)
def test_an_allow_with_variable_text_is_found_on_the_resource_it_names(version, witness):
    # Without the Version the Allow covers objects literally under "${aws:username}/": an
    # exposure all the same, which a witness with sam's name substituted would miss.
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/${aws:username}/*"}
    sam = _audit_one(_document(statement, version))
    assert sam.verdict == UNPROTECTED
    assert [(e.action, e.resource) for e in sam.exposures] == [("s3:GetObject", witness)]


SOURCE_IP_IN_RESOURCE = {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::logs/${aws:SourceIp}/*"}
TAG_IN_ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::team/${aws:PrincipalTag/team}/*"}


@pytest.mark.parametrize(
    ("statement", "version", "relaxed_statement", "note"),
    [
        # A variable on a key the audit does not model: the Deny is counted as not applying ...
        (SOURCE_IP_IN_RESOURCE, "2012-10-17", None, "a Deny conditioned on aws:SourceIp"),
        # ... but literal text depends on no key: the Deny stays, as AWS applies it.
        (SOURCE_IP_IN_RESOURCE, "2008-10-17", SOURCE_IP_IN_RESOURCE, None),
        (SOURCE_IP_IN_RESOURCE, NO_VERSION, SOURCE_IP_IN_RESOURCE, None),
        # An Allow's variable on such a key matches anything; literal text only itself.
        (TAG_IN_ALLOW, "2012-10-17", {**TAG_IN_ALLOW, "Resource": ["arn:aws:s3:::team/*/*"]},
         "an Allow conditioned on aws:PrincipalTag/team"),
        (TAG_IN_ALLOW, NO_VERSION, TAG_IN_ALLOW, None),
    ],
)
def test_relax_document_reads_variables_by_version(statement, version, relaxed_statement, note):
    relaxed, notes = relax_document(_document(statement, version), "old", KeyModel())
    assert relaxed["Statement"] == ([relaxed_statement] if relaxed_statement else [])
    if note is None:
        assert notes == []
    else:
        assert len(notes) == 1 and note in notes[0], notes
