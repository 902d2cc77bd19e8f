"""The audit of a whole AWS Organization: which accounts, in what order, with which SCPs, and the
report's data (pure: the AWS reads come through an ``AccountReader``, see ``aws_organization``).

Each active account is read in a bounded pool of threads (``max_workers``), with the service
control policies of its path applied, and evaluated by the single-account audit
(``verdicts.audit``) with the policy sets shared across the run (``organization_cache``). An
account that cannot be read is one ``failed`` entry with the reason; suspended or closed accounts
are ``skipped``. Every account entry's ``audit`` is exactly the single-account JSON object.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mfa_policy.audit.aws import (
    SCPS_FROM_ORGANIZATION,
    SCPS_NONE_APPLY,
    SCPS_NOT_APPLIED,
    AccountSnapshot,
    AuditError,
    ManagedPolicy,
    ScpLevel,
)
from mfa_policy.audit.aws_organization import ACTIVE, Organization, OrganizationAccount, ScpsNotEnabled
from mfa_policy.audit.findings import DeviceRequirement
from mfa_policy.audit.organization_cache import PLACEHOLDER, SharedEvaluations, portable, rename
from mfa_policy.audit.verdicts import VERDICTS, AuditReport, PlannedPolicy, UserVerdict, audit
from mfa_policy.verifier.catalog import Catalog

AUDITED = "audited"
FAILED = "failed"
SKIPPED = "skipped"
DEFAULT_MAX_WORKERS = 4  # accounts read at once: stays well within IAM's and STS's request rates


class FilterError(ValueError):
    """``--accounts`` or ``--ou`` names something the organization does not have (one line)."""


class AccountReader(Protocol):
    """The AWS side of the walk (``aws_organization.AwsAccountReader``; tests may stub it)."""

    def scp_levels(self, account: OrganizationAccount) -> tuple[ScpLevel, ...]:
        """The SCP levels from the root down to the account (``ScpsNotEnabled``, ``AuditError``)."""
        ...

    def read(self, account: OrganizationAccount) -> AccountSnapshot:
        """The account's snapshot, through its role (``AuditError`` with the reason)."""
        ...


@dataclass(frozen=True)
class OrganizationPlan:
    """``--stack`` with ``mfa-policy:organization``: the guardrail as if deployed now."""

    name: str  # "stack org"
    targets: tuple[str, ...]  # r-..., ou-..., account IDs: where the SCP is attached
    scp: Callable[[str], Mapping[str, Any]]  # partition -> the SCP document
    stack_set: Callable[[str, str], PlannedPolicy] | None  # (account, partition) -> the StackSet's policy


@dataclass(frozen=True)
class AccountEntry:
    """One account of the report."""

    account: OrganizationAccount
    status: str  # AUDITED, FAILED or SKIPPED
    reason: str = ""  # why failed or skipped
    management: bool = False
    scps: str = SCPS_NOT_APPLIED  # how its SCPs were obtained (aws.SCPS_*)
    scp_levels: int = 0
    report: AuditReport | None = None
    shared: bool = False  # evaluated with its ID renamed, sharing policy sets with other accounts
    unshared_reason: str = ""
    planned: tuple[str, ...] = ()  # what --stack added: "SCP at ou-...", "StackSet policy"

    @property
    def failing(self) -> bool:
        return self.report is not None and self.report.failing

    def as_dict(self) -> dict[str, Any]:
        account = self.account
        return {
            "id": account.account_id,
            "name": account.name,
            "state": account.status,
            "ouPath": account.ou_path,
            "ouIds": list(account.path),
            "status": self.status,
            "reason": self.reason or None,
            "managementAccount": self.management,
            "scpsApplied": self.scps == SCPS_FROM_ORGANIZATION,
            "serviceControlPolicies": {"source": self.scps, "levels": self.scp_levels},
            "planned": list(self.planned),
            "sharedPolicySets": self.shared,
            "failing": self.failing,
            "summary": self.report.counts() if self.report else None,
            "root": self.report.root.as_dict() if self.report and self.report.root else None,
            "audit": self.report.as_dict() if self.report else None,
        }


