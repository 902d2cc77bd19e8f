"""build_policy_document: the concrete cases of each guarantee, options, partitions, errors.

The catalog-wide proofs are in test_guarantees.py; these are the cases a reader checks by eye.
"""

from __future__ import annotations

import json

import pytest

from mfa_policy import build_policy_document
from mfa_policy.policy.document import SELF_SERVICE, SELF_SERVICE_NAMES
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision, evaluate
from mfa_policy.verifier.guarantees import ALLOW_ALL, MAX_POLICY_CHARACTERS
from mfa_policy.verifier.lint import lint

ACCOUNT = "111122223333"
KEYS = {"aws:username": "alice"}
CONSOLE = {"aws:username": "alice", "aws:MultiFactorAuthPresent": "false"}
MFA = {"aws:username": "alice", "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60"}
WITHOUT_MFA = {"keys": KEYS, "console": CONSOLE}


def arn(resource: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{ACCOUNT}:{resource}"


ALICE = (arn("user/alice"), arn("user/team/alice"))
BOB = arn("user/bob")
EVERY_OPTION = {
    "allow_password_change_without_mfa": True,
    "allow_list_users": True,
    "self_service": SELF_SERVICE_NAMES,
    "max_mfa_age_seconds": 3600,
}


def alone(document, action, resource, context):
    return evaluate([document], action, resource, context)


def beside_admin(document, action, resource, context):
    return evaluate([document, ALLOW_ALL], action, resource, context)


@pytest.fixture(scope="module")
def default_document():
    return build_policy_document(ACCOUNT)


# G1 lockdown ---------------------------------------------------------------------------------


@pytest.mark.parametrize("context", WITHOUT_MFA.values(), ids=WITHOUT_MFA)
@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("s3:ListAllMyBuckets", "*"),
        ("ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1"),
        ("iam:CreateUser", arn("user/mallory")),  # the 2014 policy left all of IAM open
        ("iam:AttachUserPolicy", ALICE[0]),
        ("iam:CreateAccessKey", ALICE[0]),
        ("iam:EnableMFADevice", BOB),  # bootstrap on a colleague
        ("iam:ResyncMFADevice", arn("user/team/bob")),
        ("iam:GetUser", BOB),
        ("sts:AssumeRole", "arn:aws:iam::111122223333:role/admin"),
    ],
)
def test_g1_without_mfa_everything_else_is_denied_even_beside_allow_all(default_document, action, resource, context):
    assert beside_admin(default_document, action, resource, context) is Decision.EXPLICIT_DENY


# G2 enrollment works -------------------------------------------------------------------------


@pytest.mark.parametrize("context", WITHOUT_MFA.values(), ids=WITHOUT_MFA)
@pytest.mark.parametrize("own", ALICE, ids=["root-path", "nested-path"])
@pytest.mark.parametrize(
    "action", ["iam:GetUser", "iam:ListMFADevices", "iam:GetMFADevice", "iam:EnableMFADevice", "iam:ResyncMFADevice"]
)
def test_g2_bootstrap_steps_work_on_own_user_at_any_path(default_document, action, own, context):
    assert alone(default_document, action, own, context) is Decision.ALLOW


@pytest.mark.parametrize("context", WITHOUT_MFA.values(), ids=WITHOUT_MFA)
@pytest.mark.parametrize("device", ["mfa/alice", "mfa/My Phone", "mfa/team/yubikey"])
def test_g2_virtual_devices_can_have_any_name(default_document, device, context):
    assert alone(default_document, "iam:CreateVirtualMFADevice", arn(device), context) is Decision.ALLOW


@pytest.mark.parametrize("action", ["iam:ListVirtualMFADevices", "sts:GetSessionToken"])
def test_g2_account_level_bootstrap_actions(default_document, action):
    for context in WITHOUT_MFA.values():
        assert alone(default_document, action, "*", context) is Decision.ALLOW


# G3 others are out of reach ------------------------------------------------------------------


@pytest.mark.parametrize("context", [KEYS, CONSOLE, MFA], ids=["keys", "console", "mfa"])
@pytest.mark.parametrize(
    "action", ["iam:EnableMFADevice", "iam:DeactivateMFADevice", "iam:CreateAccessKey", "iam:ChangePassword"]
)
def test_g3_nothing_on_another_user(default_document, action, context):
    assert alone(default_document, action, BOB, context) is not Decision.ALLOW


# G4 removing MFA needs MFA -------------------------------------------------------------------


