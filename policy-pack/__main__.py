"""mfa-policy's CrossGuard policy pack: only builds the pack (the policies live in mfa_policy.policy_pack).

The PolicyPack constructor serves the policies over gRPC to the Pulumi CLI, prints its port, and
blocks until the CLI ends it.
"""

from pulumi_policy import PolicyPack

from mfa_policy.policy_pack.policies import PACK_DESCRIPTION, PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), description=PACK_DESCRIPTION)
