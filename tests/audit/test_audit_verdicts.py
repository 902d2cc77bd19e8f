"""The audit's pure parts on hand-built snapshots: what moto cannot produce, and the edge cases.

Hand-built snapshots stand in for AWS here only where moto lacks the feature (permission
boundaries on users, FIDO security keys, an expired token); the reader itself is tested against
moto in test_audit_moto.py.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
)

from mfa_policy.audit.aws import (
    HARDWARE_TOTP,
    SECURITY_KEY,
    VIRTUAL,
    AccessKey,
    AccountSnapshot,
    Credentials,
    Group,
    InlinePolicy,
    ManagedPolicy,
    MfaDevice,
    User,
    device_kind,
    explain_error,
    parse_credential_report,
)
from mfa_policy.audit.verdicts import (
    LOCKED_OUT,
    MUST_ENROLL,
    NO_ACCESS,
    NO_CREDENTIALS,
    PROTECTED,
    UNPROTECTED,
    audit,
)
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision, PolicySet

ACCOUNT = "111122223333"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


ALLOW_ALL = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/allow-all", "allow-all", _doc(
    {"Effect": "Allow", "Action": "*", "Resource": "*"}))
REQUIRE_MFA = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/require-mfa", "require-mfa",
                            build_policy_document(ACCOUNT))
S3_READ = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/s3-read", "s3-read", _doc(
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}))
BOOTSTRAP_ONLY = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/bootstrap-only", "bootstrap-only", _doc(
    {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListMFADevices"],
     "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"},
    {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"}))
POLICIES = {policy.arn: policy for policy in (ALLOW_ALL, REQUIRE_MFA, S3_READ, BOOTSTRAP_ONLY)}
PASSWORD = Credentials(password_enabled=True)


def _user(name: str, credentials: Credentials | None = PASSWORD, **fields: Any) -> User:
    path = fields.pop("path", "/")
    return User(name, path, f"arn:aws:iam::{ACCOUNT}:user{path}{name}", f"AIDA{name.upper()}",
                credentials=credentials, **fields)


def _audit(*users: User, groups: dict[str, Group] | None = None, **options: Any):
    snapshot = AccountSnapshot(ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:user/auditor", users, groups or {}, POLICIES)
    return audit(snapshot, load_catalog(), now=NOW, **options)


def _verdicts(report) -> dict[str, str]:
    return {user.user: user.verdict for user in report.users}


def test_a_permission_boundary_caps_the_user_policies():
    # moto ignores PermissionsBoundary on users: the boundary is read from AWS's answer shape here.
    report = _audit(
        _user("grace", attached=(ALLOW_ALL.arn,), boundary=S3_READ.arn),
        _user("heidi", attached=(ALLOW_ALL.arn,), boundary=BOOTSTRAP_ONLY.arn),
        _user("ivan", attached=(ALLOW_ALL.arn,), boundary=f"arn:aws:iam::{ACCOUNT}:policy/gone"),
    )
    # heidi's boundary allows nothing beyond the bootstrap set even with MFA: enforcement takes
    # nothing away from her, so she has her own verdict that does not fail the run.
    assert _verdicts(report) == {"grace": UNPROTECTED, "heidi": NO_ACCESS, "ivan": UNPROTECTED}
    heidi = next(user for user in report.users if user.user == "heidi")
    assert heidi.notes == ("allowed nothing beyond the bootstrap set even with MFA: enforcement takes nothing away",)
    assert not _audit(_user("heidi", attached=(ALLOW_ALL.arn,), boundary=BOOTSTRAP_ONLY.arn)).failing
    grace = report.users[0]
    assert grace.exposures[0].action.startswith("s3:") and grace.exposures[0].policies == ("allow-all",)
    ivan = next(user for user in report.users if user.user == "ivan")
    assert ivan.notes == (f"permission boundary arn:aws:iam::{ACCOUNT}:policy/gone was not readable: left out",)


def test_security_keys_and_hardware_tokens_count_as_devices():
    # FIDO security keys are registered in the console only: moto (and the API) cannot add one.
    key = MfaDevice(f"arn:aws:iam::{ACCOUNT}:u2f/user/alice/yubikey-ABCDEF", SECURITY_KEY)
    report = _audit(_user("alice", attached=(REQUIRE_MFA.arn, ALLOW_ALL.arn), mfa_devices=(key,)))
    assert report.users[0].verdict == PROTECTED and report.users[0].mfa_devices == (SECURITY_KEY,)


@pytest.mark.parametrize(
    ("serial", "kind"),
    [
        ("arn:aws:iam::111122223333:mfa/alice-phone", VIRTUAL),
        ("arn:aws:iam::111122223333:mfa/team/alice", VIRTUAL),
        ("arn:aws:iam::111122223333:u2f/user/alice/key-XYZ", SECURITY_KEY),
        ("GAHT12345678", HARDWARE_TOTP),
    ],
)
def test_device_kind(serial, kind):
    assert device_kind(serial) == kind


def test_a_condition_on_the_user_name_is_decided_per_user():
    # One policy set, two users: only carol's name meets the condition.
    named = _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                  "Condition": {"StringEquals": {"aws:username": "carol"}}})
    inline = (InlinePolicy("p", named),)
    report = _audit(_user("carol", inline=inline), _user("dave", inline=inline))
    assert _verdicts(report) == {"carol": UNPROTECTED, "dave": NO_ACCESS}
    assert report.policy_sets == 1


def test_a_statement_scoped_to_one_bucket_is_found():
    bucket = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::payroll/*"})
    report = _audit(_user("erin", inline=(InlinePolicy("payroll", bucket),)))
    (exposure,) = report.users[0].exposures
    assert (exposure.action, exposure.resource, exposure.policies) == (
        "s3:GetObject", "arn:aws:s3:::payroll/example", ("inline payroll",))


def test_keys_on_the_own_user_only_are_still_unprotected():
    own_keys = _doc({"Effect": "Allow", "Action": "iam:CreateAccessKey",
                     "Resource": f"arn:aws:iam::{ACCOUNT}:user/*${{aws:username}}"})
    report = _audit(_user("frank", path="/team/", inline=(InlinePolicy("keys", own_keys),)))
    assert report.users[0].exposures[0].resource == f"arn:aws:iam::{ACCOUNT}:user/team/frank"


def test_verdict_rules_and_order():
    recent = AccessKey(active=True, last_used=NOW - timedelta(days=3))
    old = AccessKey(active=True, last_used=NOW - timedelta(days=90))
    inactive = AccessKey(active=False, last_used=NOW - timedelta(days=1))
    enforced = {"attached": (REQUIRE_MFA.arn, ALLOW_ALL.arn)}
    report = _audit(
        _user("a-protected", mfa_devices=(MfaDevice("GAHT1", HARDWARE_TOTP),), **enforced),
        _user("b-nothing", credentials=Credentials(access_keys=(inactive,)), attached=(ALLOW_ALL.arn,)),
        _user("c-script", credentials=Credentials(access_keys=(recent,)), **enforced),
        _user("d-old-script", credentials=Credentials(access_keys=(old,)), **enforced),
        _user("e-new", credentials=None, **enforced),
        _user("f-open", attached=(ALLOW_ALL.arn,)),
    )
    assert [(user.user, user.verdict) for user in report.users] == [
        ("f-open", UNPROTECTED),
        ("c-script", LOCKED_OUT),
        ("d-old-script", MUST_ENROLL),
        ("e-new", MUST_ENROLL),
        ("a-protected", PROTECTED),
        ("b-nothing", NO_CREDENTIALS),
    ]
    assert report.users[3].notes == (
        "not in the credential report yet (created after it was generated): credentials unknown",
    )  # and the project's policy lets it enroll alone: no "cannot enroll" note
    assert report.failing
    assert not _audit(_user("ok", **enforced)).failing


def test_identical_policy_sets_are_evaluated_once():
    attached = [(ALLOW_ALL.arn,), (REQUIRE_MFA.arn, ALLOW_ALL.arn), (REQUIRE_MFA.arn, S3_READ.arn)]
    groups = {f"team{index}": Group(f"team{index}", "/", attached=attached[index]) for index in range(3)}
    users = [_user(f"user{index}", groups=(f"team{index % 3}",)) for index in range(60)]
    report = _audit(*users, groups=groups)
    assert report.policy_sets == 3
    assert report.counts()[UNPROTECTED] == 20 and report.counts()[MUST_ENROLL] == 40


def test_parse_credential_report():
    content = (
        b"user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
        b"password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
        b"access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
        b"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
        b"access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
        b"cert_2_active,cert_2_last_rotated\n"
        b"<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,"
        b"2026-10-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,"
        b"N/A,N/A,false,N/A,false,N/A\n"
        b"bob,arn:aws:iam::111122223333:user/bob,2024-01-01T00:00:00+00:00,true,no_information,"
        b"2024-01-01T00:00:00+00:00,N/A,false,true,2024-01-02T00:00:00+00:00,2026-10-30T12:00:00+00:00,"
        b"us-east-1,s3,false,2024-02-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
    rows = parse_credential_report(content)
    assert list(rows) == ["bob"]
    bob = rows["bob"]
    assert bob.password_enabled and bob.password_last_used is None and not bob.mfa_active
    assert bob.access_keys[0] == AccessKey(
        True, datetime(2026, 10, 30, 12, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    )
    assert bob.access_keys[1].active is False and bob.active_keys == (bob.access_keys[0],)


@pytest.mark.parametrize(
    ("code", "operation", "starts"),
    [
        ("ExpiredToken", "GetCallerIdentity", "the session token has expired"),
        ("InvalidClientTokenId", "GetCallerIdentity", "AWS does not recognise the access key"),
        ("AccessDenied", "ListMFADevices", "access denied: the credentials lack iam:ListMFADevices."),
        ("Throttling", "ListMFADevices", "AWS throttled ListMFADevices after 10 attempts"),
        ("NoSuchEntity", "ListMFADevices", "AWS refused ListMFADevices: NoSuchEntity: gone"),
    ],
)
def test_error_messages_are_one_line(code, operation, starts):
    # AWS's expired-token answer cannot be provoked in moto: botocore's own error type carries it.
    error = ClientError({"Error": {"Code": code, "Message": "gone"}}, operation)
    message = str(explain_error(error, attempts=10))
    assert message.startswith(starts) and "\n" not in message


@pytest.mark.parametrize(
    "error",
    [
        ParamValidationError(report="Invalid type for parameter UserName, value: 1\nUnknown parameter Foo"),
        NoRegionError(),
        EndpointConnectionError(endpoint_url="https://iam.amazonaws.com/"),
        ProfileNotFound(profile="nope"),
        ValueError("Invalid endpoint: notaurl"),
        RuntimeError("something\nunexpected"),
    ],
)
def test_sdk_errors_are_one_line(error):
    message = str(explain_error(error))
    assert message and "\n" not in message and "  " not in message


def test_examples_use_the_context_of_the_user_credentials():
    # A password alone: the console without MFA; keys alone: access keys.
    report = _audit(
        _user("vic", attached=(ALLOW_ALL.arn,)),
        _user("wes", credentials=Credentials(access_keys=(AccessKey(active=True),)), attached=(ALLOW_ALL.arn,)),
    )
    users = {user.user: user for user in report.users}
    assert {e.context for e in users["vic"].exposures} == {"console without MFA"}
    assert {e.context for e in users["wes"].exposures} == {"access keys"}


def test_a_deny_with_bool_instead_of_boolifexists_leaves_access_keys_open():
    # The classic mistake: requests signed with long-term keys carry no aws:MultiFactorAuthPresent,
    # so "Bool": false never matches them. The console without MFA is denied; access keys are not.
    with_bool = json.loads(json.dumps(build_policy_document(ACCOUNT)).replace('"BoolIfExists"', '"Bool"'))
    report = _audit(_user("kim", inline=(InlinePolicy("with-bool", with_bool),), attached=(ALLOW_ALL.arn,)))
    (kim,) = report.users
    assert kim.verdict == UNPROTECTED and kim.exposures
    assert {exposure.context for exposure in kim.exposures} == {"access keys"}
    assert kim.exposures[0].policies == ("allow-all",)
    console = PolicySet([with_bool, ALLOW_ALL.document])
    for exposure in kim.exposures:  # the same requests from the console without MFA are denied
        context = {"aws:username": "kim", "aws:MultiFactorAuthPresent": "false"}
        assert console.evaluate(exposure.action, exposure.resource, context) is Decision.EXPLICIT_DENY


# ---------------------------------------------------------------------------------------------
# Soundness: what the audit cannot evaluate is resolved in the user's favour


def _require_mfa_with(condition: dict[str, Any]) -> dict[str, Any]:
    """The project's policy with ``condition`` added to its Deny-without-MFA statement."""
    document = copy.deepcopy(build_policy_document(ACCOUNT))  # its parts may be shared constants
    for statement in document["Statement"]:
        if statement["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa":
            for operator, entries in condition.items():
                statement["Condition"].setdefault(operator, {}).update(entries)
    return document


@pytest.mark.parametrize(
    ("condition", "key"),
    [
        ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, "aws:SourceIp"),
        ({"StringNotEquals": {"aws:PrincipalTag/mfa-exempt": "true"}}, "aws:PrincipalTag/mfa-exempt"),
        ({"StringNotEqualsIfExists": {"aws:username": "${aws:PrincipalTag/owner}"}}, "aws:PrincipalTag/owner"),
    ],
)
def test_a_deny_conditioned_on_an_unmodelled_key_does_not_count(condition, key):
    # From 203.0.113.0/24 (or with the tag) the Deny does not apply: the user acts without MFA.
    policy = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/office", "office", _require_mfa_with(condition))
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (_user("lee", attached=(policy.arn, ALLOW_ALL.arn)),),
                               {}, {**POLICIES, policy.arn: policy})
    (lee,) = audit(snapshot, load_catalog(), now=NOW).users
    assert lee.verdict == UNPROTECTED and not lee.enforced and lee.exposures
    assert any(
        note.startswith("office, statement DenyAllExceptMfaBootstrapWithoutMfa: a Deny conditioned on ") and key in note
        and note.endswith("counted as not applying") for note in lee.notes
    ), lee.notes
    assert lee.as_dict()["notes"] == list(lee.notes)