@pytest.mark.parametrize("context", WITHOUT_MFA.values(), ids=WITHOUT_MFA)
def test_g4_removing_mfa_without_mfa_is_denied_beside_allow_all(default_document, context):
    for own in ALICE:
        assert beside_admin(default_document, "iam:DeactivateMFADevice", own, context) is Decision.EXPLICIT_DENY
    device = arn("mfa/My Phone")
    assert beside_admin(default_document, "iam:DeleteVirtualMFADevice", device, context) is Decision.EXPLICIT_DENY


def test_g4_with_mfa_alice_deactivates_her_own_device(default_document):
    for own in ALICE:
        assert alone(default_document, "iam:DeactivateMFADevice", own, MFA) is Decision.ALLOW


def test_g4_no_one_deletes_virtual_devices_through_this_policy(default_document):
    assert alone(default_document, "iam:DeleteVirtualMFADevice", arn("mfa/alice"), MFA) is Decision.IMPLICIT_DENY


# G5 no collateral damage ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"),
    [("s3:ListAllMyBuckets", "*"), ("iam:CreateUser", arn("user/mallory")), ("iam:EnableMFADevice", BOB)],
)
def test_g5_with_mfa_the_policy_takes_nothing_away(default_document, action, resource):
    assert beside_admin(default_document, action, resource, MFA) is Decision.ALLOW


def test_g5_max_age_treats_an_old_mfa_session_as_without_mfa():
    document = build_policy_document(ACCOUNT, max_mfa_age_seconds=3600)
    fresh = {**MFA, "aws:MultiFactorAuthAge": "3600"}
    old = {**MFA, "aws:MultiFactorAuthAge": "3601"}
    assert beside_admin(document, "s3:ListAllMyBuckets", "*", fresh) is Decision.ALLOW
    assert beside_admin(document, "s3:ListAllMyBuckets", "*", old) is Decision.EXPLICIT_DENY
    assert beside_admin(document, "iam:EnableMFADevice", BOB, old) is Decision.EXPLICIT_DENY
    # The bootstrap set still works, so the user can renew the session.
    assert alone(document, "sts:GetSessionToken", "*", old) is Decision.ALLOW
    assert alone(document, "iam:ListMFADevices", ALICE[1], old) is Decision.ALLOW


# G6 self-service ----------------------------------------------------------------------------


@pytest.mark.parametrize("capability", SELF_SERVICE_NAMES)
def test_g6_each_capability_is_self_only_and_mfa_only(default_document, capability):
    for action in SELF_SERVICE[capability][1]:
        for own in ALICE:
            assert alone(default_document, action, own, MFA) is Decision.ALLOW
            for context in WITHOUT_MFA.values():
                assert beside_admin(default_document, action, own, context) is Decision.EXPLICIT_DENY
        assert alone(default_document, action, BOB, MFA) is Decision.IMPLICIT_DENY


def test_g6_a_capability_that_is_off_grants_nothing():
    document = build_policy_document(ACCOUNT, self_service=["password"])
    assert alone(document, "iam:ChangePassword", ALICE[0], MFA) is Decision.ALLOW
    assert alone(document, "iam:CreateAccessKey", ALICE[0], MFA) is Decision.IMPLICIT_DENY
    assert alone(document, "iam:UploadSSHPublicKey", ALICE[1], MFA) is Decision.IMPLICIT_DENY
    assert "AllowManageOwnAccessKeys" not in {s["Sid"] for s in document["Statement"]}


# G7 options ----------------------------------------------------------------------------------


def test_g7_password_change_without_mfa_on():
    document = build_policy_document(ACCOUNT, allow_password_change_without_mfa=True)
    for own in ALICE:
        assert alone(document, "iam:ChangePassword", own, CONSOLE) is Decision.ALLOW
    assert alone(document, "iam:GetAccountPasswordPolicy", "*", CONSOLE) is Decision.ALLOW
    assert alone(document, "iam:ChangePassword", BOB, CONSOLE) is not Decision.ALLOW
    assert beside_admin(document, "iam:ChangePassword", BOB, CONSOLE) is Decision.EXPLICIT_DENY


def test_g7_password_change_without_mfa_off_is_denied_even_beside_allow_all(default_document):
    for own in ALICE:
        assert beside_admin(default_document, "iam:ChangePassword", own, CONSOLE) is Decision.EXPLICIT_DENY


def test_g7_password_change_without_mfa_works_even_without_password_self_service():
    document = build_policy_document(ACCOUNT, allow_password_change_without_mfa=True, self_service=[])
    assert alone(document, "iam:ChangePassword", ALICE[1], CONSOLE) is Decision.ALLOW


def test_g7_list_users_option():
    on = build_policy_document(ACCOUNT, allow_list_users=True)
    off = build_policy_document(ACCOUNT)
    for action in ("iam:ListUsers", "iam:ListAccountAliases"):
        assert alone(on, action, "*", CONSOLE) is Decision.ALLOW
        assert beside_admin(off, action, "*", CONSOLE) is Decision.EXPLICIT_DENY


