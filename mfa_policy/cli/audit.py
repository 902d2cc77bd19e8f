"""``audit``: read a live account and say who is protected by MFA enforcement."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfa_policy.cli.common import BadInput, add_output_format, emit, printed, read_json

# Progress is shown on stderr only for accounts with more users than this.
_PROGRESS_THRESHOLD = 25
_LABELS = {
    "unprotected": "UNPROTECTED",
    "will be locked out": "WILL BE LOCKED OUT",
    "must enroll": "must enroll",
    "protected": "protected",
    "no access": "no access",
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


def _regions(value: str) -> tuple[str, ...] | str:
    from mfa_policy.audit.aws import ALL_REGIONS
    from mfa_policy.policy.validation import InvalidInputError, check_region

    if value.strip() == ALL_REGIONS:
        return ALL_REGIONS
    names = [name.strip() for name in value.split(",")]
    try:
        checked = [check_region(name, "--regions") for name in names]
    except InvalidInputError:
        raise argparse.ArgumentTypeError(
            f"got {value!r}; expected 'all' or a comma-separated list of AWS region names such as "
            "'us-east-1,eu-west-1'."
        ) from None
    return tuple(dict.fromkeys(checked))


def _days(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"got {value!r}; expected a whole number of days (0 or more).")
    return int(value)


class _Progress:
    """``label: done/total`` on stderr, rewritten in place on a terminal; one line otherwise."""

    def __init__(self, label: str, noun: str = "users") -> None:
        self.label = label
        self.noun = noun
        self.tty = sys.stderr.isatty()
        self.started = False

    def __call__(self, done: int, total: int) -> None:
        if total <= _PROGRESS_THRESHOLD:
            return
        if not self.tty:
            if not self.started:
                print(f"{self.label} for {total} {self.noun}...", file=sys.stderr, flush=True)
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

    project, config = stack_config(Path(args.cwd or "."), args.stack)
    program = read_program_config(lambda key: config.get(f"{project}:{key}"), config)
    if program.organization is not None:
        raise BadInput(
            f"stack {args.stack!r} sets {project}:organization (a service control policy over many accounts), "
            "but the audit evaluates one account's identity policies: add --organization to preview it over the "
            "organization, or use --groups g1,g2, or a per-account stack"
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


def _device_requirement(args: argparse.Namespace) -> Any:
    """The devices users must have: ``--mfa-devices`` (with ``--security-key-certification``), else a
    ``--stack`` that sets ``mfa-policy:mfaDevices`` (for its groups); None for any device. Read
    before any AWS call, so that bad input fails first."""
    from mfa_policy.audit.findings import DeviceRequirement
    from mfa_policy.cli.verify import _certification  # verify's SPEC syntax: one parser for both commands
    from mfa_policy.policy.validation import (
        check_certification_needs_security_keys,
        check_security_key_certification,
    )

    if args.security_key_certification is not None:
        check_certification_needs_security_keys(
            args.security_key_certification, args.mfa_devices or "any", "--security-key-certification", "--mfa-devices"
        )
    if args.mfa_devices is not None:
        if args.mfa_devices != "security_keys":
            return None
        if args.security_key_certification is None:
            return DeviceRequirement("--mfa-devices security_keys")
        certification = check_security_key_certification(
            _certification(args.security_key_certification), "--security-key-certification"
        )
        return DeviceRequirement("--mfa-devices security_keys --security-key-certification", certification)
    if not args.stack:
        return None
    from mfa_policy.program.config import read_program_config
    from mfa_policy.program.project import stack_config

    project, config = stack_config(Path(args.cwd or "."), args.stack)
    settings = read_program_config(lambda key: config.get(f"{project}:{key}"), config).settings
    if settings.get("mfa_devices") != "security_keys":
        return None
    return DeviceRequirement(
        f"stack {args.stack} sets {project}:mfaDevices security_keys",
        settings.get("security_key_certification") or {},
        tuple(settings["group_names"]),
    )


def _root_line(report: Any) -> str | None:
    root = report.root
    if root is None:
        return None
    state = "FAIL" if root.failing else "ok"
    return f"Root user: {state}: {root.reason} (centralized root access: {root.central})"


def _coverage_lines(report: Any) -> list[str]:
    """What the report says about resource policies: which were read, and each gap."""
    coverage = report.resource_policies
    if not coverage.read:
        return ["Resource policies: not read: grants to users in bucket, key, queue, topic, secret, function, "
                "repository and file system policies are not seen"]
    from mfa_policy.audit.aws_resources import RESOURCE_KINDS

    # Every kind's name ends in "policy": "2 bucket policies".
    read = ", ".join(
        f"{count} {RESOURCE_KINDS[kind][0].removesuffix('policy')}{'policy' if count == 1 else 'policies'}"
        for kind, count in coverage.counts.items()
        if count
    ) or "none found"
    regions = ", ".join(coverage.regions)
    lines = [f"Resource policies: {read} (read in {regions}; S3 buckets in every region)"]
    lines += [f"note: {gap}" for gap in coverage.gaps]
    if any("the credentials lack" in gap for gap in coverage.gaps):
        lines.append("note: the optional read policy in docs/audit.md (mfa_policy.audit.aws.OPTIONAL_READ_POLICY) "
                     "grants every read the audit makes")
    return lines


def _caveat(report: Any) -> str:
    """What the summary must add when the audit did not see every resource policy."""
    coverage = report.resource_policies
    if not coverage.read:
        return " (resource policies were not read: grants there are not seen)"
    if coverage.gaps:
        count = len(coverage.gaps)
        policies = "policy" if count == 1 else "policies"
        return f" (but {count} resource {policies} could not be read: grants there are not seen)"
    return ""


def _user_lines(user: Any) -> list[str]:
    """The lines under a user: what it can do without MFA, its findings, its notes."""
    return (
        [f"without MFA: {exposure}" for exposure in (*user.exposures, *user.resource_exposures)]
        + [f"finding: {finding}" for finding in user.findings]
        + [f"note: {note}" for note in user.notes]
    )


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
    for line in [_root_line(report), *_coverage_lines(report)]:
        if line is not None:
            print(line)
    if report.device_requirement:
        print(f"Devices: security keys only ({report.device_requirement})")
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
        lines = _user_lines(user)
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
    if report.failing:
        reasons = []
        if counts["unprotected"] or counts["will be locked out"]:
            reasons.append("someone is unprotected or will be locked out")
        if report.findings:
            reasons.append(f"{report.findings} user finding{'s' if report.findings != 1 else ''}")
        if report.root is not None and report.root.failing:
            reasons.append(f"the root user ({report.root.reason})")
        verdict = "FAIL: " + "; ".join(reasons)
    else:
        verdict = "OK: nobody is unprotected or about to be locked out"
    return f"Summary: {parts}. {verdict}{_caveat(report)}"


def _print_markdown(report: Any, catalog_size: int) -> None:
    print(f"# MFA audit of account {report.account_id}\n")
    print(
        f"{report.scenario.capitalize()}: {len(report.users)} users, {report.policy_sets} distinct policy sets "
        f"evaluated over {catalog_size} AWS actions. Access keys count as in use when used in the last "
        f"{report.key_age_days} days.\n"
    )
    for note in report.notes:
        print(f"> note: {note}\n")
    for line in [_root_line(report), *_coverage_lines(report)]:
        if line is not None:
            print(f"> {line}\n")
    if report.device_requirement:
        print(f"> Devices: security keys only ({report.device_requirement})\n")
    print("| user | verdict | MFA | password | access keys | groups | allowed without MFA |")
    print("|---|---|---|---|---|---|---|")
    details = []
    for user in report.users:
        keys = f"{user.active_keys} ({_last_used(user.keys_last_used)})" if user.active_keys else "-"
        exposures = "<br>".join(
            f"`{e.action}` on `{e.resource}` ({e.context}; {', '.join(e.policies)})"
            for e in (*user.exposures, *user.resource_exposures)
        )
        print(
            f"| {_display_name(user)} | {_LABELS[user.verdict]} | {', '.join(user.mfa_devices) or '-'} | "
            f"{'yes' if user.password else '-'} | {keys} | {', '.join(user.groups) or '-'} | {exposures or '-'} |"
        )
        details += [f"- **{_display_name(user)}**: {line}" for line in _user_lines(user)
                    if not line.startswith("without MFA: ")]
    if details:
        # Notes and findings say why a verdict is what it is: every format shows them.
        print("\n## Findings and notes\n")
        print("\n".join(details))
    print(f"\n{_summary(report)}")


def _scp_levels(args: argparse.Namespace) -> tuple[Any, ...] | None:
    """The --scp files as SCP levels (root first), read before any AWS call; None without --scp."""
    if not args.scp:
        return None
    from mfa_policy.audit.model import scp_level_from_json
    from mfa_policy.verifier.evaluation import PolicyFormatError

    levels = []
    for name in args.scp:
        path = Path(name)
        value = read_json(name, "--scp")
        try:
            levels.append(scp_level_from_json(value, path.name))
        except PolicyFormatError as error:
            raise BadInput(f"--scp: {path} holds no policy document (or JSON list of them) the evaluator reads: "
                           f"{error}") from None
    return tuple(levels)


def _print_report(report: Any, catalog_size: int, args: argparse.Namespace) -> None:
    """The report in the format the flags ask for (the one place that reads them)."""
    if args.format == "json":
        print(json.dumps(audit_json(report, catalog_size), indent=2))
    elif args.format == "markdown":
        _print_markdown(report, catalog_size)
    else:
        _print_text(report, catalog_size)


def audit_json(report: Any, catalog_size: int) -> dict[str, Any]:
    """What ``audit --format json`` prints for one account (and what its HTML report draws)."""
    return {**report.as_dict(), "catalogActions": catalog_size}


def _output_report(report: Any, catalog_size: int, args: argparse.Namespace) -> None:
    """The report to stdout, or with ``-o FILE`` to that file; ``--format html`` draws the JSON."""
    if args.format == "html":
        from mfa_policy.report import render_audit
        from mfa_policy.report.audit import account_entry

        text = render_audit([account_entry(audit_json(report, catalog_size))])
    else:
        text = printed(lambda: _print_report(report, catalog_size, args))
    emit(text, args.output)


def run_audit(args: argparse.Namespace) -> int:
    import dataclasses

    from mfa_policy.audit.aws import SCPS_FROM_FILES, AuditError, read_account
    from mfa_policy.cli.audit_organization import check_flags, run_organization_audit
    from mfa_policy.verifier.catalog import load_catalog

    check_flags(args)
    if args.cwd is not None and not args.stack:
        raise BadInput("--cwd names the project folder of --stack; without --stack it would be ignored: drop it")
    if args.format == "html":
        from mfa_policy.report.rendering import environment

        environment()  # without the 'report' extra, say so before any AWS call
    if args.organization:
        devices = _device_requirement(args)
        if args.no_resource_policies and args.regions is not None:
            raise BadInput("--regions names where to read resource policies: it has no effect with "
                           "--no-resource-policies")
        return run_organization_audit(args, devices)
    plan = _stack_plan(args)  # bad stack files fail here, before any AWS call
    scp_levels = _scp_levels(args)
    devices = _device_requirement(args)
    if args.no_resource_policies and args.regions is not None:
        raise BadInput("--regions names where to read resource policies: it has no effect with --no-resource-policies")
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
            organization=scp_levels is None,
            organization_profile=args.organization_profile,
            resource_policies=not args.no_resource_policies,
            regions=args.regions,
            key_certifications=bool(devices and devices.certification),
            policy_progress=_Progress("reading resource policies", "policies"),
        )
    except AuditError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if scp_levels is not None:
        snapshot = dataclasses.replace(snapshot, scp_levels=scp_levels, scp_source=SCPS_FROM_FILES)
    from mfa_policy.audit.verdicts import audit

    planned = plan(snapshot.account_id, snapshot.partition) if plan else None
    report = audit(
        snapshot,
        catalog,
        planned=planned,
        key_age_days=args.key_age_days,
        progress=_Progress("evaluating policies"),
        devices=devices,
    )
    _output_report(report, len(catalog), args)
    return 1 if report.failing else 0


def register(commands: Any) -> None:
    """Add the ``audit`` command to the parser's subcommands."""
    audit = commands.add_parser(
        "audit",
        help="read a live account: who is protected, unprotected, about to be locked out",
        description="Read one AWS account (read-only calls) and decide, for every IAM user, whether its "
        "policies enforce MFA, with the verifier's evaluator over every AWS action. Exit 0: nobody is "
        "unprotected or about to be locked out, no user has a finding, the root user passes; 1: otherwise; "
        "2: bad input or an AWS error (with --organization: also an account that could not be audited). "
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
    audit.add_argument("--cwd", help="project folder holding Pulumi.yaml, with --stack (default: .)")
    add_output_format(audit, "audit")
    audit.add_argument(
        "-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout (any format; html: one page)"
    )
    audit.add_argument(
        "--key-age-days",
        type=_days,
        default=30,
        help="access keys used within this many days are automation that enforcement breaks (default: 30)",
    )
    audit.add_argument("--endpoint-url", help="send the AWS calls to this endpoint (an emulator such as moto)")
    scps = audit.add_argument_group("service control policies (by default read from AWS Organizations when allowed)")
    scps.add_argument(
        "--scp",
        action="append",
        metavar="FILE",
        help="the SCPs of one level above the account, from the root down (repeat per level): a policy "
        "document or a JSON list of them; a level with no Allow allows nothing. Replaces reading Organizations",
    )
    scps.add_argument(
        "--organization-profile",
        metavar="P",
        help="read the SCPs with this profile (the management account or a delegated administrator) "
        "while the account is read with --profile",
    )
    reads = audit.add_argument_group("resource policies and devices")
    reads.add_argument(
        "--no-resource-policies",
        action="store_true",
        help="do not read S3 bucket, KMS key, SQS queue, SNS topic, Secrets Manager, Lambda, ECR and EFS policies "
        "(their grants to users are then not seen; the report says so)",
    )
    reads.add_argument(
        "--regions",
        type=_regions,
        metavar="R1,R2|all",
        help="the regions whose resource policies to read (default: the session's region; all: every region "
        "enabled for the account; S3 buckets are read in every region)",
    )
    reads.add_argument(
        "--mfa-devices",
        choices=("any", "security_keys"),
        help="security_keys: report each enrolled user whose devices are not all security keys, as findings "
        "that fail the audit (default: a --stack's mfa-policy:mfaDevices, else any)",
    )
    reads.add_argument(
        "--security-key-certification",
        metavar="SPEC",
        help="with --mfa-devices security_keys: accepted levels per certification, as for verify, e.g. "
        "'fido=L2,L3;fips-140-3=L2'; keys without one are findings (reads iam:GetMFADevice)",
    )
    _register_organization(audit)
    audit.set_defaults(handler=run_audit)


def _register_organization(audit: Any) -> None:
    """The flags of ``audit --organization``."""
    from mfa_policy.cli import audit_organization as organization

    group = audit.add_argument_group(
        "a whole organization (with the management account's or a delegated administrator's credentials)"
    )
    group.add_argument(
        "--organization",
        action="store_true",
        help="audit every active account of the organization through a role in each (the management account "
        "with the caller's credentials), with the SCPs of each account's path; exit 2 when an account could not "
        "be audited",
    )
    group.add_argument(
        "--role-name",
        type=organization.role_name,
        metavar="R",
        help="the role to assume in each member account (default: OrganizationAccountAccessRole; Control "
        "Tower: AWSControlTowerExecution)",
    )
    group.add_argument(
        "--accounts",
        type=organization.account_ids,
        metavar="ID,...",
        help="only these accounts (the management account too only when listed)",
    )
    group.add_argument(
        "--ou",
        type=organization.unit_ids,
        metavar="ou-...",
        help="only the accounts under these OUs (child OUs included; comma-separated)",
    )
    group.add_argument(
        "--max-workers",
        type=organization.workers,
        metavar="N",
        help="accounts read at once (default: 4, within IAM's request rates; 1 to 32)",
    )
