"""The input rules: each names the key, the value given and what is allowed."""

import pytest

from mfa_policy.policy.validation import (
    InvalidInputError,
    check_account_id,
    check_bool,
    check_choices,
    check_description,
    check_group_names,
    check_iam_name,
    check_iam_path,
    check_partition,
    check_positive_int,
    check_tags,
)

BAD_VALUES = [
    (check_account_id, "12345678901"),
    (check_account_id, "1234567890123"),
    (check_account_id, "12345678901a"),
    (check_account_id, 111122223333),
    (check_partition, "aws-mars"),
    (check_group_names, []),
    (check_group_names, "admins"),
    (check_group_names, ["admins", "admins"]),
    (check_group_names, ["Admins", "admins"]),
    (check_group_names, ["has space"]),
    (check_group_names, ["x" * 129]),
    (check_group_names, [""]),
    (check_group_names, [1]),
    (check_iam_path, "security"),
    (check_iam_path, "/security"),
    (check_iam_path, "/with space/"),
    (check_iam_path, "/" + "a" * 511 + "/"),
    (check_description, "d" * 1001),
    (check_tags, {"aws:reserved": "x"}),
    (check_tags, {"k": 1}),
    (check_tags, {f"k{i}": "v" for i in range(51)}),
]


@pytest.mark.parametrize(("rule", "value"), BAD_VALUES)
def test_bad_values_raise_with_key_value_and_rule(rule, value):
    with pytest.raises(InvalidInputError) as raised:
        rule(value, "the-key")
    message = str(raised.value)
    assert message.startswith("the-key: got ")
    assert repr(value)[:40] in message
    assert "expected" in message
    assert raised.value.key == "the-key"


@pytest.mark.parametrize("value", ["true", 1, 0, None])
def test_check_bool_takes_only_booleans(value):
    with pytest.raises(InvalidInputError, match="expected true or false"):
        check_bool(value, "flag")


def test_check_positive_int_takes_whole_floats_as_ints():
    assert check_positive_int(3600.0, "max") == 3600
    assert isinstance(check_positive_int(3600.0, "max"), int)


@pytest.mark.parametrize("value", [0, -1, 1.5, 0.0, "60", True])
def test_check_positive_int_rejects_non_positive_and_non_integers(value):
    with pytest.raises(InvalidInputError, match="greater than 0"):
        check_positive_int(value, "max")


def test_check_choices_returns_canonical_order_and_rejects_unknown_and_duplicates():
    assert check_choices(["b", "a"], "k", ("a", "b", "c")) == ("a", "b")
    for bad in (["a", "a"], ["z"], "a", {"a": 1}):
        with pytest.raises(InvalidInputError, match="distinct names from 'a', 'b', 'c'"):
            check_choices(bad, "k", ("a", "b", "c"))


def test_valid_values_pass_through():
    assert check_account_id("012345678901") == "012345678901"
    assert check_group_names(["admins", "ops+sre=1,.@_-"]) == ("admins", "ops+sre=1,.@_-")
    assert check_iam_name("require-mfa", "policy_name") == "require-mfa"
    assert check_iam_path("/") == "/"
    assert check_iam_path("/security/team/") == "/security/team/"
    assert check_tags({"team": "security"}) == {"team": "security"}
