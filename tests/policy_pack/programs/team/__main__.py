"""A team's IAM users in every situation the policy pack judges (tests/policy_pack).

The groups `administrators` (the project's prod stack: RequireMfaPolicy) and `platform-admins`
(examples/python-consumer: RequireMfaPolicy through the group resource) come from the programs
recorded beside this one; `legacy-admins` is enforced outside the stack (the pack's
enforcedGroups config names it).
"""

import json

import pulumi
import pulumi_aws as aws

from mfa_policy.policy.document import bootstrap_actions

ACCOUNT = "111122223333"
BOOTSTRAP = bootstrap_actions().actions()  # what enrolling an MFA device needs
OWN_USER_BOOTSTRAP = sorted(bootstrap_actions().own_user)  # ... on one's own user only
WITHOUT_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
# A hand-written policy that enforces MFA: everything but enrolling is denied without MFA, and
# enrolling only on one's own user.
HAND_WRITTEN = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAllButEnrollingWithoutMfa",
            "Effect": "Deny",
            "NotAction": BOOTSTRAP,
            "Resource": "*",
            "Condition": WITHOUT_MFA,
        },
        {
            "Sid": "DenyEnrollingOthersWithoutMfa",
            "Effect": "Deny",
            "Action": OWN_USER_BOOTSTRAP,
            "NotResource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
            "Condition": WITHOUT_MFA,
        },
    ],
}


def user(name: str, *groups: str) -> aws.iam.User:
    created = aws.iam.User(name, name=name)
    if groups:
        aws.iam.UserGroupMembership(f"{name}-groups", user=created.name, groups=list(groups))
    return created


# Covered through the project's component (prod stack), with keys for a script.
alice = user("alice", "administrators")
aws.iam.AccessKey("alice-script-key", user=alice.name)
# Covered through the consumer's component: GroupMembership of its group.
bob = aws.iam.User("bob", name="bob")
aws.iam.GroupMembership("platform-admins-members", group="platform-admins", users=[bob.name])

# Covered through a hand-written enforcing policy, next to AdministratorAccess.
auditors = aws.iam.Group("auditors", name="auditors")
enforcer = aws.iam.Policy("auditors-require-mfa", name="auditors-require-mfa", policy=json.dumps(HAND_WRITTEN))
aws.iam.GroupPolicyAttachment("auditors-require-mfa", group=auditors.name, policy_arn=enforcer.arn)
aws.iam.GroupPolicyAttachment(
    "auditors-admin", group=auditors.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess"
)
carol = user("carol", "auditors")

# Enforced outside this stack (enforcedGroups).
dave = user("dave", "legacy-admins")

# In no group, with a console password.
erin = user("erin")
aws.iam.UserLoginProfile("erin-console", user=erin.name)

# Groups whose only policy is an MFA condition that does not enforce.
weak_allow = aws.iam.Group("weak-allow", name="weak-allow")
aws.iam.GroupPolicy(
    "weak-allow-if-exists",
    group=weak_allow.name,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
                }
            ],
        }
    ),
)
frank = user("frank", "weak-allow")
weak_deny = aws.iam.Policy(
    "weak-deny-bool",
    name="weak-deny-bool",
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "NotAction": BOOTSTRAP,
                    "Resource": "*",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
                }
            ],
        }
    ),
)
aws.iam.GroupPolicyAttachment("weak-deny-bool", group="weak-deny", policy_arn=weak_deny.arn)
grace = user("grace", "weak-deny")

# A group whose name is not known until `pulumi up` (computed from another resource's output):
# at preview, the membership and the attachment are followed through their dependencies.
ops = aws.iam.Group("ops", name=enforcer.policy_id.apply(lambda policy_id: f"ops-{policy_id[-6:].lower()}"))
aws.iam.GroupPolicyAttachment("ops-require-mfa", group=ops.name, policy_arn=enforcer.arn)
ivan = aws.iam.User("ivan", name="ivan")
aws.iam.UserGroupMembership("ivan-groups", user=ivan.name, groups=[ops.name])
# One group of two, chosen by a value not known until `pulumi up`: undecided at preview.
judy = aws.iam.User("judy", name="judy")
chosen = pulumi.Output.all(ops.name, auditors.name).apply(lambda names: names[0])
aws.iam.UserGroupMembership("judy-groups", user=judy.name, groups=[chosen])
