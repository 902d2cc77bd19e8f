"""``deciding_statement``: the same decision as the evaluator, and the statement that made it."""

from __future__ import annotations

import json

import pytest

from conftest import REFERENCE
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import (
    Deciding,
    Decision,
    LayeredPolicySet,
    PolicySet,
    deciding_statement,
    normalize_context,
)
from mfa_policy.verifier.guarantees import (
    ALLOW_ALL,
    TEST_ACCOUNT_ID,
    OrganizationVerifier,
    Verifier,
    intent_for_builder,
    intent_for_file,
)

ALICE = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/alice"
BOB = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/bob"
NO_MFA = normalize_context({"aws:username": "alice", "aws:MultiFactorAuthPresent": "false"})
MFA = normalize_context({"aws:username": "alice", "aws:MultiFactorAuthPresent": "true"})

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadOwn", "Effect": "Allow", "Action": "iam:Get*", "Resource": "arn:aws:iam::*:user/${aws:username}"},
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Sid": "NoMfaNoS3",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}


@pytest.mark.parametrize(
    ("action", "resource", "context", "expected"),
    [
        ("iam:GetUser", ALICE, NO_MFA, Deciding(Decision.ALLOW, 0, 0)),
        ("iam:GetUser", BOB, NO_MFA, Deciding(Decision.IMPLICIT_DENY)),
        ("s3:ListAllMyBuckets", "*", NO_MFA, Deciding(Decision.EXPLICIT_DENY, 0, 2)),
        ("s3:ListAllMyBuckets", "*", MFA, Deciding(Decision.ALLOW, 0, 1)),
        # AWS decides it outside policies: allowed, and no statement did it.
        ("sts:GetCallerIdentity", "*", NO_MFA, Deciding(Decision.ALLOW)),
    ],
)
def test_it_names_the_deciding_statement(action, resource, context, expected):
    assert deciding_statement(PolicySet([POLICY]), action, resource, context) == expected


def test_a_deny_wins_over_an_earlier_allow_and_the_first_applying_deny_is_named():
    policy = {
        "Statement": [
            {"Sid": "Allow", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "Unrelated", "Effect": "Deny", "Action": "ec2:*", "Resource": "*"},
            {"Sid": "First", "Effect": "Deny", "Action": "iam:*", "Resource": "*"},
            {"Sid": "Second", "Effect": "Deny", "Action": "iam:Get*", "Resource": "*"},
        ]
    }
    assert deciding_statement(PolicySet([policy]), "iam:GetUser", ALICE, MFA) == Deciding(Decision.EXPLICIT_DENY, 0, 2)


def test_positions_count_across_the_documents_of_a_set():
    policy_set = PolicySet([POLICY, ALLOW_ALL])
    assert deciding_statement(policy_set, "ec2:RunInstances", "*", MFA) == Deciding(Decision.ALLOW, 0, 3)


def test_layers_an_scp_deny_is_named_in_its_layer_and_an_allow_in_the_identity_policies():
    scp = {"Statement": [{"Sid": "GuardS3", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}
    full = {"Statement": [{"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    layered = LayeredPolicySet(PolicySet([POLICY]), [PolicySet([full]), PolicySet([full, scp])])
    assert deciding_statement(layered, "s3:DeleteBucket", "*", MFA) == Deciding(Decision.EXPLICIT_DENY, 2, 1)
    assert deciding_statement(layered, "s3:GetObject", "*", MFA) == Deciding(Decision.ALLOW, 0, 1)
    # The identity policies deny first: their Deny is named.
    assert deciding_statement(layered, "s3:DeleteBucket", "*", NO_MFA) == Deciding(Decision.EXPLICIT_DENY, 0, 2)
    # Allowed by every guard, but nothing in the identity policies allows it.
    assert deciding_statement(layered, "ec2:RunInstances", "*", MFA) == Deciding(Decision.IMPLICIT_DENY)
    assert deciding_statement(layered, "sts:GetSessionToken", "*", NO_MFA) == Deciding(Decision.ALLOW)


def _verifiers():
    catalog = load_catalog()
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, max_mfa_age_seconds=900)
    yield Verifier(document, intent, catalog)
    for name in ("seed-2014-policy.json", "aws-reference-policy.json"):
        policy = json.loads((REFERENCE / name).read_text())
        yield Verifier(policy, intent_for_file(policy), catalog)
    scp = build_scp_document("aws", max_mfa_age_seconds=900)
    yield OrganizationVerifier(document, intent, scp, catalog)


@pytest.mark.parametrize("verifier", list(_verifiers()), ids=["project", "seed-2014", "aws-reference", "organization"])
def test_its_decision_is_the_evaluators_for_every_iam_and_sts_request(verifier):
    """Over every IAM and STS action on each of its resources, in every context, both policy sets:
    the decision equals ``evaluate_normalized``'s, and a named statement has that effect."""
    compared = 0
    for policies, policy_set in verifier.policy_sets.items():
        layers = policy_set.layers if isinstance(policy_set, LayeredPolicySet) else [policy_set]
        for service in ("iam", "sts"):
            for action in verifier.catalog.service_actions(service):
                for resource in verifier.resources(action):
                    for context in verifier.contexts.values():
                        found = deciding_statement(policy_set, action.name, resource, context.values)
                        assert found.decision is verifier.decide(policies, action.name, resource, context)
                        if found.statement is not None:
                            statement = layers[found.layer].statements[found.statement]
                            assert statement.deny == (found.decision is Decision.EXPLICIT_DENY)
                            assert statement.covers_action(action.name)
                        compared += 1
    assert compared > 2000
