"""The audit's AWS reads: with ``aws_resources.py`` (the resource policies) and
``aws_organization.py`` (``audit --organization``: the accounts, their SCPs, the roles assumed), the
only modules that call AWS. Returns plain data (frozen dataclasses).

Read-only calls, all in IAM except the first:

* ``sts:GetCallerIdentity`` (needs no permission): the account and partition, and a credentials check;
* ``iam:GetAccountAuthorizationDetails`` (paginated): users with their paths, groups, memberships,
  inline policies, attached managed policies with their default versions, permission boundaries;
* ``iam:GenerateCredentialReport`` / ``iam:GetCredentialReport``: passwords, access keys, their last use;
* ``iam:ListMFADevices`` per user (paginated): the devices and their kind;
* optional, for the service control policies above the account (``read_organization``):
  ``organizations:DescribeOrganization``, ``ListParents``, ``ListPoliciesForTarget`` and
  ``DescribePolicy``, allowed to the management account and to a delegated administrator. A
  caller that may not read them (``AccessDenied``, or an account in no organization) gets a note,
  not an error.
* ``iam:GetAccountSummary``: the root user's password, access keys and MFA device (with the
  credential report's ``<root_account>`` row);
* optional: ``iam:ListOrganizationsFeatures`` (whether the organization manages root credentials
  centrally), ``iam:GetMFADevice`` per security key (its certifications, for
  ``--security-key-certification``), and the same-account resource policies of S3 buckets, KMS
  keys, SQS queues, SNS topics, Secrets Manager secrets, Lambda functions, ECR repositories and
  EFS file systems (``aws_resources.read_resource_policies``): a policy that cannot be read is a
  note (``UnreadPolicy``), not an error.

boto3 is imported inside the functions (the ``audit`` extra), so the rest of the package, and
the command line's help, work without it. Every AWS or credentials failure becomes an
``AuditError`` whose message is one line saying what to do.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from mfa_policy.extras import requires_extra

# What the audit needs, and nothing more: the policy the AccessDenied message and the docs show.
REQUIRED_ACTIONS = (
    "iam:GenerateCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:ListMFADevices",
)
# Optional: the service control policies of every level from the root to the account. Without
# them the audit says SCPs were not applied (or takes them from --scp files).
ORGANIZATION_ACTIONS = (
    "organizations:DescribeOrganization",
    "organizations:DescribePolicy",
    "organizations:ListParents",
    "organizations:ListPoliciesForTarget",
)
READ_ONLY_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "MfaPolicyAudit", "Effect": "Allow", "Action": list(REQUIRED_ACTIONS), "Resource": "*"}],
}
ORGANIZATION_READ_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "MfaPolicyAuditScps", "Effect": "Allow", "Action": list(ORGANIZATION_ACTIONS), "Resource": "*"}
    ],
}
# Optional reads: the same-account resource policies (``--no-resource-policies`` skips them; a
# refused one is a note), whether root credentials are managed centrally, and each security key's
# certifications (only with ``--security-key-certification``).
RESOURCE_POLICY_ACTIONS = (
    "ec2:DescribeRegions",
    "ecr:DescribeRepositories",
    "ecr:GetRepositoryPolicy",
    "elasticfilesystem:DescribeFileSystemPolicy",
    "elasticfilesystem:DescribeFileSystems",
    "kms:GetKeyPolicy",
    "kms:ListKeys",
    "lambda:GetPolicy",
    "lambda:ListFunctions",
    "s3:GetBucketPolicy",
    "s3:ListAllMyBuckets",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecrets",
    "sns:GetTopicAttributes",
    "sns:ListTopics",
    "sqs:GetQueueAttributes",
    "sqs:ListQueues",
)
OPTIONAL_IAM_ACTIONS = ("iam:GetMFADevice", "iam:ListOrganizationsFeatures")
OPTIONAL_READ_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MfaPolicyAuditOptional",
            "Effect": "Allow",
            "Action": list(OPTIONAL_IAM_ACTIONS + RESOURCE_POLICY_ACTIONS),
            "Resource": "*",
        }
    ],
}
DEFAULT_MAX_ATTEMPTS = 10  # per request, botocore's standard retry mode (its default is 3)
CONNECT_TIMEOUT = 10  # seconds (botocore's default is 60); a refused connection fails at once
ALL_REGIONS = "all"

VIRTUAL = "virtual"
HARDWARE_TOTP = "hardware TOTP"
SECURITY_KEY = "security key"


class AuditError(Exception):
    """The account could not be read: the message is one line saying why and what to do."""


@dataclass(frozen=True)
class InlinePolicy:
    """An inline policy: its name and document."""

    name: str
    document: Mapping[str, Any] = field(compare=False)


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy (customer or AWS managed) with its default version's document."""

    arn: str
    name: str
    document: Mapping[str, Any] = field(compare=False)


