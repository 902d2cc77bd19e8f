"""``preview``: run the program offline under the SDK's mock engine and print what it creates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mfa_policy.cli.common import BadInput, add_output_format, argument_type
from mfa_policy.policy.validation import InvalidInputError, check_account_id

# Inputs worth showing per resource type in the text preview; the policy document is printed once.
_KEY_INPUTS: tuple[str, ...] = ("name", "path", "group", "policyArn", "description", "tags", "region", "assumeRoles")
# The organization guardrail's: the SCP and the StackSet's template are printed once, below.
_KEY_INPUTS += ("type", "targetId", "permissionModel", "autoDeployment", "callAs", "deploymentTargets")
_KEY_INPUTS += ("stackSetInstanceRegion",)
_DOCUMENT_INPUTS = ("policy", "content", "templateBody")


# Where the documents printed apart come from, for the reader looking for the outputs.
_DOCUMENT_OUTPUTS = {"service control policy": "scpDocument", "StackSet template": "stackSetTemplate"}


def run_preview(args: argparse.Namespace) -> int:
    import pulumi

    from mfa_policy.program.preview import preview_stack
    from mfa_policy.program.project import ProjectError

    try:
        result = preview_stack(Path(args.cwd), args.stack, args.account_id)
    except pulumi.RunError as error:  # what `pulumi up` would print as one line: a bad config value
        raise BadInput(str(error)) from None
    except SyntaxError as error:
        where = f"{error.filename}, line {error.lineno}" if error.filename else f"line {error.lineno}"
        raise BadInput(f"the program does not parse: {error.msg} ({where})") from None
    except Exception as error:
        if isinstance(error, (ProjectError, InvalidInputError)):
            raise
        raise BadInput(f"the program raised {_one_line(error)}") from None
    run = result.run
    if args.account_id is not None and ("accounts" in run.outputs or "scpDocument" in run.outputs):
        what = "mfa-policy:organization" if "scpDocument" in run.outputs else "mfa-policy:accounts"
        raise BadInput(
            f"--account-id: stack {args.stack!r} sets {what}, so each account comes from the stack itself "
            "(the organization's members, or each entry's role ARN), never from --account-id; drop --account-id"
        )
    resources: list[dict[str, Any]] = [
        {
            "type": resource.type,
            "name": resource.name,
            "parent": run.parent_name(resource),
            "inputs": {key: value for key, value in resource.inputs.items() if key not in _DOCUMENT_INPUTS},
        }
        for resource in run.in_tree_order()
    ]
    # One document per component: the single-account outputs, or one per entry of `accounts`.
    outputs: dict[str, Any]
    if "accounts" in run.outputs:
        documents = {name: json.loads(entry["policyDocument"]) for name, entry in run.outputs["accounts"].items()}
        outputs = {
            name: {key: value for key, value in entry.items() if key != "policyDocument"}
            for name, entry in run.outputs["accounts"].items()
        }
    elif "scpDocument" in run.outputs:
        # Printed below as documents: the outputs scpDocument and stackSetTemplate.
        documents = {"service control policy": json.loads(run.outputs["scpDocument"])}
        if run.outputs["stackSetTemplate"]:
            documents["StackSet template"] = json.loads(run.outputs["stackSetTemplate"])
        outputs = {key: value for key, value in run.outputs.items() if key not in ("scpDocument", "stackSetTemplate")}
    elif "policyDocument" in run.outputs:
        documents = {"": json.loads(run.outputs["policyDocument"])}
        outputs = {key: value for key, value in run.outputs.items() if key != "policyDocument"}
    else:
        exported = ", ".join(sorted(run.outputs)) or "nothing"
        raise BadInput(
            f"the program in {args.cwd} exports no policyDocument (nor scpDocument or accounts; it exports "
            f"{exported}): preview prints what the mfa-policy program (this repository's __main__.py) builds; "
            "for another program, use `pulumi preview`"
        )
    if args.format == "json":
        report: dict[str, Any] = {
            "stack": result.stack,
            "accountId": result.account_id,
            "accountIsPlaceholder": result.account_is_placeholder,
            "partition": result.partition,
            "resources": resources,
            "outputs": outputs,
        }
        if "" in documents:
            report["policyDocument"] = documents[""]
        else:
            report["policyDocuments"] = documents
        print(json.dumps(report, indent=2))
        return 0
    if args.format == "markdown":
        _print_markdown(result, resources, outputs, documents)
    else:
        _print_text(result, resources, outputs, documents)
    return 0


def _one_line(error: BaseException) -> str:
    """``ValueError: boom (__main__.py, line 3)``: the error and where the program raised it."""
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    programs = [frame for frame in frames if frame.filename.endswith("__main__.py")]
    where = f" ({programs[-1].filename}, line {programs[-1].lineno})" if programs else ""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}{': ' + message if message else ''}{where}"


def _shown(value: Any) -> str:
    """An input or output value as the user wrote it in their stack file: JSON, not a Python repr."""
    return value if isinstance(value, str) else json.dumps(value)


def _where(result: Any, outputs: dict[str, Any], documents: dict[str, Any]) -> tuple[str, str]:
    """(what the preview reaches: account, organization or accounts; its text)."""
    if "" in documents:
        account = result.account_id
        if result.account_is_placeholder:
            account += " (placeholder: pass --account-id or set mfa-policy:accountId for the real one)"
        return "account", account
    if "scpId" in outputs:
        return "organization", "the SCP's targets and the StackSet's OUs (every account in them, now and later)"
    return "accounts", ", ".join(f"{name} ({entry['accountId']})" for name, entry in outputs.items())


def _document_title(name: str, accounts: Any) -> str:
    if name == "":
        title = "Policy document"
    elif name in accounts:
        title = f"Policy document ({name})"
    else:
        title = name[0].upper() + name[1:]  # "Service control policy", "StackSet template"
    return f"{title} (output {_DOCUMENT_OUTPUTS.get(name, 'policyDocument')})"


def _print_text(
    result: Any, resources: list[dict[str, Any]], outputs: dict[str, Any], documents: dict[str, Any]
) -> None:
    print(f"Offline preview of stack {result.stack!r}: the Pulumi SDK's mock engine ran __main__.py;")
    print("nothing was sent to AWS. `pulumi up` would create:")
    kind, where = _where(result, outputs, documents)
    print(f"  {kind}: {where}")
    print(f"  partition: {result.partition}")
    print()
    for resource in resources:
        parent = f"  (parent: {resource['parent']})" if resource["parent"] else ""
        print(f"+ {resource['type']}  {resource['name']}{parent}")
        for key in _KEY_INPUTS:
            if key in resource["inputs"]:
                print(f"      {key}: {_shown(resource['inputs'][key])}")
    print()
    print("Outputs:")
    for key, value in outputs.items():
        print(f"  {key}: {_shown(value)}")
    for name, document in documents.items():
        print()
        print(f"{_document_title(name, result.run.outputs.get('accounts', {}))}:")
        print(json.dumps(document, indent=2))


def _print_markdown(
    result: Any, resources: list[dict[str, Any]], outputs: dict[str, Any], documents: dict[str, Any]
) -> None:
    print(f"# Offline preview of stack `{result.stack}`\n")
    print("The Pulumi SDK's mock engine ran `__main__.py`; nothing was sent to AWS.\n")
    kind, where = _where(result, outputs, documents)
    print(f"- {kind}: {where}")
    print(f"- partition: {result.partition}\n")
    print("## What `pulumi up` would create\n")
    print("| type | name | parent | inputs |")
    print("|---|---|---|---|")
    for resource in resources:
        inputs = "<br>".join(
            f"{key}: `{_shown(resource['inputs'][key])}`" for key in _KEY_INPUTS if key in resource["inputs"]
        )
        print(f"| `{resource['type']}` | {resource['name']} | {resource['parent'] or '-'} | {inputs or '-'} |")
    print("\n## Outputs\n")
    for key, value in outputs.items():
        print(f"- {key}: `{_shown(value)}`")
    for name, document in documents.items():
        print(f"\n## {_document_title(name, result.run.outputs.get('accounts', {}))}\n")
        print("```json")
        print(json.dumps(document, indent=2))
        print("```")


def register(commands: Any) -> None:
    """Add the ``preview`` command to the parser's subcommands."""
    preview = commands.add_parser(
        "preview",
        help="show offline what `pulumi up` would create for a stack",
        description="Run the project's __main__.py under the Pulumi SDK's mock engine with the stack's "
        "config and print each resource and the policy document. No CLI, no AWS.",
    )
    preview.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to use (default: dev)")
    preview.add_argument(
        "--account-id",
        type=argument_type(check_account_id, "--account-id"),
        help="account the caller identity answers with (default: the stack's mfa-policy:accountId, else a placeholder)",
    )
    add_output_format(preview, "preview")
    preview.add_argument("--cwd", default=".", help="project folder holding Pulumi.yaml (default: .)")
    preview.set_defaults(handler=run_preview)
