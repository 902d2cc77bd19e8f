"""mfa-policy:enrollment in the program: read, checked with errors naming the field, passed to either
component, and verified from the stack (verify --stack)."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import ACCOUNT_ID, ROOT
from mfa_policy import build_policy_document
from mfa_policy.cli import main
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.program.config import OBJECT_KEYS, check_known_keys, read_enrollment, read_settings
from mfa_policy.program.preview import OfflineMocks, run_program

RAW = '{"requireTag": {"key": "onboarding"}, "sourceIps": ["2001:db8::/32", "203.0.113.0/24"]}'
CANONICAL = {
    "require_tag": {"key": "onboarding", "value": "allowed"},
    "source_ips": ["203.0.113.0/24", "2001:db8::/32"],
}


def test_read_and_passed_on_as_the_components_argument():
    assert read_enrollment({"enrollment": RAW}.get) == CANONICAL
    assert read_enrollment({}.get) is None
    assert read_settings({"groups": '["a"]', "enrollment": RAW}.get)["enrollment"] == CANONICAL
    assert "enrollment" not in read_settings({"groups": '["a"]'}.get)
    assert read_enrollment({"enrollment": '{"requireTag": {}}'}.get) == {
        "require_tag": {"key": "mfa-enrollment", "value": "allowed"}
    }


def test_an_object_key_like_the_others():
    assert "enrollment" in OBJECT_KEYS
    check_known_keys({"mfa-policy:enrollment": RAW})
    with pytest.raises(InvalidInputError, match="did you mean mfa-policy:enrollment"):
        check_known_keys({"mfa-policy:enrolment": RAW})
    declared = (ROOT / "Pulumi.yaml").read_text()
    assert "mfa-policy:enrollment (optional) is an object" in declared  # documented where the keys are


@pytest.mark.parametrize(
    ("raw", "key", "allowed"),
    [
        ("not json", "mfa-policy:enrollment", "an object with requireTag"),
        ("{}", "mfa-policy:enrollment", "at least one"),
        ('["203.0.113.0/24"]', "mfa-policy:enrollment", "an object with requireTag"),
        # YAML spells it sourceIps; a field in another case gets the suggestion too.
        ('{"source_ips": ["203.0.113.0/24"]}', "mfa-policy:enrollment.source_ips", "(did you mean sourceIps?)"),
        ('{"requiretag": {}}', "mfa-policy:enrollment.requiretag", "(did you mean requireTag?)"),
        ('{"requireTag": {"key": "aws:x"}}', "mfa-policy:enrollment.requireTag.key", "not starting with 'aws:'"),
        ('{"requireTag": {"value": 1}}', "mfa-policy:enrollment.requireTag.value", "an IAM tag value"),
        ('{"requireTag": "yes"}', "mfa-policy:enrollment.requireTag", "{key, value}"),
        ('{"sourceIps": "203.0.113.0/24"}', "mfa-policy:enrollment.sourceIps", "a non-empty list"),
        ('{"sourceIps": ["203.0.113.1/24"]}', "mfa-policy:enrollment.sourceIps", "its network is '203.0.113.0/24'"),
        ('{"sourceIps": ["::1", "::1/128"]}', "mfa-policy:enrollment.sourceIps", "::1/128 appears more than once"),
    ],
)
def test_a_bad_value_names_the_field_and_registers_nothing(raw, key, allowed):
    config = {"mfa-policy:groups": '["admins"]', "mfa-policy:enrollment": raw}
    mocks = OfflineMocks()
    with pytest.raises(InvalidInputError) as raised:
        run_program(ROOT / "__main__.py", config, mocks, project="mfa-policy", stack="bad")
    message = str(raised.value)
    assert raised.value.key == key and message.startswith(f"{key}: got ") and "\n" not in message
    assert allowed in message
    assert mocks.created == [] and mocks.calls == []


def test_the_program_gives_the_gates_to_the_policy():
    config = {"mfa-policy:groups": '["admins"]', "mfa-policy:enrollment": RAW}
    run = run_program(ROOT / "__main__.py", config, OfflineMocks(ACCOUNT_ID), project="mfa-policy", stack="t")
    assert json.loads(run.outputs["policyDocument"]) == build_policy_document(ACCOUNT_ID, enrollment=CANONICAL)


def test_the_program_gives_the_gates_to_the_organization_guardrail():
    config = {
        "mfa-policy:groups": '["admins"]',
        "mfa-policy:enrollment": RAW,
        "mfa-policy:organization": '{"targets": ["r-ab12"]}',
    }
    run = run_program(ROOT / "__main__.py", config, OfflineMocks(ACCOUNT_ID), project="mfa-policy", stack="t")
    assert json.loads(run.outputs["scpDocument"]) == build_scp_document(enrollment=CANONICAL)


@pytest.mark.parametrize("organization", [False, True], ids=["account", "organization"])
def test_verify_a_stack_with_the_gates(tmp_path, capsys, organization):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    lines = ["config:", "  mfa-policy:groups: [admins]", "  mfa-policy:enrollment:", "    requireTag: {}"]
    lines += ["    sourceIps: [203.0.113.0/24]"]
    if organization:
        lines += ["  mfa-policy:organization:", "    targets: [r-ab12]"]
    (tmp_path / "Pulumi.gated.yaml").write_text("\n".join(lines) + "\n")
    assert main(["verify", "--stack", "gated", "--cwd", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guarantees"]["G11"] == {"title": "enrollment needs the ticket", "pass": True, "counterexamples": []}
    assert ("G10" in report["guarantees"]) is organization
