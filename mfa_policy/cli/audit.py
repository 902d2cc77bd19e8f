"""``audit``: read a live account and say who is protected by MFA enforcement."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfa_policy.cli.common import BadInput, add_output_format

# Progress is shown on stderr only for accounts with more users than this.
_PROGRESS_THRESHOLD = 25
_LABELS = {
    "unprotected": "UNPROTECTED",
    "will be locked out": "WILL BE LOCKED OUT",
    "must enroll": "must enroll",
    "protected": "protected",
    "no credentials": "no credentials",
}


def _group_names(value: str) -> tuple[str, ...]:
    from mfa_policy.policy.validation import InvalidInputError, check_group_names

    names = [name.strip() for name in value.split(",")]
    try:
        return tuple(check_group_names(names, "--groups"))
    except InvalidInputError as error:
        # argparse names the flag ("argument --groups: ..."): the message gives the value as typed.
        allowed = error.allowed.replace("a non-empty list of", "a comma-separated list of")
        raise argparse.ArgumentTypeError(f"got {value!r}; expected {allowed}.") from None


def _days(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"got {value!r}; expected a whole number of days (0 or more).")
    return int(value)


class _Progress:
    """``label: done/total`` on stderr, rewritten in place on a terminal; one line otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        if total <= _PROGRESS_THRESHOLD:
            return
        if not self.tty:
            if not self.started:
                print(f"{self.label} for {total} users...", file=sys.stderr, flush=True)
                self.started = True
            return
        end = "\n" if done == total else ""
        print(f"\r{self.label}: {done}/{total}", end=end, file=sys.stderr, flush=True)


def _stack_plan(args: argparse.Namespace) -> Callable[[str, str], Any] | None:
    """Read --stack / --groups before touching AWS; return a builder of the planned policy."""
    from mfa_policy.audit.verdicts import PlannedPolicy
    from mfa_policy.policy.document import build_policy_document

    if args.groups:
        groups = args.groups

        def default_policy(account_id: str, partition: str) -> PlannedPolicy:
            return PlannedPolicy("the default require-MFA policy", build_policy_document(account_id, partition), groups)

        return default_policy
    if not args.stack:
        return None
    from mfa_policy.program.config import read_program_config
    from mfa_policy.program.project import stack_config

    project, config = stack_config(Path(args.cwd), args.stack)
    program = read_program_config(lambda key: config.get(f"{project}:{key}"), config)
    if program.organization is not None:
        raise BadInput(
            f"stack {args.stack!r} sets {project}:organization (a service control policy over many accounts), "
            "but the audit evaluates one account's identity policies: use --groups g1,g2, or a per-account stack"
        )
    settings, targets, options = program.settings, program.accounts, program.document_options()
    stack = args.stack

    def stack_policy(account_id: str, partition: str) -> PlannedPolicy:
        wanted = {settings["account_id"]} if "account_id" in settings else {t.account_id for t in targets}
        if wanted and account_id not in wanted:
            raise BadInput(
                f"stack {stack!r} targets account {', '.join(sorted(wanted))}, but the credentials are for "
                f"account {account_id}: pass the --profile of that account"
            )
        document = build_policy_document(account_id, partition, **options)
        name = f"stack {stack}'s policy {settings['policy_name']}"
        return PlannedPolicy(name, document, tuple(settings["group_names"]))

    return stack_policy


def _display_name(user: Any) -> str:
    """The user as the table and Markdown show it: with its IAM path unless the path is /."""
    return f"{user.path}{user.user}" if user.path != "/" else user.user


def _last_used(value: Any) -> str:
    """``used 2026-11-28``, or ``never used``."""
    return f"used {value.date().isoformat()}" if value else "never used"


def _print_text(report: Any, catalog_size: int) -> None:
    print(
        f"MFA audit of account {report.account_id} ({report.partition}), {report.scenario}: "
        f"{len(report.users)} users, {report.policy_sets} distinct policy sets evaluated over "
        f"{catalog_size} AWS actions"
    )
    for note in report.notes:
        print(f"note: {note}")
    print()
    rows = [("USER", "VERDICT", "MFA", "PASSWORD", "ACCESS KEYS", "GROUPS")]
    details: dict[int, list[str]] = {}
    for user in report.users:
        keys = f"{user.active_keys} ({_last_used(user.keys_last_used)})" if user.active_keys else "-"
        rows.append(
            (
                _display_name(user),
                _LABELS[user.verdict],
                ", ".join(user.mfa_devices) or "-",
                "yes" if user.password else "-",
                keys,
                ", ".join(user.groups) or "-",
            )
        )
        lines = [f"without MFA: {exposure}" for exposure in user.exposures] + [f"note: {n}" for n in user.notes]
        if lines:
            details[len(rows) - 1] = lines
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        for line in details.get(index, []):
            print(f"    {line}")
    print()
    print(_summary(report))


