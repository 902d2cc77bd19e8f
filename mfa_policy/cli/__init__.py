"""Command line: ``mfa-policy preview|verify|explain|audit``. Parses arguments and prints."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from mfa_policy import __version__
from mfa_policy.cli import audit, preview, verify
from mfa_policy.cli.common import BadInput
from mfa_policy.extras import MissingExtraError
from mfa_policy.policy.validation import InvalidInputError

# The usage line names the command the way it was run: the installed script, or python -m.
SCRIPT = "mfa-policy"


def build_parser(prog: str = SCRIPT) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Preview, verify and explain the require-MFA policy offline; "
        "audit who is protected in a live account.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    preview.register(commands)
    verify.register(commands)
    audit.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = SCRIPT) -> int:
    """Run the command line; return the process's exit code (2 for bad input or a missing extra)."""
    args: Any = build_parser(prog).parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from complaining
        # about stdout at exit. Exit 1, as Python's docs advise: the command did not finish, and
        # a check cut short must never pass for one that held.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:
        if not isinstance(error, (BadInput, InvalidInputError, MissingExtraError)) and not _is_project_error(error):
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2


def _is_project_error(error: Exception) -> bool:
    # Only a command that imported the project module (YAML, about 70 ms) can raise its error:
    # the others, verify among them, do not pay for importing it.
    project = sys.modules.get("mfa_policy.program.project")
    return project is not None and isinstance(error, project.ProjectError)


