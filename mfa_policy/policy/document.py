"""The require-MFA policy document (pure: no Pulumi, no I/O).

``build_policy_document`` returns the IAM policy that makes MFA mandatory while letting every
user enroll and manage their own MFA device. Its contract is ``G1``-``G8`` in the project's
guarantees; ``mfa_policy.verifier.guarantees`` checks them over the whole catalog of AWS actions.

The shape, from AWS's reference policy with its gaps closed:

* Allow statements grant MFA self-service on the caller's own user only (at any IAM path).
* ``DenyAllExceptMfaBootstrapWithoutMfa`` denies every action but the bootstrap set while the
  session has no MFA, even next to a policy that allows everything.
* ``DenyMfaBootstrapOnOtherUsersWithoutMfa`` denies the bootstrap actions on any user but the
  caller while the session has no MFA: without it, an allow-all policy elsewhere would let a user
  without MFA enroll a device on a colleague.
* With ``max_mfa_age_seconds``, two more denies treat an older MFA session like one without MFA.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from mfa_policy.policy.validation import (
    check_account_id,
    check_bool,
    check_choices,
    check_partition,
    check_positive_int,
)

POLICY_VERSION = "2012-10-17"

# Without MFA a user may only enroll: these work on the caller's own user.
BOOTSTRAP_OWN_USER_ACTIONS = (
    "iam:EnableMFADevice",
    "iam:GetMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ResyncMFADevice",
)
# Users name their virtual devices (several per user since 2022), so creation is on mfa/*.
BOOTSTRAP_DEVICE_ACTIONS = ("iam:CreateVirtualMFADevice",)
# Actions without a resource; sts:GetSessionToken trades keys + an MFA code for an MFA session.
BOOTSTRAP_ACCOUNT_ACTIONS = ("iam:ListVirtualMFADevices", "sts:GetSessionToken")

# allow_password_change_without_mfa: the first sign-in's forced password change.
PASSWORD_CHANGE_OWN_USER_ACTIONS = ("iam:ChangePassword",)
PASSWORD_CHANGE_ACCOUNT_ACTIONS = ("iam:GetAccountPasswordPolicy",)
# allow_list_users: what the console needs to show the Users page.
LIST_USERS_ACCOUNT_ACTIONS = ("iam:ListAccountAliases", "iam:ListUsers")

# Removing an MFA device needs MFA; deleting a virtual device is left to administrators.
MFA_REMOVAL_OWN_USER_ACTIONS = ("iam:DeactivateMFADevice",)

# Self-service capabilities: name -> (Sid, actions on the caller's own user, actions on "*").
SELF_SERVICE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "password": (
        "AllowManageOwnPassword",
        ("iam:ChangePassword",),
        ("iam:GetAccountPasswordPolicy",),
    ),
    "access_keys": (
        "AllowManageOwnAccessKeys",
        (
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
        ),
        (),
    ),
    "signing_certificates": (
        "AllowManageOwnSigningCertificates",
        (
            "iam:DeleteSigningCertificate",
            "iam:ListSigningCertificates",
            "iam:UpdateSigningCertificate",
            "iam:UploadSigningCertificate",
        ),
        (),
    ),
    "ssh_public_keys": (
        "AllowManageOwnSshPublicKeys",
        (
            "iam:DeleteSSHPublicKey",
            "iam:GetSSHPublicKey",
            "iam:ListSSHPublicKeys",
            "iam:UpdateSSHPublicKey",
            "iam:UploadSSHPublicKey",
        ),
        (),
    ),
    "service_specific_credentials": (
        "AllowManageOwnServiceSpecificCredentials",
        (
            "iam:CreateServiceSpecificCredential",
            "iam:DeleteServiceSpecificCredential",
            "iam:ListServiceSpecificCredentials",
            "iam:ResetServiceSpecificCredential",
            "iam:UpdateServiceSpecificCredential",
        ),
        (),
    ),
}
SELF_SERVICE_NAMES = tuple(SELF_SERVICE)

# The keyword options of build_policy_document, as the component and the verifier pass them on.
DOCUMENT_OPTIONS = ("allow_password_change_without_mfa", "allow_list_users", "self_service", "max_mfa_age_seconds")

# AWS leaves aws:MultiFactorAuthPresent out of requests signed with long-term keys, hence IfExists.
_WITHOUT_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def own_user_arns(account_id: str, partition: str) -> list[str]:
    """The caller's own user ARN, at the root path and at any nested IAM path."""
    prefix = f"arn:{partition}:iam::{account_id}:user"
    return [f"{prefix}/${{aws:username}}", f"{prefix}/*/${{aws:username}}"]