# G8 valid and small --------------------------------------------------------------------------


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov", "aws-iso-b", "aws-eusc"])
def test_g8_every_arn_names_the_partition_and_account(partition):
    document = build_policy_document(ACCOUNT, partition, **EVERY_OPTION)
    text = json.dumps(document)
    arns = [r for s in document["Statement"] for key in ("Resource", "NotResource") for r in _as_list(s.get(key))]
    assert arns
    for value in arns:
        assert value == "*" or value.startswith(f"arn:{partition}:iam::{ACCOUNT}:"), value
    assert "iam::*:" not in text


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


def test_g8_fits_aws_quota_with_every_option_on():
    document = build_policy_document(ACCOUNT, "aws-us-gov", **EVERY_OPTION)
    assert len(json.dumps(document, separators=(",", ":"))) <= MAX_POLICY_CHARACTERS


def test_g8_is_deterministic_whatever_the_option_order():
    first = build_policy_document(ACCOUNT, self_service=["ssh_public_keys", "password"], max_mfa_age_seconds=900)
    second = build_policy_document(ACCOUNT, self_service=("password", "ssh_public_keys"), max_mfa_age_seconds=900)
    assert json.dumps(first) == json.dumps(second)


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov", "aws-iso-b", "aws-eusc"])
def test_g8_the_linter_reports_nothing(partition):
    catalog = load_catalog()
    for options in (EVERY_OPTION, {}):
        document = build_policy_document(ACCOUNT, partition, **options)
        assert lint(document, catalog, partition=partition, account_id=ACCOUNT) == []


def test_g8_every_action_exists_in_the_catalog():
    catalog = load_catalog()
    document = build_policy_document(ACCOUNT, **EVERY_OPTION)
    for statement in document["Statement"]:
        for action in _as_list(statement.get("Action")) + _as_list(statement.get("NotAction")):
            found = catalog.get(action)
            assert found is not None and found.name == action, action  # exact spelling, too


def test_statement_ids_are_unique_and_stable():
    document = build_policy_document(ACCOUNT, **EVERY_OPTION)
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids))
    assert sids[-4:] == [
        "DenyAllExceptMfaBootstrapWithoutMfa",
        "DenyMfaBootstrapOnOtherUsersWithoutMfa",
        "DenyAllExceptMfaBootstrapWhenMfaIsOlderThanMaxAge",
        "DenyMfaBootstrapOnOtherUsersWhenMfaIsOlderThanMaxAge",
    ]


def test_no_arn_is_scoped_by_device_name_and_no_delete_device_grant(default_document):
    text = json.dumps(default_document)
    assert "mfa/${aws:username}" not in text
    allows = [s for s in default_document["Statement"] if s["Effect"] == "Allow"]
    assert all("iam:DeleteVirtualMFADevice" not in s["Action"] for s in allows)


# Errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"account_id": "12345"}, "account_id"),
        ({"account_id": "1111222233334"}, "account_id"),
        ({"account_id": "11112222333x"}, "account_id"),
        ({"partition": "aws-mars"}, "partition"),
        ({"self_service": ["passwords"]}, "self_service"),
        ({"self_service": "password"}, "self_service"),
        ({"max_mfa_age_seconds": 0}, "max_mfa_age_seconds"),
        ({"max_mfa_age_seconds": -5}, "max_mfa_age_seconds"),
        ({"max_mfa_age_seconds": "3600"}, "max_mfa_age_seconds"),
        ({"allow_list_users": "yes"}, "allow_list_users"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(arguments, key):
    call = {"account_id": ACCOUNT, **arguments}
    with pytest.raises(ValueError, match=f"^{key}: got ") as raised:
        build_policy_document(call.pop("account_id"), **call)
    assert isinstance(raised.value, InvalidInputError)


def test_editing_a_returned_document_does_not_change_the_next_one():
    first = build_policy_document("111122223333", max_mfa_age_seconds=60)
    for statement in first["Statement"]:
        statement.setdefault("Condition", {})["NotIpAddress"] = {"aws:SourceIp": "203.0.113.0/24"}
        for element in ("Resource", "NotResource"):
            if isinstance(statement.get(element), list):
                statement[element].append("arn:aws:iam::111122223333:user/mallory")
    assert "NotIpAddress" not in json.dumps(build_policy_document("111122223333", max_mfa_age_seconds=60))
    assert "mallory" not in json.dumps(build_policy_document("111122223333", max_mfa_age_seconds=60))
