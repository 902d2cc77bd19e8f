"""The organization audit's AWS reads (``audit --organization``): with ``aws.py`` and
``aws_resources.py``, the only modules that call AWS. Returns plain data.

With the management account's or a delegated administrator's credentials:

* ``organizations:DescribeOrganization``: the organization and its management account;
* ``organizations:ListRoots``, ``ListOrganizationalUnitsForParent`` and ``ListAccountsForParent``
  (paginated): every account with its status and the OU path from the root down to it;
* ``organizations:ListPoliciesForTarget`` and ``DescribePolicy``: the service control policies of
  each root, OU and account (``read_target_scps``; each target and each policy read once);
* ``sts:AssumeRole`` into a role of each member account (``assume_role``), whose credentials then
  read that account as the single-account audit does (``aws.read_account``).

boto3 is imported inside the functions (the ``audit`` extra). Failures become ``AuditError``
with one line: for the organization's reads it ends the run; for one account's role it is that
account's reason in the report.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mfa_policy.audit.aws import (
    CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    AccountSnapshot,
    AuditError,
    ManagedPolicy,
    ScpLevel,
    audit_client,
    explain_error,
    read_account,
)
from mfa_policy.extras import requires_extra

# The role AWS creates in accounts that AWS Organizations creates; Control Tower's is
# AWSControlTowerExecution.
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
CONTROL_TOWER_ROLE_NAME = "AWSControlTowerExecution"
SESSION_NAME = "mfa-policy-audit"
SESSION_SECONDS = 3600

# What the caller (the management account or a delegated administrator) needs, beyond
# sts:AssumeRole on each member account's role.
ORGANIZATION_AUDIT_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:DescribePolicy",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListPoliciesForTarget",
    "organizations:ListRoots",
)

ACTIVE = "ACTIVE"


class ScpsNotEnabled(AuditError):
    """Service control policies are not enabled in the organization: none applies."""


@dataclass(frozen=True)
class OrganizationAccount:
    """One account of the organization and where it sits."""

    account_id: str
    name: str
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, ... (the account's State, else Status)
    path: tuple[str, ...]  # the targets from the root down to the account's parent: r-..., ou-...
    path_names: tuple[str, ...]  # their names: Root, then each OU's name

    @property
    def ou_path(self) -> str:
        """The path as people read it: ``Root/Workloads/Prod``."""
        return "/".join(self.path_names)


@dataclass(frozen=True)
class Organization:
    """The organization as listed by the caller."""

    organization_id: str
    management_account_id: str
    caller_account_id: str
    caller_arn: str
    partition: str
    accounts: tuple[OrganizationAccount, ...]
    # Every OU (and root) ID with its name: for --ou, and for messages.
    units: Mapping[str, str]


def session_for(profile: str | None, region: str | None) -> Any:
    """The caller's boto3 session: a profile, or the usual chain (``AuditError`` on a bad profile)."""
    from botocore.exceptions import BotoCoreError

    with requires_extra("audit", "the audit of a live organization"):
        import boto3
    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as error:
        raise explain_error(error) from None


def list_organization(organizations: Any, sts: Any) -> Organization:
    """The organization, its OUs and every account with its OU path (``AuditError`` on failure)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        identity = sts.get_caller_identity()
        described = organizations.describe_organization()["Organization"]
        units: dict[str, str] = {}
        accounts: list[OrganizationAccount] = []
        pending: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
        for page in organizations.get_paginator("list_roots").paginate():
            for root in page.get("Roots", []):
                units[root["Id"]] = root.get("Name", "Root")
                pending.append((root["Id"], (root["Id"],), (root.get("Name", "Root"),)))
        while pending:
            parent, path, names = pending.pop(0)
            for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
                for entry in page.get("Accounts", []):
                    accounts.append(
                        OrganizationAccount(
                            account_id=entry["Id"],
                            name=entry.get("Name", ""),
                            status=entry.get("State") or entry.get("Status") or "UNKNOWN",
                            path=path,
                            path_names=names,
                        )
                    )
            pages = organizations.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
            for page in pages:
                for unit in page.get("OrganizationalUnits", []):
                    units[unit["Id"]] = unit.get("Name", unit["Id"])
                    pending.append((unit["Id"], (*path, unit["Id"]), (*names, unit.get("Name", unit["Id"]))))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "AWSOrganizationsNotInUseException":
            raise AuditError(
                "the credentials' account is in no organization: --organization needs the management account's "
                "or a delegated administrator's credentials"
            ) from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise AuditError(
                f"access denied: the credentials lack organizations:{error.operation_name}. --organization needs "
                f"the management account or a delegated administrator allowed {', '.join(ORGANIZATION_AUDIT_ACTIONS)} "
                "and sts:AssumeRole (see docs/audit.md)"
            ) from None
        raise explain_error(error) from None
    except BotoCoreError as error:
        raise explain_error(error) from None
    accounts.sort(key=lambda account: account.account_id)
    return Organization(
        organization_id=described.get("Id", ""),
        management_account_id=described.get("MasterAccountId", ""),
        caller_account_id=identity["Account"],
        caller_arn=identity["Arn"],
        partition=identity["Arn"].split(":")[1],
        accounts=tuple(accounts),
        units=units,
    )


def read_target_scps(organizations: Any, target: str, documents: dict[str, ManagedPolicy]) -> ScpLevel:
    """The service control policies attached to one target (root, OU or account).

    ``documents`` caches the policies already described, by ID (shared across targets; a
    duplicate read by two threads is harmless). Raises ``ScpsNotEnabled`` when the organization
    does not use SCPs, ``AuditError`` for any other failure.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    attached = []
    try:
        pages = organizations.get_paginator("list_policies_for_target").paginate(
            TargetId=target, Filter="SERVICE_CONTROL_POLICY"
        )
        for page in pages:
            for summary in page.get("Policies", []):
                policy_id = summary["Id"]
                found = documents.get(policy_id)
                if found is None:
                    policy = organizations.describe_policy(PolicyId=policy_id)["Policy"]
                    found = ManagedPolicy(
                        policy["PolicySummary"].get("Arn", policy_id),
                        policy["PolicySummary"].get("Name", policy_id),
                        json.loads(policy["Content"]),
                    )
                    documents[policy_id] = found
                attached.append(found)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "PolicyTypeNotEnabledException":
            raise ScpsNotEnabled("service control policies are not enabled in the organization: none applies") from None
        reason = code or str(error)
        raise AuditError(f"organizations:{error.operation_name} failed for {target} ({reason})") from None
    except (BotoCoreError, ValueError) as error:
        raise AuditError(f"reading the SCPs of {target} failed: {' '.join(str(error).split())}") from None
    return ScpLevel(target, tuple(attached))


