"""A consumer project: its own group, and MFA required for it through the mfa-policy component."""

import pulumi
import pulumi_aws as aws

from mfa_policy import RequireMfaPolicy

config = pulumi.Config()
admins = aws.iam.Group("platform-admins", name=config.get("adminGroup") or "platform-admins")

mfa = RequireMfaPolicy(
    "platform-mfa",
    {
        # The group resource itself: the attachment follows its name (whatever adminGroup says)
        # and waits for the group to exist.
        "group_names": [admins],
        "self_service": ["password", "access_keys"],
        "max_mfa_age_seconds": 8 * 3600,
        "policy_name": "platform-require-mfa",
    },
)

pulumi.export("groupArn", admins.arn)
pulumi.export("mfaPolicyArn", mfa.policy_arn)