@dataclass(frozen=True)
class OrganizationReport:
    """Every selected account's entry, worst first, and the run's figures."""

    organization_id: str
    management_account_id: str
    caller_arn: str
    role_name: str
    scenario: str
    entries: tuple[AccountEntry, ...]
    policy_sets: int  # distinct policy sets evaluated in the whole run
    filters: Mapping[str, Any] = field(default_factory=dict)
    read_seconds: float = 0.0  # summed over accounts (they overlap in the pool)
    evaluation_seconds: float = 0.0
    evaluation_cpu_seconds: float = 0.0  # the evaluating threads' CPU time (a loaded machine's wall time is more)
    wall_seconds: float = 0.0
    max_workers: int = DEFAULT_MAX_WORKERS

    def by_status(self, status: str) -> list[AccountEntry]:
        return [entry for entry in self.entries if entry.status == status]

    def counts(self) -> dict[str, int]:
        """Users per verdict over every audited account."""
        totals = dict.fromkeys(VERDICTS, 0)
        for entry in self.by_status(AUDITED):
            assert entry.report is not None
            for verdict, count in entry.report.counts().items():
                totals[verdict] += count
        return totals

    @property
    def failing(self) -> bool:
        """Whether an audited account fails (exit 1)."""
        return any(entry.failing for entry in self.entries)

    @property
    def exit_code(self) -> int:
        """2 when an account could not be audited (it wins) or none was (nothing was decided: not
        a pass), 1 when one fails, else 0."""
        if self.by_status(FAILED) or not self.by_status(AUDITED):
            return 2
        return 1 if self.failing else 0

    def users(self) -> list[tuple[AccountEntry, UserVerdict]]:
        """Every audited user, worst first, then by account and name."""
        order = {verdict: index for index, verdict in enumerate(VERDICTS)}
        found = [(entry, user) for entry in self.by_status(AUDITED) if entry.report for user in entry.report.users]
        found.sort(key=lambda pair: (order[pair[1].verdict], not pair[1].failing, pair[0].account.account_id,
                                     pair[1].path, pair[1].user))
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "organization": {
                "id": self.organization_id,
                "managementAccountId": self.management_account_id,
                "caller": self.caller_arn,
                "roleName": self.role_name,
                "scenario": self.scenario,
                "filters": dict(self.filters),
                "accounts": {status: len(self.by_status(status)) for status in (AUDITED, FAILED, SKIPPED)},
                "summary": self.counts(),
                "policySetsEvaluated": self.policy_sets,
                # The run does not pass: an account fails, could not be audited, or none was.
                "failing": self.exit_code != 0,
                "exitCode": self.exit_code,
            },
            "accounts": [entry.as_dict() for entry in self.entries],
        }


def select(
    organization: Organization, accounts: Sequence[str] | None = None, units: Sequence[str] | None = None
) -> list[OrganizationAccount]:
    """The accounts the filters keep (both: those in both), the management account included only
    when a filter names it or it is under a named OU. Raises ``FilterError`` for an account ID or
    OU the organization does not have."""
    chosen = list(organization.accounts)
    if accounts:
        known = {account.account_id for account in chosen}
        unknown = [value for value in accounts if value not in known]
        if unknown:
            raise FilterError(
                f"--accounts: {', '.join(unknown)} not in organization {organization.organization_id} "
                f"(it has {len(known)} accounts)"
            )
        chosen = [account for account in chosen if account.account_id in accounts]
    if units:
        unknown = [value for value in units if value not in organization.units]
        if unknown:
            raise FilterError(
                f"--ou: {', '.join(unknown)} not in organization {organization.organization_id}: expected OU IDs "
                "(ou-...) or the root's ID (r-...) as ListRoots/ListOrganizationalUnitsForParent name them"
            )
        chosen = [account for account in chosen if any(unit in account.path for unit in units)]
    return chosen