def assume_role(sts: Any, partition: str, account_id: str, role_name: str) -> dict[str, str]:
    """Credentials of ``role_name`` in ``account_id`` (``sts:AssumeRole``), or ``AuditError`` with
    one line saying why not (the role is missing, or does not trust the caller)."""
    from botocore.exceptions import BotoCoreError, ClientError

    arn = f"arn:{partition}:iam::{account_id}:role/{role_name}"
    try:
        answer = sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = " ".join(error.response.get("Error", {}).get("Message", "").split())
        if code in ("AccessDenied", "AccessDeniedException"):
            return_reason = (
                f"cannot assume {arn}: AccessDenied ({message or 'no message'}): the role is missing, does not "
                "trust the caller's account, or the caller lacks sts:AssumeRole on it; pass --role-name (Control "
                f"Tower: {CONTROL_TOWER_ROLE_NAME})"
            )
            raise AuditError(return_reason) from None
        raise AuditError(f"cannot assume {arn}: {explain_error(error)}") from None
    except BotoCoreError as error:
        raise AuditError(f"cannot assume {arn}: {explain_error(error)}") from None
    credentials = answer["Credentials"]
    return {key: credentials[key] for key in ("AccessKeyId", "SecretAccessKey", "SessionToken")}


class AwsAccountReader:
    """``organization.AccountReader`` over AWS: SCPs through the caller's Organizations client,
    each member account through ``role_name`` (the caller's own account with its own credentials).

    Thread-safe: boto3 clients are, and the SCP caches are filled under a lock.
    """

    def __init__(
        self,
        session: Any,
        organization: Organization,
        *,
        role_name: str = DEFAULT_ROLE_NAME,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        resource_policies: bool = True,
        regions: Sequence[str] | str | None = None,
        key_certifications: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        workers: int = 2,
    ) -> None:
        from botocore.config import Config

        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts}, connect_timeout=CONNECT_TIMEOUT
        )
        region_name = session.region_name or "us-east-1"
        self.organizations = audit_client(session, "organizations", region_name, endpoint_url, config)
        self.sts = audit_client(session, "sts", region_name, endpoint_url, config)
        self.organization = organization
        self.role_name = role_name
        self.options: dict[str, Any] = {
            "region": region,
            "endpoint_url": endpoint_url,
            "resource_policies": resource_policies,
            "regions": regions,
            "key_certifications": key_certifications,
            "max_attempts": max_attempts,
            "workers": workers,
            "organization": False,  # the walk applies the SCPs of each account's path
        }
        self.profile = profile
        self._documents: dict[str, ManagedPolicy] = {}
        self._levels: dict[str, ScpLevel] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, profile: str | None, region: str | None, endpoint_url: str | None, **options: Any
    ) -> tuple[AwsAccountReader, Organization]:
        """The caller's session, the organization it lists, and the reader (``AuditError``)."""
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        session = session_for(profile, region)
        config = Config(retries={"mode": "standard", "total_max_attempts": DEFAULT_MAX_ATTEMPTS},
                        connect_timeout=CONNECT_TIMEOUT)
        try:
            region_name = session.region_name or "us-east-1"
            organizations = audit_client(session, "organizations", region_name, endpoint_url, config)
            sts = audit_client(session, "sts", region_name, endpoint_url, config)
        except (BotoCoreError, ValueError) as error:
            raise explain_error(error) from None
        organization = list_organization(organizations, sts)
        return cls(session, organization, profile=profile, region=region, endpoint_url=endpoint_url, **options), \
            organization

    def scp_levels(self, account: OrganizationAccount) -> tuple[ScpLevel, ...]:
        levels = []
        for target in (*account.path, account.account_id):
            with self._lock:
                found = self._levels.get(target)
            if found is None:
                with self._lock:
                    documents = dict(self._documents)
                found = read_target_scps(self.organizations, target, documents)
                with self._lock:
                    self._documents.update(documents)
                    if target != account.account_id:
                        self._levels[target] = found
            levels.append(found)
        return tuple(levels)

    def read(self, account: OrganizationAccount) -> AccountSnapshot:
        if account.account_id == self.organization.caller_account_id:
            return read_account(profile=self.profile, **self.options)
        credentials = assume_role(self.sts, self.organization.partition, account.account_id, self.role_name)
        return read_account(credentials=credentials, **self.options)
