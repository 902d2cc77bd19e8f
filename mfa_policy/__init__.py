"""mfa-policy: require MFA for AWS IAM users, with MFA self-service, as a Pulumi component."""

from __future__ import annotations

import sys

REQUIRED_PYTHON = (3, 11)


def check_python(version_info: tuple[int, ...] | None = None) -> None:
    """Raise ImportError with one line naming the Python mfa-policy needs, on an older one."""
    major, minor = (sys.version_info[0], sys.version_info[1]) if version_info is None else version_info[:2]
    if (major, minor) < REQUIRED_PYTHON:
        raise ImportError(
            f"mfa-policy needs Python {REQUIRED_PYTHON[0]}.{REQUIRED_PYTHON[1]} or later; "
            f"this is Python {major}.{minor}"
        )


# Before anything that needs 3.11 (datetime.UTC, typing.Required): fail with a clear line instead.
check_python()

from typing import TYPE_CHECKING  # noqa: E402

from mfa_policy.policy.document import SELF_SERVICE_NAMES, build_policy_document  # noqa: E402
from mfa_policy.policy.validation import InvalidInputError  # noqa: E402
from mfa_policy.verifier.evaluation import Decision, evaluate  # noqa: E402

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below imports them on first use
    from mfa_policy.components.organization import OrganizationMfaGuardrail, OrganizationMfaGuardrailArgs
    from mfa_policy.components.require_mfa import DeployerLockoutError, RequireMfaPolicy, RequireMfaPolicyArgs

__version__ = "0.3.0"

__all__ = [
    "SELF_SERVICE_NAMES",
    "Decision",
    "DeployerLockoutError",
    "InvalidInputError",
    "OrganizationMfaGuardrail",
    "OrganizationMfaGuardrailArgs",
    "RequireMfaPolicy",
    "RequireMfaPolicyArgs",
    "build_policy_document",
    "evaluate",
]


if not TYPE_CHECKING:
    # Hidden from type checkers: a module-level __getattr__ makes them accept any name imported from
    # the package (`from mfa_policy import RequireMFAPolicy`), which then fails at run time. They
    # see the components through the TYPE_CHECKING imports above instead.

    def __getattr__(name: str):
        # The component imports pulumi_aws (large); load it only when asked for, so the pure policy
        # builder and the verifier stay quick to import.
        if name in ("DeployerLockoutError", "RequireMfaPolicy", "RequireMfaPolicyArgs"):
            from mfa_policy.components import require_mfa as component

            return getattr(component, name)
        if name in ("OrganizationMfaGuardrail", "OrganizationMfaGuardrailArgs"):
            from mfa_policy.components import organization

            return getattr(organization, name)
        raise AttributeError(f"module 'mfa_policy' has no attribute {name!r}")
