"""The mfa-policy Pulumi program: read the stack's config, create the component, export."""

import pulumi

from mfa_policy import RequireMfaPolicy
from mfa_policy.config import COMPONENT_NAME, NAMESPACE, read_settings

mfa = RequireMfaPolicy(COMPONENT_NAME, read_settings(pulumi.Config(NAMESPACE).get))

pulumi.export("policyArn", mfa.policy_arn)
pulumi.export("policyName", mfa.policy_name)
pulumi.export("groups", mfa.group_names)
pulumi.export("policyDocument", mfa.policy_document)
