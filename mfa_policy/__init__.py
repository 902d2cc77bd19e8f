"""mfa-policy: require MFA for AWS IAM users, with MFA self-service, as a Pulumi component."""

from typing import TYPE_CHECKING

from mfa_policy.policy.document import SELF_SERVICE_NAMES, build_policy_document
from mfa_policy.policy.validation import InvalidInputError
from mfa_policy.verifier.evaluation import Decision, evaluate

if TYPE_CHECKING:  # for type checkers; at run time __getattr__ below imports them on first use
    from mfa_policy.components.organization import OrganizationMfaGuardrail, OrganizationMfaGuardrailArgs
    from mfa_policy.components.require_mfa import RequireMfaPolicy, RequireMfaPolicyArgs

__version__ = "0.2.0"

__all__ = [
    "SELF_SERVICE_NAMES",
    "Decision",
    "InvalidInputError",
    "OrganizationMfaGuardrail",
    "OrganizationMfaGuardrailArgs",
    "RequireMfaPolicy",
    "RequireMfaPolicyArgs",
    "build_policy_document",
    "evaluate",
]


def __getattr__(name: str):
    # The component imports pulumi_aws (large); load it only when asked for, so the pure policy
    # builder and the verifier stay quick to import.
    if name in ("RequireMfaPolicy", "RequireMfaPolicyArgs"):
        from mfa_policy.components import require_mfa as component

        return getattr(component, name)
    if name in ("OrganizationMfaGuardrail", "OrganizationMfaGuardrailArgs"):
        from mfa_policy.components import organization

        return getattr(organization, name)
    raise AttributeError(f"module 'mfa_policy' has no attribute {name!r}")
