"""``audit --organization``: every account of an AWS Organization, one report (parsing the
organization's flags and printing; the walk is ``mfa_policy.audit.organization``)."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from mfa_policy.cli.common import BadInput, emit, printed

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_UNIT_ID = re.compile(r"(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
# Flags that only mean something with --organization.
ORGANIZATION_FLAGS = ("role_name", "accounts", "ou", "max_workers")


def _comma_list(value: str, pattern: re.Pattern[str], expected: str) -> tuple[str, ...]:
    found = [item.strip() for item in value.split(",")]
    if not all(pattern.fullmatch(item) for item in found):
        raise argparse.ArgumentTypeError(f"got {value!r}; expected a comma-separated list of {expected}.")
    return tuple(dict.fromkeys(found))


def account_ids(value: str) -> tuple[str, ...]:
    """``--accounts``: a comma-separated list of 12-digit account IDs."""
    return _comma_list(value, _ACCOUNT_ID, "12-digit account IDs such as '111122223333,444455556666'")


def unit_ids(value: str) -> tuple[str, ...]:
    """``--ou``: a comma-separated list of OU IDs (``ou-...``) or the root's ID (``r-...``)."""
    return _comma_list(value, _UNIT_ID, "OU IDs such as 'ou-a1b2-workload1' (or a root's r-a1b2)")


def role_name(value: str) -> str:
    """``--role-name``: an IAM role name."""
    if not _ROLE_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"got {value!r}; expected an IAM role name (1-64 letters, digits and +=,.@_-) such as "
            "'OrganizationAccountAccessRole' or 'AWSControlTowerExecution'."
        )
    return value


def workers(value: str) -> int:
    """``--max-workers``: 1 to 32 accounts read at once."""
    if not value.isdigit() or not 1 <= int(value) <= 32:
        raise argparse.ArgumentTypeError(f"got {value!r}; expected a whole number from 1 to 32.")
    return int(value)


def check_flags(args: argparse.Namespace) -> None:
    """Refuse the organization's flags without --organization, and single-account flags with it."""
    if not args.organization:
        given = [f"--{name.replace('_', '-')}" for name in ORGANIZATION_FLAGS if getattr(args, name) is not None]
        if given:
            raise BadInput(
                f"{', '.join(given)} only appl{'y' if len(given) > 1 else 'ies'} with --organization "
                "(audit every account of an organization)"
            )
        return
    why = {
        "--scp": "the SCPs of each account's path are read from AWS Organizations",
        "--organization-profile": "the organization is read with --profile (the management account or a delegated "
        "administrator)",
        "--groups": "preview a guardrail over the organization with --stack <organization stack>",
    }
    for flag, value in (("--scp", args.scp), ("--organization-profile", args.organization_profile),
                        ("--groups", args.groups)):
        if value:
            raise BadInput(f"{flag} does not apply with --organization: {why[flag]}")


def _organization_plan(args: argparse.Namespace) -> Any:
    """--stack with --organization: the stack's guardrail (SCP at its targets, StackSet policy in the
    accounts of its root/OU targets), read before any AWS call."""
    if not args.stack:
        return None
    from mfa_policy.audit.organization import OrganizationPlan
    from mfa_policy.audit.verdicts import PlannedPolicy
    from mfa_policy.policy.document import build_policy_document
    from mfa_policy.policy.scp import build_scp_document
    from mfa_policy.policy.validation import InvalidInputError
    from mfa_policy.program.config import read_program_config
    from mfa_policy.program.project import stack_config

    project, config = stack_config(Path(args.cwd or "."), args.stack)
    program = read_program_config(lambda key: config.get(f"{project}:{key}"), config)
    if program.organization is None:
        raise BadInput(
            f"stack {args.stack!r} sets no {project}:organization: with --organization, --stack previews an "
            "organization guardrail stack; audit a per-account stack's impact without --organization"
        )
    settings, options = program.settings, program.document_options()
    scp_options = {key: value for key, value in options.items() if key != "self_service"}
    try:
        build_scp_document("aws", **scp_options)
    except InvalidInputError as error:
        raise BadInput(f"stack {args.stack!r}: {error}") from None
    stack = args.stack
    stack_set = None
    if program.organization.stack_set:
        groups = tuple(settings["group_names"])

        def stack_set_policy(account_id: str, partition: str) -> PlannedPolicy:
            name = f"stack {stack}'s StackSet policy {settings['policy_name']}"
            return PlannedPolicy(name, build_policy_document(account_id, partition, **options), groups)

        stack_set = stack_set_policy
    return OrganizationPlan(
        name=f"stack {stack}",
        targets=program.organization.targets,
        scp=lambda partition: build_scp_document(partition, **scp_options),
        stack_set=stack_set,
    )


