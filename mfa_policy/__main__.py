"""Command line: ``python -m mfa_policy preview|verify|explain``. Parses arguments and prints."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mfa_policy.validation import InvalidInputError, check_account_id

# Inputs worth showing per resource type in the text preview; the policy document is printed once.
_KEY_INPUTS = ("name", "path", "group", "policyArn", "description", "tags")


def _account_id(value: str) -> str:
    try:
        return check_account_id(value, "--account-id")
    except InvalidInputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _preview(args: argparse.Namespace) -> int:
    from mfa_policy.preview import ProjectError, preview_stack

    try:
        result = preview_stack(Path(args.cwd), args.stack, args.account_id)
    except (ProjectError, InvalidInputError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run = result.run
    resources = [
        {
            "type": resource.type,
            "name": resource.name,
            "parent": run.parent_name(resource),
            "inputs": {key: value for key, value in resource.inputs.items() if key != "policy"},
        }
        for resource in run.resources
    ]
    document = json.loads(run.outputs["policyDocument"])
    if args.json:
        report = {
            "stack": result.stack,
            "accountId": result.account_id,
            "accountIsPlaceholder": result.account_is_placeholder,
            "partition": result.partition,
            "resources": resources,
            "outputs": {key: value for key, value in run.outputs.items() if key != "policyDocument"},
            "policyDocument": document,
        }
        print(json.dumps(report, indent=2))
        return 0
    account = result.account_id
    if result.account_is_placeholder:
        account += " (placeholder: pass --account-id or set mfa-policy:accountId for the real one)"
    print(f"Offline preview of stack {result.stack!r}: the Pulumi SDK's mock engine ran __main__.py;")
    print("nothing was sent to AWS. `pulumi up` would create:")
    print(f"  account: {account}")
    print(f"  partition: {result.partition}")
    print()
    for resource in resources:
        parent = f"  (parent: {resource['parent']})" if resource["parent"] else ""
        print(f"+ {resource['type']}  {resource['name']}{parent}")
        for key in _KEY_INPUTS:
            if key in resource["inputs"]:
                print(f"      {key}: {resource['inputs'][key]}")
    print()
    print("Outputs:")
    for key, value in run.outputs.items():
        if key != "policyDocument":
            print(f"  {key}: {value}")
    print()
    print("Policy document:")
    print(json.dumps(document, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mfa_policy",
        description="Preview, verify and explain the require-MFA policy offline.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser(
        "preview",
        help="show offline what `pulumi up` would create for a stack",
        description="Run the project's __main__.py under the Pulumi SDK's mock engine with the stack's "
        "config and print each resource and the policy document. No CLI, no AWS.",
    )
    preview.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml to use (default: dev)")
    preview.add_argument(
        "--account-id",
        type=_account_id,
        help="account the caller identity answers with (default: the stack's mfa-policy:accountId, else a placeholder)",
    )
    preview.add_argument("--json", action="store_true", help="print JSON instead of text")
    preview.add_argument("--cwd", default=".", help="project folder holding Pulumi.yaml (default: .)")
    preview.set_defaults(handler=_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process's exit code."""
    args: Any = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
