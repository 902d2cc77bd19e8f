"""The project files: Pulumi.yaml against Pulumi's schema, stacks, packaging."""

from __future__ import annotations

import json
import tomllib

import jsonschema
import yaml

from conftest import REFERENCE, ROOT


def test_pulumi_yaml_validates_against_the_project_schema():
    schema = json.loads((REFERENCE / "pulumi-project.schema.json").read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["name"] == "mfa-policy"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"


def test_the_schema_check_can_fail():
    schema = json.loads((REFERENCE / "pulumi-project.schema.json").read_text())
    broken = {"name": "x", "runtime": "python", "config": {"groups": {"type": "array"}}}  # array without items
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("an array config declaration without items must not validate")


def test_stack_files_only_use_declared_keys():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    # Objects cannot be declared in Pulumi.yaml; the program checks these itself.
    undeclared_objects = {"accounts", "organization"}
    stack_files = sorted(ROOT.glob("Pulumi.*.yaml"))
    assert {path.name for path in stack_files} >= {"Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.org.yaml"}
    for path in stack_files:
        config = yaml.safe_load(path.read_text())["config"]
        for key in config:
            namespace, _, name = key.partition(":")
            assert namespace != "mfa-policy" or name in declared or name in undeclared_objects, key


def test_no_plugin_manifest_beside_the_program():
    # Pulumi would run __main__.py as a plugin if PulumiPlugin.yaml sat beside it.
    assert not (ROOT / "PulumiPlugin.yaml").exists()


def test_package_metadata():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "mfa-policy"
    dependencies = " ".join(project["dependencies"])
    assert "pulumi>=3" in dependencies and "<4" in dependencies
    assert "pulumi-aws>=7,<8" in dependencies
    assert (ROOT / "mfa_policy" / "py.typed").exists()
    requirements = (ROOT / "requirements.txt").read_text()
    assert "pulumi>=" in requirements and "pulumi-aws>=" in requirements