def _summary(report: Any) -> str:
    counts = report.counts()
    parts = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    verdict = (
        "FAIL: someone is unprotected or will be locked out"
        if report.failing
        else "OK: nobody is unprotected or about to be locked out"
    )
    return f"Summary: {parts}. {verdict}"


def _print_markdown(report: Any, catalog_size: int) -> None:
    print(f"# MFA audit of account {report.account_id}\n")
    print(
        f"{report.scenario.capitalize()}: {len(report.users)} users, {report.policy_sets} distinct policy sets "
        f"evaluated over {catalog_size} AWS actions. Access keys count as in use when used in the last "
        f"{report.key_age_days} days.\n"
    )
    for note in report.notes:
        print(f"> note: {note}\n")
    print("| user | verdict | MFA | password | access keys | groups | allowed without MFA |")
    print("|---|---|---|---|---|---|---|")
    for user in report.users:
        keys = f"{user.active_keys} ({_last_used(user.keys_last_used)})" if user.active_keys else "-"
        exposures = "<br>".join(
            f"`{e.action}` on `{e.resource}` ({e.context}; {', '.join(e.policies)})" for e in user.exposures
        )
        print(
            f"| {_display_name(user)} | {_LABELS[user.verdict]} | {', '.join(user.mfa_devices) or '-'} | "
            f"{'yes' if user.password else '-'} | {keys} | {', '.join(user.groups) or '-'} | {exposures or '-'} |"
        )
    print(f"\n{_summary(report)}")


def run_audit(args: argparse.Namespace) -> int:
    from mfa_policy.audit.aws import AuditError, read_account
    from mfa_policy.verifier.catalog import load_catalog

    plan = _stack_plan(args)  # bad stack files fail here, before any AWS call
    try:
        catalog = load_catalog()
    except RuntimeError as error:  # the catalog's package is missing
        raise BadInput(str(error)) from None
    try:
        snapshot = read_account(
            profile=args.profile,
            region=args.region,
            endpoint_url=args.endpoint_url,
            progress=_Progress("reading MFA devices"),
        )
    except AuditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from mfa_policy.audit.verdicts import audit

    planned = plan(snapshot.account_id, snapshot.partition) if plan else None
    report = audit(
        snapshot,
        catalog,
        planned=planned,
        key_age_days=args.key_age_days,
        progress=_Progress("evaluating policies"),
    )
    if args.format == "json":
        print(
            json.dumps(
                {
                    "accountId": report.account_id,
                    "partition": report.partition,
                    "scenario": report.scenario,
                    "keyAgeDays": report.key_age_days,
                    "catalogActions": len(catalog),
                    "policySetsEvaluated": report.policy_sets,
                    "summary": report.counts(),
                    "failing": report.failing,
                    "notes": list(report.notes),
                    "users": [user.as_dict() for user in report.users],
                },
                indent=2,
            )
        )
    elif args.format == "markdown":
        _print_markdown(report, len(catalog))
    else:
        _print_text(report, len(catalog))
    return 1 if report.failing else 0


def register(commands: Any) -> None:
    """Add the ``audit`` command to the parser's subcommands."""
    audit = commands.add_parser(
        "audit",
        help="read a live account: who is protected, unprotected, about to be locked out",
        description="Read one AWS account (read-only calls) and decide, for every IAM user, whether its "
        "policies enforce MFA, with the verifier's evaluator over every AWS action. Exit 0: nobody is "
        "unprotected or about to be locked out; 1: someone is; 2: bad input or an AWS error. "
        "Needs the audit extra (boto3): see the README's installing section.",
    )
    audit.add_argument("--profile", help="AWS profile to read the account with (default: the usual chain)")
    audit.add_argument("--region", help="AWS region for the STS endpoint (IAM is global; default: the profile's)")
    target = audit.add_mutually_exclusive_group()
    target.add_argument(
        "--stack", help="preview the impact: as if this stack's policy (Pulumi.<stack>.yaml) were attached now"
    )
    target.add_argument(
        "--groups",
        type=_group_names,
        help="preview the impact: as if the default policy were attached to these groups (g1,g2) now",
    )
    audit.add_argument("--cwd", default=".", help="project folder holding Pulumi.yaml, for --stack (default: .)")
    add_output_format(audit, "audit")
    audit.add_argument(
        "--key-age-days",
        type=_days,
        default=30,
        help="access keys used within this many days are automation that enforcement breaks (default: 30)",
    )
    audit.add_argument("--endpoint-url", help="send the AWS calls to this endpoint (an emulator such as moto)")
    audit.set_defaults(handler=run_audit)
