"""Hosts RequireMfaPolicy and OrganizationMfaGuardrail for programs in TypeScript, Go, C#, Java, YAML.

A source-based component provider: `pulumi package add <path or Git URL>/provider` runs this file,
which serves a schema inferred from the components' type annotations and docstrings.
Kept in its own folder: a PulumiPlugin.yaml beside the program's __main__.py would make Pulumi
run the program as a plugin.
"""

from pulumi.provider.experimental import component_provider_host

from mfa_policy import __version__
from mfa_policy.components.organization import OrganizationMfaGuardrail
from mfa_policy.components.require_mfa import RequireMfaPolicy

# The package name is the type token's prefix: mfa-policy:index:RequireMfaPolicy.
PROVIDER_NAME = "mfa-policy"
COMPONENTS = [RequireMfaPolicy, OrganizationMfaGuardrail]

if __name__ == "__main__":
    component_provider_host(COMPONENTS, PROVIDER_NAME, version=__version__)