def test_an_allow_conditioned_on_an_unmodelled_key_counts_as_met():
    office = _doc({"Sid": "Office", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                                 "StringEquals": {"aws:PrincipalType": "User"}}},
                  {"Sid": "Tagged", "Effect": "Allow", "Action": "ec2:TerminateInstances",
                   "Resource": "arn:aws:ec2:*:*:instance/${aws:PrincipalTag/instance}"})
    (mia,) = _audit(_user("mia", inline=(InlinePolicy("office", office),))).users
    assert mia.verdict == UNPROTECTED
    assert [(e.action, e.policies) for e in mia.exposures] == [
        ("s3:GetObject", ("inline office",)), ("ec2:TerminateInstances", ("inline office",))]
    assert ("inline office, statement Office: an Allow conditioned on aws:SourceIp, which the audit does not "
            "model: counted as met") in mia.notes
    assert any(note.startswith("inline office, statement Tagged:") for note in mia.notes)


def test_the_keys_a_context_sets_are_the_keys_the_model_knows():
    from mfa_policy.verifier.requests import (
        ABSENT_KEYS,
        MFA_SCENARIO,
        NO_MFA_SCENARIOS,
        KeyModel,
        Principal,
        key_knowledge,
        request_context,
    )

    model = KeyModel(tags_known=True, organization_known=True)
    principal = Principal(
        ACCOUNT, "aws", "nat", tags={"team": "x"}, organization_id="o-1", organization_paths=("o-1/r-1/",)
    )
    for scenario in (*NO_MFA_SCENARIOS, MFA_SCENARIO):
        for key in request_context(principal, scenario):
            assert key_knowledge(key, model) in ("known", "chosen"), key
    assert all(key_knowledge(key, model) == "known" for key in ABSENT_KEYS)
    for key in ("aws:SourceIp", "aws:RequestedRegion", "aws:CurrentTime", "aws:ResourceTag/x", "s3:prefix",
                "aws:TokenIssueTime"):
        assert key_knowledge(key, model) == "unknown", key
    assert key_knowledge("aws:PrincipalTag/team", KeyModel()) == "unknown"  # tags not read


