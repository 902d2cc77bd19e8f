"""The component provider that hosts the components for TypeScript, Go, C#, Java and YAML.

The SDK's ``ComponentProvider`` infers the schema from the components' type annotations and takes
the descriptions from the Python docstrings, which speak Python (``parent=self``, ``False``,
reStructuredText). ``ComponentsProvider`` keeps the inferred types and replaces every description
with the component's ``SchemaDocs``: text written for every language. It also turns a bad input
into the SDK's ``InputPropertyError`` naming the schema's property (``groupNames``), which Pulumi
shows as a clean message, instead of a Python traceback.

A component joins by having a ``SchemaDocs`` (one description per schema input and output; the
provider refuses to start when one is missing or extra) and raising ``InvalidInputError`` for
bad arguments.
"""

from __future__ import annotations

import asyncio
import difflib
import json
from collections.abc import Sequence
from typing import Any

from pulumi import ComponentResource, ResourceOptions
from pulumi.errors import InputPropertyError
from pulumi.output import Inputs, Output, Unknown
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.util import camel_case
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from mfa_policy.components.errors import SCHEMA, argument_style
from mfa_policy.components.schema_docs import SchemaDocs, apply_schema_docs
from mfa_policy.policy.validation import InvalidInputError, contains_output


def _shown(value: Any) -> str:
    """A value as the user wrote it in their language: JSON, with placeholders for outputs."""

    def placeholder(item: Any) -> str:
        if isinstance(item, Unknown):
            return "<unknown at preview>"
        if isinstance(item, Output):
            return "<output>"
        return repr(item)

    try:
        return json.dumps(value, default=placeholder)
    except ValueError:
        return repr(value)


def _is_secret(value: Any) -> bool | None:
    """Whether an input ``Output`` is secret, when that is already decided (inputs from the engine are);
    None when it cannot be told without waiting."""
    data = getattr(value, "_data", None)  # Pulumi SDK 3.2xx keeps an output's state in one future
    if isinstance(data, asyncio.Future) and data.done() and data.exception() is None:
        return bool(data.result().is_secret)
    secret = getattr(value, "_is_secret", None)  # older SDKs: a future of its own
    if isinstance(secret, asyncio.Future) and secret.done() and secret.exception() is None:
        return bool(secret.result())
    return None


def _contains_secret(value: Any) -> bool:
    if isinstance(value, Output):
        return _is_secret(value) is True
    if isinstance(value, (list, tuple)):
        return any(_contains_secret(item) for item in value)
    if isinstance(value, dict):
        return any(_contains_secret(item) for item in value.values())
    return False


def _schema_path(key: str, schema_names: dict[str, str]) -> str:
    """An argument's name as the schema spells it: ``enrollment.require_tag.key`` ->
    ``enrollment.requireTag.key`` (the SDK camel-cases the fields of object types the same way)."""
    head, *fields = key.split(".")
    return ".".join([schema_names.get(head, head), *(camel_case(field) for field in fields)])


class ComponentsProvider(ComponentProvider):
    """``ComponentProvider`` with language-neutral descriptions and bad inputs as input errors."""

    def __init__(
        self,
        components: list[type[ComponentResource]],
        name: str,
        docs: Sequence[SchemaDocs],
        version: str = "0.0.0",
    ) -> None:
        super().__init__(components, name, version=version)
        self._docs = {doc.token: doc for doc in docs}
        self.schema = json.dumps(apply_schema_docs(json.loads(self.schema or "{}"), docs))

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: Inputs,
        options: ResourceOptions | None = None,
    ) -> ConstructResult:
        self._check_inputs(resource_type, inputs)
        try:
            # The component's own messages (raised now or later, in an apply) use the schema's names.
            with argument_style(SCHEMA):
                return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            inner = error.inner
            if not isinstance(inner, InvalidInputError):
                raise
            definition = self._component_defs[resource_type.rsplit(":", 1)[-1]]
            schema_names = {python: schema for schema, python in definition.inputs_mapping.items()}
            prop = _schema_path(inner.key, schema_names)
            preview_rule = self._docs[resource_type].known_at_preview.get(prop)
            if preview_rule and contains_output(inner.value):
                raise InputPropertyError(prop, f"{prop}: got {_shown(inner.value)}; {preview_rule}.") from None
            raise InputPropertyError(prop, f"{prop}: got {_shown(inner.value)}; expected {inner.allowed}.") from None

    def _check_inputs(self, resource_type: str, inputs: Inputs) -> None:
        """Refuse what the SDK would pass on silently or the component would call wrong: an input the
        schema does not have, and a value not known at preview or secret (the component builds its
        policy before deployment and writes it in plain text)."""
        component = resource_type.rsplit(":", 1)[-1]
        definition = self._component_defs.get(component)
        if definition is None:
            return  # the SDK reports an unknown resource type
        names = list(definition.inputs)
        for prop in sorted(inputs):
            if prop not in definition.inputs:
                close = difflib.get_close_matches(prop, names, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise InputPropertyError(
                    prop, f"{prop}: {component} has no such input{hint}; its inputs are {', '.join(sorted(names))}."
                )
        for prop, value in inputs.items():
            preview_rule = self._docs[resource_type].known_at_preview.get(prop)
            if preview_rule:
                continue  # its own message, from the component (group names, targets)
            if _contains_secret(value):
                raise InputPropertyError(
                    prop,
                    f"{prop} may not be secret: {component} writes it into resources in plain text; pass it as "
                    "a plain value.",
                )
            if contains_output(value):
                raise InputPropertyError(
                    prop,
                    f"{prop} must be known at preview: write it as a plain value, not another resource's output "
                    f"({component} checks its inputs and builds its policy before anything is deployed).",
                )
