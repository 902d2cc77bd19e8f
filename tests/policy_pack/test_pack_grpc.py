"""policy-pack/ served as the Pulumi CLI runs it, and asked over gRPC with the SDK's analyzer protos.

The CLI starts a Python pack with `<virtualenv>/bin/python -u -m pulumi.policy <engine> .` in the
pack's folder (its pulumi-analyzer-policy-python script), reads the port the pack prints, then calls
GetAnalyzerInfo, Configure (every policy's level and config), ConfigureStack, and Analyze per
resource and AnalyzeStack at the end. The pack is started once for this module, with the
interpreter of the pack's own virtualenv as the CLI builds it from policy-pack/requirements.txt
(`make test` builds policy-pack/venv; MFA_POLICY_PACK_PYTHON names another, as `make test-lowest`
does; without either, this test's own interpreter, which has the `policy` extra).

The stacks are recorded by running programs under the mock engine (pack_engine.record_program):
the project's own program (prod stack), examples/python-consumer, and a team's program with users
in every situation (programs/team); programs/altered is the project's program with a
transformation that weakens RequireMfaPolicy's document.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pack_engine import EngineResource, analyze_request, analyze_stack_request, record_program, record_programs
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from conftest import ROOT
from mfa_policy.policy_pack.policies import (
    ACCESS_KEYS,
    COMPONENT_UNWEAKENED,
    GUARDRAIL_ONLY,
    MFA_CONDITION,
    UNDECIDED,
    USERS_COVERED,
)
from mfa_policy.program.project import stack_config

PACK = ROOT / "policy-pack"
PROGRAMS = Path(__file__).resolve().parent / "programs"
MANDATORY, ADVISORY = proto.MANDATORY, proto.ADVISORY


def pack_python() -> str:
    """The interpreter the pack runs with: the one named, else the pack's own virtualenv."""
    named = os.environ.get("MFA_POLICY_PACK_PYTHON")
    if named:
        # Absolute, not resolved: a virtualenv's python is a symlink to the base interpreter.
        return os.path.abspath(named)
    own = PACK / "venv" / "bin" / "python"
    return str(own) if own.exists() else sys.executable


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    process = subprocess.Popen(
        [pack_python(), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 120)
        port = process.stdout.readline().strip() if ready else ""  # type: ignore[union-attr]
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the pack printed no port: {port!r}; stderr: {process.communicate()[1][-2000:]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _record(program: Path, stack: str, preview: bool, config: Mapping[str, str] | None = None) -> Any:
    return record_program(program, stack=stack, preview=preview, config=config)


TEAM = (
    (ROOT / "__main__.py", "prod"),
    (ROOT / "examples" / "python-consumer" / "__main__.py", "dev"),
    (PROGRAMS / "team" / "__main__.py", "dev"),
)
ALTERED = PROGRAMS / "altered" / "__main__.py"
# The project's program (prod) with the enrollment gates (issue 18): the tag and the networks.
ENROLLMENT = '{"requireTag": {"key": "mfa-enrollment", "value": "allowed"}, "sourceIps": ["203.0.113.0/24"]}'


def _gated_config() -> dict[str, str]:
    return {**stack_config(ROOT, "prod")[1], "mfa-policy:enrollment": ENROLLMENT}


@pytest.fixture(scope="module", autouse=True)
def recorded() -> None:
    """Every program run this module reads, recorded in one fresh interpreter."""
    prod = stack_config(ROOT, "prod")[1]
    record_programs(
        *(
            {"program": program, "stack": stack, "preview": preview}
            for program, stack in TEAM
            for preview in (False, True)
        ),
        *({"program": ALTERED, "stack": "prod", "preview": preview, "config": prod} for preview in (False, True)),
        *(
            {"program": ROOT / "__main__.py", "stack": "prod", "preview": preview, "config": _gated_config()}
            for preview in (False, True)
        ),
    )


def team_stack(preview: bool) -> tuple[list[EngineResource], dict[str, EngineResource]]:
    """The project's program (prod), the python-consumer example and the team's users, as one stack."""
    resources: list[EngineResource] = []
    providers: dict[str, EngineResource] = {}
    for program, stack in TEAM:
        found, found_providers = _record(program, stack, preview)
        resources += found
        providers.update(found_providers)
    return resources, providers


@pytest.fixture(scope="module")
def after_up() -> tuple[list[EngineResource], dict[str, EngineResource]]:
    return team_stack(preview=False)


@pytest.fixture(scope="module")
def at_preview() -> tuple[list[EngineResource], dict[str, EngineResource]]:
    return team_stack(preview=True)


def configure(analyzer: analyzer_pb2_grpc.AnalyzerStub, **user_config: Any) -> None:
    """What the CLI sends: every policy with its level (the pack's default) and the user policies'
    config (the same keys for each, as docs/policy-pack.md shows)."""
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    request = proto.ConfigureAnalyzerRequest()
    for policy in info.policies:
        properties = struct_pb2.Struct()
        if "enforcedGroups" in policy.configSchema.properties:
            properties.update(user_config)
        request.policyConfig[policy.name].CopyFrom(
            proto.PolicyConfig(enforcementLevel=policy.enforcementLevel, properties=properties)
        )
    analyzer.Configure(request)
    analyzer.ConfigureStack(proto.AnalyzerStackConfigureRequest(stack="dev", project="team", dry_run=False))


def diagnostics(response: Any) -> list[tuple[str, str, int, str]]:
    """(policy, resource name, level, message) of each diagnostic."""
    return [(d.policyName, d.urn.rsplit("::", 1)[-1], d.enforcementLevel, d.message) for d in response.diagnostics]


def about(found: list[tuple[str, str, int, str]], policy: str) -> dict[str, tuple[int, str]]:
    return {resource_name: (level, message) for name, resource_name, level, message in found if name == policy}


def test_the_analyzer_describes_its_policies(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mfa-policy" and info.supportsConfig
    policies = {policy.name: policy for policy in info.policies}
    assert set(policies) == {USERS_COVERED, GUARDRAIL_ONLY, UNDECIDED, MFA_CONDITION, COMPONENT_UNWEAKENED, ACCESS_KEYS}
    assert policies[USERS_COVERED].enforcementLevel == MANDATORY
    assert policies[USERS_COVERED].policy_type == proto.PolicyType.POLICY_TYPE_STACK
    assert policies[MFA_CONDITION].policy_type == proto.PolicyType.POLICY_TYPE_RESOURCE
    assert policies[MFA_CONDITION].enforcementLevel == policies[COMPONENT_UNWEAKENED].enforcementLevel == MANDATORY
    for advisory in (GUARDRAIL_ONLY, UNDECIDED, ACCESS_KEYS):
        assert policies[advisory].enforcementLevel == ADVISORY
    assert set(policies[USERS_COVERED].configSchema.properties) == {
        "enforcedGroups",
        "organizationGuardrail",
        "exemptUsers",
    }


def test_after_up_every_user_is_judged(analyzer: analyzer_pb2_grpc.AnalyzerStub, after_up: Any) -> None:
    resources, providers = after_up
    configure(analyzer, enforcedGroups=["legacy-admins"])
    found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources, providers)))
    uncovered = about(found, USERS_COVERED)
    # Not covered: no group, and groups whose only policy is an MFA condition that does not enforce.
    assert set(uncovered) == {"erin", "frank", "grace"}
    assert all(level == MANDATORY for level, _ in uncovered.values())
    assert "with access keys" in uncovered["grace"][1] and "weak-deny" in uncovered["grace"][1]
    assert "It is in no group of this stack" in uncovered["erin"][1]
    # Covered: the project's component (alice), the consumer's (bob), a hand-written policy next to
    # AdministratorAccess (carol), enforcedGroups (dave), a group named at `up` (ivan, judy).
    assert about(found, UNDECIDED) == {}
    keys = about(found, ACCESS_KEYS)
    assert set(keys) == {"alice-script-key"} and keys["alice-script-key"][0] == ADVISORY
    assert "get-session-token" in keys["alice-script-key"][1]
    assert about(found, COMPONENT_UNWEAKENED) == {}


