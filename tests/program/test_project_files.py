"""The project files: Pulumi.yaml against Pulumi's schema, stacks, packaging."""

from __future__ import annotations

import json
import re
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
    for broken in (
        {"name": "x", "runtime": "python", "config": {"groups": {"type": "list"}}},  # not a config type
        {"name": "x", "runtime": "python", "config": {"groups": {"type": "array", "items": {}}}},  # items need type
        {"name": "x"},  # no runtime
    ):
        try:
            jsonschema.validate(broken, schema)
        except jsonschema.ValidationError:
            continue
        raise AssertionError(f"{broken} must not validate")


def test_the_project_schema_is_the_refreshed_copy_and_says_where_it_came_from():
    """tests/data/SOURCES.md names the repository, path and commit of the copy."""
    schema = json.loads((REFERENCE / "pulumi-project.schema.json").read_text())
    assert schema["$id"] == "https://github.com/pulumi/pulumi/blob/master/sdk/go/common/workspace/project.json"
    sources = (REFERENCE / "SOURCES.md").read_text()
    (line,) = [line for line in sources.splitlines() if line.startswith("| `pulumi-project.schema.json`")]
    assert "`pulumi/pulumi`" in line and "`sdk/go/common/workspace/project.json`" in line
    assert re.search(r"commit `[0-9a-f]{40}`", line)
    # What the current schema has and the old copy lacked: project-level config values.
    jsonschema.validate({"name": "x", "runtime": "python", "config": {"region": {"value": "eu-west-1"}}}, schema)
    jsonschema.validate({"name": "x", "runtime": "python", "config": {"zones": ["a", "b"]}}, schema)


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
