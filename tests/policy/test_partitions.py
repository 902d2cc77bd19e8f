"""Every partition AWS publishes, from data: the vendored file matches botocore's, and every partition
gets a policy that keeps the guarantees."""

from __future__ import annotations

import json

import pytest

from mfa_policy.policy import partitions as data
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.policy.validation import PARTITIONS, InvalidInputError, check_partition, check_region
from mfa_policy.program.project import partition_for_region

AWS_PUBLISHES = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")


def test_every_partition_aws_publishes_is_accepted():
    assert set(AWS_PUBLISHES) <= set(PARTITIONS)
    for partition in PARTITIONS:
        assert check_partition(partition) == partition
    with pytest.raises(InvalidInputError):
        check_partition("aws-mars")


def test_the_vendored_data_is_botocores():
    pytest.importorskip("botocore", reason="the audit extra brings botocore")
    from packaging.version import Version

    installed = data.from_botocore(data.read_botocore_partitions())
    vendored = json.loads(data.DATA_FILE.read_text())
    theirs, ours = installed["partitions"], vendored["partitions"]
    if Version(installed["botocoreVersion"]) < Version(vendored["botocoreVersion"]):
        # An older botocore (make test-lowest) knows fewer partitions, never others.
        assert {p["id"] for p in theirs} <= {p["id"] for p in ours}
        return
    # Partitions and their patterns must be the same; a region AWS adds later still matches its
    # partition's pattern, so ours may know fewer regions, never one botocore does not have.
    assert [(p["id"], p["dnsSuffix"], p["regionRegex"]) for p in ours] == [
        (p["id"], p["dnsSuffix"], p["regionRegex"]) for p in theirs
    ], "run: python -m mfa_policy.policy.partitions"
    for mine, botocore_entry in zip(ours, theirs, strict=True):
        assert set(mine["regions"]) <= set(botocore_entry["regions"]), mine["id"]


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-central-2", "aws"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-east-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eusc-de-east-1", "aws-eusc"),
        ("ap-southeast-9", "aws"),  # not yet known, but in aws's pattern
    ],
)
def test_regions_map_to_their_partition(region, partition):
    assert partition_for_region(region) == partition
    assert check_region(region) == region


@pytest.mark.parametrize("region", ["mars-1", "us-east", "US-EAST-1", "eusc-fr-east-1x"])
def test_a_region_in_no_partition_is_refused(region):
    with pytest.raises(InvalidInputError, match="in one of AWS's partitions"):
        check_region(region)


@pytest.mark.parametrize("partition", AWS_PUBLISHES)
def test_every_partition_gets_its_arns(partition):
    document = build_policy_document("111122223333", partition, max_mfa_age_seconds=3600)
    assert f"arn:{partition}:iam::111122223333:user/" in json.dumps(document)
    assert f"arn:{partition}:iam::*:user/" in json.dumps(build_scp_document(partition))


@pytest.mark.parametrize("partition", [p for p in AWS_PUBLISHES if p not in ("aws", "aws-cn", "aws-us-gov")])
def test_the_guarantees_hold_in_the_new_partitions(partition):
    from mfa_policy.verifier.catalog import load_catalog
    from mfa_policy.verifier.guarantees import check_all, intent_for_builder

    document, intent = intent_for_builder("111122223333", partition, allow_list_users=True)
    results = check_all(document, intent, load_catalog())
    assert {name: found[:1] for name, found in results.items() if found} == {}
