"""Errors the components raise for mistakes a user can make, as Pulumi prints them: one line.

Pulumi prints a ``pulumi.RunError`` as its message alone; any other exception comes with a long
traceback through the SDK. Every error here is a ``RunError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pulumi

from mfa_policy.policy.validation import InvalidInputError

TESTING_HINT = (
    "under Pulumi's mocks every invoke a component makes must be answered: use mfa_policy.testing.Mocks "
    "in pulumi.runtime.set_mocks, or subclass it and call super().call(args) for the invokes you do not answer"
)


class UserInputError(InvalidInputError, pulumi.RunError):
    """A bad component argument or config value: an ``InvalidInputError`` Pulumi prints as one line."""

    @classmethod
    def from_error(cls, error: InvalidInputError) -> UserInputError:
        return cls(error.key, error.value, error.allowed)


class UnansweredInvokeError(pulumi.RunError):
    """An AWS invoke came back without a field AWS always returns: a test's mocks did not answer it."""

    def __init__(self, component: str, invoke: str, field: str) -> None:
        self.invoke = invoke
        self.field = field
        super().__init__(f"{component}: {invoke} was not answered (no {field!r} in its result); {TESTING_HINT}.")


def answered(value: pulumi.Output[Any], component: str, invoke: str, field: str) -> pulumi.Output[Any]:
    """``value``, failing with a message that names the component and invoke when it came back empty.

    AWS always answers these fields; an empty one means a test's mocks did not answer the invoke
    (Pulumi's minimal mocks answer every call with ``{}``). ``component`` is how the message names
    the component, e.g. ``RequireMfaPolicy 'require-mfa'``.
    """

    def check(result: Any) -> Any:
        if result is None:
            raise UnansweredInvokeError(component, invoke, field)
        return result

    return value.apply(check)


def camel_case(argument: str) -> str:
    """``allow_enforcing_deployer`` -> ``allowEnforcingDeployer``: the provider schema's name."""
    first, *rest = argument.split("_")
    return first + "".join(word.capitalize() for word in rest)


@dataclass(frozen=True)
class ArgumentStyle:
    """How a component's messages name its arguments: the way the caller wrote them.

    ``PYTHON`` (the default: ``allow_enforcing_deployer=True``), ``SCHEMA`` (the component provider,
    for TypeScript, Go, C#, Java and YAML: ``allowEnforcingDeployer: true``), or a program's config
    keys (this repository's program: ``mfa-policy:allowEnforcingDeployer: true``). A component reads
    ``current_style()`` when it is created, so a message raised later (in an ``apply``) still
    speaks the caller's language.
    """

    name: Callable[[str], str]
    """An argument's name as the caller writes it."""
    value: Callable[[Any], str]
    """A value as the caller writes it (``True`` or ``true``)."""
    assign: str = "{name}={value}"
    provider: bool = False
    """True when the caller is the component provider: its errors must be input errors."""

    def setting(self, argument: str, value: Any) -> str:
        """``allow_enforcing_deployer=True``, ``allowEnforcingDeployer: true``, ..."""
        return self.assign.format(name=self.name(argument), value=self.value(value))


PYTHON = ArgumentStyle(name=lambda argument: argument, value=repr)
SCHEMA = ArgumentStyle(name=camel_case, value=json.dumps, assign="{name}: {value}", provider=True)


def config_style(namespace: str) -> ArgumentStyle:
    """Arguments named as a program's config keys, ``<namespace>:<camelCase>``."""
    return ArgumentStyle(
        name=lambda argument: f"{namespace}:{camel_case(argument)}", value=json.dumps, assign="{name}: {value}"
    )


_STYLE: ContextVar[ArgumentStyle] = ContextVar("mfa_policy_argument_style", default=PYTHON)


def current_style() -> ArgumentStyle:
    """The style of the code creating components right now (``PYTHON`` unless set)."""
    return _STYLE.get()


@contextmanager
def argument_style(style: ArgumentStyle) -> Iterator[None]:
    """Components created inside the block name their arguments in ``style``."""
    token = _STYLE.set(style)
    try:
        yield
    finally:
        _STYLE.reset(token)