def _statement(sid: str, effect: str, **elements: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, **elements}


def build_policy_document(
    account_id: str,
    partition: str = "aws",
    *,
    allow_password_change_without_mfa: bool = False,
    allow_list_users: bool = False,
    self_service: Collection[str] = SELF_SERVICE_NAMES,
    max_mfa_age_seconds: int | None = None,
) -> dict[str, Any]:
    """Build the require-MFA IAM policy document for one account.

    Args:
        account_id: the 12-digit account every ARN names.
        partition: ``aws``, ``aws-cn`` or ``aws-us-gov``.
        allow_password_change_without_mfa: let users change their own password without MFA, for
            the first sign-in when AWS forces a new password before the MFA page. Off by default,
            as AWS recommends.
        allow_list_users: let users list users and account aliases without MFA (console Users page).
        self_service: the credentials users may manage on their own user, with MFA: any of
            ``password``, ``access_keys``, ``signing_certificates``, ``ssh_public_keys``,
            ``service_specific_credentials``. Default: all five.
        max_mfa_age_seconds: when set, a session whose MFA sign-in is older counts as one without
            MFA (the bootstrap set, including ``sts:GetSessionToken``, still works to renew it).

    Returns:
        The policy document as a dict; the same inputs always give the same document.

    Raises:
        InvalidInputError (a ValueError) naming the argument, for any value outside its rule.
    """
    check_account_id(account_id, "account_id")
    check_partition(partition, "partition")
    check_bool(allow_password_change_without_mfa, "allow_password_change_without_mfa")
    check_bool(allow_list_users, "allow_list_users")
    capabilities = check_choices(self_service, "self_service", SELF_SERVICE_NAMES)
    if max_mfa_age_seconds is not None:
        max_mfa_age_seconds = check_positive_int(max_mfa_age_seconds, "max_mfa_age_seconds")

    own_user = own_user_arns(account_id, partition)
    devices = f"arn:{partition}:iam::{account_id}:mfa/*"
    # The bootstrap set with its options: on the own user, and on "*".
    own_user_bootstrap = list(BOOTSTRAP_OWN_USER_ACTIONS)
    account_bootstrap = list(BOOTSTRAP_ACCOUNT_ACTIONS)
    if allow_password_change_without_mfa:
        own_user_bootstrap += PASSWORD_CHANGE_OWN_USER_ACTIONS
        account_bootstrap += PASSWORD_CHANGE_ACCOUNT_ACTIONS
    if allow_list_users:
        account_bootstrap += LIST_USERS_ACCOUNT_ACTIONS
    all_bootstrap = sorted([*own_user_bootstrap, *BOOTSTRAP_DEVICE_ACTIONS, *account_bootstrap])

    account_actions = set(account_bootstrap)
    for name in capabilities:
        account_actions.update(SELF_SERVICE[name][2])

    statements = [
        _statement("AllowAccountLevelMfaActions", "Allow", Action=sorted(account_actions), Resource="*"),
        _statement("AllowCreateVirtualMfaDevice", "Allow", Action=list(BOOTSTRAP_DEVICE_ACTIONS), Resource=devices),
        _statement(
            "AllowManageOwnMfaDevices",
            "Allow",
            Action=sorted(BOOTSTRAP_OWN_USER_ACTIONS + MFA_REMOVAL_OWN_USER_ACTIONS),
            Resource=own_user,
        ),
    ]
    if allow_password_change_without_mfa and "password" not in capabilities:
        statements.append(
            _statement(
                "AllowChangeOwnPassword", "Allow", Action=list(PASSWORD_CHANGE_OWN_USER_ACTIONS), Resource=own_user
            )
        )
    for name in capabilities:
        sid, user_actions, _ = SELF_SERVICE[name]
        statements.append(_statement(sid, "Allow", Action=list(user_actions), Resource=own_user))

    conditions = [("WithoutMfa", _WITHOUT_MFA)]
    if max_mfa_age_seconds is not None:
        older = {"NumericGreaterThan": {"aws:MultiFactorAuthAge": str(max_mfa_age_seconds)}}
        conditions.append(("WhenMfaIsOlderThanMaxAge", older))
    for suffix, condition in conditions:
        statements.append(
            _statement(
                f"DenyAllExceptMfaBootstrap{suffix}",
                "Deny",
                NotAction=all_bootstrap,
                Resource="*",
                Condition=condition,
            )
        )
        statements.append(
            _statement(
                f"DenyMfaBootstrapOnOtherUsers{suffix}",
                "Deny",
                Action=sorted(own_user_bootstrap),
                NotResource=own_user,
                Condition=condition,
            )
        )
    return {"Version": POLICY_VERSION, "Statement": statements}
