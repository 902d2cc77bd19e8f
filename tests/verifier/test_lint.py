"""Our own policy lint (G8): each check on a policy that has the problem, asserted by finding id."""

from __future__ import annotations

import itertools
import json

import pytest

from conftest import REFERENCE
from mfa_policy.policy.document import SELF_SERVICE_NAMES, build_policy_document
from mfa_policy.verifier.catalog import Catalog, load_catalog
from mfa_policy.verifier.lint import (
    CHECKS,
    DUPLICATE_SID,
    GLOBAL_CONDITION_KEYS,
    INVALID_SID,
    MALFORMED_ARN,
    POLICY_TOO_LARGE,
    RESOURCE_MISMATCH,
    RESOURCELESS_ACTION_ON_ARN,
    UNKNOWN_ACTION,
    UNKNOWN_CONDITION_KEY,
    WRONG_ACCOUNT,
    WRONG_PARTITION,
    could_match,
    is_global_condition_key,
    lint,
)

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": [{"Sid": f"S{i}", **s} for i, s in enumerate(statements)]}


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def ids(document, catalog, **where):
    return [(finding.id, finding.subject) for finding in lint(document, catalog, **where)]


def test_every_check_has_a_stable_id():
    assert set(CHECKS) == {
        UNKNOWN_ACTION,
        RESOURCE_MISMATCH,
        RESOURCELESS_ACTION_ON_ARN,
        UNKNOWN_CONDITION_KEY,
        MALFORMED_ARN,
        WRONG_PARTITION,
        WRONG_ACCOUNT,
        POLICY_TOO_LARGE,
        INVALID_SID,
        DUPLICATE_SID,
    }


# Unknown actions -------------------------------------------------------------------------------


def test_an_action_that_does_not_exist(catalog):
    document = policy(
        allow(["iam:UpdateAccessKeys", "iam:UpdateAccessKey", "IAM:getuser", "iam:Get*", "iam:Nothing*"]),
        {"Effect": "Deny", "NotAction": ["sts:GetSesionToken"], "Resource": "*"},
    )
    assert ids(document, catalog) == [
        (UNKNOWN_ACTION, "iam:UpdateAccessKeys"),  # a typo AWS would silently ignore
        (UNKNOWN_ACTION, "iam:Nothing*"),
        (UNKNOWN_ACTION, "sts:GetSesionToken"),
    ]


# Resources that never match ----------------------------------------------------------------------


def test_resources_that_never_match_the_actions_resource_types(catalog):
    document = policy(
        allow(["iam:CreateAccessKey", "iam:GetUser"], f"arn:aws:iam::{ACCOUNT}:mfa/*"),
        allow("iam:CreateAccessKey", [f"arn:aws:iam::{ACCOUNT}:mfa/*", USER]),  # one resource fits
        allow("iam:*AccessKey*", f"arn:aws:iam::{ACCOUNT}:role/*"),  # no action the pattern names fits
        allow("iam:*", f"arn:aws:iam::{ACCOUNT}:role/*"),  # some do
        allow("s3:GetObject", "arn:aws:s3:::bucket"),  # a bucket is not an object
        allow("s3:GetObject", "arn:aws:s3:::bucket/*"),
    )
    assert ids(document, catalog, account_id=ACCOUNT) == [
        (RESOURCE_MISMATCH, "iam:CreateAccessKey"),
        (RESOURCE_MISMATCH, "iam:GetUser"),
        (RESOURCE_MISMATCH, "iam:*AccessKey*"),
        (RESOURCE_MISMATCH, "s3:GetObject"),
    ]


def test_a_resourceless_action_given_a_specific_arn(catalog):
    document = policy(
        allow("iam:ListUsers", f"arn:aws:iam::{ACCOUNT}:user/*"),
        allow(["iam:ListUsers", "iam:GetUser"], ["*"]),
        allow("iam:ListVirtualMFADevices", [f"arn:aws:iam::{ACCOUNT}:mfa/*", "*"]),
        allow("sts:GetSessionToken", f"arn:aws:iam::{ACCOUNT}:*"),
    )
    assert ids(document, catalog) == [
        (RESOURCELESS_ACTION_ON_ARN, "iam:ListUsers"),
        (RESOURCELESS_ACTION_ON_ARN, "sts:GetSessionToken"),
    ]