@dataclass(frozen=True)
class Group:
    """An IAM group: its inline policies and the ARNs of its attached managed policies."""

    name: str
    path: str
    inline: tuple[InlinePolicy, ...] = ()
    attached: tuple[str, ...] = ()


@dataclass(frozen=True)
class MfaDevice:
    """One MFA device of a user; ``kind`` is ``virtual``, ``hardware TOTP`` or ``security key``."""

    serial: str
    kind: str
    enabled: datetime | None = None
    # A security key's certifications as GetMFADevice returns them (name -> level, e.g.
    # ("FIDO", "L1")); None when not read (they are read only for --security-key-certification).
    certifications: tuple[tuple[str, str], ...] | None = None


def device_kind(serial: str) -> str:
    """The kind of an MFA device from its serial number.

    A virtual device's serial number is its ARN (``...:mfa/<name>``); a FIDO security key's is an
    ARN too (``...:u2f/user/<name>/<id>``); a hardware TOTP token's is the token's own serial
    number (``GAHT12345678``), not an ARN.
    """
    if serial.startswith("arn:"):
        resource = serial.split(":", 5)[-1]
        if resource.startswith("u2f/"):
            return SECURITY_KEY
        if resource.startswith("mfa/"):
            return VIRTUAL
    return HARDWARE_TOTP


@dataclass(frozen=True)
class AccessKey:
    """One access key from the credential report."""

    active: bool
    last_used: datetime | None = None
    last_rotated: datetime | None = None


@dataclass(frozen=True)
class Credentials:
    """A user's row of the credential report."""

    password_enabled: bool = False
    password_last_used: datetime | None = None
    mfa_active: bool = False
    access_keys: tuple[AccessKey, ...] = ()

    @property
    def active_keys(self) -> tuple[AccessKey, ...]:
        return tuple(key for key in self.access_keys if key.active)


@dataclass(frozen=True)
class User:
    """An IAM user with everything that decides its permissions and its sign-in."""

    name: str
    path: str
    arn: str
    user_id: str
    groups: tuple[str, ...] = ()
    inline: tuple[InlinePolicy, ...] = ()
    attached: tuple[str, ...] = ()
    boundary: str | None = None  # the permission boundary's policy ARN
    credentials: Credentials | None = None  # None: not (yet) in the credential report
    mfa_devices: tuple[MfaDevice, ...] = ()
    tags: tuple[tuple[str, str], ...] | None = None  # None: not read (aws:PrincipalTag/* unknown)


@dataclass(frozen=True)
class ScpLevel:
    """One level of the organization above the account (the root, an OU, the account itself) and
    the service control policies attached to it. A level with no Allow allows nothing."""

    target: str  # r-..., ou-..., or the account ID
    policies: tuple[ManagedPolicy, ...] = ()


# How the snapshot's SCP levels were obtained.
SCPS_FROM_ORGANIZATION = "read from AWS Organizations"
SCPS_FROM_FILES = "from --scp files"
SCPS_NOT_APPLIED = "not applied"
SCPS_NONE_APPLY = "none apply"  # the management account, or an account in no organization


@dataclass(frozen=True)
class ResourcePolicy:
    """A same-account resource policy: ``kind`` is a key of
    ``mfa_policy.audit.resource_policies.KINDS`` (``s3``, ``kms``, ``sqs``, ``sns``,
    ``secretsmanager``, ``lambda``, ``ecr``, ``efs``); ``name`` the bucket, key ID, queue, topic,
    secret, function, repository or file system; ``region`` None for S3 (bucket names are global)."""

    kind: str
    name: str
    arn: str
    region: str | None
    document: Mapping[str, Any] = field(compare=False)


@dataclass(frozen=True)
class UnreadPolicy:
    """A resource policy (or a list of resources) the audit could not read: grants there are not seen."""

    what: str  # "the bucket policy of reports", "the KMS keys in eu-west-1"
    reason: str  # one line: the error code and the permission it needs


