"""The Pulumi project's files: ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``, read as the CLI reads them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from mfa_policy.program.config import config_value_to_string


class _CliYamlLoader(yaml.SafeLoader):
    """Reads booleans as YAML 1.2 does, like the Pulumi CLI: ``yes``/``on`` stay strings."""


_CliYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CliYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _config_scalar_texts(text: str) -> dict[str, str]:
    """The stack file's top-level config values that are scalars, as written.

    The Pulumi CLI reads such a value into a string from its source text: ``accountId:
    001122334455`` reaches the program as ``"001122334455"``, not as the number YAML would make
    of it (and lose the leading zeros of).
    """
    root = yaml.compose(text, Loader=_CliYamlLoader)
    texts: dict[str, str] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "config" and isinstance(value, yaml.MappingNode):
                for config_key, config_value in value.value:
                    if isinstance(config_value, yaml.ScalarNode) and config_value.tag != "tag:yaml.org,2002:null":
                        texts[config_key.value] = config_value.value
    return texts


class ProjectError(Exception):
    """The project or stack files cannot be read, or the stack config is incomplete."""


def partition_for_region(region: str | None) -> str:
    """The AWS partition of a region name (``cn-north-1`` -> ``aws-cn``, ``us-isob-east-1`` ->
    ``aws-iso-b``), from AWS's partitions data; ``aws`` when no partition claims it."""
    from mfa_policy.policy.partitions import partition_of_region

    return (partition_of_region(region) if region else None) or "aws"


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_CliYamlLoader)
    except OSError as error:
        raise ProjectError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        # One line: PyYAML's message spans several, with a caret under the position.
        raise ProjectError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProjectError(f"{path} must be a YAML mapping")
    return data


def stack_config(project_dir: Path, stack: str) -> tuple[str, dict[str, str]]:
    """The project's name and the config a program sees for ``stack``, as the Pulumi CLI builds it.

    Stack values override ``Pulumi.yaml`` defaults; a declared key with no default that the
    stack does not set is an error, as with ``pulumi up``.
    """
    project = _load_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name")
    if not isinstance(name, str):
        raise ProjectError(f"{project_dir / 'Pulumi.yaml'} has no project name")
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.exists():
        stacks = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))
        known = f" (stacks here: {', '.join(stacks)})" if stacks else ""
        raise ProjectError(f"stack {stack!r} has no config file {stack_file}{known}")
    values = _load_yaml(stack_file).get("config") or {}
    if not isinstance(values, dict):
        raise ProjectError(f"config in {stack_file} must be a YAML mapping of keys to values")
    texts = _config_scalar_texts(stack_file.read_text())
    config = {key: texts[key] if key in texts else config_value_to_string(value) for key, value in values.items()}
    for key, declaration in (project.get("config") or {}).items():
        full_key = key if ":" in key else f"{name}:{key}"
        if full_key in config:
            continue
        if isinstance(declaration, dict):
            if "default" not in declaration:
                # The Pulumi CLI's own words, then the key as this project's messages name it.
                what = f": {declaration['description']}" if declaration.get("description") else ""
                raise ProjectError(
                    f"Stack {stack!r} is missing configuration value {key!r}; set {full_key} in "
                    f"Pulumi.{stack}.yaml{what}"
                )
            config[full_key] = config_value_to_string(declaration["default"])
        else:
            config[full_key] = config_value_to_string(declaration)
    return name, config
