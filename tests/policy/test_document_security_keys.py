"""mfa_devices="security_keys": the document's concrete cases, the reusable pieces, the input rules.

The catalog-wide proof (G1-G9 for every option combination) is in tests/verifier/test_guarantees.py.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from mfa_policy import build_policy_document
from mfa_policy.policy.document import (
    BOOTSTRAP_ACCOUNT_ACTIONS,
    BOOTSTRAP_DEVICE_ACTIONS,
    BOOTSTRAP_OWN_USER_ACTIONS,
    bootstrap_actions,
    device_type_statements,
)
from mfa_policy.policy.validation import (
    CERTIFICATION_LEVELS,
    InvalidInputError,
    check_mfa_devices,
    check_security_key_certification,
)
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision, evaluate
from mfa_policy.verifier.guarantees import ALLOW_ALL, MAX_POLICY_CHARACTERS
from mfa_policy.verifier.lint import lint

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEVICE = f"arn:aws:iam::{ACCOUNT}:mfa/My Phone"
CONTEXTS = {
    "keys": {"aws:username": "alice"},
    "console": {"aws:username": "alice", "aws:MultiFactorAuthPresent": "false"},
    "mfa": {"aws:username": "alice", "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60"},
}
CREATE = {"iam:RegisterSecurityKey": "Create"}
ACTIVATE = {"iam:RegisterSecurityKey": "Activate"}
EVERY_CERTIFICATION = {name: list(levels) for name, levels in CERTIFICATION_LEVELS.items()}
# SHA-256 of the minified default document before mfa_devices existed (commit 9330399).
DEFAULT_DIGEST = "713f7f2d28102530bce7991e59b67a6427c9136aed27f8101e7b708cfabb7800"


def beside_admin(document, action, resource, context):
    return evaluate([document, ALLOW_ALL], action, resource, context)


@pytest.fixture(scope="module")
def keys_only():
    return build_policy_document(ACCOUNT, mfa_devices="security_keys", security_key_certification={"fido": ["L2"]})


# The default is today's document, byte for byte --------------------------------------------


def test_any_is_the_default_and_changes_nothing():
    default = json.dumps(build_policy_document(ACCOUNT))
    assert json.dumps(build_policy_document(ACCOUNT, mfa_devices="any")) == default
    digest = hashlib.sha256(json.dumps(build_policy_document(ACCOUNT), separators=(",", ":")).encode()).hexdigest()
    assert digest == DEFAULT_DIGEST


# Enrollment by device type, next to allow-all, in every context ------------------------------


@pytest.mark.parametrize("context", CONTEXTS.values(), ids=CONTEXTS)
def test_only_security_keys_enroll(keys_only, context):
    assert beside_admin(keys_only, "iam:EnableMFADevice", ALICE, context) is Decision.EXPLICIT_DENY  # TOTP
    assert beside_admin(keys_only, "iam:CreateVirtualMFADevice", DEVICE, context) is Decision.EXPLICIT_DENY
    assert beside_admin(keys_only, "iam:EnableMFADevice", ALICE, {**context, **CREATE}) is Decision.ALLOW
    certified = {**context, **ACTIVATE, "iam:FIDO-certification": "L2"}
    assert beside_admin(keys_only, "iam:EnableMFADevice", ALICE, certified) is Decision.ALLOW
    too_low = {**context, **ACTIVATE, "iam:FIDO-certification": "L1"}
    assert beside_admin(keys_only, "iam:EnableMFADevice", ALICE, too_low) is Decision.EXPLICIT_DENY
    uncertified = {**context, **ACTIVATE}
    assert beside_admin(keys_only, "iam:EnableMFADevice", ALICE, uncertified) is Decision.EXPLICIT_DENY


def test_a_key_must_meet_every_listed_certification():
    document = build_policy_document(
        ACCOUNT,
        mfa_devices="security_keys",
        security_key_certification={"fido": ["L2"], "fips-140-3": ["L3"]},
    )
    both = {
        **CONTEXTS["console"],
        **ACTIVATE,
        "iam:FIDO-certification": "L2",
        "iam:FIDO-FIPS-140-3-certification": "L3",
    }
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, both) is Decision.ALLOW
    one = {**CONTEXTS["console"], **ACTIVATE, "iam:FIDO-certification": "L2", "iam:FIDO-FIPS-140-3-certification": "L2"}
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, one) is Decision.EXPLICIT_DENY


def test_without_a_certification_rule_any_security_key_enrolls():
    document = build_policy_document(ACCOUNT, mfa_devices="security_keys")
    context = {**CONTEXTS["keys"], **ACTIVATE}
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, context) is Decision.ALLOW


def test_security_keys_on_another_user_are_still_denied_without_mfa(keys_only):
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    context = {**CONTEXTS["console"], **CREATE}
    assert beside_admin(keys_only, "iam:EnableMFADevice", bob, context) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize("action", ["iam:ResyncMFADevice", "iam:ListVirtualMFADevices"])
def test_totp_only_actions_leave_the_bootstrap_set_but_stay_with_mfa(keys_only, action):
    resource = ALICE if action == "iam:ResyncMFADevice" else "*"
    assert beside_admin(keys_only, action, resource, CONTEXTS["console"]) is Decision.EXPLICIT_DENY
    assert beside_admin(keys_only, action, resource, CONTEXTS["mfa"]) is Decision.ALLOW


def test_the_shape_follows_the_options(keys_only):
    sids = [statement["Sid"] for statement in keys_only["Statement"]]
    assert "AllowCreateVirtualMfaDevice" not in sids
    assert sids[-3:] == [
        "DenyVirtualMfaDevices",
        "DenyMfaEnrollmentExceptSecurityKeys",
        "DenySecurityKeysWithoutFidoCertification",
    ]
    assert len(sids) == len(set(sids))


def test_valid_small_and_deterministic_with_every_option():
    options = {
        "allow_password_change_without_mfa": True,
        "allow_list_users": True,
        "max_mfa_age_seconds": 3600,
        "mfa_devices": "security_keys",
        "security_key_certification": EVERY_CERTIFICATION,
    }
    document = build_policy_document(ACCOUNT, "aws-us-gov", **options)
    assert len(json.dumps(document, separators=(",", ":"))) <= MAX_POLICY_CHARACTERS
    # Our lint knows the FIDO condition keys of iam:EnableMFADevice (from the catalog).
    assert lint(document, load_catalog(), partition="aws-us-gov", account_id=ACCOUNT) == []
    reordered = {"fips-140-3": ["L4", "L1", "L3", "L2"], "fido": list(reversed(EVERY_CERTIFICATION["fido"]))}
    reordered["fips-140-2"] = EVERY_CERTIFICATION["fips-140-2"]
    again = build_policy_document(ACCOUNT, "aws-us-gov", **{**options, "security_key_certification": reordered})
    assert json.dumps(again) == json.dumps(document)
    catalog = load_catalog()
    for statement in document["Statement"]:
        for action in statement.get("Action", []) + statement.get("NotAction", []):
            assert catalog.get(action) is not None, action


# The pieces another builder reuses ------------------------------------------------------------


def test_bootstrap_actions():
    every = bootstrap_actions()
    assert (every.own_user, every.devices, every.account) == (
        BOOTSTRAP_OWN_USER_ACTIONS,
        BOOTSTRAP_DEVICE_ACTIONS,
        BOOTSTRAP_ACCOUNT_ACTIONS,
    )
    keys = bootstrap_actions("security_keys", allow_list_users=True)
    assert keys.actions() == [
        "iam:EnableMFADevice",
        "iam:GetMFADevice",
        "iam:GetUser",
        "iam:ListAccountAliases",
        "iam:ListMFADevices",
        "iam:ListUsers",
        "sts:GetSessionToken",
    ]
    assert keys.devices == ()
    assert "iam:ChangePassword" in bootstrap_actions(allow_password_change_without_mfa=True).own_user


def test_device_type_statements():
    assert device_type_statements() == []
    assert device_type_statements("any") == []
    statements = device_type_statements("security_keys", {"fips-140-2": ["L2"]})
    assert [s["Sid"] for s in statements] == [
        "DenyVirtualMfaDevices",
        "DenyMfaEnrollmentExceptSecurityKeys",
        "DenySecurityKeysWithoutFips1402Certification",
    ]
    assert all(s["Effect"] == "Deny" and s["Resource"] == "*" for s in statements)
    document = build_policy_document(
        ACCOUNT, mfa_devices="security_keys", security_key_certification={"fips-140-2": ["L2"]}
    )
    assert document["Statement"][-3:] == statements


# Input rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "key", "fragment"),
    [
        ({"mfa_devices": "fido"}, "mfa_devices", "one of 'any', 'security_keys'"),
        ({"mfa_devices": None}, "mfa_devices", "one of"),
        (
            {"security_key_certification": {"fido": ["L2"]}},
            "security_key_certification",
            "mfa_devices is 'security_keys'",
        ),
        ({"mfa_devices": "any", "security_key_certification": {}}, "security_key_certification", "mfa_devices"),
        ({"mfa_devices": "security_keys", "security_key_certification": {}}, "security_key_certification", "non-empty"),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": "L2"}},
            "security_key_certification",
            "L1plus",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": []}},
            "security_key_certification",
            "non-empty",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L4"]}},
            "security_key_certification",
            "'fido' with levels from L1, L1plus",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L1+"]}},
            "security_key_certification",
            "L1plus",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fips-140-2": ["L5"]}},
            "security_key_certification",
            "'fips-140-2' with levels from L1, L2, L3, L4",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fips": ["L1"]}},
            "security_key_certification",
            "'fips-140-3'",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L2", "L2"]}},
            "security_key_certification",
            "distinct",
        ),
        (
            {"mfa_devices": "security_keys", "security_key_certification": ["fido"]},
            "security_key_certification",
            "mapping",
        ),
    ],
)
def test_bad_device_options_name_the_argument(arguments, key, fragment):
    with pytest.raises(InvalidInputError, match=f"^{key}: got ") as raised:
        build_policy_document(ACCOUNT, **arguments)
    assert fragment in str(raised.value)


def test_the_rules_return_canonical_values():
    assert check_mfa_devices("security_keys", "k") == "security_keys"
    assert check_security_key_certification({"fips-140-3": ["L3", "L1"], "fido": ("L2",)}) == {
        "fido": ("L2",),
        "fips-140-3": ("L1", "L3"),
    }