def test_at_preview_unknowns_are_followed_and_never_passed(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, at_preview: Any
) -> None:
    resources, providers = at_preview
    configure(analyzer, enforcedGroups=["legacy-admins"])
    found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources, providers)))
    # ivan's group and its attachment are named by values not known yet: followed through their
    # property dependencies, he is covered. judy's group is one of two: undecided, never covered.
    assert set(about(found, USERS_COVERED)) == {"erin", "frank", "grace"}
    undecided = about(found, UNDECIDED)
    assert set(undecided) == {"judy"}
    assert undecided["judy"][0] == ADVISORY and "not counted as covered" in undecided["judy"][1]
    assert set(about(found, ACCESS_KEYS)) == {"alice-script-key"}


def test_organization_guardrail_makes_uncovered_users_advisory(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, after_up: Any
) -> None:
    resources, providers = after_up
    configure(analyzer, enforcedGroups=["legacy-admins"], organizationGuardrail=True, exemptUsers=["gr*"])
    found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources, providers)))
    assert about(found, USERS_COVERED) == {}
    assert set(about(found, GUARDRAIL_ONLY)) == {"erin", "frank"}  # grace is exempt
    assert {level for level, _ in about(found, GUARDRAIL_ONLY).values()} == {ADVISORY}


def test_policy_documents_are_judged_one_by_one(analyzer: analyzer_pb2_grpc.AnalyzerStub, after_up: Any) -> None:
    resources, providers = after_up
    configure(analyzer)
    violations = {}
    for resource in resources:
        for policy, _, level, message in diagnostics(analyzer.Analyze(analyze_request(resource, providers))):
            assert policy == MFA_CONDITION and level == MANDATORY
            violations[resource.name] = message
    # The components' documents and the hand-written enforcing policy hold.
    assert set(violations) == {"weak-allow-if-exists", "weak-deny-bool"}
    assert "BoolIfExists aws:MultiFactorAuthPresent true" in violations["weak-allow-if-exists"]
    assert "Bool aws:MultiFactorAuthPresent false" in violations["weak-deny-bool"]


