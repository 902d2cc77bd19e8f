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
* With ``mfa_devices="security_keys"``, the device-type denies (``device_type_statements``) stop
  every enrollment that is not a FIDO2 security key, in every context, even next to allow-all.
* With ``enrollment``, the gates (``enrollment.enrollment_statements``) deny enrolling without
  MFA unless the user carries the tag and/or the request comes from the listed networks.

The organization SCP (``scp.py``) is made of this document's Deny statements, so every option
reaches it; ``bootstrap_actions`` (what a user without MFA may do, for given options) and
``device_type_statements`` (the enrollment denies) are the pieces the document is built from.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mfa_policy.policy.enrollment import enrollment_gates, enrollment_statements
from mfa_policy.policy.validation import (
    InvalidInputError,
    check_account_id,
    check_bool,
    check_certification_needs_security_keys,
    check_choices,
    check_max_mfa_age,
    check_mfa_devices,
    check_partition,
    check_security_key_certification,
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

# mfa_devices="security_keys" drops what only virtual or TOTP devices use from the bootstrap set.
VIRTUAL_DEVICE_ACTIONS = ("iam:CreateVirtualMFADevice", "iam:ListVirtualMFADevices")
TOTP_ONLY_OWN_USER_ACTIONS = ("iam:ResyncMFADevice",)

# IAM's keys for a FIDO registration: iam:RegisterSecurityKey is "Create", then "Activate" (when
# the certification keys are known), and absent for any other device type.
REGISTER_SECURITY_KEY = "iam:RegisterSecurityKey"
REGISTRATION_STEPS = ("Create", "Activate")
CERTIFICATION_CONDITION_KEYS = {
    "fido": "iam:FIDO-certification",
    "fips-140-2": "iam:FIDO-FIPS-140-2-certification",
    "fips-140-3": "iam:FIDO-FIPS-140-3-certification",
}
_CERTIFICATION_SIDS = {"fido": "Fido", "fips-140-2": "Fips1402", "fips-140-3": "Fips1403"}

# The keyword options of build_policy_document, as the component and the verifier pass them on.
DOCUMENT_OPTIONS = (
    "allow_password_change_without_mfa",
    "allow_list_users",
    "self_service",
    "max_mfa_age_seconds",
    "mfa_devices",
    "security_key_certification",
    "enrollment",
)

# AWS's quota for a managed policy: its minified JSON (white space does not count).
MAX_POLICY_CHARACTERS = 6144

# AWS leaves aws:MultiFactorAuthPresent out of requests signed with long-term keys, hence IfExists.
_WITHOUT_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def own_user_arns(account_id: str, partition: str) -> list[str]:
    """The caller's own user ARN, at the root path and at any nested IAM path."""
    prefix = f"arn:{partition}:iam::{account_id}:user"
    return [f"{prefix}/${{aws:username}}", f"{prefix}/*/${{aws:username}}"]


def _statement(sid: str, effect: str, **elements: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, **elements}


@dataclass(frozen=True)
class BootstrapSet:
    """What a user without MFA may do, by where it applies."""

    own_user: tuple[str, ...]
    """Actions on the caller's own user only."""
    devices: tuple[str, ...]
    """Actions on ``mfa/*`` (virtual devices the user names)."""
    account: tuple[str, ...]
    """Actions on ``*`` (they have no resource)."""

    def actions(self) -> list[str]:
        """Every action of the set, sorted."""
        return sorted([*self.own_user, *self.devices, *self.account])


def bootstrap_actions(
    mfa_devices: str = "any",
    *,
    allow_password_change_without_mfa: bool = False,
    allow_list_users: bool = False,
) -> BootstrapSet:
    """The bootstrap set for these options: what enrolling an MFA device needs, and nothing else.

    With ``mfa_devices="security_keys"`` it shrinks to what a security-key enrollment needs: no
    virtual-device actions and no ``iam:ResyncMFADevice`` (TOTP only).
    """
    check_mfa_devices(mfa_devices, "mfa_devices")
    own_user = list(BOOTSTRAP_OWN_USER_ACTIONS)
    devices = list(BOOTSTRAP_DEVICE_ACTIONS)
    account = list(BOOTSTRAP_ACCOUNT_ACTIONS)
    if mfa_devices == "security_keys":
        own_user = [action for action in own_user if action not in TOTP_ONLY_OWN_USER_ACTIONS]
        devices = [action for action in devices if action not in VIRTUAL_DEVICE_ACTIONS]
        account = [action for action in account if action not in VIRTUAL_DEVICE_ACTIONS]
    if allow_password_change_without_mfa:
        own_user += PASSWORD_CHANGE_OWN_USER_ACTIONS
        account += PASSWORD_CHANGE_ACCOUNT_ACTIONS
    if allow_list_users:
        account += LIST_USERS_ACCOUNT_ACTIONS
    return BootstrapSet(tuple(own_user), tuple(devices), tuple(account))


def device_type_statements(
    mfa_devices: str = "any",
    security_key_certification: Mapping[str, Collection[str]] | None = None,
) -> list[dict[str, Any]]:
    """The Deny statements that limit which MFA device types can be enrolled (none for ``any``).

    With ``security_keys``, in every context (with MFA too, and next to allow-all):

    * ``DenyVirtualMfaDevices``: ``iam:CreateVirtualMFADevice`` is denied.
    * ``DenyMfaEnrollmentExceptSecurityKeys``: ``iam:EnableMFADevice`` is denied unless
      ``iam:RegisterSecurityKey`` is ``Create`` or ``Activate`` (``StringNotEquals`` also matches
      when the key is absent, as in a TOTP enrollment).
    * ``DenySecurityKeysWithout<Cert>Certification``, one per listed certification: at
      ``Activate``, a key whose level is not accepted (or unknown) is denied, so a key must meet
      every listed certification. AWS's own example checks the certification at ``Activate`` too.
    """
    check_mfa_devices(mfa_devices, "mfa_devices")
    check_certification_needs_security_keys(security_key_certification, mfa_devices)
    if mfa_devices == "any":
        return []
    certification = {}
    if security_key_certification is not None:
        certification = check_security_key_certification(security_key_certification, "security_key_certification")
    statements = [
        _statement("DenyVirtualMfaDevices", "Deny", Action=list(BOOTSTRAP_DEVICE_ACTIONS), Resource="*"),
        _statement(
            "DenyMfaEnrollmentExceptSecurityKeys",
            "Deny",
            Action=["iam:EnableMFADevice"],
            Resource="*",
            Condition={"StringNotEquals": {REGISTER_SECURITY_KEY: list(REGISTRATION_STEPS)}},
        ),
    ]
    for name, levels in certification.items():
        statements.append(
            _statement(
                f"DenySecurityKeysWithout{_CERTIFICATION_SIDS[name]}Certification",
                "Deny",
                Action=["iam:EnableMFADevice"],
                Resource="*",
                Condition={
                    "StringEquals": {REGISTER_SECURITY_KEY: "Activate"},
                    "StringNotEquals": {CERTIFICATION_CONDITION_KEYS[name]: list(levels)},
                },
            )
        )
    return statements


def check_document_options(args: Mapping[str, Any]) -> dict[str, Any]:
    """The document options (``DOCUMENT_OPTIONS``) found in ``args``, checked, with their defaults.

    Every component that builds a policy from these options validates them here, so the rules
    and the defaults are the same everywhere; unset optional values are ``None``. Raises
    ``InvalidInputError`` naming the option.
    """
    max_age = args.get("max_mfa_age_seconds")
    mfa_devices = check_mfa_devices(args.get("mfa_devices", "any"), "mfa_devices")
    certification = args.get("security_key_certification")
    check_certification_needs_security_keys(certification, mfa_devices)
    if certification is not None:
        certification = check_security_key_certification(certification, "security_key_certification")
    return {
        "allow_password_change_without_mfa": check_bool(
            args.get("allow_password_change_without_mfa", False), "allow_password_change_without_mfa"
        ),
        "allow_list_users": check_bool(args.get("allow_list_users", False), "allow_list_users"),
        "self_service": check_choices(args.get("self_service", SELF_SERVICE_NAMES), "self_service", SELF_SERVICE_NAMES),
        "max_mfa_age_seconds": None if max_age is None else check_max_mfa_age(max_age, "max_mfa_age_seconds"),
        "mfa_devices": mfa_devices,
        "security_key_certification": certification,
        "enrollment": None if args.get("enrollment") is None else enrollment_gates(args["enrollment"]).as_option(),
    }


def build_policy_document(
    account_id: str,
    partition: str = "aws",
    *,
    allow_password_change_without_mfa: bool = False,
    allow_list_users: bool = False,
    self_service: Collection[str] = SELF_SERVICE_NAMES,
    max_mfa_age_seconds: int | None = None,
    mfa_devices: str = "any",
    security_key_certification: Mapping[str, Collection[str]] | None = None,
    enrollment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the require-MFA IAM policy document for one account.

    Args:
        account_id: the 12-digit account every ARN names.
        partition: one of AWS's partitions (``PARTITIONS``: ``aws``, ``aws-cn``, ``aws-us-gov``, ...).
        allow_password_change_without_mfa: let users change their own password without MFA, for
            the first sign-in when AWS forces a new password before the MFA page. Off by default,
            as AWS recommends.
        allow_list_users: let users list users and account aliases without MFA (console Users page).
        self_service: the credentials users may manage on their own user, with MFA: any of
            ``password``, ``access_keys``, ``signing_certificates``, ``ssh_public_keys``,
            ``service_specific_credentials``. Default: all five.
        max_mfa_age_seconds: when set, a session whose MFA sign-in is older counts as one without
            MFA (the bootstrap set, including ``sts:GetSessionToken``, still works to renew it).
        mfa_devices: ``any`` (default: every device type) or ``security_keys``: users enroll
            FIDO2 security keys and passkeys only, with or without MFA; no virtual or TOTP device.
        security_key_certification: only with ``security_keys``: certification (``fido``,
            ``fips-140-2``, ``fips-140-3``) -> accepted levels, e.g. ``{"fido": ["L2", "L3"]}``.
            A key must meet every listed certification when it is activated.
        enrollment: when set, enrolling without MFA (creating or enabling a device, and the
            first-sign-in password change when allowed) needs a ticket:
            ``{"require_tag": {"key": ..., "value": ...}}`` (the user's own IAM user carries that
            tag; defaults ``mfa-enrollment`` and ``allowed``) and/or ``{"source_ips": [CIDR, ...]}``
            (the request comes from those networks; none through a VPC endpoint). Each gate set
            must hold. Default: no gate.

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
        max_mfa_age_seconds = check_max_mfa_age(max_mfa_age_seconds, "max_mfa_age_seconds")
    check_mfa_devices(mfa_devices, "mfa_devices")
    check_certification_needs_security_keys(security_key_certification, mfa_devices)
    device_denies = device_type_statements(mfa_devices, security_key_certification)
    gates = None if enrollment is None else enrollment_gates(enrollment)

    own_user = own_user_arns(account_id, partition)
    devices = f"arn:{partition}:iam::{account_id}:mfa/*"
    bootstrap = bootstrap_actions(
        mfa_devices,
        allow_password_change_without_mfa=allow_password_change_without_mfa,
        allow_list_users=allow_list_users,
    )
    own_user_bootstrap = bootstrap.own_user
    all_bootstrap = bootstrap.actions()

    account_actions = set(bootstrap.account)
    for name in capabilities:
        account_actions.update(SELF_SERVICE[name][2])

    statements = [
        _statement("AllowAccountLevelMfaActions", "Allow", Action=sorted(account_actions), Resource="*"),
    ]
    if bootstrap.devices:
        statements.append(
            _statement("AllowCreateVirtualMfaDevice", "Allow", Action=list(bootstrap.devices), Resource=devices)
        )
    statements += [
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
    statements += device_denies
    if gates is not None:
        statements += enrollment_statements(gates, all_bootstrap, conditions)
    # A fresh copy: statements share lists and the module's condition, which a caller that edits
    # the returned document must not change for the next one.
    document = copy.deepcopy({"Version": POLICY_VERSION, "Statement": statements})
    if gates is not None:
        # Only the enrollment gates grow with the input (networks, tag): every other option fits.
        size = len(json.dumps(document, separators=(",", ":")))
        if size > MAX_POLICY_CHARACTERS:
            raise InvalidInputError(
                "enrollment",
                enrollment,
                f"gates whose policy fits AWS's quota of {MAX_POLICY_CHARACTERS:,} characters for a managed "
                f"policy, with the other options (this one has {size:,}): fewer or wider networks, or a shorter tag",
            )
    return document
