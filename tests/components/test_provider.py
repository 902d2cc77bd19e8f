"""The component provider for other languages: the schema the SDK's analyzer infers."""

from __future__ import annotations

import json
import runpy
import tomllib

import jsonschema
import pytest
import yaml
from pulumi.provider.experimental.component import ComponentProvider

from conftest import REFERENCE, ROOT
from mfa_policy import __version__, build_policy_document
from mfa_policy.components import organization
from mfa_policy.components.organization import OrganizationMfaGuardrail
from mfa_policy.components.require_mfa import TYPE_TOKEN, RequireMfaPolicy, _validated

PROVIDER = ROOT / "provider"

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
def schema(entry_point):
    provider = ComponentProvider(entry_point["COMPONENTS"], entry_point["PROVIDER_NAME"], version=__version__)
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
        assert prop["type"] == type_, name
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


def test_inputs_from_other_languages_map_to_the_component_arguments(entry_point):
    provider = ComponentProvider(entry_point["COMPONENTS"], entry_point["PROVIDER_NAME"], version=__version__)
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
    **{name: INPUTS[name] for name in INPUTS if name not in ("accountId", "allowEnforcingDeployer")},
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
    assert resource["description"].startswith("An SCP and a StackSet")
    inputs = resource["inputProperties"]
    assert set(inputs) == set(ORGANIZATION_INPUTS)
    for name, (type_, item_type) in ORGANIZATION_INPUTS.items():
        assert inputs[name]["type"] == type_, name
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
    provider = ComponentProvider(entry_point["COMPONENTS"], entry_point["PROVIDER_NAME"], version=__version__)
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