def test_a_weakened_component_is_stopped(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    config = stack_config(ROOT, "prod")[1]
    for preview in (True, False):
        resources, providers = _record(ALTERED, "prod", preview, config)
        configure(analyzer)
        found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources, providers)))
        messages = [message for policy, _, level, message in found if policy == COMPONENT_UNWEAKENED]
        assert messages and {level for policy, _, level, _ in found if policy == COMPONENT_UNWEAKENED} == {MANDATORY}
        weakened = next(message for message in messages if "fails the guarantees" in message)
        assert "G1 (lockdown)" in weakened
        assert "removed DenyMfaBootstrapOnOtherUsersWithoutMfa" in weakened
        assert "changed DenyAllExceptMfaBootstrapWithoutMfa" in weakened
        # In group operators, S3 allowed by another policy gets through the edited document.
        assert any("in group operators" in m and "AmazonS3FullAccess" in m and "s3:" in m for m in messages)
        assert "oscar" in about(found, USERS_COVERED)


def test_a_component_with_enrollment_gates_is_decided_and_unweakened(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    # Its options, the gates included, are read back from its output and proven: G11 is checked
    # and holds; nothing is left undecided.
    for preview in (True, False):
        resources, providers = _record(ROOT / "__main__.py", "prod", preview, _gated_config())
        (component,) = [r for r in resources if r.type == "mfa-policy:index:RequireMfaPolicy"]
        assert "DenyMfaEnrollmentWithoutTagWithoutMfa" in component.properties["policy_document"]
        configure(analyzer)
        found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources, providers)))
        assert about(found, COMPONENT_UNWEAKENED) == {}
        assert about(found, UNDECIDED) == {}


def test_the_docs_sample_is_what_the_served_pack_sends(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    # test_docs_sample.py composes the sample's messages as pulumi-policy does; here the SDK's own
    # servicer composes them, over gRPC: the same text.
    from stacks import docs_sample_stack
    from test_docs_sample import diagnostics as sample

    resources, weak = docs_sample_stack()
    configure(analyzer)
    found = diagnostics(analyzer.AnalyzeStack(analyze_stack_request(resources)))
    found += diagnostics(analyzer.Analyze(analyze_request(weak)))
    shown = [message for policy, _, _, message in found if policy in (USERS_COVERED, MFA_CONDITION)]
    assert shown == sample()
