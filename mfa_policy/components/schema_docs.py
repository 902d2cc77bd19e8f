"""Schema descriptions written for every language, for the component provider (pure).

The provider's schema is inferred from the components' Python annotations; its descriptions would
be the Python docstrings (``parent=self``, ``False``, reStructuredText). Each component declares a
``SchemaDocs`` instead: Markdown without Python words, one text per schema input and output.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SchemaDocs:
    """A component's schema descriptions, for readers in any language (Markdown, no Python words).

    ``inputs`` and ``outputs`` are keyed by the schema's (camelCase) property names.
    ``known_at_preview`` says, per input, why it cannot hold another resource's output (the
    reason a user sees when one arrives unknown at preview).
    """

    token: str
    description: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    known_at_preview: Mapping[str, str] = field(default_factory=dict)


def apply_schema_docs(schema: dict[str, Any], docs: Sequence[SchemaDocs]) -> dict[str, Any]:
    """Put ``docs`` into an inferred schema; ``ValueError`` unless they cover it exactly."""
    by_token = {doc.token: doc for doc in docs}
    resources = schema.get("resources", {})
    if set(by_token) != set(resources):
        raise ValueError(f"schema docs for {sorted(by_token)}, components {sorted(resources)}")
    for token, resource in resources.items():
        doc = by_token[token]
        resource["description"] = doc.description
        for section, texts in (("inputProperties", doc.inputs), ("properties", doc.outputs)):
            properties = resource.get(section, {})
            if set(texts) != set(properties):
                raise ValueError(
                    f"{token} {section}: descriptions for {sorted(texts)}, schema has {sorted(properties)}"
                )
            for name, prop in properties.items():
                _drop_nested_descriptions(prop)
                prop["description"] = texts[name]
    _clean_type_descriptions(schema)
    return schema


def _clean_type_descriptions(schema: dict[str, Any]) -> None:
    """The descriptions of the schema's object types (an argument that is an object, such as
    ``EnrollmentArgs``) come from their docstrings, written in Markdown for every language:
    joined into paragraphs, since an indented line would render as code."""
    for definition in schema.get("types", {}).values():
        texts = [definition, *definition.get("properties", {}).values()]
        for node in texts:
            if isinstance(node.get("description"), str):
                node["description"] = _paragraphs(node["description"])
        for prop in definition.get("properties", {}).values():
            _drop_nested_descriptions(prop)


def _paragraphs(text: str) -> str:
    return "\n\n".join(" ".join(block.split()) for block in inspect.cleandoc(text).split("\n\n"))


def _drop_nested_descriptions(prop: dict[str, Any]) -> None:
    # The SDK copies the docstring into an array's items and a map's values too.
    for key in ("items", "additionalProperties"):
        nested = prop.get(key)
        if isinstance(nested, dict):
            nested.pop("description", None)
            _drop_nested_descriptions(nested)
