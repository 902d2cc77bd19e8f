"""The component provider for other languages: the schema the SDK's analyzer infers."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import tomllib
from concurrent import futures
from dataclasses import replace

import grpc
import jsonschema
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.errors import InputPropertyError
from pulumi.output import Output, Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import (
    errors_pb2,
    provider_pb2,
    provider_pb2_grpc,
    resource_pb2,
    resource_pb2_grpc,
    status_pb2,
)

from conftest import REFERENCE, ROOT
from mfa_policy import __version__, build_policy_document
from mfa_policy.components import organization
from mfa_policy.components.organization import OrganizationMfaGuardrail
from mfa_policy.components.provider import ComponentsProvider
from mfa_policy.components.require_mfa import TYPE_TOKEN, RequireMfaPolicy, RequireMfaPolicyArgs, _validated

PROVIDER = ROOT / "provider"
ENROLLMENT_REF = "#/types/mfa-policy:index:EnrollmentArgs"

INPUTS = {
    # name: (type, item type or None)
    "groupNames": ("array", "string"),
    "createGroups": ("boolean", None),
    "accountId": ("string", None),
    "allowPasswordChangeWithoutMfa": ("boolean", None),
    "allowListUsers": ("boolean", None),
    "selfService": ("array", "string"),
    "maxMfaAgeSeconds": ("integer", None),
    "mfaDevices": ("string", None),
    "securityKeyCertification": ("object", "array"),
    # An object type of the schema's own (requireTag, sourceIps): see test_the_enrollment_object_type.
    "enrollment": (ENROLLMENT_REF, None),
    "policyName": ("string", None),
    "path": ("string", None),
    "description": ("string", None),
    "tags": ("object", "string"),
    "allowEnforcingDeployer": ("boolean", None),
}
OUTPUTS = {"policyArn": "string", "policyName": "string", "policyDocument": "string", "groupNames": "array"}


@pytest.fixture(scope="module")
def entry_point():
    return runpy.run_path(str(PROVIDER / "__main__.py"), run_name="mfa_policy_provider")


@pytest.fixture(scope="module")
def provider(entry_point):
    return entry_point["provider"]()


@pytest.fixture(scope="module")
def schema(provider):
    return json.loads(provider.schema)


def test_the_token_prefix_is_the_package_name(entry_point, schema):
    package = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert entry_point["PROVIDER_NAME"] == package == schema["name"] == TYPE_TOKEN.split(":")[0]
    assert entry_point["COMPONENTS"] == [RequireMfaPolicy, OrganizationMfaGuardrail]
    assert sorted(schema["resources"]) == sorted([TYPE_TOKEN, organization.TYPE_TOKEN])
    assert organization.TYPE_TOKEN.split(":")[0] == entry_point["PROVIDER_NAME"]
    assert schema["version"] == __version__


def test_every_input_with_its_type_requiredness_and_description(schema):
    resource = schema["resources"][TYPE_TOKEN]
    assert resource["isComponent"] is True
    assert resource["description"].startswith("An IAM managed policy that requires MFA")
    inputs = resource["inputProperties"]
    assert set(inputs) == set(INPUTS)
    for name, (type_, item_type) in INPUTS.items():
        prop = inputs[name]
        assert prop.get("type", prop.get("$ref")) == type_, name
        assert prop["description"].strip(), name
        if type_ == "array":
            assert prop["items"]["type"] == item_type, name
        if type_ == "object":
            assert prop["additionalProperties"]["type"] == item_type, name
    assert resource["requiredInputs"] == ["groupNames"]


def test_every_output(schema):
    resource = schema["resources"][TYPE_TOKEN]
    assert {name: prop["type"] for name, prop in resource["properties"].items()} == OUTPUTS
    assert all(prop["description"].strip() for prop in resource["properties"].values())
    assert sorted(resource["required"]) == sorted(OUTPUTS)


def test_the_plugin_lives_in_its_own_folder():
    assert (PROVIDER / "PulumiPlugin.yaml").exists()
    assert yaml.safe_load((PROVIDER / "PulumiPlugin.yaml").read_text())["runtime"]["name"] == "python"
    assert not (ROOT / "PulumiPlugin.yaml").exists()


def test_the_yaml_consumer_uses_only_what_the_schema_offers(schema):
    project = yaml.safe_load((ROOT / "examples" / "yaml-consumer" / "Pulumi.yaml").read_text())
    jsonschema.validate(project, json.loads((REFERENCE / "pulumi-project.schema.json").read_text()))
    assert (ROOT / "examples" / "yaml-consumer" / project["packages"]["mfa-policy"]).resolve() == PROVIDER
    resource = schema["resources"][TYPE_TOKEN]
    for declared in project["resources"].values():
        assert declared["type"] == TYPE_TOKEN
        assert set(declared["properties"]) <= set(resource["inputProperties"])
        assert set(resource["requiredInputs"]) <= set(declared["properties"])
    for expression in project["outputs"].values():
        assert expression.removeprefix("${requireMfa.").removesuffix("}") in resource["properties"]


def test_inputs_from_other_languages_map_to_the_component_arguments(provider):
    definition = provider._component_defs["RequireMfaPolicy"]
    # Numbers arrive as floats over the wire; absent optional inputs are left out.
    mapped = provider.map_inputs(
        {"groupNames": ["admins"], "maxMfaAgeSeconds": 3600.0, "allowListUsers": True}, definition
    )
    assert mapped == {"group_names": ["admins"], "max_mfa_age_seconds": 3600, "allow_list_users": True}
    # The SDK may hand the number over as 3600.0; the component still takes it as 3600 seconds.
    settings = _validated(mapped, "require-mfa")
    assert settings["max_mfa_age_seconds"] == 3600 and isinstance(settings["max_mfa_age_seconds"], int)
    assert '"3600"' in json.dumps(build_policy_document("111122223333", max_mfa_age_seconds=3600.0))


ORGANIZATION_INPUTS = {
    "targets": ("array", "string"),
    "stackSet": ("boolean", None),
    "region": ("string", None),
    "callAs": ("string", None),
    "scpName": ("string", None),
    "scpDescription": ("string", None),
    "stackSetName": ("string", None),
    # The policy options and names, as RequireMfaPolicy spells them.
    **{name: INPUTS[name] for name in INPUTS if name != "accountId"},
}
ORGANIZATION_OUTPUTS = {
    "scpId": "string",
    "scpDocument": "string",
    "stackSetName": "string",
    "stackSetTemplate": "string",
}


def test_the_organization_guardrail_schema(schema):
    resource = schema["resources"][organization.TYPE_TOKEN]
    assert resource["isComponent"] is True
    assert resource["description"].startswith("A service control policy and a StackSet")
    inputs = resource["inputProperties"]
    assert set(inputs) == set(ORGANIZATION_INPUTS)
    for name, (type_, item_type) in ORGANIZATION_INPUTS.items():
        assert inputs[name].get("type", inputs[name].get("$ref")) == type_, name
        assert inputs[name]["description"].strip(), name
        if type_ == "array":
            assert inputs[name]["items"]["type"] == item_type, name
    # The shared options are described the same way in both components' schemas.
    for name in ("selfService", "maxMfaAgeSeconds", "createGroups"):
        assert inputs[name]["type"] == schema["resources"][TYPE_TOKEN]["inputProperties"][name]["type"]
    assert resource["requiredInputs"] == ["targets"]
    assert {name: prop["type"] for name, prop in resource["properties"].items()} == ORGANIZATION_OUTPUTS
    assert sorted(resource["required"]) == sorted(ORGANIZATION_OUTPUTS)


def test_organization_inputs_from_other_languages_map_to_the_component_arguments(entry_point):
    provider = entry_point["provider"]()
    definition = provider._component_defs["OrganizationMfaGuardrail"]
    mapped = provider.map_inputs(
        {"targets": ["r-ab12"], "groupNames": ["admins"], "callAs": "DELEGATED_ADMIN", "maxMfaAgeSeconds": 900.0},
        definition,
    )
    assert mapped == {
        "targets": ["r-ab12"],
        "group_names": ["admins"],
        "call_as": "DELEGATED_ADMIN",
        "max_mfa_age_seconds": 900,
    }
    settings = organization._validated(mapped, "guardrail")
    assert settings["call_as"] == "DELEGATED_ADMIN" and settings["max_mfa_age_seconds"] == 900


def descriptions(node, path="schema"):
    """Every description in the schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield path, value
            else:
                yield from descriptions(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from descriptions(value, f"{path}[{index}]")


PYTHON_ONLY = re.compile(r"``|:class:|parent=self|\bopts\b|\b(True|False|None)\b|\bpulumi\.|\baws\.iam\.")


def test_descriptions_read_right_in_every_language(schema):
    argument_names = set(RequireMfaPolicyArgs.__annotations__)
    found = list(descriptions(schema))
    assert len(found) >= 1 + len(INPUTS) + len(OUTPUTS)
    for where, text in found:
        assert not PYTHON_ONLY.search(text), (where, text)
        assert not re.search(r"^[ \t]", text, re.MULTILINE), (where, "an indented line renders as code")
        # Names spelled the same in Python and the schema are fine; a snake_case one is Python's.
        same = {"path", "description", "tags", "enrollment"}
        assert not argument_names & set(re.findall(r"\w+", text)) - same, (where, text)


def test_schema_docs_must_cover_every_input_and_output(entry_point):
    docs = entry_point["SCHEMA_DOCS"][0]
    inputs = {key: value for key, value in docs.inputs.items() if key != "tags"}
    with pytest.raises(ValueError, match="inputProperties"):
        ComponentsProvider(
            entry_point["COMPONENTS"],
            entry_point["PROVIDER_NAME"],
            [replace(docs, inputs=inputs), *entry_point["SCHEMA_DOCS"][1:]],
            version=__version__,
        )


@pytest.mark.parametrize(
    ("inputs", "prop", "reason"),
    [
        ({"groupNames": ["has space"]}, "groupNames", 'groupNames: got ["has space"]; expected a non-empty list'),
        ({"groupNames": ["a"], "maxMfaAgeSeconds": -5.0}, "maxMfaAgeSeconds", "maxMfaAgeSeconds: got -5"),
        ({"groupNames": ["a"], "selfService": ["keys"]}, "selfService", 'selfService: got ["keys"]; expected'),
    ],
)
def test_a_bad_input_is_an_input_property_error_naming_its_property(provider, pulumi_mocks, inputs, prop, reason):
    with pytest.raises(InputPropertyError) as raised:
        provider.construct("require-mfa", TYPE_TOKEN, inputs)
    assert raised.value.property_path == prop
    assert raised.value.reason.startswith(reason)
    assert "\n" not in raised.value.reason
    assert pulumi_mocks.mocks.created == []


@pytest.mark.parametrize(
    "group_names",
    [["admins", Unknown()], [Unknown()], Output.from_input(["admins"])],
    ids=["one-unknown", "all-unknown", "output"],
)
def test_group_names_not_known_at_preview(provider, pulumi_mocks, group_names):
    with pytest.raises(InputPropertyError) as raised:
        provider.construct("require-mfa", TYPE_TOKEN, {"groupNames": group_names})
    assert raised.value.property_path == "groupNames"
    assert "group names must be known at preview" in raised.value.reason
    assert "<pulumi.output" not in raised.value.reason


class FakeMonitor(resource_pb2_grpc.ResourceMonitorServicer):
    """Just enough of the engine's resource monitor for a Construct that fails on its inputs."""

    def SupportsFeature(self, request, context):
        return resource_pb2.SupportsFeatureResponse(hasSupport=False)


@pytest.fixture(scope="module")
def plugin():
    """The provider started as Pulumi starts a plugin, and a stub to call it over gRPC."""
    monitor = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(FakeMonitor(), monitor)
    monitor_port = monitor.add_insecure_port("127.0.0.1:0")
    monitor.start()
    process = subprocess.Popen(
        [sys.executable, str(PROVIDER / "__main__.py"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        port = process.stdout.readline().strip()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield provider_pb2_grpc.ResourceProviderStub(channel), f"127.0.0.1:{monitor_port}"
        channel.close()
    finally:
        process.kill()
        process.wait()
        monitor.stop(None)


def test_the_plugin_serves_the_schema_over_grpc(plugin, schema):
    stub, _ = plugin
    served = json.loads(stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)
    assert served == schema


@pytest.mark.parametrize(
    ("group_names", "reason"),
    [
        (["bad name"], 'groupNames: got ["bad name"]; expected a non-empty list of distinct IAM group names'),
        (["admins", rpc.UNKNOWN], 'groupNames: got ["admins", "<unknown at preview>"]; group names must be known'),
    ],
)
def test_construct_over_grpc_reports_the_input_property(plugin, group_names, reason):
    prop, text = construct_error_over_grpc(plugin, {"groupNames": group_names})
    assert prop == "groupNames"
    assert text.startswith(reason)


def construct_error_over_grpc(plugin, inputs):
    """Construct over gRPC as the engine does; the (property, reason) of the INVALID_ARGUMENT answer."""
    stub, monitor = plugin
    struct = struct_pb2.Struct()
    struct.update(inputs)
    request = provider_pb2.ConstructRequest(
        project="p", stack="s", type=TYPE_TOKEN, name="x", inputs=struct, monitorEndpoint=monitor, dryRun=True
    )
    with pytest.raises(grpc.RpcError) as raised:
        stub.Construct(request, timeout=60)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = status_pb2.Status.FromString(dict(raised.value.trailing_metadata())["grpc-status-details-bin"])
    details = errors_pb2.InputPropertiesError()
    status.details[0].Unpack(details)
    ((prop, text),) = [(error.property_path, error.reason) for error in details.errors]
    return prop, text


@pytest.mark.parametrize(
    ("inputs", "prop", "reason"),
    [
        ({"groupNames": ["admins"], "createGroup": True}, "createGroup", "createGroup: RequireMfaPolicy has no such"),
        ({"groupNames": ["admins"], "accountId": rpc.UNKNOWN}, "accountId", "accountId must be known at preview"),
        ({"groupNames": ["admins"], "tags": {"team": rpc.UNKNOWN}}, "tags", "tags must be known at preview"),
    ],
)
def test_construct_over_grpc_refuses_unknown_inputs_and_values(plugin, inputs, prop, reason):
    found, text = construct_error_over_grpc(plugin, inputs)
    assert found == prop
    assert text.startswith(reason)