class _OrganizationProgress:
    """Accounts done / total, users seen, elapsed on stderr: a live line on a terminal, one line per
    finished account otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, entry: Any, done: int, total: int, users: int) -> None:
        elapsed = time.monotonic() - self.started
        if self.tty:
            end = "\n" if done == total else ""
            line = f"\raccounts {done}/{total}, {users} users, {elapsed:.0f} s"
            print(line, end=end, file=sys.stderr, flush=True)
            return
        account = entry.account
        count = len(entry.report.users) if entry.report else 0
        what = entry.status if entry.report is None else f"{entry.status}, {count} user{'s' if count != 1 else ''}"
        print(f"account {account.account_id} ({account.name}): {what} [{done}/{total} accounts, {users} users, "
              f"{elapsed:.0f} s]", file=sys.stderr, flush=True)


def run_organization_audit(args: argparse.Namespace, devices: Any) -> int:
    """Read the organization, audit the selected accounts, print the report; the exit code."""
    from mfa_policy.audit.aws import AuditError
    from mfa_policy.audit.aws_organization import DEFAULT_ROLE_NAME, AwsAccountReader
    from mfa_policy.audit.organization import (
        DEFAULT_MAX_WORKERS,
        FilterError,
        audit_organization,
        check_plan_targets,
        select,
    )
    from mfa_policy.verifier.catalog import load_catalog

    plan = _organization_plan(args)
    role = args.role_name or DEFAULT_ROLE_NAME
    max_workers = args.max_workers or DEFAULT_MAX_WORKERS
    try:
        catalog = load_catalog()
    except RuntimeError as error:  # the catalog's package is missing
        raise BadInput(str(error)) from None
    try:
        reader, organization = AwsAccountReader.connect(
            args.profile,
            args.region,
            args.endpoint_url,
            role_name=role,
            resource_policies=not args.no_resource_policies,
            regions=args.regions,
            key_certifications=bool(devices and devices.certification),
        )
    except AuditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        accounts = select(organization, args.accounts, args.ou)
        if plan is not None:
            check_plan_targets(organization, plan)
    except FilterError as error:
        raise BadInput(str(error)) from None
    filters = {"accounts": list(args.accounts or []), "ou": list(args.ou or [])}
    report = audit_organization(
        organization,
        accounts,
        reader,
        catalog,
        role_name=role,
        max_workers=max_workers,
        plan=plan,
        key_age_days=args.key_age_days,
        devices=devices,
        filters=filters,
        progress=_OrganizationProgress(),
    )
    _output(report, len(catalog), args)
    return report.exit_code


def organization_json(report: Any, catalog_size: int) -> dict[str, Any]:
    """What ``audit --organization --format json`` prints (and what its HTML report draws): each
    audited account's ``audit`` is exactly what ``audit --format json`` prints for that account."""
    data = report.as_dict()
    for entry in data["accounts"]:
        if entry["audit"] is not None:
            entry["audit"]["catalogActions"] = catalog_size
    return {**data, "catalogActions": catalog_size}


def _output(report: Any, catalog_size: int, args: argparse.Namespace) -> None:
    """The organization's report in the format asked, to stdout or with ``-o FILE`` to that file."""
    if args.format == "html":
        from mfa_policy.report import render_audit

        data = organization_json(report, catalog_size)
        text = render_audit(data["accounts"], data["organization"])
    elif args.format == "json":
        text = json.dumps(organization_json(report, catalog_size), indent=2) + "\n"
    elif args.format == "markdown":
        text = printed(lambda: print_markdown(report, catalog_size))
    else:
        text = printed(lambda: print_text(report, catalog_size))
    emit(text, args.output)


