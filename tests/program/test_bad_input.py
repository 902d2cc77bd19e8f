"""Bad input never half-applies: every bad config value and component argument fails with one
message naming the key, the value given and what is allowed, and registers nothing."""

from __future__ import annotations

import json

import pulumi
import pytest

from conftest import ROOT
from mfa_policy import RequireMfaPolicy
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.preview import OfflineMocks, run_program

CONFIG_CASES = [
    ("groups", "admins"),
    ("groups", "[]"),
    ("groups", '["admins", "admins"]'),
    ("groups", '["Ops", "ops"]'),
    ("groups", '["has space"]'),
    ("groups", '["' + "g" * 129 + '"]'),
    ("groups", "[1]"),
    ("createGroups", "yes"),
    ("createGroups", "1"),
    ("allowPasswordChangeWithoutMfa", "on"),
    ("allowListUsers", "no"),
    ("selfService", "password"),
    ("selfService", '["keys"]'),
    ("selfService", '["password", "password"]'),
    ("selfService", '{"password": true}'),
    ("maxMfaAgeSeconds", "-60"),
    ("maxMfaAgeSeconds", "one hour"),
    ("maxMfaAgeSeconds", "1.5"),
    ("maxMfaAgeSeconds", "129601"),
    ("maxMfaAgeSeconds", "10000000000000000"),
    ("policyName", "has space"),
    ("policyName", "p" * 129),
    ("policyName", ""),
    ("accountId", "12345678901"),
    ("accountId", "1234567890123"),
    ("accountId", "12345678901a"),
    ("allowEnforcingDeployer", "maybe"),
    ("accounts", '{"name": "prod"}'),
    ("accounts", "[]"),
    ("accounts", '[{"name": "prod"}]'),
    ("accounts", '[{"name": "prod", "roleArn": "arn:aws:iam::1234:role/x"}]'),
    ("accounts", '[{"name": "bad name", "roleArn": "arn:aws:iam::444455556666:role/x"}]'),
    ("accounts", '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x", "region": "mars-1"}]'),
    ("accounts", '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x", "extra": 1}]'),
    (
        "accounts",
        '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"},'
        ' {"name": "a", "roleArn": "arn:aws:iam::777788889999:role/x"}]',
    ),
    (
        "accounts",
        '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"},'
        ' {"name": "b", "roleArn": "arn:aws:iam::444455556666:role/y"}]',
    ),
]

ARGUMENT_CASES = [
    ("group_names", []),
    ("group_names", "admins"),
    ("group_names", ["admins", "ADMINS"]),
    ("group_names", ["bad/name"]),
    ("create_groups", "true"),
    ("account_id", "123"),
    ("account_id", 111122223333),
    ("allow_password_change_without_mfa", 1),
    ("allow_list_users", None),
    ("self_service", ["pasword"]),
    ("self_service", "password"),
    ("max_mfa_age_seconds", 0),
    ("max_mfa_age_seconds", -1),
    ("max_mfa_age_seconds", "3600"),
    ("max_mfa_age_seconds", True),
    ("max_mfa_age_seconds", 129_601),
    ("max_mfa_age_seconds", 10**16),
    ("policy_name", "has space"),
    ("path", "security"),
    ("path", "/security"),
    ("description", "d" * 1001),
    ("tags", {"aws:created-by": "me"}),
    ("tags", {"team": 1}),
    ("allow_enforcing_deployer", "yes"),
]


def parsed(raw: str):
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def assert_one_clear_message(error: InvalidInputError, key: str) -> None:
    assert error.key == key
    assert error.allowed
    assert str(error) == f"{key}: got {error.value!r}; expected {error.allowed}."


