"""read_settings: config strings -> component arguments, with errors that name the key."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT
from mfa_policy.policy.document import SELF_SERVICE_NAMES
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.config import CONFIG_KEYS, config_value_to_string, read_settings


def reader(values: dict[str, str]):
    return values.get


def test_only_groups_is_required_and_defaults_apply():
    assert read_settings(reader({"groups": '["admins"]'})) == {
        "group_names": ("admins",),
        "create_groups": False,
        "allow_password_change_without_mfa": False,
        "allow_list_users": False,
        "self_service": SELF_SERVICE_NAMES,
        "mfa_devices": "any",
        "policy_name": "require-mfa",
        "allow_enforcing_deployer": False,
    }


def test_every_key_is_read():
    settings = read_settings(
        reader(
            {
                "groups": '["ops","admins"]',
                "createGroups": "true",
                "allowPasswordChangeWithoutMfa": "true",
                "allowListUsers": "false",
                "selfService": '["ssh_public_keys","password"]',
                "maxMfaAgeSeconds": "43200",
                "mfaDevices": "security_keys",
                "securityKeyCertification": '{"fido": ["L3", "L2"]}',
                "policyName": "RequireMfa",
                "accountId": "012345678901",
                "allowEnforcingDeployer": "true",
            }
        )
    )
    assert settings == {
        "group_names": ("ops", "admins"),
        "create_groups": True,
        "allow_password_change_without_mfa": True,
        "allow_list_users": False,
        "self_service": ("password", "ssh_public_keys"),
        "max_mfa_age_seconds": 43200,
        "mfa_devices": "security_keys",
        "security_key_certification": {"fido": ("L2", "L3")},
        "policy_name": "RequireMfa",
        "account_id": "012345678901",
        "allow_enforcing_deployer": True,
    }


def test_zero_max_age_and_empty_account_mean_unset():
    settings = read_settings(reader({"groups": '["a"]', "maxMfaAgeSeconds": "0", "accountId": ""}))
    assert "max_mfa_age_seconds" not in settings
    assert "account_id" not in settings


def test_missing_groups_names_the_key():
    with pytest.raises(
        InvalidInputError, match=r"^mfa-policy:groups: got None; expected a value: this key is required"
    ):
        read_settings(reader({}))


def test_pulumi_yaml_declares_every_key_with_the_same_type_and_default():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared = project["config"]
    # `accounts` (a list of objects) has no typed declaration: Pulumi.yaml's config types are
    # string, integer, boolean and arrays of those.
    assert set(declared) == {key.name for key in CONFIG_KEYS}
    assert "accounts" not in declared
    assert "securityKeyCertification" not in declared  # an object, checked by the program
    for key in CONFIG_KEYS:
        declaration = declared[key.name]
        assert declaration["type"] == key.type, key.name
        assert declaration.get("description"), key.name
        if key.default is None:
            assert "default" not in declaration, key.name
        else:
            assert declaration["default"] == key.default, key.name


def test_config_values_render_like_the_cli():
    assert config_value_to_string(True) == "true"
    assert config_value_to_string(["a", "b"]) == json.dumps(["a", "b"])
    assert config_value_to_string(43200) == "43200"


@pytest.mark.parametrize(("raw", "value"), [("True", True), ("TRUE", True), ("False", False), ("FALSE", False)])
def test_every_yaml_1_2_spelling_of_a_boolean(raw, value):
    assert read_settings({"groups": '["a"]', "createGroups": raw}.get)["create_groups"] is value
