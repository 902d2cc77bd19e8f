"""G1-G9 and G11 over the whole catalog: the project's policy for every option combination, the 2014
and AWS policies with their concrete counterexamples, and each check caught by a broken policy."""

from __future__ import annotations

import copy
import itertools
import json

import pytest

from conftest import REFERENCE
from mfa_policy.policy.document import SELF_SERVICE_NAMES
from mfa_policy.verifier.evaluation import Decision
from mfa_policy.verifier.guarantees import (
    GUARANTEES,
    NEXT_TO_ALLOW_ALL,
    TEST_ACCOUNT_ID,
    Intent,
    Verifier,
    check_all,
    check_g1,
    intent_for_builder,
    intent_for_file,
    registrations,
)

SELF_SERVICE_SUBSETS = [
    subset for size in range(len(SELF_SERVICE_NAMES) + 1) for subset in itertools.combinations(SELF_SERVICE_NAMES, size)
]
COMBINATIONS = list(itertools.product([False, True], [False, True], SELF_SERVICE_SUBSETS, [None, 900]))


def failures(results):
    return {name: [str(c) for c in found[:3]] for name, found in results.items() if found}


@pytest.mark.parametrize(
    ("password", "list_users", "self_service", "max_age"),
    COMBINATIONS,
    ids=[f"pw{int(p)}-lu{int(u)}-{'+'.join(s) or 'none'}-age{a}" for p, u, s, a in COMBINATIONS],
)
def test_every_option_combination_keeps_every_guarantee(password, list_users, self_service, max_age):
    options = {
        "allow_password_change_without_mfa": password,
        "allow_list_users": list_users,
        "self_service": self_service,
    }
    if max_age is not None:
        options["max_mfa_age_seconds"] = max_age
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)
    assert failures(check_all(document, intent)) == {}


# mfa_devices="security_keys" over every combination of the other options. The certification
# rule only adds EnableMFADevice denies at Activate, independent of the other options, so each
# combination takes the next rule in turn (every rule meets every value of every other option)
# instead of multiplying the suite by four.
CERTIFICATIONS = [
    None,
    {"fido": ["L2", "L3"]},
    {"fips-140-2": ["L2"], "fips-140-3": ["L3", "L4"]},
    {"fido": ["L1", "L1plus", "L2", "L2plus", "L3", "L3plus"], "fips-140-2": ["L4"], "fips-140-3": ["L1"]},
]
SECURITY_KEY_COMBINATIONS = [
    (*combination, CERTIFICATIONS[index % len(CERTIFICATIONS)]) for index, combination in enumerate(COMBINATIONS)
]


@pytest.mark.parametrize(
    ("password", "list_users", "self_service", "max_age", "certification"),
    SECURITY_KEY_COMBINATIONS,
    ids=[
        f"pw{int(p)}-lu{int(u)}-{'+'.join(s) or 'none'}-age{a}-{'+'.join(c or ['any-cert'])}"
        for p, u, s, a, c in SECURITY_KEY_COMBINATIONS
    ],
)
def test_security_keys_only_keeps_every_guarantee(password, list_users, self_service, max_age, certification):
    options = {
        "allow_password_change_without_mfa": password,
        "allow_list_users": list_users,
        "self_service": self_service,
        "mfa_devices": "security_keys",
    }
    if max_age is not None:
        options["max_mfa_age_seconds"] = max_age
    if certification is not None:
        options["security_key_certification"] = certification
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)
    assert intent.security_keys_only
    assert failures(check_all(document, intent)) == {}


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("every_option", [False, True])
def test_other_partitions_keep_every_guarantee(partition, every_option):
    options = {}
    if every_option:
        options = {
            "allow_password_change_without_mfa": True,
            "allow_list_users": True,
            "max_mfa_age_seconds": 60,
            "mfa_devices": "security_keys",
            "security_key_certification": CERTIFICATIONS[-1],
        }
    document, intent = intent_for_builder("444455556666", partition, **options)
    assert failures(check_all(document, intent)) == {}


def load(name):
    return json.loads((REFERENCE / name).read_text())


