"""The root user and phishing-resistant devices: findings that fail the audit (pure).

moto's credential report has no ``<root_account>`` row, its ``GetAccountSummary`` no
``AccountPasswordPresent``, and neither moto nor AWS's API can register a security key: the
root user is judged here from rows and summaries in AWS's documented format, and devices from
hand-built snapshots (the readers are tested against stub endpoints in test_audit_reads.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mfa_policy.audit.aws import (
    HARDWARE_TOTP,
    SECURITY_KEY,
    VIRTUAL,
    AccountSnapshot,
    Credentials,
    MfaDevice,
    RootUser,
    User,
    parse_root_row,
    root_user,
)
from mfa_policy.audit.findings import (
    NOT_PHISHING_RESISTANT,
    UNCERTIFIED_KEY,
    DeviceRequirement,
    device_findings,
    judge_root,
    key_certifications,
)
from mfa_policy.audit.verdicts import audit
from mfa_policy.cli.audit import _summary
from mfa_policy.verifier.catalog import load_catalog

ACCOUNT = "111122223333"
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)


def _report(mfa: str, key_1: str = "false", key_2: str = "false") -> bytes:
    # AWS writes the root user's password_enabled as not_supported: the summary says it.
    return (
        HEADER
        + f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2020-01-01T00:00:00+00:00,not_supported,"
        f"2026-10-01T00:00:00+00:00,not_supported,not_supported,{mfa},{key_1},2021-01-01T00:00:00+00:00,"
        f"2026-10-30T00:00:00+00:00,us-east-1,s3,{key_2},N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        f"bob,arn:aws:iam::{ACCOUNT}:user/bob,2024-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,"
        "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    ).encode()


@pytest.mark.parametrize(
    ("mfa", "key_1", "summary", "failing", "reason"),
    [
        ("true", "false", {"AccountPasswordPresent": 1}, False, "MFA device enabled, no access key"),
        ("false", "false", {"AccountPasswordPresent": 1}, True, "a password and no MFA device"),
        ("false", "false", {"AccountPasswordPresent": 0}, False,
         "no password and no access key: nobody can sign in as root"),
        # An access key fails whatever the MFA device: a request signed with it needs no MFA.
        ("true", "true", {"AccountPasswordPresent": 0}, True,
         "1 active access key (requests signed with it need no MFA)"),
        # Unknown counts against the root user: a summary without AccountPasswordPresent.
        ("false", "false", {}, True, "perhaps a password (unknown) and no MFA device"),
        ("true", "false", {}, False, "MFA device enabled, no access key"),
    ],
)
def test_the_root_user_from_the_report_row_and_the_summary(mfa, key_1, summary, failing, reason):
    root = root_user(parse_root_row(_report(mfa, key_1)), summary)
    assert root.in_report and root.access_keys == (1 if key_1 == "true" else 0)
    if key_1 == "true":
        assert root.keys_last_used == datetime(2026, 10, 30, tzinfo=UTC)
    verdict = judge_root(root)
    assert verdict is not None and (verdict.failing, verdict.reason) == (failing, reason)


def test_without_the_report_row_the_summary_decides():
    # moto: no <root_account> row, no AccountPasswordPresent.
    root = root_user(None, {"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0})
    assert (root.in_report, root.password, root.access_keys, root.mfa) == (False, None, 0, False)
    assert root.unknown == (
        "GetAccountSummary has no AccountPasswordPresent: whether the root user has a password is unknown",
        "the credential report has no <root_account> row",
    )
    assert root_user(None, {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1}).access_keys == 1
    nothing = root_user(None, {})
    assert (nothing.password, nothing.access_keys, nothing.mfa) == (None, None, None)
    assert judge_root(nothing).reason == (
        "perhaps an active access key (unknown); perhaps a password (unknown) and no known MFA device")


@pytest.mark.parametrize(
    ("features", "note", "organization", "central"),
    [
        (("RootCredentialsManagement", "RootSessions"), "", "o-aa111bb222",
         "managed centrally in organization o-aa111bb222 (RootCredentialsManagement, RootSessions): applies to "
         "member accounts, not to the management account"),
        ((), "the account is in no organization: root credentials are not managed centrally", None,
         "the account is in no organization: root credentials are not managed centrally"),
        (None, "unknown: the credentials lack iam:ListOrganizationsFeatures", None,
         "unknown: the credentials lack iam:ListOrganizationsFeatures"),
    ],
)
def test_central_root_access_is_reported_as_far_as_known(features, note, organization, central):
    root = RootUser(True, False, access_keys=0, mfa=False, central_features=features, organization_id=organization,
                    central_note=note)
    assert judge_root(root).central == central


def test_the_root_user_fails_the_report_and_is_said_in_the_summary():
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (), {}, {},
                               root=RootUser(True, True, access_keys=0, mfa=False))
    report = audit(snapshot, load_catalog())
    assert report.failing and report.root.as_dict()["failing"]
    assert _summary(report).endswith("FAIL: the root user (a password and no MFA device) (resource policies were not "
                                     "read: grants there are not seen)")
    assert not audit(AccountSnapshot(ACCOUNT, "aws", "auditor", (), {}, {}), load_catalog()).failing  # not read


# ---------------------------------------------------------------------------------------------
# Devices


def _key(name: str, *certifications: tuple[str, str]) -> MfaDevice:
    return MfaDevice(f"arn:aws:iam::{ACCOUNT}:u2f/user/{name}/key-{len(certifications)}", SECURITY_KEY,
                     certifications=tuple(certifications))


def _user(name: str, *devices: MfaDevice, groups: tuple[str, ...] = ()) -> User:
    return User(name, "/", f"arn:aws:iam::{ACCOUNT}:user/{name}", "AIDA", groups=groups,
                credentials=Credentials(password_enabled=True), mfa_devices=devices)


KEYS_ONLY = DeviceRequirement("--mfa-devices security_keys")


def test_devices_that_are_not_all_security_keys_are_findings():
    phone = MfaDevice(f"arn:aws:iam::{ACCOUNT}:mfa/ann-phone", VIRTUAL)
    token = MfaDevice("GAHT12345678", HARDWARE_TOTP)
    (virtual, hardware) = device_findings(_user("ann", _key("ann"), phone, token), KEYS_ONLY)
    assert virtual.kind == hardware.kind == NOT_PHISHING_RESISTANT
    assert str(virtual) == (f"not phishing-resistant: virtual device arn:aws:iam::{ACCOUNT}:mfa/ann-phone: only "
                            "security keys are allowed (--mfa-devices security_keys)")
    assert device_findings(_user("bea", _key("bea")), KEYS_ONLY) == ()
    assert device_findings(_user("cy"), KEYS_ONLY) == ()  # not enrolled: the enforcement verdict judges
    assert device_findings(_user("dee", phone), None) == ()  # no requirement


@pytest.mark.parametrize(
    ("certifications", "required", "finding"),
    [
        ((("FIDO", "L2"),), {"fido": ("L2", "L3")}, None),
        ((("FIDO", "L1"),), {"fido": ("L2", "L3")}, "fido L2 or L3 required, it has fido L1"),
        ((), {"fido": ("L2",)}, "fido L2 required, it has no fido certification"),
        ((("FIDO", "L2"), ("FIPS-140-3", "L2")), {"fido": ("L2",), "fips-140-3": ("L2",)}, None),
        ((("FIDO", "L2"),), {"fido": ("L2",), "fips-140-2": ("L1",)},
         "fips-140-2 L1 required, it has no fips-140-2 certification"),
        (None, {"fido": ("L2",)}, "fido L2 required, its certifications were not read"),
    ],
)
def test_security_keys_without_an_accepted_certification_are_findings(certifications, required, finding):
    key = MfaDevice(f"arn:aws:iam::{ACCOUNT}:u2f/user/ann/k", SECURITY_KEY, certifications=certifications)
    found = device_findings(_user("ann", key), DeviceRequirement("--security-key-certification", required))
    if finding is None:
        assert found == ()
    else:
        (only,) = found
        assert only.kind == UNCERTIFIED_KEY
        assert only.message == f"security key {key.serial}: {finding} (--security-key-certification)"


@pytest.mark.parametrize(
    ("name", "ours"),
    [("FIDO", "fido"), ("FIPS-140-2", "fips-140-2"), ("FIPS-140-3", "fips-140-3"), ("fido", "fido"),
     ("FIDO-FIPS-140-3-certification", "fips-140-3"), ("FIDO-certification", "fido")],
)
def test_certification_names_as_get_mfa_device_spells_them(name, ours):
    assert key_certifications(_key("ann", (name, "L1"))) == {ours: "L1"}


def test_a_stack_requirement_covers_its_groups_only():
    requirement = DeviceRequirement("stack keys", groups=("developers",))
    phone = MfaDevice(f"arn:aws:iam::{ACCOUNT}:mfa/x", VIRTUAL)
    assert device_findings(_user("in", phone, groups=("developers",)), requirement)
    assert device_findings(_user("out", phone, groups=("ops",)), requirement) == ()


def test_findings_fail_the_report_and_appear_in_every_format():
    from mfa_policy.audit.aws import InlinePolicy
    from mfa_policy.policy.document import build_policy_document

    enforced: dict[str, Any] = {"inline": (InlinePolicy("mfa", build_policy_document(ACCOUNT)),)}
    phone = MfaDevice(f"arn:aws:iam::{ACCOUNT}:mfa/ann", VIRTUAL)
    user = User("ann", "/", f"arn:aws:iam::{ACCOUNT}:user/ann", "AIDA",
                credentials=Credentials(password_enabled=True), mfa_devices=(phone,), **enforced)
    report = audit(AccountSnapshot(ACCOUNT, "aws", "auditor", (user,), {}, {}), load_catalog(), devices=KEYS_ONLY)
    (ann,) = report.users
    assert ann.verdict == "protected" and report.failing and report.findings == 1
    assert ann.as_dict()["findings"] == [{"kind": NOT_PHISHING_RESISTANT, "message": ann.findings[0].message,
                                          "device": phone.serial}]
    assert report.device_requirement == "--mfa-devices security_keys"
    assert "FAIL: 1 user finding" in _summary(report)
