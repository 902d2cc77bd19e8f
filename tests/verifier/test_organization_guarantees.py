"""The organization guardrail: G1-G8 under the SCP and FullAWSAccess, and G10, for every option
combination that shapes the SCP; each G10 clause caught by a deliberately broken SCP."""

from __future__ import annotations

import copy
import itertools

import pytest

from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision
from mfa_policy.verifier.guarantees import (
    ALLOW_ALL,
    NEXT_TO_ALLOW_ALL,
    TEST_ACCOUNT_ID,
    OrganizationVerifier,
    check_all_organization,
    check_g10,
    intent_for_builder,
)

CATALOG = load_catalog()
# self_service only grants (it is not in the SCP); two subsets are enough here, test_guarantees
# covers all of them for the identity policy alone.
COMBINATIONS = [
    ("aws", *combination)
    for combination in itertools.product([False, True], [False, True], [None, 900], [(), ("password", "access_keys")])
] + [("aws-cn", True, True, 900, ()), ("aws-us-gov", False, False, None, ("password",))]


def failures(results):
    return {name: [str(c) for c in found[:3]] for name, found in results.items() if found}


@pytest.mark.parametrize(("partition", "password", "list_users", "max_age", "self_service"), COMBINATIONS, ids=str)
def test_every_guarantee_holds_under_the_scp(partition, password, list_users, max_age, self_service):
    options = {
        "allow_password_change_without_mfa": password,
        "allow_list_users": list_users,
        "self_service": self_service,
    }
    if max_age is not None:
        options["max_mfa_age_seconds"] = max_age
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, partition, **options)
    scp = build_scp_document(partition, **options)
    results = check_all_organization(document, intent, scp, CATALOG)
    assert list(results)[-2:] == ["G10", "G11"] and {"G1", "G5", "G8"} <= set(results)
    assert failures(results) == {}


def g10(scp, **options):
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)
    return check_g10(OrganizationVerifier(document, intent, scp, CATALOG))


def test_an_scp_without_the_principal_type_condition_fails_g10():
    broken = build_scp_document()
    for statement in broken["Statement"]:
        del statement["Condition"]["StringEquals"]
    found = g10(broken)
    contexts = {c.context.split(",")[0] for c in found}
    assert {"assumed role", "federated user", "root user"} <= contexts
    assert any(c.action == "s3:ListAllMyBuckets" and c.context == "assumed role, keys" for c in found)


def test_an_scp_that_misses_the_root_user_fails_g10():
    broken = build_scp_document()
    for statement in broken["Statement"]:
        statement["Condition"]["StringEquals"]["aws:PrincipalType"] = ["User", "Account"]
    contexts = {c.context for c in g10(broken)}
    assert contexts and all(context.startswith("root user") for context in contexts)


def test_an_empty_scp_leaves_a_user_in_no_group_open():
    empty = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "none:none", "Resource": "*"}]}
    found = g10(empty)
    assert found and all(c.context.startswith("IAM user in no group, ") for c in found)
    assert any(c.action == "s3:ListAllMyBuckets" and c.decision == "Allow" for c in found)


def test_an_scp_that_also_denies_enrollment_locks_users_out():
    broken = build_scp_document()
    first = broken["Statement"][0]
    first["Action"] = "*"
    del first["NotAction"]
    found = g10(broken)
    assert any(c.action == "iam:EnableMFADevice" and c.expected == "Allow" for c in found)


def test_an_scp_without_the_deny_on_other_users_fails_g1_for_a_user_in_no_group():
    broken = copy.deepcopy(build_scp_document())
    broken["Statement"] = broken["Statement"][:1]
    found = g10(broken)
    assert found and all(c.resource.endswith(("user/bob", "user/team/bob")) for c in found)


def test_the_scp_layer_is_in_the_decisions():
    _, intent = intent_for_builder(TEST_ACCOUNT_ID)
    verifier = OrganizationVerifier(ALLOW_ALL, intent, build_scp_document(), CATALOG)
    keys = verifier.contexts["keys"]
    assert verifier.decide(NEXT_TO_ALLOW_ALL, "s3:ListAllMyBuckets", "*", keys) is Decision.EXPLICIT_DENY
    assert verifier.decide(NEXT_TO_ALLOW_ALL, "s3:ListAllMyBuckets", "*", verifier.contexts["mfa"]) is Decision.ALLOW


SECURITY_KEYS = [
    {"mfa_devices": "security_keys"},
    {"mfa_devices": "security_keys", "security_key_certification": {"fido": ["L2", "L3"]}},
]
DEVICE_DENIES = ("DenyVirtual", "DenyMfaEnroll", "DenySecurityKeys")


@pytest.mark.parametrize("options", SECURITY_KEYS, ids=["keys", "keys+certification"])
def test_security_keys_only_holds_under_the_scp(options):
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)
    assert failures(check_all_organization(document, intent, build_scp_document("aws", **options), CATALOG)) == {}


@pytest.mark.parametrize("options", SECURITY_KEYS, ids=["keys", "keys+certification"])
def test_an_scp_without_the_device_type_denies_lets_a_user_in_no_group_enroll_totp(options):
    # The managed policy has its own device-type denies; G10 checks the SCP alone keeps G9 for a
    # user in no group, so an SCP that drops them must fail.
    broken = build_scp_document("aws", **options)
    broken["Statement"] = [s for s in broken["Statement"] if not s["Sid"].startswith(DEVICE_DENIES)]
    found = g10(broken, **options)
    assert found and all(c.context.startswith("IAM user in no group, ") for c in found)
    assert {"iam:EnableMFADevice", "iam:CreateVirtualMFADevice"} <= {c.action for c in found}
