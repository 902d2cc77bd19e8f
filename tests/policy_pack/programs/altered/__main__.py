"""The project's own program with a stack transformation that edits RequireMfaPolicy's document
on its way to AWS (tests/policy_pack): the Deny that keeps users without MFA off other users'
MFA devices is dropped, and S3 is exempted from the lockdown. A policy attached to one of the
groups allows S3, which the edited document no longer denies."""

import json
import runpy
from pathlib import Path

import pulumi
import pulumi_aws as aws

PROGRAM = Path(__file__).resolve().parents[4] / "__main__.py"


def weaken(text: str) -> str:
    document = json.loads(text)
    statements = [s for s in document["Statement"] if s["Sid"] != "DenyMfaBootstrapOnOtherUsersWithoutMfa"]
    for statement in statements:
        if statement["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa":
            statement["NotAction"] = [*statement["NotAction"], "s3:*"]
    return json.dumps({**document, "Statement": statements})


def edit_require_mfa_policy(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    if args.type_ == "aws:iam/policy:Policy" and args.name == "require-mfa-policy":
        props = dict(args.props)
        props["policy"] = pulumi.Output.from_input(props["policy"]).apply(weaken)
        return pulumi.ResourceTransformationResult(props, args.opts)
    return None


pulumi.runtime.register_stack_transformation(edit_require_mfa_policy)
runpy.run_path(str(PROGRAM), run_name="__main__")
aws.iam.GroupPolicyAttachment(
    "operators-s3", group="operators", policy_arn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
)
operator = aws.iam.User("oscar", name="oscar")
aws.iam.UserGroupMembership("oscar-groups", user=operator.name, groups=["operators"])
