"""Hosts the mfa-policy components for Pulumi programs in TypeScript, Go, C#, Java and YAML.

A source-based component provider: `pulumi package add <path or Git URL>/provider` runs this file,
which serves a schema inferred from the components' type annotations, with descriptions written
for every language (each component's SchemaDocs), and reports a bad input as an input error that
names the schema's property.
Kept in its own folder: a PulumiPlugin.yaml beside the program's __main__.py would make Pulumi
run the program as a plugin.
"""

import sys

from pulumi.provider import main

from mfa_policy import __version__
from mfa_policy.components import organization, require_mfa
from mfa_policy.components.provider import ComponentsProvider

# The package name is the type token's prefix: mfa-policy:index:RequireMfaPolicy.
PROVIDER_NAME = "mfa-policy"
COMPONENTS = [require_mfa.RequireMfaPolicy, organization.OrganizationMfaGuardrail]
SCHEMA_DOCS = [require_mfa.SCHEMA_DOCS, organization.SCHEMA_DOCS]


def provider() -> ComponentsProvider:
    return ComponentsProvider(COMPONENTS, PROVIDER_NAME, SCHEMA_DOCS, version=__version__)


if __name__ == "__main__":
    # What pulumi.provider.experimental.component_provider_host does, with our provider class.
    main(provider(), sys.argv[1:])