def check_plan_targets(organization: Organization, plan: OrganizationPlan) -> None:
    """Raises ``FilterError`` when the plan's SCP targets name a root, OU or account the
    organization does not have: such a preview would change nothing, silently."""
    known = {*organization.units, *(account.account_id for account in organization.accounts)}
    unknown = [target for target in plan.targets if target not in known]
    if unknown:
        raise FilterError(
            f"{plan.name}: its organization.targets {', '.join(unknown)} are not in organization "
            f"{organization.organization_id}: the preview would attach its SCP nowhere; expected the root's ID "
            "(r-...), OU IDs (ou-...) or account IDs of this organization"
        )


def audit_organization(
    organization: Organization,
    accounts: Sequence[OrganizationAccount],
    reader: AccountReader,
    catalog: Catalog,
    *,
    role_name: str,
    max_workers: int = DEFAULT_MAX_WORKERS,
    plan: OrganizationPlan | None = None,
    key_age_days: int = 30,
    devices: DeviceRequirement | None = None,
    filters: Mapping[str, Any] | None = None,
    progress: Callable[[AccountEntry, int, int, int], None] | None = None,
    now: datetime | None = None,
    shared: SharedEvaluations | None = None,
) -> OrganizationReport:
    """Audit ``accounts`` of ``organization``: read them ``max_workers`` at a time, evaluate each
    with the policy sets shared (``SharedEvaluations``), one entry per account.

    ``progress(entry, done, total, users_seen)`` is called as each account finishes.
    """
    started = time.monotonic()
    shared = SharedEvaluations() if shared is None else shared
    timings = {"read": 0.0, "evaluation": 0.0, "cpu": 0.0}
    timing_lock = threading.Lock()

    def one(account: OrganizationAccount) -> AccountEntry:
        if account.status != ACTIVE:
            return AccountEntry(account, SKIPPED, f"the account is {account.status.lower()}: not audited",
                                management=account.account_id == organization.management_account_id)
        began = time.monotonic()
        entry, snapshot, planned = _read(organization, account, reader, plan)
        read = time.monotonic() - began
        if snapshot is None:
            with timing_lock:
                timings["read"] += read
            return entry
        ok, why = portable(snapshot, extra=(planned.document,) if planned else ())
        account_id = snapshot.account_id
        with shared.lock:  # compiled sets are not thread-safe: one account evaluates at a time
            began, cpu = time.monotonic(), time.thread_time()
            if ok:
                report = audit(
                    rename(snapshot, account_id, PLACEHOLDER),
                    catalog,
                    planned=rename(planned, account_id, PLACEHOLDER) if planned else None,
                    key_age_days=key_age_days,
                    now=now,
                    devices=devices,
                    evaluations=shared.view(rename(snapshot.organization_paths, account_id, PLACEHOLDER)),
                )
                report = rename(report, PLACEHOLDER, account_id)
            else:
                report = audit(
                    snapshot,
                    catalog,
                    planned=planned,
                    key_age_days=key_age_days,
                    now=now,
                    devices=devices,
                    evaluations=shared.view(snapshot.organization_paths),
                )
            evaluated, used = time.monotonic() - began, time.thread_time() - cpu
        with timing_lock:
            timings["read"] += read
            timings["evaluation"] += evaluated
            timings["cpu"] += used
        return dataclasses.replace(entry, report=report, shared=ok, unshared_reason=why)

    entries: list[AccountEntry] = []
    users = 0
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = [pool.submit(one, account) for account in accounts]
        for future in as_completed(futures):
            entry = future.result()
            entries.append(entry)
            users += len(entry.report.users) if entry.report else 0
            if progress is not None:
                progress(entry, len(entries), len(accounts), users)
    entries.sort(key=_entry_order)
    return OrganizationReport(
        organization_id=organization.organization_id,
        management_account_id=organization.management_account_id,
        caller_arn=organization.caller_arn,
        role_name=role_name,
        scenario=f"as if {plan.name} were deployed now" if plan else "as the organization stands",
        entries=tuple(entries),
        policy_sets=len(shared),
        filters=dict(filters or {}),
        read_seconds=timings["read"],
        evaluation_seconds=timings["evaluation"],
        evaluation_cpu_seconds=timings["cpu"],
        wall_seconds=time.monotonic() - started,
        max_workers=max_workers,
    )