# ---------------------------------------------------------------------------------------------
# Printing


def _headline(report: Any, catalog_size: int) -> str:
    counts = {status: len(report.by_status(status)) for status in ("audited", "failed", "skipped")}
    users = sum(report.counts().values())
    return (
        f"MFA audit of organization {report.organization_id} (management account {report.management_account_id}), "
        f"{report.scenario}: {len(report.entries)} account{'s' if len(report.entries) != 1 else ''} "
        f"({counts['audited']} audited, {counts['failed']} "
        f"failed, {counts['skipped']} skipped), {users} users, {report.policy_sets} distinct policy sets evaluated "
        f"over {catalog_size} AWS actions"
    )


def _scps(entry: Any) -> str:
    from mfa_policy.audit.aws import SCPS_FROM_ORGANIZATION

    if entry.management:
        return "outside SCPs (management account)"
    if entry.scps == SCPS_FROM_ORGANIZATION:
        planned = f" + planned {', '.join(entry.planned)}" if entry.planned else ""
        return f"{entry.scp_levels} levels{planned}"
    return entry.scps


def _account_rows(report: Any) -> list[tuple[str, ...]]:
    from mfa_policy.cli.audit import _LABELS

    verdicts = tuple(_LABELS)  # every verdict, worst first
    rows = [("ACCOUNT", "NAME", "OU PATH", "STATUS", *(_LABELS[v].upper() for v in verdicts), "ROOT", "SCPS")]
    for entry in report.entries:
        account = entry.account
        if entry.report is None:
            status = "FAILED" if entry.status == "failed" else f"skipped ({account.status.lower()})"
            rows.append((account.account_id, account.name, account.ou_path, status, *("-" for _ in verdicts),
                         "-", "-" if entry.status == "skipped" else _scps(entry)))
            continue
        counts = entry.report.counts()
        root = entry.report.root
        status = "FAIL" if entry.failing else "ok"
        rows.append((account.account_id, account.name, account.ou_path, f"audited: {status}",
                     *(str(counts[v]) for v in verdicts),
                     "-" if root is None else ("FAIL" if root.failing else "ok"), _scps(entry)))
    return rows


def _account_notes(entry: Any) -> list[str]:
    """What the reader must know about one account: why it failed, its notes and gaps."""
    if entry.status == "failed":
        return [f"could not be audited: {entry.reason}"]
    if entry.report is None:
        return []
    from mfa_policy.cli.audit import _coverage_lines

    lines = [f"note: {note}" for note in entry.report.notes if "levels applied" not in note]
    lines += [line for line in _coverage_lines(entry.report) if not line.startswith("Resource policies: ")
              or "not read" in line]
    root = entry.report.root
    if root is not None and root.failing:
        lines.append(f"root user: FAIL: {root.reason}")
    return lines


def _common_notes(report: Any) -> list[str]:
    """The notes every audited account has (more than one): said once, not per account."""
    audited = [entry for entry in report.entries if entry.report is not None]
    if len(audited) < 2:
        return []
    common = set(_account_notes(audited[0]))
    for entry in audited[1:]:
        common &= set(_account_notes(entry))
    return [note for note in _account_notes(audited[0]) if note in common]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _summary(report: Any) -> str:
    counts = report.counts()
    parts = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    audited = len(report.by_status("audited"))
    failed = len(report.by_status("failed"))
    failing = [entry.account.account_id for entry in report.entries if entry.failing]
    reasons = []
    if failed:
        reasons.append(f"{failed} account{'s' if failed != 1 else ''} could not be audited")
    elif not audited:
        reasons.append("no account was audited (every selected account was skipped): nothing was decided")
    if failing:
        why = []
        users = sum(1 for entry in report.entries if entry.report and any(u.failing for u in entry.report.users))
        roots = sum(1 for entry in report.entries if entry.report and entry.report.root and entry.report.root.failing)
        if users:
            why.append(f"{users} with users unprotected or about to be locked out (or with findings)")
        if roots:
            why.append(f"{roots} with a failing root user")
        many = len(failing) != 1
        reasons.append(f"{len(failing)} account{'s' if many else ''} fail{'' if many else 's'} ({', '.join(failing)}): "
                       + ", ".join(why))
    verdict = "FAIL: " + "; ".join(reasons) if reasons else "OK: nobody is unprotected or about to be locked out"
    return f"Summary over {audited} audited account{'s' if audited != 1 else ''}: {parts}. {verdict}"


