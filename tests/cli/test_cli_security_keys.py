"""``verify``/``explain`` with --mfa-devices and --security-key-certification."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import ROOT
from mfa_policy import build_policy_document
from mfa_policy.cli import main

ACCOUNT = "111122223333"


def write(tmp_path, document):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_verify_builds_with_security_keys_and_g9_passes(capsys):
    assert main(["verify", "--mfa-devices", "security_keys", "--security-key-certification", "fido=L2,L3"]) == 0
    out = capsys.readouterr().out
    assert "G9 only the allowed device types enroll ... pass" in out


@pytest.mark.parametrize(
    "spec",
    ["fido=L2,L3;fips-140-3=L2", " fido = L3 , L2 ; fips-140-3=L2 ", '{"fips-140-3": ["L2"], "fido": ["L2", "L3"]}'],
)
def test_a_policy_file_checked_against_the_same_intent(tmp_path, capsys, spec):
    document = build_policy_document(
        ACCOUNT, mfa_devices="security_keys", security_key_certification={"fido": ["L2", "L3"], "fips-140-3": ["L2"]}
    )
    path = write(tmp_path, document)
    args = ["verify", "--policy-file", path, "--mfa-devices", "security_keys", "--security-key-certification", spec]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guarantees"]["G9"]["pass"] is True


def test_a_policy_that_still_allows_totp_fails_g9(tmp_path, capsys):
    path = write(tmp_path, build_policy_document(ACCOUNT))
    assert main(["verify", "--policy-file", path, "--mfa-devices", "security_keys", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failing = [name for name, result in report["guarantees"].items() if not result["pass"]]
    assert "G9" in failing
    assert {"action": "iam:EnableMFADevice", "context": "keys+totp", "expected": "deny"}.items() <= (
        report["guarantees"]["G9"]["counterexamples"][0].items()
    )


def test_a_policy_without_the_certification_check_fails_g9(tmp_path, capsys):
    path = write(tmp_path, build_policy_document(ACCOUNT, mfa_devices="security_keys"))
    args = [
        "verify",
        "--policy-file",
        path,
        "--mfa-devices",
        "security_keys",
        "--security-key-certification",
        "fido=L3",
    ]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "G9 only the allowed device types enroll ... FAIL (" in out
    assert "+key-activate-uncertified, next to allow-all]: Allow, expected deny" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--security-key-certification", "fido=L2"], "expected no value unless --mfa-devices is 'security_keys'"),
        (["--mfa-devices", "security_keys", "--security-key-certification", "fido=L0"], "L1plus"),
        (["--mfa-devices", "security_keys", "--security-key-certification", "fido"], "cannot read 'fido'"),
        (["--mfa-devices", "security_keys", "--security-key-certification", "fido=L1;fido=L2"], "cannot read"),
        (["--mfa-devices", "security_keys", "--security-key-certification", "{fido"], "not a JSON object"),
    ],
)
def test_bad_device_flags_exit_2(capsys, args, message):
    assert main(["verify", *args]) == 2
    assert message in capsys.readouterr().err


def test_bad_mfa_devices_value_is_an_argparse_error():
    with pytest.raises(SystemExit) as raised:
        main(["verify", "--mfa-devices", "totp"])
    assert raised.value.code == 2


def test_stack_and_device_flags_do_not_mix(capsys):
    assert main(["verify", "--stack", "dev", "--cwd", str(ROOT), "--mfa-devices", "security_keys"]) == 2
    assert "stack's config decides" in capsys.readouterr().err


def test_verify_a_stack_with_security_keys(tmp_path, capsys):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.keys.yaml").write_text(
        "config:\n  mfa-policy:groups: [admins]\n  mfa-policy:mfaDevices: security_keys\n"
        "  mfa-policy:securityKeyCertification: {fips-140-2: [L2, L3]}\n"
    )
    assert main(["explain", "--stack", "keys", "--cwd", str(tmp_path), "--format", "json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    rows = {row["device"]: row["cells"] for row in matrix["enrollment"]["next to allow-all"]}
    assert rows["TOTP device (virtual or hardware)"]["mfa / own"] == "deny"
    assert rows["security key: Activate, accepted certification"]["console / own"] == "allow"
    assert rows["security key: Activate, fips-140-2 L1 (not accepted)"]["console / own"] == "deny"
    assert main(["verify", "--stack", "keys", "--cwd", str(tmp_path)]) == 0


def test_explain_shows_enrollment_by_device_type(capsys):
    assert main(["explain", "--mfa-devices", "security_keys"]) == 0
    out = capsys.readouterr().out
    beside = out.split("## Enrollment by device type, next to allow-all", 1)[1]
    assert (
        "| TOTP device (virtual or hardware) | `iam:EnableMFADevice` | deny | deny | deny | deny | deny | deny |"
        in beside
    )
    assert "| security key: Create | `iam:EnableMFADevice` | allow | deny | allow | deny | allow | allow |" in beside
    assert (
        "| virtual device (authenticator app): create | `iam:CreateVirtualMFADevice` | deny | - | deny | - | deny | - |"
        in beside
    )
    # Without the option every type enrolls.
    assert main(["explain"]) == 0
    beside = capsys.readouterr().out.split("## Enrollment by device type, next to allow-all", 1)[1]
    assert (
        "| TOTP device (virtual or hardware) | `iam:EnableMFADevice` | allow | deny | allow | deny | allow | allow |"
        in beside
    )