def _entry_order(entry: AccountEntry) -> tuple[Any, ...]:
    rank = {FAILED: 0, AUDITED: 1, SKIPPED: 2}[entry.status]
    worst = 0
    if entry.report is not None:
        counts = entry.report.counts()
        worst = -(counts["unprotected"] + counts["will be locked out"])
    return (rank, not entry.failing, worst, entry.account.ou_path, entry.account.account_id)


def _read(
    organization: Organization, account: OrganizationAccount, reader: AccountReader, plan: OrganizationPlan | None
) -> tuple[AccountEntry, AccountSnapshot | None, PlannedPolicy | None]:
    """The account's snapshot with its SCP levels and organization applied (and the plan's SCP),
    or a failed entry."""
    management = account.account_id == organization.management_account_id
    entry = AccountEntry(account, AUDITED, management=management)
    notes: list[str] = []
    levels: tuple[ScpLevel, ...] = ()
    if management:
        source = SCPS_NONE_APPLY
        notes.append(
            f"account {account.account_id} is the management account of organization "
            f"{organization.organization_id}: service control policies never restrict it"
        )
    else:
        try:
            levels = reader.scp_levels(account)
            source = SCPS_FROM_ORGANIZATION
        except ScpsNotEnabled as error:
            source = SCPS_NONE_APPLY
            notes.append(str(error))
        except AuditError as error:
            source = SCPS_NOT_APPLIED
            notes.append(
                f"service control policies not applied: {error}; a user whom an SCP protects may be reported "
                "unprotected"
            )
    try:
        snapshot = reader.read(account)
    except AuditError as error:
        return dataclasses.replace(entry, status=FAILED, reason=str(error), scps=source), None, None
    planned_notes: list[str] = []
    planned: PlannedPolicy | None = None
    if plan is not None and not management:
        levels, added = _with_plan_scp(levels, account, plan, snapshot.partition, source)
        planned_notes += added
        if plan.stack_set is not None and any(target in account.path for target in plan.targets):
            planned = plan.stack_set(account.account_id, snapshot.partition)
            planned_notes.append("StackSet policy")
    snapshot = dataclasses.replace(
        snapshot,
        scp_levels=levels,
        scp_source=source,
        organization_id=organization.organization_id,
        organization_paths=("/".join((organization.organization_id, *account.path)) + "/",),
        management_account=management,
        notes=(*snapshot.notes, *notes),
    )
    entry = dataclasses.replace(entry, scps=source, scp_levels=len(levels), planned=tuple(planned_notes))
    return entry, snapshot, planned


def _with_plan_scp(
    levels: tuple[ScpLevel, ...], account: OrganizationAccount, plan: OrganizationPlan, partition: str, source: str
) -> tuple[tuple[ScpLevel, ...], list[str]]:
    """``levels`` with the plan's SCP attached at each of its targets on the account's path."""
    if source != SCPS_FROM_ORGANIZATION:
        return levels, []  # no levels to attach to: SCPs are not enabled, or were not read
    document = plan.scp(partition)
    found = []
    added = []
    for level in levels:
        if level.target in plan.targets:
            policy = ManagedPolicy(f"{plan.name}#scp", f"{plan.name}'s SCP (planned)", document)
            level = ScpLevel(level.target, (*level.policies, policy))
            added.append(f"SCP at {level.target}")
        found.append(level)
    return tuple(found), added
