"""Small stacks for the policy pack's unit tests, as the engine describes their resources."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pack_engine import UNKNOWN, EngineResource, resource, resource_args, stack_args

from conftest import ACCOUNT_ID
from mfa_policy.policy.document import bootstrap_actions, build_policy_document
from mfa_policy.policy_pack.components import REQUIRE_MFA_POLICY
from mfa_policy.policy_pack.policies import policies
from mfa_policy.policy_pack.stack import (
    GROUP,
    GROUP_POLICY,
    GROUP_POLICY_ATTACHMENT,
    POLICY,
    USER,
    USER_GROUP_MEMBERSHIP,
)

POLICIES = {policy.name: policy for policy in policies()}
BOOTSTRAP = bootstrap_actions().actions()  # what enrolling an MFA device needs
OWN_USER_BOOTSTRAP = sorted(bootstrap_actions().own_user)  # ... on one's own user only
WITHOUT_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"


def document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def component(
    groups: Sequence[str] = ("admins",),
    *,
    preview: bool = False,
    deployed: Mapping[str, Any] | None = None,
    name: str = "require-mfa",
    **options: Any,
) -> list[EngineResource]:
    """A RequireMfaPolicy as the engine holds it: the component's outputs, its policy (``deployed``:
    the document as a transformation left it) and one attachment per group."""
    built = build_policy_document(ACCOUNT_ID, **options)
    policy_arn = UNKNOWN if preview else arn(name)
    parent = resource(
        REQUIRE_MFA_POLICY,
        name,
        {"policy_document": json.dumps(built, indent=2), "group_names": list(groups), "policy_arn": policy_arn},
        provider="",
    )
    policy = resource(
        POLICY,
        f"{name}-policy",
        {"name": name, "path": "/", "policy": json.dumps(deployed or built), "arn": policy_arn},
        parent=parent,
    )
    attachments = [
        resource(
            GROUP_POLICY_ATTACHMENT,
            f"{name}-{group}",
            {"group": group, "policyArn": policy_arn},
            parent=parent,
            depends={"policyArn": [policy]},
        )
        for group in groups
    ]
    return [parent, policy, *attachments]


def user(name: str, *groups: str) -> list[EngineResource]:
    """A user, and its membership of ``groups`` (by name)."""
    created = resource(USER, name, {"name": name, "path": "/", "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"})
    if not groups:
        return [created]
    membership = resource(USER_GROUP_MEMBERSHIP, f"{name}-groups", {"user": name, "groups": list(groups)})
    return [created, membership]


def group_policy(group: str, policy_document: Mapping[str, Any], name: str | None = None) -> EngineResource:
    return resource(GROUP_POLICY, name or f"{group}-inline", {"group": group, "policy": json.dumps(policy_document)})


def managed(group: str, name: str, policy_document: Mapping[str, Any] | Any) -> list[EngineResource]:
    """A managed policy in the stack, attached to ``group``."""
    text = policy_document if policy_document is UNKNOWN else json.dumps(policy_document)
    policy = resource(POLICY, name, {"name": name, "path": "/", "policy": text, "arn": arn(name)})
    attachment = resource(GROUP_POLICY_ATTACHMENT, f"{name}-{group}", {"group": group, "policyArn": arn(name)})
    return [policy, attachment]


def group(logical_name: str, **props: Any) -> EngineResource:
    return resource(GROUP, logical_name, {"name": logical_name, "path": "/", **props})


def stack_violations(
    policy: str, resources: Sequence[EngineResource], config: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """A stack policy's violations, by the logical name of the resource each is about."""
    found: dict[str, str] = {}

    def report(message: str, urn: str | None = None) -> None:
        found[(urn or "<stack>").rsplit("::", 1)[-1]] = message

    POLICIES[policy].validate(stack_args(resources, config), report)
    return found


def resource_violations(policy: str, engine_resource: EngineResource) -> list[str]:
    found: list[str] = []
    POLICIES[policy].validate(resource_args(engine_resource), lambda message, urn=None: found.append(message))
    return found


# The stack of docs/policy-pack.md's sample output: grace's only group has a policy that denies
# with "Bool aws:MultiFactorAuthPresent false" (tests/policy_pack/test_docs_sample.py).
SAMPLE_DENY_BOOL = document(
    {"Effect": "Deny", "NotAction": BOOTSTRAP, "Resource": "*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
)


def docs_sample_stack() -> tuple[list[EngineResource], EngineResource]:
    """The sample's stack, and its group policy (the resource the resource policy judges)."""
    weak = group_policy("developers", SAMPLE_DENY_BOOL, name="developers-mfa")
    return [group("developers"), weak, *user("grace", "developers")], weak
