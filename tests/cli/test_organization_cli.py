"""``verify --organization`` / ``verify --stack org`` and ``preview --stack org``."""

from __future__ import annotations

import json

from conftest import PASS_LINES, ROOT
from mfa_policy.cli import main

# G10 comes between G9 and G11.
G10_LINE = "G10 the organization guardrail touches IAM users only ... pass"
ORGANIZATION_LINES = [*PASS_LINES[:-1], G10_LINE, PASS_LINES[-1]]


def test_verify_organization_passes_with_g10(capsys):
    assert main(["verify", "--organization", "--allow-list-users"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "under the organization SCP and FullAWSAccess" in out[0]
    assert [line for line in out if line.startswith("G")] == ORGANIZATION_LINES
    assert out[-1] == "all guarantees hold"


def test_verify_organization_with_security_keys_only_checks_the_scp_device_denies(capsys):
    # The SCP carries the device-type denies too: G9 holds under it with security keys only.
    assert main(["verify", "--organization", "--mfa-devices", "security_keys", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guarantees"]["G9"]["pass"] and report["guarantees"]["G10"]["pass"]


def test_a_stack_with_organization_is_verified_under_the_scp(capsys):
    assert main(["verify", "--stack", "org", "--cwd", str(ROOT), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["organization"] is True
    assert list(report["guarantees"])[-2:] == ["G10", "G11"]
    assert all(g["pass"] for g in report["guarantees"].values())


def test_a_stack_without_organization_has_no_g10(capsys):
    assert main(["verify", "--stack", "prod", "--cwd", str(ROOT), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["organization"] is False and "G10" not in report["guarantees"]


def test_organization_with_a_policy_file_is_bad_input(capsys, tmp_path):
    policy = tmp_path / "p.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert main(["verify", "--organization", "--policy-file", str(policy)]) == 2
    assert "--organization" in capsys.readouterr().err


def test_preview_of_the_org_stack(capsys):
    assert main(["preview", "--stack", "org", "--cwd", str(ROOT), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    types = [resource["type"] for resource in report["resources"]]
    assert types.count("aws:organizations/policyAttachment:PolicyAttachment") == 3
    assert "aws:cloudformation/stackSetInstance:StackSetInstance" in types
    assert report["policyDocuments"]["service control policy"]["Statement"][0]["Effect"] == "Deny"
    assert "StackSet template" in report["policyDocuments"]
    assert "content" not in json.dumps(report["resources"])  # the SCP is shown once, not per resource


def test_explain_under_the_scp(capsys):
    assert main(["explain", "--stack", "org", "--cwd", str(ROOT), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["target"].endswith("under the organization SCP and FullAWSAccess")
    rows = {row["action"]: row["cells"] for row in report["tables"]["next to allow-all"]}
    assert rows["s3:ListAllMyBuckets"]["keys / own"] == "deny"
    assert rows["s3:ListAllMyBuckets"]["mfa / own"] == "allow"
