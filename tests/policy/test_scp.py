"""build_scp_document: the denies of the managed policy, for IAM users only, within AWS's quota."""

from __future__ import annotations

import itertools
import json

import pytest

from mfa_policy import build_policy_document
from mfa_policy.policy.scp import MAX_SCP_CHARACTERS, build_scp_document, scp_json
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision, PolicySet
from mfa_policy.verifier.guarantees import ALLOW_ALL
from mfa_policy.verifier.lint import lint

OPTION_VALUES = {
    "allow_password_change_without_mfa": (False, True),
    "allow_list_users": (False, True),
    "max_mfa_age_seconds": (None, 43200),
}
COMBINATIONS = [
    {name: value for name, value in zip(OPTION_VALUES, values, strict=True) if value is not None}
    for values in itertools.product(*OPTION_VALUES.values())
]


@pytest.mark.parametrize("options", COMBINATIONS, ids=str)
@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_the_scp_is_the_managed_policys_denies_for_iam_users_only(options, partition):
    scp = build_scp_document(partition, **options)
    denies = [
        s for s in build_policy_document("111122223333", partition, **options)["Statement"] if s["Effect"] == "Deny"
    ]
    assert [s["Sid"] for s in scp["Statement"]] == [s["Sid"] for s in denies]
    for ours, theirs in zip(scp["Statement"], denies, strict=True):
        assert ours["Effect"] == "Deny"
        assert ours["Condition"] == {**theirs["Condition"], "StringEquals": {"aws:PrincipalType": "User"}}
        assert ours.get("NotAction") == theirs.get("NotAction") and ours.get("Action") == theirs.get("Action")
        resources = json.dumps(ours.get("NotResource", ours.get("Resource")))
        assert "111122223333" not in resources
        if "NotResource" in ours:
            assert ours["NotResource"] == [
                f"arn:{partition}:iam::*:user/${{aws:username}}",
                f"arn:{partition}:iam::*:user/*/${{aws:username}}",
            ]
    assert len(scp_json(scp)) <= MAX_SCP_CHARACTERS
    assert scp == build_scp_document(partition, **options)  # deterministic


def test_the_largest_scp_fits_with_room_to_spare():
    scp = build_scp_document(allow_password_change_without_mfa=True, allow_list_users=True, max_mfa_age_seconds=1)
    size = len(scp_json(scp))
    assert size <= MAX_SCP_CHARACTERS
    assert len(json.dumps(scp, indent=2)) > size  # the minified form is what counts, white space included


def test_self_service_only_grants_so_it_changes_nothing():
    assert build_scp_document(self_service=[]) == build_scp_document()


def test_the_lint_has_no_finding():
    # Any account (the SCP serves them all), this partition, within the SCP quota.
    for options in ({"allow_list_users": True, "max_mfa_age_seconds": 900}, {"mfa_devices": "security_keys"}):
        document = build_scp_document(**options)
        assert lint(document, load_catalog(), partition="aws", max_characters=MAX_SCP_CHARACTERS) == []


def test_the_options_follow_the_document_rules():
    with pytest.raises(InvalidInputError, match=r"^max_mfa_age_seconds: got -1"):
        build_scp_document(max_mfa_age_seconds=-1)
    with pytest.raises(InvalidInputError, match=r"^allow_list_users: got 'yes'"):
        build_scp_document(allow_list_users="yes")
    with pytest.raises(InvalidInputError, match=r"^group_names: .*no such option"):
        build_scp_document(group_names=["admins"])
    with pytest.raises(InvalidInputError, match=r"^partition: "):
        build_scp_document("aws-mars")


def test_an_scp_over_the_quota_is_refused(monkeypatch):
    import mfa_policy.policy.scp as scp_module

    monkeypatch.setattr(scp_module, "MAX_SCP_CHARACTERS", 500)
    with pytest.raises(InvalidInputError, match=r"quota of 500 characters \(this one has \d+\)"):
        scp_module.build_scp_document()


SCP_LAYER = PolicySet([build_scp_document(), ALLOW_ALL])
NO_MFA = {"aws:username": "alice", "aws:MultiFactorAuthPresent": "false"}


@pytest.mark.parametrize(
    ("principal_type", "expected"),
    [
        ("User", Decision.EXPLICIT_DENY),
        ("AssumedRole", Decision.ALLOW),
        ("FederatedUser", Decision.ALLOW),
        ("Account", Decision.ALLOW),
    ],
)
def test_only_iam_users_are_denied_without_mfa(principal_type, expected):
    context = {**NO_MFA, "aws:PrincipalType": principal_type}
    assert SCP_LAYER.evaluate("s3:ListAllMyBuckets", "*", context) is expected
    assert SCP_LAYER.evaluate("iam:EnableMFADevice", "arn:aws:iam::111122223333:user/bob", context) is expected


def test_an_iam_user_can_still_enroll_on_herself_under_the_scp():
    context = {**NO_MFA, "aws:PrincipalType": "User"}
    for resource in ("arn:aws:iam::111122223333:user/alice", "arn:aws:iam::444455556666:user/team/alice"):
        assert SCP_LAYER.evaluate("iam:EnableMFADevice", resource, context) is Decision.ALLOW
    assert SCP_LAYER.evaluate("iam:CreateVirtualMFADevice", "arn:aws:iam::1:mfa/x", context) is Decision.ALLOW
