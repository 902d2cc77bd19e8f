"""G1-G8 over the whole catalog: the project's policy for every option combination, the 2014
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


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
@pytest.mark.parametrize("every_option", [False, True])
def test_other_partitions_keep_every_guarantee(partition, every_option):
    options = {}
    if every_option:
        options = {"allow_password_change_without_mfa": True, "allow_list_users": True, "max_mfa_age_seconds": 60}
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


def project_policy():
    return intent_for_builder(TEST_ACCOUNT_ID, "aws")


def statement(document, sid):
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def drop(document, sid):
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != sid]


def broken(mutate):
    document, intent = project_policy()
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


def test_there_are_eight_guarantees():
    assert list(GUARANTEES) == [f"G{n}" for n in range(1, 9)]