@dataclass(frozen=True)
class RootUser:
    """The account's root user, from the credential report's ``<root_account>`` row and
    ``GetAccountSummary``. None in a field: the audit could not tell (``unknown`` says why)."""

    in_report: bool  # whether the credential report had the <root_account> row
    password: bool | None  # GetAccountSummary's AccountPasswordPresent
    password_last_used: datetime | None = None
    access_keys: int | None = None  # active access keys
    keys_last_used: datetime | None = None
    mfa: bool | None = None
    unknown: tuple[str, ...] = ()  # why a credential could not be read, one line each
    # ListOrganizationsFeatures: the organization's centralized root access features
    # (RootCredentialsManagement, RootSessions), () for none; None when the caller could not ask
    # (``central_note`` says why).
    central_features: tuple[str, ...] | None = None
    organization_id: str | None = None
    central_note: str = ""


@dataclass(frozen=True)
class AccountSnapshot:
    """What the audit read from one account."""

    account_id: str
    partition: str
    caller_arn: str
    users: tuple[User, ...]
    groups: Mapping[str, Group] = field(compare=False)
    policies: Mapping[str, ManagedPolicy] = field(compare=False)
    report_generated: datetime | None = None
    # The SCP levels from the root down to the account (empty when none apply), how they were
    # obtained (SCPS_*), and the organization as far as it is known ("" for none; None unknown).
    scp_levels: tuple[ScpLevel, ...] = ()
    scp_source: str = SCPS_NOT_APPLIED
    organization_id: str | None = None
    organization_paths: tuple[str, ...] = ()
    management_account: bool = False
    notes: tuple[str, ...] = ()  # what reading could not do (an optional read refused, ...)
    # Resource policies: None when not read (--no-resource-policies), else the
    # policies found in ``regions`` (S3 in every region) and those that could not be read.
    resource_policies: tuple[ResourcePolicy, ...] | None = None
    unread_policies: tuple[UnreadPolicy, ...] = ()
    regions: tuple[str, ...] = ()
    root: RootUser | None = None  # None: not read


# ---------------------------------------------------------------------------------------------
# Parsing AWS's answers (plain functions: no network)


def _document(value: Any) -> Mapping[str, Any]:
    # botocore decodes policy documents; a raw answer holds URL-encoded JSON.
    if isinstance(value, str):
        return json.loads(urllib.parse.unquote(value))
    return value


def _inline(entries: list[dict[str, Any]]) -> tuple[InlinePolicy, ...]:
    return tuple(InlinePolicy(entry["PolicyName"], _document(entry["PolicyDocument"])) for entry in entries)