@pytest.mark.parametrize(("key", "raw"), CONFIG_CASES)
def test_bad_config_values(key, raw):
    config = {"mfa-policy:groups": '["admins"]', f"mfa-policy:{key}": raw}
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    # An entry of a list (or a field of it) is named by its index: mfa-policy:accounts[1].roleArn.
    named = raised.value.key
    assert named == f"mfa-policy:{key}" or named.startswith(f"mfa-policy:{key}["), named
    assert_one_clear_message(raised.value, named)
    # The value as given, as YAML/JSON read it, or the offending entry of a list.
    value = parsed(raw)
    entries = value if isinstance(value, list) else []
    fields = [field for entry in entries if isinstance(entry, dict) for field in entry.values()]
    assert raised.value.value in (raw, value, None, *entries, *fields)
    assert mocks.created == []
    assert mocks.calls == []


def test_account_id_cannot_be_combined_with_accounts():
    config = {
        "mfa-policy:groups": '["admins"]',
        "mfa-policy:accountId": "111122223333",
        "mfa-policy:accounts": '[{"name": "a", "roleArn": "arn:aws:iam::444455556666:role/x"}]',
    }
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    assert_one_clear_message(raised.value, "mfa-policy:accountId")
    assert "mfa-policy:accounts is set" in str(raised.value)
    assert mocks.created == []


@pytest.mark.parametrize(("key", "value"), ARGUMENT_CASES)
def test_bad_component_arguments(pulumi_mocks, key, value):
    arguments = {"group_names": ["admins"], key: value}
    with pytest.raises(InvalidInputError) as raised:
        RequireMfaPolicy("require-mfa", arguments)
    assert_one_clear_message(raised.value, key)
    assert raised.value.value == value
    assert isinstance(raised.value, pulumi.RunError)
    assert pulumi_mocks.mocks.created == []


def test_the_default_policy_name_is_checked_too(pulumi_mocks):
    with pytest.raises(InvalidInputError) as raised:
        RequireMfaPolicy("my component", {"group_names": ["g"]})
    assert_one_clear_message(raised.value, "policy_name")
    assert pulumi_mocks.mocks.created == []


@pytest.mark.parametrize(
    ("arguments", "key", "allowed"),
    [
        ({}, "group_names", "a value: the IAM groups whose members must use MFA (required)"),
        ({"group_names": ["g"], "groups": ["g"]}, "groups", "one of RequireMfaPolicy's arguments: account_id, "),
    ],
)
def test_missing_or_unknown_arguments(pulumi_mocks, arguments, key, allowed):
    # The README promises InvalidInputError for every bad argument, these two included.
    with pytest.raises(InvalidInputError) as raised:
        RequireMfaPolicy("require-mfa", arguments)
    assert_one_clear_message(raised.value, key)
    assert raised.value.allowed.startswith(allowed)
    assert isinstance(raised.value, pulumi.RunError)  # Pulumi prints it as one line
    assert pulumi_mocks.mocks.created == []


def test_valid_input_does_register(pulumi_mocks):
    # The counterpart that shows the assertions above can fail.
    @pulumi.runtime.test
    def run():
        return RequireMfaPolicy("require-mfa", {"group_names": ["admins"]}).policy_arn

    run()
    assert ("mfa-policy:index:RequireMfaPolicy", "require-mfa") in pulumi_mocks.mocks.created


def test_at_least_25_cases_each():
    assert len(CONFIG_CASES) >= 25
    assert len(ARGUMENT_CASES) >= 20


@pytest.mark.parametrize(
    ("key", "suggestion"), [("createGroup", "createGroups"), ("maxMfaAgeSecond", "maxMfaAgeSeconds"), ("zzz", None)]
)
def test_a_misspelled_config_key_is_an_error_not_a_silent_default(key, suggestion):
    config = {"mfa-policy:groups": '["admins"]', f"mfa-policy:{key}": "true", "aws:region": "eu-west-1"}
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    assert isinstance(raised.value, pulumi.RunError)
    assert_one_clear_message(raised.value, f"mfa-policy:{key}")
    assert ("did you mean mfa-policy:" + suggestion) in str(raised.value) if suggestion else "did you mean" not in str(
        raised.value
    )
    assert mocks.created == []
