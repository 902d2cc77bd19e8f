"""Errors the components raise for mistakes a user can make, as Pulumi prints them: one line.

Pulumi prints a ``pulumi.RunError`` as its message alone; any other exception comes with a long
traceback through the SDK. Every error here is a ``RunError``.
"""

from __future__ import annotations

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