def test_the_2014_policy_fails_g1_g2_and_g4_with_concrete_counterexamples():
    document = load("seed-2014-policy.json")
    intent = intent_for_file(document)
    assert intent.account_id == "xxx"  # read from its ARNs
    results = check_all(document, intent)
    g1 = {(c.action, c.resource, c.context) for c in results["G1"]}
    assert ("iam:CreateUser", "arn:aws:iam::xxx:user/bob", "keys") in g1  # NotAction iam:* left IAM open
    assert ("iam:AttachUserPolicy", "arn:aws:iam::xxx:user/alice", "console") in g1
    g2 = {(c.action, c.resource, c.context, c.decision) for c in results["G2"]}
    assert ("iam:GetUser", "arn:aws:iam::xxx:user/alice", "keys", "ImplicitDeny") in g2
    assert ("iam:CreateVirtualMFADevice", "arn:aws:iam::xxx:mfa/My Phone", "console", "ImplicitDeny") in g2
    g4 = {(c.action, c.resource, c.context, c.decision) for c in results["G4"]}
    assert ("iam:DeactivateMFADevice", "arn:aws:iam::xxx:user/alice", "console", "Allow") in g4


def test_the_aws_reference_policy_fails_g1_and_g2():
    document = load("aws-reference-policy.json")
    results = check_all(document, intent_for_file(document))
    g1 = {(c.action, c.resource, c.context) for c in results["G1"]}
    # Beside an admin policy, a user without MFA enrolls a device on a colleague.
    assert ("iam:EnableMFADevice", f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/bob", "keys") in g1
    g2 = {(c.action, c.resource, c.context) for c in results["G2"]}
    assert ("iam:EnableMFADevice", f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/team/alice", "console") in g2
    assert ("iam:GetMFADevice", f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/alice", "keys") in g2
    assert results["G8"]  # account * in its ARNs


# Each guarantee's check must catch a policy that breaks it -----------------------------------


def project_policy(**options):
    return intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)


def statement(document, sid):
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def drop(document, sid):
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != sid]


def broken(mutate, **options):
    document, intent = project_policy(**options)
    document = copy.deepcopy(document)
    mutate(document)
    return {
        name for name, found in check_all(document, Intent(**{**intent.__dict__, "rebuild": None})).items() if found
    }


def test_g1_catches_a_missing_other_users_deny():
    assert "G1" in broken(lambda d: drop(d, "DenyMfaBootstrapOnOtherUsersWithoutMfa"))


def test_g1_catches_bool_instead_of_bool_if_exists():
    def mutate(d):
        statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["Condition"] = {
            "Bool": {"aws:MultiFactorAuthPresent": "false"}
        }

    assert "G1" in broken(mutate)


def test_g1_catches_an_iam_wildcard_in_not_action():
    assert "G1" in broken(lambda d: statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["NotAction"].append("iam:*"))


def test_g2_needs_no_allow_for_get_session_token_which_aws_never_denies():
    def mutate(d):
        allowed = statement(d, "AllowAccountLevelMfaActions")["Action"]
        allowed.remove("sts:GetSessionToken")
        d["Statement"].append({"Effect": "Deny", "Action": "sts:GetSessionToken", "Resource": "*"})

    assert broken(mutate) == set()


def test_g1_leaves_get_caller_identity_to_aws():
    # No policy can deny sts:GetCallerIdentity: the evaluator allows it, and G1 does not ask otherwise.
    verifier = Verifier(*project_policy())
    keys = verifier.contexts["keys"]
    assert verifier.decide(NEXT_TO_ALLOW_ALL, "sts:GetCallerIdentity", "*", keys) is Decision.ALLOW
    assert check_g1(verifier) == []


def test_g2_catches_device_creation_scoped_by_user_name():
    def mutate(d):
        statement(d, "AllowCreateVirtualMfaDevice")["Resource"] = (
            f"arn:aws:iam::{TEST_ACCOUNT_ID}:mfa/${{aws:username}}"
        )

    assert "G2" in broken(mutate)


def test_g2_catches_users_with_paths_left_out():
    def mutate(d):
        for s in d["Statement"]:
            for key in ("Resource", "NotResource"):
                if isinstance(s.get(key), list):
                    s[key] = [r for r in s[key] if "user/*/" not in r]

    assert "G2" in broken(mutate)


def test_g3_catches_a_grant_on_every_user():
    def mutate(d):
        statement(d, "AllowManageOwnAccessKeys")["Resource"] = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/*"

    assert "G3" in broken(mutate)


def test_g4_catches_deactivation_without_mfa():
    assert "G4" in broken(
        lambda d: statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["NotAction"].append("iam:DeactivateMFADevice")
    )


def test_g5_catches_collateral_damage():
    assert "G5" in broken(lambda d: d["Statement"].append({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}))


def test_g6_catches_self_service_without_mfa():
    assert "G6" in broken(
        lambda d: statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["NotAction"].append("iam:CreateAccessKey")
    )


def test_g7_catches_password_change_without_mfa_when_the_option_is_off():
    assert "G7" in broken(
        lambda d: statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["NotAction"].append("iam:ChangePassword")
    )


def broken_g8(mutate):
    document, intent = project_policy()
    document = copy.deepcopy(document)
    mutate(document)
    return {c.finding for c in check_all(document, Intent(**{**intent.__dict__, "rebuild": None}))["G8"]}


@pytest.mark.parametrize(
    ("mutate", "finding"),
    [
        (lambda d: statement(d, "AllowManageOwnMfaDevices")["Action"].append("iam:UpdateAccessKeys"), "UNKNOWN_ACTION"),
        (
            lambda d: statement(d, "AllowCreateVirtualMfaDevice").update(Resource="arn:aws:iam::*:mfa/*"),
            "WRONG_ACCOUNT",
        ),
        (
            lambda d: statement(d, "AllowCreateVirtualMfaDevice").update(Resource="arn:aws-cn:iam::111122223333:mfa/*"),
            "WRONG_PARTITION",
        ),
        (
            lambda d: statement(d, "AllowAccountLevelMfaActions").update(Resource="arn:aws:iam::111122223333:user/*"),
            "RESOURCELESS_ACTION_ON_ARN",
        ),
        (
            lambda d: statement(d, "AllowManageOwnAccessKeys").update(Resource="arn:aws:iam::111122223333:mfa/*"),
            "RESOURCE_MISMATCH",
        ),
        (
            lambda d: statement(d, "DenyAllExceptMfaBootstrapWithoutMfa").update(
                Condition={"BoolIfExists": {"aws:MultiFactorAuthPresnt": "false"}}
            ),
            "UNKNOWN_CONDITION_KEY",
        ),
        (lambda d: d["Statement"].extend([statement(d, "AllowManageOwnAccessKeys")] * 40), "POLICY_TOO_LARGE"),
    ],
    ids=["unknown-action", "any-account", "other-partition", "resourceless-on-arn", "mismatch", "key", "too-large"],
)
def test_g8_catches_an_invalid_or_large_policy(mutate, finding):
    assert finding in broken_g8(mutate)


def test_g8_catches_non_determinism():
    document, intent = project_policy()
    changing = iter(range(10**6))
    unstable = Intent(**{**intent.__dict__, "rebuild": lambda: {**document, "Id": str(next(changing))}})
    assert [c.action for c in check_all(document, unstable)["G8"]] == ["determinism"]


SECURITY_KEYS = {"mfa_devices": "security_keys"}
CERTIFIED_KEYS = {**SECURITY_KEYS, "security_key_certification": {"fido": ["L2", "L3"]}}


def test_g9_catches_totp_enrollment_allowed():
    assert "G9" in broken(lambda d: drop(d, "DenyMfaEnrollmentExceptSecurityKeys"), **SECURITY_KEYS)


def test_g9_catches_virtual_device_creation_allowed():
    assert "G9" in broken(lambda d: drop(d, "DenyVirtualMfaDevices"), **SECURITY_KEYS)


def test_g9_catches_a_missing_certification_check():
    assert "G9" in broken(lambda d: drop(d, "DenySecurityKeysWithoutFidoCertification"), **CERTIFIED_KEYS)


def test_g9_catches_a_certification_check_that_accepts_any_level():
    def mutate(d):
        condition = statement(d, "DenySecurityKeysWithoutFidoCertification")["Condition"]
        del condition["StringNotEquals"]
        condition["StringNotLike"] = {"iam:FIDO-certification": "L*"}

    assert "G9" in broken(mutate, **CERTIFIED_KEYS)


def test_g9_catches_a_certification_check_at_create():
    # Certification keys are absent at Create: checking them there blocks every key (G2 too).
    def mutate(d):
        del statement(d, "DenySecurityKeysWithoutFidoCertification")["Condition"]["StringEquals"]

    assert {"G2", "G9"} <= broken(mutate, **CERTIFIED_KEYS)


def test_g9_catches_an_allow_only_policy_like_the_aws_example():
    # AWS's example allows EnableMFADevice only in a key registration; next to allow-all that
    # restricts nothing, so TOTP enrollment still works.
    def mutate(d):
        for sid in ("DenyMfaEnrollmentExceptSecurityKeys", "DenyVirtualMfaDevices"):
            drop(d, sid)
        statement(d, "AllowManageOwnMfaDevices")["Condition"] = {
            "StringEqualsIfExists": {"iam:RegisterSecurityKey": ["Create", "Activate"]}
        }

    assert "G9" in broken(mutate, **SECURITY_KEYS)


def test_g9_catches_a_document_that_does_not_match_the_intended_device_types():
    any_document, any_intent = project_policy()
    keys_document, keys_intent = project_policy(**SECURITY_KEYS)
    assert check_all(any_document, Intent(**{**keys_intent.__dict__, "rebuild": None}))["G9"]
    assert check_all(keys_document, Intent(**{**any_intent.__dict__, "rebuild": None}))["G9"]


def test_g2_catches_security_key_enrollment_blocked_without_mfa():
    def mutate(d):
        statement(d, "DenyMfaEnrollmentExceptSecurityKeys")["Condition"] = {
            "StringNotEquals": {"iam:RegisterSecurityKey": "Activate"}
        }

    assert "G2" in broken(mutate, **SECURITY_KEYS)


@pytest.mark.parametrize("action", ["iam:ResyncMFADevice", "iam:ListVirtualMFADevices", "iam:DeactivateMFADevice"])
def test_g5_still_catches_collateral_damage_with_security_keys(action):
    # G5 leaves out only the two requests security_keys denies on purpose.
    assert "G5" in broken(
        lambda d: d["Statement"].append({"Effect": "Deny", "Action": action, "Resource": "*"}), **SECURITY_KEYS
    )


def test_g1_checks_the_smaller_bootstrap_set():
    # With security_keys, resync and virtual devices are not part of the bootstrap set.
    def mutate(d):
        statement(d, "DenyAllExceptMfaBootstrapWithoutMfa")["NotAction"].append("iam:ResyncMFADevice")

    assert "G1" in broken(mutate, **SECURITY_KEYS)
    assert "G1" not in broken(mutate)


def test_registration_variants():
    _, intent = project_policy(**CERTIFIED_KEYS)
    variants = {r.name: (dict(r.keys), r.enrolls) for r in registrations(intent)}
    assert variants["totp"] == ({}, False)
    assert variants["key-create"] == ({"iam:RegisterSecurityKey": "Create"}, True)
    assert variants["key-activate"][0]["iam:FIDO-certification"] == "L2"
    assert variants["key-activate"][1] is True
    assert variants["key-activate-uncertified"] == ({"iam:RegisterSecurityKey": "Activate"}, False)
    assert variants["key-activate-fido-not-accepted"][0]["iam:FIDO-certification"] == "L1"
    assert variants["key-activate-fido-not-accepted"][1] is False
    _, anything = project_policy()
    assert all(r.enrolls for r in registrations(anything))


def test_the_guarantees_are_g1_to_g9_and_g11():
    # G10 is the organization guardrail's (organization_guarantees).
    assert list(GUARANTEES) == [*(f"G{n}" for n in range(1, 10)), "G11"]


@pytest.mark.parametrize(
    ("operator", "key", "value"),
    [
        ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24"),
        ("StringNotEquals", "aws:PrincipalTag/mfa-exempt", "true"),
        # The contexts only ever hold alice's name: a Deny that exempts other names is unproven.
        ("StringNotLike", "aws:username", "*-breakglass"),
    ],
)
def test_a_deny_on_a_key_the_verifier_does_not_vary_fails_g1(operator, key, value):
    # Requests from that range (or with that tag) are not denied: the lockdown is not proven.
    document, intent = intent_for_builder(TEST_ACCOUNT_ID)
    for statement in document["Statement"]:
        if statement["Effect"] == "Deny":
            statement["Condition"][operator] = {key: value}
    found = check_all(document, intent)["G1"]
    assert {c.action for c in found} == {key}
    assert all("does not vary" in c.decision for c in found)


def test_a_deny_whose_resource_reads_a_key_the_verifier_does_not_vary_fails_g1():
    # A user tagged exempt=<her own name> would not be locked down on her own user.
    document, intent = intent_for_builder(TEST_ACCOUNT_ID)
    lockdown = next(s for s in document["Statement"] if s["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa")
    del lockdown["Resource"]
    lockdown["NotResource"] = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/${{aws:PrincipalTag/exempt}}"
    found = check_all(document, Intent(**{**intent.__dict__, "rebuild": None}))["G1"]
    assert [c.action for c in found] == ["aws:PrincipalTag/exempt"]


def test_without_version_2012_10_17_a_variable_in_a_deny_is_text_and_depends_on_no_key():
    # AWS reads ${...} literally without "Version": "2012-10-17": the Deny's NotResource is one
    # odd user name, not a tag every request may carry, so G1 has no unvaried key to report.
    document, intent = intent_for_builder(TEST_ACCOUNT_ID)
    lockdown = next(s for s in document["Statement"] if s["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa")
    del lockdown["Resource"]
    lockdown["NotResource"] = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/${{aws:PrincipalTag/exempt}}"
    del document["Version"]
    found = check_g1(Verifier(document, Intent(**{**intent.__dict__, "rebuild": None})))
    assert "aws:PrincipalTag/exempt" not in [c.action for c in found]
