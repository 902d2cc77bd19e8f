"""What the command modules share: the bad-input error and the one spelling of the output flags."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from mfa_policy.policy.validation import InvalidInputError


class BadInput(Exception):
    """Input the command cannot use (a file, a flag combination): the message is printed, exit 2."""


def write_output(path: str, text: str) -> None:
    """Write a report to ``-o FILE``; ``BadInput`` naming the flag when the file cannot be written."""
    from pathlib import Path

    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise BadInput(f"--output: cannot write {path}: {error.strerror or error}") from None


def emit(text: str, output: str | None) -> None:
    """A report to stdout, or with ``-o FILE`` (``output``) to that file."""
    if output is None:
        print(text, end="")
    else:
        write_output(output, text)


def printed(print_report: Callable[[], Any]) -> str:
    """What ``print_report`` prints, as text (so that ``-o`` can write it instead)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print_report()
    return buffer.getvalue()


def read_json(name: str, what: str) -> object:
    """The JSON content of file ``name``; ``BadInput`` naming ``what`` (a flag) when it cannot be read."""
    import json
    from pathlib import Path

    path = Path(name)
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise BadInput(f"{what}: cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise BadInput(f"{what}: {path} is not JSON: {error}") from None
# The output formats each command offers, in one place. Every command takes `--format` with these
# choices and `--json` as a synonym of `--format json`; a new format for a command (html for
# explain, say) is one more name in its tuple here, and one more branch where the command prints.
OUTPUT_FORMATS: dict[str, tuple[str, ...]] = {
    "preview": ("text", "markdown", "json"),
    "verify": ("text", "markdown", "json"),
    "explain": ("text", "markdown", "json", "html"),
    "audit": ("text", "markdown", "json", "html"),
}
# The format a command prints when none is asked for: explain's report has always been Markdown.
DEFAULT_FORMATS: dict[str, str] = {"explain": "markdown"}


class _DefaultFormat(str):
    """The default format, as an object of its own: argparse treats a value that *is* the default
    as not given, so without it `explain --json --format markdown` would pass its exclusivity check."""


def add_output_format(parser: argparse.ArgumentParser, command: str) -> None:
    """Add ``--format {OUTPUT_FORMATS[command]}`` and its synonym ``--json`` (exclusive) to ``parser``.

    The handler reads ``args.format``: ``--json`` stores ``json`` there, like ``--format json``.
    """
    choices = OUTPUT_FORMATS[command]
    default = DEFAULT_FORMATS.get(command, "text")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--format",
        choices=choices,
        default=_DefaultFormat(default),
        help=f"output format: {', '.join(choices)} (default: {default})",
    )
    output.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        default=argparse.SUPPRESS,
        help="the same as --format json",
    )


def argument_type(check: Callable[[Any, str], Any], flag: str) -> Callable[[str], Any]:
    """An argparse ``type`` from a validation rule: argparse names the flag, the message the rest.

    ``check(value, flag)`` raises ``InvalidInputError`` (whose message starts with the key); the
    message argparse prints is ``argument --flag: got '...'; expected ...``, the flag said once.
    """

    def convert(text: str) -> Any:
        try:
            return check(text, flag)
        except InvalidInputError as error:
            raise argparse.ArgumentTypeError(f"got {error.value!r}; expected {error.allowed}.") from None

    return convert
