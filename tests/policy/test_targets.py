"""Organization targets, regions, call_as and names: each rule names the key and the value."""

import pytest

from mfa_policy.policy.validation import (
    InvalidInputError,
    check_call_as,
    check_region,
    check_scp_name,
    check_stack_set_name,
    check_targets,
    target_kind,
)

GOOD = ["r-ab12", "r-" + "a" * 32, "ou-ab12-cd34ef56", "ou-" + "a" * 32 + "-" + "9" * 32, "111122223333"]


def test_valid_targets_pass_in_order_and_have_a_kind():
    assert check_targets(GOOD) == tuple(GOOD)
    assert [target_kind(t) for t in GOOD] == ["root", "root", "ou", "ou", "account"]


@pytest.mark.parametrize(
    "target",
    [
        "x-ab12",  # wrong prefix
        "R-ab12",  # upper case
        "r-abc",  # root part too short
        "r-" + "a" * 33,  # too long
        "ou-ab12-cd34ef5",  # OU part too short
        "ou-ab12-" + "c" * 33,  # OU part too long
        "ou-ab12",  # no OU part
        "ou-AB12-cd34ef56",
        "11112222333",  # 11 digits
        "1111222233334",
        "arn:aws:organizations::111122223333:ou/o-x/ou-ab12-cd34ef56",
        "",
        12345678901,
    ],
)
def test_a_bad_target_names_the_key_and_the_target(target):
    with pytest.raises(InvalidInputError, match=r"^targets: got .*expected a non-empty list of distinct organization"):
        check_targets(["r-ab12", target])


@pytest.mark.parametrize("value", [[], "r-ab12", {"r-ab12": 1}, None])
def test_targets_must_be_a_non_empty_list(value):
    with pytest.raises(InvalidInputError, match=r"^targets: "):
        check_targets(value)


def test_duplicates_are_named():
    with pytest.raises(InvalidInputError, match=r"ou-ab12-cd34ef56 appears more than once"):
        check_targets(["ou-ab12-cd34ef56", "r-ab12", "ou-ab12-cd34ef56"])


def test_the_key_is_the_callers():
    with pytest.raises(InvalidInputError, match=r"^mfa-policy:organization.targets: "):
        check_targets([], "mfa-policy:organization.targets")


@pytest.mark.parametrize("value", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-2"])
def test_regions(value):
    assert check_region(value) == value


@pytest.mark.parametrize("value", ["", "US-EAST-1", "us-east", "useast1", 1, "global"])
def test_bad_regions(value):
    with pytest.raises(InvalidInputError, match=r"^region: .*region name"):
        check_region(value)


def test_call_as():
    assert check_call_as("SELF") == "SELF"
    assert check_call_as("DELEGATED_ADMIN") == "DELEGATED_ADMIN"
    for bad in ("self", "ADMIN", None):
        with pytest.raises(InvalidInputError, match=r"^call_as: .*'SELF'.*'DELEGATED_ADMIN'"):
            check_call_as(bad)


def test_names():
    assert check_stack_set_name("require-mfa-organization") == "require-mfa-organization"
    for bad in ("1abc", "has_underscore", "a" * 129, ""):
        with pytest.raises(InvalidInputError, match=r"^stack_set_name: "):
            check_stack_set_name(bad)
    assert check_scp_name("Require MFA for IAM users") == "Require MFA for IAM users"
    for bad in ("", "a" * 129, "tab\there"):
        with pytest.raises(InvalidInputError, match=r"^scp_name: "):
            check_scp_name(bad)
