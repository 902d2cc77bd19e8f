"""The mfa-policy Pulumi program: read the stack's config, create the component(s), export.

Without ``mfa-policy:accounts``: one RequireMfaPolicy in the deploying credentials' account.
With it: one AWS provider per account (assuming that account's role) and one RequireMfaPolicy
through each, with the same groups and options.
With ``mfa-policy:organization`` instead: one OrganizationMfaGuardrail (an SCP on the targets and
a StackSet that puts the same policy into every account of the target OUs).
"""

import pulumi

try:
    import mfa_policy  # noqa: F401  (on Python < 3.11 it says which version it needs)
except ImportError as error:
    raise pulumi.RunError(str(error)) from None

import pulumi_aws as aws

from mfa_policy import InvalidInputError, OrganizationMfaGuardrail, RequireMfaPolicy
from mfa_policy.components.errors import UserInputError, argument_style, config_style
from mfa_policy.program.config import COMPONENT_NAME, NAMESPACE, ORGANIZATION_COMPONENT_NAME, read_program_config

# Every error a user can cause is a pulumi.RunError: Pulumi prints its message as one line. The
# component raises its own (bad arguments, the deployer lockout check); the config is read here,
# every key the engine passed (a misspelled one is an error, not a silent default).
config = pulumi.Config(NAMESPACE)
try:
    program = read_program_config(config.get, {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()})
except InvalidInputError as error:
    raise UserInputError.from_error(error) from None
settings, organization, accounts = program.settings, program.organization, program.accounts

# The components' messages (the lockout check's) name this program's config keys, not arguments.
with argument_style(config_style(NAMESPACE)):
    if organization is not None:
        guardrail = OrganizationMfaGuardrail(ORGANIZATION_COMPONENT_NAME, organization.guardrail_args(settings))
        pulumi.export("scpId", guardrail.scp_id)
        pulumi.export("scpDocument", guardrail.scp_document)
        pulumi.export("stackSetName", guardrail.stack_set_name)
        pulumi.export("stackSetTemplate", guardrail.stack_set_template)
    elif not accounts:
        mfa = RequireMfaPolicy(COMPONENT_NAME, settings)
        pulumi.export("policyArn", mfa.policy_arn)
        pulumi.export("policyName", mfa.policy_name)
        pulumi.export("groups", mfa.group_names)
        pulumi.export("policyDocument", mfa.policy_document)
    else:
        default_region = pulumi.Config("aws").get("region") or "us-east-1"
        exported = {}
        for account in accounts:
            provider = aws.Provider(
                f"{COMPONENT_NAME}-{account.name}",
                region=account.region or default_region,
                assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=account.role_arn, session_name="mfa-policy")],
            )
            mfa = RequireMfaPolicy(
                f"{COMPONENT_NAME}-{account.name}", settings, pulumi.ResourceOptions(providers=[provider])
            )
            exported[account.name] = {
                "accountId": account.account_id,
                "policyArn": mfa.policy_arn,
                "policyName": mfa.policy_name,
                "groups": mfa.group_names,
                "policyDocument": mfa.policy_document,
            }
        pulumi.export("accounts", exported)
