"""Findings beyond MFA enforcement (pure: no AWS, no I/O): the root user, and phishing-resistant
devices. Each finding fails the audit.

* **The root user** (``judge_root``): a root user with a password and no MFA device fails, as
  Prowler's ``iam_root_mfa_enabled`` and Security Hub's IAM.9 do, and so does one with an active
  access key, MFA or not (Security Hub's IAM.4: a request signed with it needs no MFA). What the
  audit could not read counts against it: a root user whose password is unknown and who has no
  MFA device fails too, with the reason.
* **Phishing-resistant devices** (``device_findings``): under a requirement of security keys
  (``--mfa-devices security_keys``, or a stack that sets ``mfa-policy:mfaDevices``), every
  enrolled user whose devices are not all security keys (a virtual or hardware TOTP device can
  be phished); with a certification requirement (``--security-key-certification``), every
  security key whose certifications (as ``iam:GetMFADevice`` returns them) miss an accepted level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.audit.aws import SECURITY_KEY, MfaDevice, RootUser, User

NOT_PHISHING_RESISTANT = "not phishing-resistant"
UNCERTIFIED_KEY = "security key lacks certification"


@dataclass(frozen=True)
class Finding:
    """One finding on a user: its kind (``not phishing-resistant``, ``security key lacks
    certification``), and what it is about, in one line."""

    kind: str
    message: str
    device: str = ""  # the device's serial number

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "device": self.device}


@dataclass(frozen=True)
class DeviceRequirement:
    """The devices users must have: security keys only, each with an accepted level for every
    certification in ``certification`` (``fido``, ``fips-140-2``, ``fips-140-3``: the names of
    ``mfa_policy.policy.validation.CERTIFICATION_LEVELS``). ``groups``: the requirement covers
    only these groups' members (a stack's groups); None covers every user. ``source`` says where
    it comes from, for the report."""

    source: str
    certification: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: tuple[str, ...] | None = None

    def covers(self, user: User) -> bool:
        return self.groups is None or any(group in self.groups for group in user.groups)


def _certification_name(key: str) -> str:
    """A ``GetMFADevice`` certification name in the names of ``CERTIFICATION_LEVELS``: the API
    reference lists "FIPS-140-2, FIPS-140-3, and FIDO" (matched without regard to case, and with
    or without the ``FIDO-`` prefix the condition keys use: ``iam:FIDO-FIPS-140-2-certification``)."""
    name = key.strip().lower().replace("_", "-").replace(" ", "-")
    name = name.removesuffix("-certification")
    if name.startswith("fido-fips"):
        name = name[len("fido-") :]
    return name


def key_certifications(device: MfaDevice) -> dict[str, str] | None:
    """A security key's certifications by our names (``{"fido": "L1"}``), or None when unread."""
    if device.certifications is None:
        return None
    return {_certification_name(name): level for name, level in device.certifications}


def device_findings(user: User, requirement: DeviceRequirement | None) -> tuple[Finding, ...]:
    """The findings on ``user``'s devices under ``requirement`` (none without one, or for a user
    it does not cover, or with no device: such a user is judged by the enforcement verdict)."""
    if requirement is None or not requirement.covers(user) or not user.mfa_devices:
        return ()
    found: list[Finding] = []
    for device in user.mfa_devices:
        if device.kind != SECURITY_KEY:
            found.append(
                Finding(
                    NOT_PHISHING_RESISTANT,
                    f"{device.kind} device {device.serial}: only security keys are allowed ({requirement.source})",
                    device.serial,
                )
            )
            continue
        if not requirement.certification:
            continue
        held = key_certifications(device)
        for name, levels in requirement.certification.items():
            level = None if held is None else held.get(name)
            if level in levels:
                continue
            has = "its certifications were not read" if held is None else (
                f"it has {name} {level}" if level else f"it has no {name} certification"
            )
            found.append(
                Finding(
                    UNCERTIFIED_KEY,
                    f"security key {device.serial}: {name} {' or '.join(levels)} required, {has} "
                    f"({requirement.source})",
                    device.serial,
                )
            )
    return tuple(found)


@dataclass(frozen=True)
class RootVerdict:
    """The audit's answer for the root user."""

    failing: bool
    password: bool | None
    access_keys: int | None
    mfa: bool | None
    reason: str  # one line: why it fails, or why not
    central: str  # centralized root access, as far as the audit could tell
    unknown: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "failing": self.failing,
            "password": self.password,
            "activeAccessKeys": self.access_keys,
            "mfa": self.mfa,
            "reason": self.reason,
            "centralRootAccess": self.central,
            "unknown": list(self.unknown),
        }


def _central(root: RootUser) -> str:
    if root.central_features:
        organization = f" in organization {root.organization_id}" if root.organization_id else ""
        return (
            f"managed centrally{organization} ({', '.join(root.central_features)}): applies to member accounts, "
            "not to the management account"
        )
    if root.central_features == ():
        return root.central_note or "not managed centrally"
    return root.central_note or "unknown"


def judge_root(root: RootUser | None) -> RootVerdict | None:
    """The root user's verdict, None when it was not read. It fails with a password and no MFA
    device (Prowler's ``iam_root_mfa_enabled``, Security Hub IAM.9), and with any active access
    key, MFA or not (Security Hub IAM.4): a request signed with a root access key needs no MFA.
    A value the audit could not read counts as the worse one."""
    if root is None:
        return None
    problems = []
    if root.access_keys != 0:
        if root.access_keys is None:
            problems.append("perhaps an active access key (unknown)")
        else:
            plural = "s" if root.access_keys != 1 else ""
            problems.append(f"{root.access_keys} active access key{plural} (requests signed with it need no MFA)")
    if root.password is not False and root.mfa is not True:
        password = "a password" if root.password else "perhaps a password (unknown)"
        problems.append(f"{password} and {'no MFA device' if root.mfa is False else 'no known MFA device'}")
    if problems:
        reason = "; ".join(problems)
    elif root.mfa is True:
        reason = "MFA device enabled, no access key"
    else:
        reason = "no password and no access key: nobody can sign in as root"
    return RootVerdict(bool(problems), root.password, root.access_keys, root.mfa, reason, _central(root), root.unknown)


OPEN_TICKET = "open enrollment ticket"


def open_ticket_finding(user: str, key: str, value: str, close_command: str) -> Finding:
    """An enrolled user still carries the tag that opens enrollment without MFA: anyone holding
    their password or access keys can add a device of their own, then act with MFA as them."""
    return Finding(
        OPEN_TICKET,
        f"{user} has an MFA device and still carries the enrollment ticket (tag {key}={value}): anyone with "
        f"the user's password or access keys can add a device without MFA; close it: {close_command}",
    )
