"""The program with mfa-policy:mfaDevices and mfa-policy:securityKeyCertification, under mocks."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import ACCOUNT_ID, ROOT
from mfa_policy import build_policy_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.preview import OfflineMocks, run_program
from mfa_policy.program.project import stack_config


@pytest.fixture
def project_copy(tmp_path):
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def run_stack(directory, stack):
    project, config = stack_config(directory, stack)
    mocks = OfflineMocks(ACCOUNT_ID)
    return run_program(directory / "__main__.py", config, mocks, project=project, stack=stack), mocks


def test_a_stack_with_security_keys_only(project_copy):
    (project_copy / "Pulumi.keys.yaml").write_text(
        "config:\n"
        "  mfa-policy:groups: [admins]\n"
        "  mfa-policy:mfaDevices: security_keys\n"
        "  mfa-policy:securityKeyCertification:\n"
        "    fido: [L3, L2]\n"
        "    fips-140-3: [L2]\n"
    )
    run, _ = run_stack(project_copy, "keys")
    expected = build_policy_document(
        ACCOUNT_ID,
        mfa_devices="security_keys",
        security_key_certification={"fido": ["L2", "L3"], "fips-140-3": ["L2"]},
    )
    assert json.loads(run.outputs["policyDocument"]) == expected


def test_the_default_stacks_allow_every_device_type():
    project, config = stack_config(ROOT, "dev")
    run = run_program(ROOT / "__main__.py", config, OfflineMocks(ACCOUNT_ID), project=project, stack="dev")
    assert "RegisterSecurityKey" not in run.outputs["policyDocument"]


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ({"mfaDevices": "fido"}, "mfa-policy:mfaDevices", "one of 'any', 'security_keys'"),
        (
            {"securityKeyCertification": '{"fido": ["L2"]}'},
            "mfa-policy:securityKeyCertification",
            "no value unless mfa-policy:mfaDevices is 'security_keys'",
        ),
        (
            {"mfaDevices": "any", "securityKeyCertification": '{"fido": ["L2"]}'},
            "mfa-policy:securityKeyCertification",
            "mfa-policy:mfaDevices",
        ),
        (
            {"mfaDevices": "security_keys", "securityKeyCertification": "fido"},
            "mfa-policy:securityKeyCertification",
            "mapping",
        ),
        (
            {"mfaDevices": "security_keys", "securityKeyCertification": '["L2"]'},
            "mfa-policy:securityKeyCertification",
            "mapping",
        ),
        (
            {"mfaDevices": "security_keys", "securityKeyCertification": '{"fido": ["L4"]}'},
            "mfa-policy:securityKeyCertification",
            "L1plus",
        ),
        (
            {"mfaDevices": "security_keys", "securityKeyCertification": '{"fips-140-2": "L2"}'},
            "mfa-policy:securityKeyCertification",
            "L4",
        ),
    ],
)
def test_bad_device_config_fails_naming_the_key_and_registers_nothing(extra, key, fragment):
    config = {"mfa-policy:groups": '["admins"]', **{f"mfa-policy:{name}": raw for name, raw in extra.items()}}
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    assert raised.value.key == key
    assert str(raised.value).startswith(f"{key}: got ")
    assert fragment in str(raised.value)
    assert mocks.created == []
    assert mocks.calls == []