def print_text(report: Any, catalog_size: int) -> None:
    """The organization's report for a terminal."""
    from mfa_policy.cli.audit import _LABELS, _display_name, _last_used, _user_lines

    print(_headline(report, catalog_size))
    common = _common_notes(report)
    for note in common:
        print(f"every audited account: {note}")
    print()
    rows = _account_rows(report)
    for index, line in enumerate(_table(rows)):
        print(line)
        if index:
            for note in _account_notes(report.entries[index - 1]):
                if note not in common:
                    print(f"    {note}")
    users = report.users()
    if users:
        print()
        print("Users, worst first:")
        rows = [("ACCOUNT", "USER", "VERDICT", "MFA", "PASSWORD", "ACCESS KEYS", "GROUPS")]
        details: dict[int, list[str]] = {}
        for entry, user in users:
            keys = f"{user.active_keys} ({_last_used(user.keys_last_used)})" if user.active_keys else "-"
            rows.append((entry.account.account_id, _display_name(user), _LABELS[user.verdict],
                         ", ".join(user.mfa_devices) or "-", "yes" if user.password else "-", keys,
                         ", ".join(user.groups) or "-"))
            lines = _user_lines(user)
            if lines:
                details[len(rows) - 1] = lines
        for index, line in enumerate(_table(rows)):
            print(line)
            for detail in details.get(index, []):
                print(f"    {detail}")
    print()
    print(_summary(report))


def print_markdown(report: Any, catalog_size: int) -> None:
    """The organization's report in Markdown."""
    from mfa_policy.cli.audit import _LABELS, _display_name, _last_used, _user_lines

    print(f"# MFA audit of organization {report.organization_id}\n")
    print(f"{_headline(report, catalog_size)}.\n")
    rows = _account_rows(report)
    print("| " + " | ".join(cell.lower() for cell in rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows[1:]:
        print("| " + " | ".join(cell or "-" for cell in row) + " |")
    common = _common_notes(report)
    notes = [f"- every audited account: {line}" for line in common]
    notes += [f"- **{entry.account.account_id}** ({entry.account.name}): {line}"
              for entry in report.entries for line in _account_notes(entry) if line not in common]
    if notes:
        print("\n## Accounts: failures and notes\n")
        print("\n".join(notes))
    users = report.users()
    if users:
        print("\n## Users, worst first\n")
        print("| account | user | verdict | MFA | password | access keys | groups | allowed without MFA |")
        print("|---|---|---|---|---|---|---|---|")
        details = []
        for entry, user in users:
            keys = f"{user.active_keys} ({_last_used(user.keys_last_used)})" if user.active_keys else "-"
            exposures = "<br>".join(
                f"`{e.action}` on `{e.resource}` ({e.context}; {', '.join(e.policies)})"
                for e in (*user.exposures, *user.resource_exposures)
            )
            print(f"| {entry.account.account_id} | {_display_name(user)} | {_LABELS[user.verdict]} | "
                  f"{', '.join(user.mfa_devices) or '-'} | {'yes' if user.password else '-'} | {keys} | "
                  f"{', '.join(user.groups) or '-'} | {exposures or '-'} |")
            details += [f"- **{entry.account.account_id} {_display_name(user)}**: {line}"
                        for line in _user_lines(user) if not line.startswith("without MFA: ")]
        if details:
            print("\n## Findings and notes\n")
            print("\n".join(details))
    print(f"\n{_summary(report)}")
