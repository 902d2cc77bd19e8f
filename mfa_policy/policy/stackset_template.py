"""The StackSet's CloudFormation template: RequireMfaPolicy's managed policy in every account (pure).

``build_stackset_template`` returns a template that creates the same IAM managed policy as
``RequireMfaPolicy`` (the whole document of ``build_policy_document``: self-service allows and
denies) and attaches it to IAM groups, existing or created by the template. A service-managed
StackSet deploys it into each account of the target OUs, including accounts that join later.

The document is generated, not rewritten by hand: it is built for a placeholder account and
partition, then every string that names them becomes ``Fn::Sub`` with ``${AWS::AccountId}`` and
``${AWS::Partition}``. Inside ``Fn::Sub``, ``${aws:username}`` would be read as a CloudFormation
reference, so IAM policy variables are escaped as ``${!aws:username}``, which CloudFormation
turns back into ``${aws:username}``. ``resolve_policy_document`` does what CloudFormation does,
for tests and the verifier.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from mfa_policy.policy.document import build_policy_document

TEMPLATE_FORMAT_VERSION = "2010-09-09"
POLICY_LOGICAL_ID = "RequireMfaPolicy"
# Placeholders no real ARN uses; the template swaps them for CloudFormation's pseudo parameters.
_ACCOUNT = "000000000000"
_PARTITION = "aws"
_ARN_PREFIX = f"arn:{_PARTITION}:iam::{_ACCOUNT}:"
_SUB_PREFIX = "arn:${AWS::Partition}:iam::${AWS::AccountId}:"


def _parameterized(value: Any) -> Any:
    """Strings naming the placeholder account become ``Fn::Sub``, their IAM variables escaped."""
    if isinstance(value, dict):
        return {key: _parameterized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_parameterized(item) for item in value]
    if isinstance(value, str) and _ARN_PREFIX in value:
        escaped = value.replace("${", "${!")
        return {"Fn::Sub": escaped.replace(_ARN_PREFIX, _SUB_PREFIX)}
    return value


def group_logical_id(group_name: str) -> str:
    """A stable CloudFormation logical ID for a created group: its letters and digits plus a hash.

    Logical IDs are alphanumeric; the hash keeps ``dev-admins`` and ``devadmins`` apart.
    """
    readable = re.sub(r"[^A-Za-z0-9]", "", group_name)[:64]
    digest = hashlib.sha256(group_name.encode()).hexdigest()[:8]
    return f"Group{readable}{digest}"


def build_stackset_template(
    group_names: Sequence[str],
    *,
    create_groups: bool = False,
    policy_name: str = "require-mfa",
    path: str = "/",
    description: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Build the StackSet template: the require-MFA managed policy, attached to ``group_names``.

    Args:
        group_names: IAM groups in each account; they must exist there unless ``create_groups``.
        create_groups: create the groups (at ``path``) in each account.
        policy_name: name of the managed policy in each account.
        path: IAM path of the policy and of created groups.
        description: the policy's description; none when None.
        options: ``build_policy_document``'s options, with the same names and rules.

    Returns:
        The template as a dict (serialize it with ``json.dumps``); same inputs, same template.
    """
    document = _parameterized(build_policy_document(_ACCOUNT, _PARTITION, **options))
    resources: dict[str, Any] = {}
    groups: list[Any] = list(group_names)
    if create_groups:
        groups = []
        for name in group_names:
            logical_id = group_logical_id(name)
            resources[logical_id] = {"Type": "AWS::IAM::Group", "Properties": {"GroupName": name, "Path": path}}
            groups.append({"Ref": logical_id})
    properties: dict[str, Any] = {"ManagedPolicyName": policy_name, "Path": path}
    if description:
        properties["Description"] = description
    properties["PolicyDocument"] = document
    properties["Groups"] = groups
    resources = {POLICY_LOGICAL_ID: {"Type": "AWS::IAM::ManagedPolicy", "Properties": properties}, **resources}
    return {
        "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
        "Description": "Requires MFA for the members of IAM groups, with MFA self-service (managed by mfa-policy).",
        "Resources": resources,
        "Outputs": {
            "PolicyArn": {"Description": "ARN of the require-MFA policy.", "Value": {"Ref": POLICY_LOGICAL_ID}}
        },
    }


_REFERENCE = re.compile(r"\$\{(!?)([^}]*)\}")


def resolve_sub(value: Any, parameters: Mapping[str, str]) -> Any:
    """Resolve ``Fn::Sub`` the way CloudFormation does: ``${Name}`` from ``parameters``,
    ``${!Literal}`` to ``${Literal}``. Raises KeyError for a reference it cannot resolve."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):

            def replace(match: re.Match[str]) -> str:
                if match.group(1):
                    return "${" + match.group(2) + "}"
                return parameters[match.group(2)]

            return _REFERENCE.sub(replace, value["Fn::Sub"])
        return {key: resolve_sub(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_sub(item, parameters) for item in value]
    return value


def resolve_policy_document(template: Mapping[str, Any], account_id: str, partition: str) -> Any:
    """The policy document CloudFormation would create in ``account_id`` in ``partition``."""
    document = template["Resources"][POLICY_LOGICAL_ID]["Properties"]["PolicyDocument"]
    return resolve_sub(document, {"AWS::AccountId": account_id, "AWS::Partition": partition})
