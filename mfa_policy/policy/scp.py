"""The organization guardrail: a service control policy that requires MFA (pure: no Pulumi, no I/O).

``build_scp_document`` returns the SCP that ``OrganizationMfaGuardrail`` attaches to the root, OUs
or accounts. It is made of the Deny statements of ``build_policy_document`` for the same options,
so the two can never drift apart (an option that adds a Deny to the managed policy adds it to the
SCP too), with two changes:

* every statement carries ``StringEquals aws:PrincipalType = User``: the SCP applies to every
  principal in the member accounts, and only IAM users are meant. Roles, assumed roles (IAM
  Identity Center, service roles, CI), federated users and the root user are never touched; an SCP
  that denied a role without MFA would stop every workload in the organization.
* the caller's own user is ``arn:<partition>:iam::*:user/${aws:username}``: one SCP serves every
  account. An IAM user can only act on IAM users of their own account (IAM has no resource
  policies), so the wildcard account gives nobody more.

SCPs support the whole IAM policy language since 2025 (``NotAction``, ``NotResource``, conditions,
policy variables), so both denies of the managed policy fit. AWS counts every character of an SCP
against its 5,120-character quota, white space included: ``scp_json`` gives the minified form and
``build_scp_document`` refuses a document that would not fit.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from mfa_policy.policy.document import DOCUMENT_OPTIONS, build_policy_document
from mfa_policy.policy.validation import InvalidInputError, check_partition

# AWS Organizations quota: the size of an SCP document, every character counted.
MAX_SCP_CHARACTERS = 5120
# The condition that limits a statement to IAM users (aws:PrincipalType is Account for the root
# user, AssumedRole for roles and Identity Center sessions, FederatedUser for federation tokens).
PRINCIPAL_TYPE_KEY = "aws:PrincipalType"
IAM_USER = "User"
# Built for a placeholder account, whose ARNs are then widened to every account.
_PLACEHOLDER_ACCOUNT = "000000000000"


def scp_json(document: dict[str, Any]) -> str:
    """The document as AWS should receive it: minified, so white space costs nothing."""
    return json.dumps(document, separators=(",", ":"))


def _any_account(value: Any, partition: str) -> Any:
    placeholder = f"arn:{partition}:iam::{_PLACEHOLDER_ACCOUNT}:"
    widened = f"arn:{partition}:iam::*:"
    if isinstance(value, str):
        return value.replace(placeholder, widened)
    return [_any_account(item, partition) for item in value]


def _for_iam_users_only(statement: dict[str, Any], partition: str) -> dict[str, Any]:
    result = copy.deepcopy(statement)
    for element in ("Resource", "NotResource"):
        if element in result:
            result[element] = _any_account(result[element], partition)
    condition = result.setdefault("Condition", {})
    equals = condition.setdefault("StringEquals", {})
    if PRINCIPAL_TYPE_KEY in equals:  # a statement already limited to some principal types stays so
        raise ValueError(f"statement {result.get('Sid')} already names {PRINCIPAL_TYPE_KEY}")
    equals[PRINCIPAL_TYPE_KEY] = IAM_USER
    return result


def build_scp_document(partition: str = "aws", **options: Any) -> dict[str, Any]:
    """Build the require-MFA service control policy.

    Args:
        partition: one of AWS's partitions (``PARTITIONS``; an organization lives in one).
        options: any of ``build_policy_document``'s options (``DOCUMENT_OPTIONS``), with the same
            rules. Those that add to the bootstrap set (password change, listing users) or change
            the Deny statements (``max_mfa_age_seconds``) shape the SCP; ``self_service`` only
            grants, so it changes nothing here.

    Returns:
        The SCP document as a dict; same inputs, same document.

    Raises:
        InvalidInputError naming the option, for an unknown option or a value outside its rule, or
        when the minified document exceeds AWS's 5,120-character quota.
    """
    check_partition(partition, "partition")
    for name in options:
        if name not in DOCUMENT_OPTIONS:
            raise InvalidInputError(name, options[name], "no such option; allowed: " + ", ".join(DOCUMENT_OPTIONS))
    identity = build_policy_document(_PLACEHOLDER_ACCOUNT, partition, **options)
    statements = [
        _for_iam_users_only(statement, partition)
        for statement in identity["Statement"]
        if statement["Effect"] == "Deny"
    ]
    document = {"Version": identity["Version"], "Statement": statements}
    size = len(scp_json(document))
    if size > MAX_SCP_CHARACTERS:
        raise InvalidInputError(
            "options",
            options,
            f"options whose SCP fits AWS's quota of {MAX_SCP_CHARACTERS} characters (this one has {size})",
        )
    return document