def test_an_unreadable_managed_policy_means_not_proven_enforced():
    gone = f"arn:aws:iam::{ACCOUNT}:policy/gone"
    report = _audit(
        _user("olga", attached=(REQUIRE_MFA.arn, ALLOW_ALL.arn, gone)),
        _user("pat", groups=("missing-group",), attached=(REQUIRE_MFA.arn,)),
    )
    users = {user.user: user for user in report.users}
    assert users["olga"].verdict == UNPROTECTED and not users["olga"].enforced
    assert users["olga"].notes[0] == f"managed policy {gone} could not be read: MFA enforcement cannot be proven"
    assert users["pat"].verdict == UNPROTECTED
    assert users["pat"].notes[0] == "group missing-group could not be read: MFA enforcement cannot be proven"
    assert report.failing


def test_a_policy_the_evaluator_cannot_parse_is_a_note_not_a_traceback():
    odd = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/odd", "odd", _doc(
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEqualz": {"aws:username": "x"}}}))
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (
        _user("quinn", attached=(REQUIRE_MFA.arn, odd.arn)), _user("rita", attached=(REQUIRE_MFA.arn,))),
        {}, {**POLICIES, odd.arn: odd})
    report = audit(snapshot, load_catalog(), now=NOW)
    users = {user.user: user for user in report.users}
    assert users["quinn"].verdict == UNPROTECTED and not users["quinn"].enforced
    assert users["quinn"].notes[0] == (
        "policy odd cannot be evaluated (unknown condition operator 'StringEqualz'): MFA enforcement cannot be proven")
    assert users["rita"].verdict == MUST_ENROLL


def test_enrollment_under_a_security_keys_policy():
    keys_only = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/keys-only", "keys-only",
                              build_policy_document(ACCOUNT, mfa_devices="security_keys"))
    certified = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/certified", "certified", build_policy_document(
        ACCOUNT, mfa_devices="security_keys", security_key_certification={"fips-140-3": ["L3"]}))
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (
        _user("sam", attached=(keys_only.arn, ALLOW_ALL.arn)),
        _user("tia", attached=(certified.arn, ALLOW_ALL.arn)),
        _user("uma", attached=(REQUIRE_MFA.arn, ALLOW_ALL.arn)),
    ), {}, {**POLICIES, keys_only.arn: keys_only, certified.arn: certified})
    users = {user.user: user for user in audit(snapshot, load_catalog(), now=NOW).users}
    assert users["sam"].verdict == MUST_ENROLL
    assert users["sam"].notes == ("can enroll alone only: security key (not virtual, hardware TOTP)",)
    assert users["tia"].notes == ("can enroll alone only: security key (not virtual, hardware TOTP)",)
    assert users["uma"].notes == ()  # every kind of device