def _attached(entries: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(entry["PolicyArn"] for entry in entries)


def _report_time(value: str) -> datetime | None:
    # The report writes N/A, no_information or not_supported where there is no date.
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_credential_report(content: bytes) -> dict[str, Credentials]:
    """The credential report's rows by user name (the root account's row is left out)."""
    rows = csv.DictReader(io.StringIO(content.decode("utf-8")))
    found: dict[str, Credentials] = {}
    for row in rows:
        if row["user"] == "<root_account>":
            continue
        keys = []
        for number in ("1", "2"):
            if row.get(f"access_key_{number}_active") == "true" or _report_time(
                row.get(f"access_key_{number}_last_rotated", "N/A")
            ):
                keys.append(
                    AccessKey(
                        active=row.get(f"access_key_{number}_active") == "true",
                        last_used=_report_time(row.get(f"access_key_{number}_last_used_date", "N/A")),
                        last_rotated=_report_time(row.get(f"access_key_{number}_last_rotated", "N/A")),
                    )
                )
        found[row["user"]] = Credentials(
            password_enabled=row.get("password_enabled") == "true",
            password_last_used=_report_time(row.get("password_last_used", "N/A")),
            mfa_active=row.get("mfa_active") == "true",
            access_keys=tuple(keys),
        )
    return found


ROOT_ROW = "<root_account>"


def parse_root_row(content: bytes) -> dict[str, str] | None:
    """The credential report's ``<root_account>`` row (AWS always writes it first), or None."""
    for row in csv.DictReader(io.StringIO(content.decode("utf-8"))):
        if row.get("user") == ROOT_ROW:
            return dict(row)
    return None


def root_user(row: Mapping[str, str] | None, summary: Mapping[str, Any]) -> RootUser:
    """The root user from its credential-report row and ``GetAccountSummary``'s ``SummaryMap``.

    The report writes ``password_enabled`` ``not_supported`` for the root user: whether it has a
    password comes from the summary's ``AccountPasswordPresent``. Access keys and the MFA device
    come from the row, else from ``AccountAccessKeysPresent`` / ``AccountMFAEnabled``. A value
    neither gives is None, with the reason in ``unknown``.
    """
    reasons: list[str] = []
    password = _summary_flag(summary, "AccountPasswordPresent")
    if password is None:
        reasons.append("GetAccountSummary has no AccountPasswordPresent: whether the root user has a password is "
                       "unknown")
    if row is None:
        reasons.append("the credential report has no <root_account> row")
        keys_present = _summary_flag(summary, "AccountAccessKeysPresent")
        mfa = _summary_flag(summary, "AccountMFAEnabled")
        if keys_present is None:
            reasons.append("GetAccountSummary has no AccountAccessKeysPresent: the root user's access keys are unknown")
        if mfa is None:
            reasons.append("GetAccountSummary has no AccountMFAEnabled: the root user's MFA device is unknown")
        # The summary says whether keys exist, not how many: one stands for "some".
        return RootUser(False, password, access_keys=None if keys_present is None else int(keys_present),
                        mfa=mfa, unknown=tuple(reasons))
    active = [n for n in ("1", "2") if row.get(f"access_key_{n}_active") == "true"]
    used = [_report_time(row.get(f"access_key_{n}_last_used_date", "N/A")) for n in active]
    mfa_row = row.get("mfa_active")
    mfa = True if mfa_row == "true" else False if mfa_row == "false" else _summary_flag(summary, "AccountMFAEnabled")
    if mfa is None:
        reasons.append("neither the credential report nor GetAccountSummary says whether the root user has MFA")
    return RootUser(
        in_report=True,
        password=password,
        password_last_used=_report_time(row.get("password_last_used", "N/A")),
        access_keys=len(active),
        keys_last_used=max((u for u in used if u), default=None),
        mfa=mfa,
        unknown=tuple(reasons),
    )


def _summary_flag(summary: Mapping[str, Any], key: str) -> bool | None:
    value = summary.get(key)
    return None if value is None else bool(int(value))


def certifications_of(answer: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """``GetMFADevice``'s ``Certifications`` (a string-to-string map, e.g. ``{"FIDO": "L1"}``) as
    sorted pairs; () when the answer has none (a key AWS found no certification for)."""
    found = answer.get("Certifications") or {}
    return tuple(sorted((str(name), str(level)) for name, level in found.items()))


# ---------------------------------------------------------------------------------------------
# Errors: one line each


_CREDENTIAL_CODES = {
    "ExpiredToken": "the session token has expired: refresh the credentials (aws sso login, or new STS credentials)",
    "ExpiredTokenException": "the session token has expired: refresh the credentials (aws sso login, or new STS "
    "credentials)",
    "RequestExpired": "the request expired: check the computer's clock, then refresh the credentials",
    "InvalidClientTokenId": "AWS does not recognise the access key: check the profile's credentials",
    "UnrecognizedClientException": "AWS does not recognise the access key: check the profile's credentials",
    "SignatureDoesNotMatch": "AWS rejected the request's signature: check the profile's secret access key",
    "AuthFailure": "AWS rejected the credentials: check the profile",
}
_THROTTLING_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}


def _permission(operation: str) -> str:
    return "sts:GetCallerIdentity" if operation == "GetCallerIdentity" else f"iam:{operation}"


def explain_error(error: Exception, *, attempts: int | None = None) -> AuditError:
    """The one-line ``AuditError`` for a boto3/botocore failure."""
    # Some botocore messages span lines (ParamValidationError's report): one line, always.
    return AuditError(" ".join(_explained(error, attempts).split()))


def _explained(error: Exception, attempts: int | None) -> str:
    from botocore import exceptions

    if isinstance(error, exceptions.NoCredentialsError):
        return (
            "no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or run `aws configure`"
        )
    if isinstance(error, exceptions.ProfileNotFound):
        return f"{error}: check --profile and ~/.aws/config"
    if isinstance(error, (exceptions.SSOTokenLoadError, exceptions.UnauthorizedSSOTokenError)):
        return "the AWS SSO session has expired or is missing: run `aws sso login` for this profile"
    if isinstance(error, exceptions.TokenRetrievalError):
        return f"could not refresh the credentials: {error}"
    if isinstance(error, exceptions.EndpointConnectionError):
        return f"cannot reach AWS: {error}"
    if isinstance(error, exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        operation = error.operation_name
        if code in _CREDENTIAL_CODES:
            return f"{_CREDENTIAL_CODES[code]} ({code} in {operation})"
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return (
                f"access denied: the credentials lack {_permission(operation)}. Grant this read-only policy "
                f"(see docs/audit.md): {json.dumps(READ_ONLY_POLICY, separators=(',', ':'))}; optional, to apply "
                f"the service control policies above the account: {', '.join(ORGANIZATION_ACTIONS)} (the management "
                "account or a delegated administrator)"
            )
        if code in _THROTTLING_CODES:
            tries = f" after {attempts} attempts" if attempts else ""
            return (
                f"AWS throttled {operation}{tries} (botocore standard retries): wait a minute and run the audit "
                "again, or raise AWS_MAX_ATTEMPTS"
            )
        return f"AWS refused {operation}: {code}: {message}"
    if isinstance(error, exceptions.NoRegionError):
        return "no AWS region configured: pass --region or set AWS_DEFAULT_REGION"
    if isinstance(error, exceptions.ParamValidationError):
        return f"botocore refused a request's parameters: {error}"
    if isinstance(error, exceptions.BotoCoreError):
        return f"AWS SDK error: {error}"
    if isinstance(error, ValueError):
        hint = "check --endpoint-url" if "endpoint" in str(error).lower() else "check --region and --endpoint-url"
        return f"{error}: {hint}"
    return str(error)


# ---------------------------------------------------------------------------------------------
# Reading


_GAAD_FILTER = ["User", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]


def read_account(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    page_size: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    workers: int = 4,
    report_timeout: float = 120.0,
    progress: Callable[[int, int], None] | None = None,
    organization: bool = True,
    organization_profile: str | None = None,
    resource_policies: bool = True,
    regions: Sequence[str] | str | None = None,
    key_certifications: bool = False,
    policy_progress: Callable[[int, int], None] | None = None,
    credentials: Mapping[str, str] | None = None,
) -> AccountSnapshot:
    """Read one account (read-only calls) into an ``AccountSnapshot``.

    ``endpoint_url`` points the clients at an emulator (tests use moto); ``page_size`` asks for
    small pages; ``progress(done, total)`` is called as users' MFA devices are read.
    ``organization``: also read the service control policies above the account (``read_scps``),
    with the credentials of ``organization_profile`` when given (the management account or a
    delegated administrator), else the same ones. Raises ``AuditError`` with one line for any
    failure of the required reads; the organization's and the resource policies' reads only add notes
    when refused.

    ``resource_policies``: read the same-account resource policies (``read_resource_policies``)
    in ``regions`` (default: the session's region; ``"all"``: every region enabled for the
    account), reporting to ``policy_progress``. ``key_certifications``: read each security key's
    certifications (``iam:GetMFADevice``). The root user is always read.

    ``credentials``: ``AssumeRole``'s temporary credentials (``AccessKeyId``, ``SecretAccessKey``,
    ``SessionToken``) to read with instead of ``profile`` (the organization audit's member accounts).
    """
    with requires_extra("audit", "the audit of a live account"):
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

    try:
        if credentials is None:
            session = boto3.Session(profile_name=profile, region_name=region)
        else:
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
        config = Config(
            retries={"mode": "standard", "total_max_attempts": max_attempts}, connect_timeout=CONNECT_TIMEOUT
        )
        # IAM is global; STS needs a region to pick its endpoint.
        region_name = session.region_name or "us-east-1"
        sts = audit_client(session, "sts", region_name, endpoint_url, config)
        iam = audit_client(session, "iam", region_name, endpoint_url, config)
    except (BotoCoreError, ValueError) as error:
        # botocore raises a bare ValueError for a malformed --endpoint-url or --region; only here,
        # so that a ValueError from reading the answers keeps its own message.
        raise explain_error(error, attempts=max_attempts) from None
    try:
        identity = sts.get_caller_identity()
        details = _read_authorization_details(iam, page_size)
        report, generated, content = _read_credential_report(iam, report_timeout)
        names = [user["UserName"] for user in details["users"]]
        devices = _read_mfa_devices(iam, names, workers, page_size, progress)
        root = read_root_user(iam, content)
        if key_certifications:
            devices = read_certifications(iam, devices, workers)
    except (BotoCoreError, ClientError) as error:
        raise explain_error(error, attempts=max_attempts) from None
    scps: dict[str, Any] = {}
    if organization:
        try:
            org_session = session if organization_profile is None else boto3.Session(profile_name=organization_profile)
            client = audit_client(org_session, "organizations", region_name, endpoint_url, config)
        except (BotoCoreError, ValueError) as error:
            raise explain_error(error, attempts=max_attempts) from None
        scps = read_scps(client, identity["Account"])
    found: tuple[ResourcePolicy, ...] | None = None
    unread: tuple[UnreadPolicy, ...] = ()
    read_regions: tuple[str, ...] = ()
    if resource_policies:
        from mfa_policy.audit.aws_resources import read_resource_policies

        found, unread, read_regions = read_resource_policies(
            lambda service, where: audit_client(session, service, where, endpoint_url, config),
            account_id=identity["Account"],
            partition=identity["Arn"].split(":")[1],
            home_region=region_name,
            regions=regions,
            workers=workers,
            progress=policy_progress,
        )

    partition = identity["Arn"].split(":")[1]
    groups = {
        entry["GroupName"]: Group(
            name=entry["GroupName"],
            path=entry.get("Path", "/"),
            inline=_inline(entry.get("GroupPolicyList", [])),
            attached=_attached(entry.get("AttachedManagedPolicies", [])),
        )
        for entry in details["groups"]
    }
    policies = {}
    for entry in details["policies"]:
        default = next(
            (v for v in entry.get("PolicyVersionList", []) if v.get("IsDefaultVersion")),
            None,
        )
        if default is not None:
            # A managed policy's name is the ARN's last segment (moto leaves PolicyName out).
            name = entry.get("PolicyName") or entry["Arn"].rsplit("/", 1)[-1]
            policies[entry["Arn"]] = ManagedPolicy(entry["Arn"], name, _document(default["Document"]))
    users = tuple(
        User(
            name=entry["UserName"],
            path=entry.get("Path", "/"),
            arn=entry["Arn"],
            user_id=entry.get("UserId", ""),
            groups=tuple(entry.get("GroupList", [])),
            inline=_inline(entry.get("UserPolicyList", [])),
            attached=_attached(entry.get("AttachedManagedPolicies", [])),
            boundary=(entry.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            credentials=report.get(entry["UserName"]),
            mfa_devices=devices[entry["UserName"]],
            tags=tuple((tag["Key"], tag["Value"]) for tag in entry.get("Tags", [])),
        )
        for entry in details["users"]
    )
    return AccountSnapshot(
        account_id=identity["Account"],
        partition=partition,
        caller_arn=identity["Arn"],
        users=users,
        groups=groups,
        policies=policies,
        report_generated=generated,
        resource_policies=found,
        unread_policies=unread,
        regions=read_regions,
        root=root,
        **scps,
    )


def read_scps(organizations: Any, account_id: str) -> dict[str, Any]:
    """The SCP levels above ``account_id`` from AWS Organizations, as ``AccountSnapshot`` fields.

    Walks ``ListParents`` from the account up to the root, then reads each level's SCPs
    (``ListPoliciesForTarget`` with ``SERVICE_CONTROL_POLICY``, ``DescribePolicy``). The management
    account is never restricted by SCPs; an account in no organization has none. A refused or
    failed read is not an error: the result says SCPs were not applied, with a note naming why.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = organizations.describe_organization()["Organization"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "AWSOrganizationsNotInUseException":
            return {"scp_source": SCPS_NONE_APPLY, "organization_id": "",
                    "notes": ("the account is in no organization: no service control policy applies",)}
        return {"notes": (_scp_note("DescribeOrganization", error),)}
    except BotoCoreError as error:
        return {"notes": (_scp_note("DescribeOrganization", error),)}
    organization_id = described.get("Id", "")
    if described.get("MasterAccountId") == account_id:
        return {
            "scp_source": SCPS_NONE_APPLY,
            "organization_id": organization_id,
            "management_account": True,
            "notes": (
                f"account {account_id} is the management account of organization {organization_id}: service "
                "control policies never restrict it",
            ),
        }
    try:
        path = [account_id]
        child = account_id
        while True:
            parents = organizations.list_parents(ChildId=child)["Parents"]
            if not parents:
                raise ValueError(f"ListParents named no parent of {child}")
            child = parents[0]["Id"]
            path.append(child)
            if parents[0]["Type"] == "ROOT":
                break
        path.reverse()  # the root first
        documents: dict[str, ManagedPolicy] = {}
        levels = []
        for target in path:
            attached = []
            pages = organizations.get_paginator("list_policies_for_target").paginate(
                TargetId=target, Filter="SERVICE_CONTROL_POLICY"
            )
            for page in pages:
                for summary in page.get("Policies", []):
                    policy_id = summary["Id"]
                    if policy_id not in documents:
                        policy = organizations.describe_policy(PolicyId=policy_id)["Policy"]
                        documents[policy_id] = ManagedPolicy(
                            policy["PolicySummary"].get("Arn", policy_id),
                            policy["PolicySummary"].get("Name", policy_id),
                            json.loads(policy["Content"]),
                        )
                    attached.append(documents[policy_id])
            levels.append(ScpLevel(target, tuple(attached)))
    except ClientError as error:
        operation = error.operation_name
        code = error.response.get("Error", {}).get("Code", "")
        if code == "PolicyTypeNotEnabledException":
            return {"scp_source": SCPS_NONE_APPLY, "organization_id": organization_id,
                    "notes": ("service control policies are not enabled in the organization: none applies",)}
        return {"organization_id": organization_id, "notes": (_scp_note(operation, error),)}
    except (BotoCoreError, ValueError) as error:
        return {"organization_id": organization_id, "notes": (_scp_note("ListParents", error),)}
    org_path = "/".join([organization_id, *path[:-1]]) + "/"
    return {
        "scp_levels": tuple(levels),
        "scp_source": SCPS_FROM_ORGANIZATION,
        "organization_id": organization_id,
        "organization_paths": (org_path,),
    }


def _scp_note(operation: str, error: Exception) -> str:
    from botocore.exceptions import ClientError

    reason = str(error)
    if isinstance(error, ClientError):
        reason = error.response.get("Error", {}).get("Code", "") or reason
    return (
        f"service control policies not applied: organizations:{operation} failed ({reason}). Pass --scp FILE per "
        "level, or read with the management account or a delegated administrator (--organization-profile); "
        "without them a user whom an SCP protects may be reported unprotected"
    )


def _read_authorization_details(iam: Any, page_size: int | None) -> dict[str, list[dict[str, Any]]]:
    pages = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=_GAAD_FILTER, PaginationConfig={"PageSize": page_size} if page_size else {}
    )
    found: dict[str, list[dict[str, Any]]] = {"users": [], "groups": [], "policies": []}
    for page in pages:
        found["users"] += page.get("UserDetailList", [])
        found["groups"] += page.get("GroupDetailList", [])
        found["policies"] += page.get("Policies", [])
    return found


def _read_credential_report(iam: Any, timeout: float) -> tuple[dict[str, Credentials], datetime | None, bytes]:
    # AWS builds the report asynchronously (and reuses one younger than four hours).
    deadline = time.monotonic() + timeout
    delay = 0.1
    while iam.generate_credential_report()["State"] != "COMPLETE":
        if time.monotonic() > deadline:
            raise AuditError(f"the credential report was not ready after {timeout:.0f} s: run the audit again")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
    answer = iam.get_credential_report()
    return parse_credential_report(answer["Content"]), answer.get("GeneratedTime"), answer["Content"]


def _read_mfa_devices(
    iam: Any,
    names: list[str],
    workers: int,
    page_size: int | None,
    progress: Callable[[int, int], None] | None,
) -> dict[str, tuple[MfaDevice, ...]]:
    def devices_of(name: str) -> tuple[MfaDevice, ...]:
        pages = iam.get_paginator("list_mfa_devices").paginate(
            UserName=name, PaginationConfig={"PageSize": page_size} if page_size else {}
        )
        return tuple(
            MfaDevice(device["SerialNumber"], device_kind(device["SerialNumber"]), device.get("EnableDate"))
            for page in pages
            for device in page.get("MFADevices", [])
        )

    found: dict[str, tuple[MfaDevice, ...]] = {}
    # boto3 clients are thread-safe; a few threads keep a thousand calls short without
    # provoking IAM's throttling (the standard retry mode absorbs the odd Throttling).
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (name, devices) in enumerate(zip(names, pool.map(devices_of, names), strict=True), start=1):
            found[name] = devices
            if progress is not None:
                progress(done, len(names))
    return found


# ---------------------------------------------------------------------------------------------
# Clients: fail fast when the endpoint cannot be reached


def _fail_fast(caught_exception: Exception | None = None, **_: Any) -> None:
    """A ``needs-retry`` handler that stops botocore's retries after a failed connection.

    botocore's standard mode retries a refused connection (or an unknown host) like a throttled
    request, with backoff: ten attempts took 21 s before the one-line error. Nothing answers
    after a refused connection, so the first failure is final; throttling and 5xx answers keep
    their retries (they come from a service that is there).
    """
    from botocore.exceptions import EndpointConnectionError

    if isinstance(caught_exception, EndpointConnectionError):
        raise caught_exception


def audit_client(session: Any, service: str, region: str, endpoint_url: str | None, config: Any) -> Any:
    """A boto3 client for the audit's reads: ``config``'s retries, except after a failed connection."""
    client = session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
    # Registered first, it runs before the retry handler and ends the request at once.
    client.meta.events.register_first("needs-retry", _fail_fast)
    return client


# ---------------------------------------------------------------------------------------------
# The root user, and security keys' certifications

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
_NO_CENTRAL_MANAGEMENT = {
    "OrganizationNotFound": "the account is in no organization: root credentials are not managed centrally",
    "OrganizationNotInAllFeaturesMode": "the organization does not have all features enabled: root credentials "
    "are not managed centrally",
    "ServiceAccessNotEnabled": "trusted access for IAM is not enabled in the organization: root credentials are "
    "not managed centrally",
}


def read_root_user(iam: Any, report: bytes) -> RootUser:
    """The root user from the credential report's content and ``iam:GetAccountSummary``
    (required), and ``iam:ListOrganizationsFeatures`` (optional: a refusal is a note)."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    root = root_user(parse_root_row(report), iam.get_account_summary().get("SummaryMap", {}))
    if "ListOrganizationsFeatures" not in iam.meta.service_model.operation_names:
        return replace(root, central_note="unknown: this botocore predates iam:ListOrganizationsFeatures")
    try:
        answer = iam.list_organizations_features()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _NO_CENTRAL_MANAGEMENT:
            return replace(root, central_features=(), central_note=_NO_CENTRAL_MANAGEMENT[code])
        if code == "AccountNotManagementOrDelegatedAdministrator":
            note = (
                "unknown: only the management account or IAM's delegated administrator may call "
                "iam:ListOrganizationsFeatures"
            )
        elif code in _ACCESS_DENIED:
            note = "unknown: the credentials lack iam:ListOrganizationsFeatures"
        else:
            note = f"unknown: ListOrganizationsFeatures failed: {code}"
        return replace(root, central_note=note)
    except (BotoCoreError, ResponseParserError) as error:
        # ResponseParserError: an answer that is not AWS's (moto does not implement the call).
        reason = "an answer botocore cannot parse" if isinstance(error, ResponseParserError) else str(error)
        return replace(root, central_note=f"unknown: ListOrganizationsFeatures failed: {' '.join(reason.split())}")
    features = tuple(answer.get("EnabledFeatures", []))
    return replace(root, central_features=features, organization_id=answer.get("OrganizationId"))


def read_certifications(
    iam: Any, devices: Mapping[str, tuple[MfaDevice, ...]], workers: int
) -> dict[str, tuple[MfaDevice, ...]]:
    """``devices`` with each security key's certifications (``iam:GetMFADevice``, which accepts
    only FIDO security keys)."""
    from botocore.exceptions import ClientError

    def certified(item: tuple[str, MfaDevice]) -> MfaDevice:
        name, device = item
        if device.kind != SECURITY_KEY:
            return device
        try:
            answer = iam.get_mfa_device(SerialNumber=device.serial, UserName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code", "") in _ACCESS_DENIED:
                raise AuditError(
                    "access denied: the credentials lack iam:GetMFADevice, which --security-key-certification "
                    "needs to read each security key's certifications. Grant it (see docs/audit.md), or leave "
                    "the flag out"
                ) from None
            raise
        return replace(device, certifications=certifications_of(answer))

    pairs = [(name, device) for name, found in devices.items() for device in found]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        read = list(pool.map(certified, pairs))
    result: dict[str, list[MfaDevice]] = {name: [] for name in devices}
    for (name, _), device in zip(pairs, read, strict=True):
        result[name].append(device)
    return {name: tuple(found) for name, found in result.items()}