def test_the_2014_policy_grants_five_resourceless_actions_on_user_and_device_arns(catalog):
    document = json.loads((REFERENCE / "seed-2014-policy.json").read_text())
    found = lint(document, catalog, partition="aws", account_id="xxx")
    assert sorted((f.id, f.subject) for f in found) == sorted(
        (RESOURCELESS_ACTION_ON_ARN, action)
        for action in (
            "iam:ListUsers",
            "iam:ListAccountAliases",
            "iam:GetAccountPasswordPolicy",
            "iam:GetAccountSummary",
            "iam:ListVirtualMFADevices",
        )
    )
    assert {f.statement for f in found} == {
        "AllowAllUsersToListAccounts",
        "AllowIndividualUserToSeeTheirAccountInformation",
        "AllowIndividualUserToListTheirMFA",
    }


@pytest.mark.parametrize(
    ("resource", "arn_format", "expected"),
    [
        (USER, "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", True),
        (f"arn:aws:iam::{ACCOUNT}:*", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", True),
        ("arn:aws:iam::*:user/*", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", True),
        (f"arn:aws:iam::{ACCOUNT}:mfa/*", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", False),
        ("arn:aws:s3:::b", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", False),
        ("arn:aws:s3:::b?/k", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:*:*:*:*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}", True),
        ("arn:aws:iam::*", "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}", False),  # 5 segments
    ],
)
def test_could_match(resource, arn_format, expected):
    assert could_match(resource, arn_format) is expected


# Condition keys ----------------------------------------------------------------------------------


def test_condition_keys_neither_global_nor_defined_for_the_actions(catalog):
    document = policy(
        allow("iam:GetUser", USER, Condition={"StringEquals": {"iam:ResourceTag/team": "a"}}),  # resource type's
        allow("iam:EnableMFADevice", USER, Condition={"StringEquals": {"iam:RegisterSecurityKey": "Create"}}),
        allow("iam:GetUser", USER, Condition={"StringEquals": {"aws:PrincipalTag/team": "a", "AWS:USERNAME": "a"}}),
        allow("s3:GetObject", "*", Condition={"StringLike": {"s3:ExistingObjectTag/team": "a"}}),
        allow("iam:GetUser", USER, Condition={"StringEquals": {"s3:prefix": "a"}}),  # another service's key
        allow("iam:GetUser", USER, Condition={"Bool": {"aws:MultiFactorAuthPresnt": "true"}}),  # a typo
        allow(["iam:GetUser", "s3:ListBucket"], "*", Condition={"StringLike": {"s3:prefix": "a/*"}}),
        {
            "Effect": "Deny",
            "NotAction": "iam:GetUser",
            "Resource": "*",
            "Condition": {"StringEquals": {"s3:prefix": "a", "aws:Nonsense": "a"}},
        },
        allow("*", Condition={"StringEquals": {"ec2:Region": "a", "aws:RequestedRegion": "eu-west-1"}}),
    )
    assert ids(document, catalog) == [
        (UNKNOWN_CONDITION_KEY, "s3:prefix"),
        (UNKNOWN_CONDITION_KEY, "aws:MultiFactorAuthPresnt"),
        (UNKNOWN_CONDITION_KEY, "aws:Nonsense"),  # with NotAction, aws: keys are still checked
    ]


def test_global_condition_keys_are_one_list_with_tag_keys():
    assert len(set(GLOBAL_CONDITION_KEYS)) == len(GLOBAL_CONDITION_KEYS)
    for key in ("aws:MultiFactorAuthPresent", "aws:multifactorauthage", "aws:RequestTag/Owner", "aws:SourceVpce"):
        assert is_global_condition_key(key), key
    for key in ("aws:RequestTag/", "aws:MultiFactorAuth", "iam:ResourceTag/team"):
        assert not is_global_condition_key(key), key


# ARNs and size ---------------------------------------------------------------------------------


def test_arns_in_the_wrong_partition_or_account_or_not_arns(catalog):
    document = policy(
        allow("iam:GetUser", f"arn:aws-cn:iam::{ACCOUNT}:user/alice"),
        allow("iam:GetUser", "arn:aws:iam::444455556666:user/alice"),
        allow("iam:GetUser", "arn:aws:iam::*:user/alice"),
        {"Effect": "Deny", "Action": "iam:GetUser", "NotResource": "user/alice"},
        allow("s3:GetObject", "arn:aws:s3:::bucket/*"),  # S3 ARNs name no account
        allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/alice"),
    )
    assert ids(document, catalog, partition="aws", account_id=ACCOUNT) == [
        (WRONG_PARTITION, f"arn:aws-cn:iam::{ACCOUNT}:user/alice"),
        (WRONG_ACCOUNT, "arn:aws:iam::444455556666:user/alice"),
        (WRONG_ACCOUNT, "arn:aws:iam::*:user/alice"),
        (MALFORMED_ARN, "user/alice"),
    ]
    assert ids(document, catalog, partition="aws")[-1:] == [(MALFORMED_ARN, "user/alice")]  # account not checked


def test_the_size_limit(catalog):
    statement = allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/{'a' * 60}")
    small = policy(*[statement] * 10)
    assert ids(small, catalog) == []
    assert ids(policy(*[statement] * 80), catalog) == [(POLICY_TOO_LARGE, "size")]
    assert ids(small, catalog, max_characters=100) == [(POLICY_TOO_LARGE, "size")]


# Statement IDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sid", ["<script>alert(1)</script>", "Allow MFA", "Allow-MFA", "Allow_MFA", "Ünicode", "", 7])
def test_a_sid_iam_refuses(catalog, sid):
    document = {"Version": "2012-10-17", "Statement": [{"Sid": sid, **allow("iam:GetUser")}]}
    assert ids(document, catalog) == [(INVALID_SID, json.dumps(sid))]


def test_a_sid_of_letters_and_digits_passes_and_a_repeated_one_does_not(catalog):
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "AllowGetUser2", **allow("iam:GetUser")}]}
    assert ids(document, catalog) == []
    document["Statement"].append({"Sid": "AllowGetUser2", **allow("iam:ListMFADevices")})
    assert ids(document, catalog) == [(DUPLICATE_SID, "AllowGetUser2")]


def test_our_documents_have_valid_distinct_sids_with_every_option(catalog):
    from mfa_policy.policy.scp import build_scp_document
    from mfa_policy.policy.validation import CERTIFICATION_LEVELS

    every = {
        "allow_password_change_without_mfa": True,
        "allow_list_users": True,
        "max_mfa_age_seconds": 900,
        "mfa_devices": "security_keys",
        "security_key_certification": {name: levels[:1] for name, levels in CERTIFICATION_LEVELS.items()},
    }
    for document in (build_policy_document(ACCOUNT, **every), build_scp_document("aws", **every)):
        assert [f for f in lint(document, catalog) if f.id in (INVALID_SID, DUPLICATE_SID)] == []


# Our own documents -------------------------------------------------------------------------------


def test_our_documents_have_no_finding_in_any_option_combination(catalog):
    for password, list_users, max_age, partition in itertools.product(
        [False, True], [False, True], [None, 900], ["aws", "aws-cn", "aws-us-gov"]
    ):
        for size in range(len(SELF_SERVICE_NAMES) + 1):
            for subset in itertools.combinations(SELF_SERVICE_NAMES, size):
                document = build_policy_document(
                    ACCOUNT,
                    partition,
                    allow_password_change_without_mfa=password,
                    allow_list_users=list_users,
                    self_service=subset,
                    max_mfa_age_seconds=max_age,
                )
                assert lint(document, catalog, partition=partition, account_id=ACCOUNT) == [], (
                    password,
                    list_users,
                    max_age,
                    partition,
                    subset,
                )
