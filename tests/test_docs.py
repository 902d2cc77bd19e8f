"""The README and docs/ pages: every relative link reaches a file, every #anchor a heading, and the
examples in docs/using-the-component.md run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in _LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists() or (anchor and destination.suffix == ".md" and anchor not in _anchors(destination)):
            broken.append(target)
    assert not broken, f"{page.name}: links that lead nowhere: {broken}"


PAGE = ROOT / "docs" / "using-the-component.md"


def test_the_consumer_test_example_passes_as_written(tmp_path):
    section = PAGE.read_text().split("## Testing a program that uses it", 1)[1].split("\n## ", 1)[0]
    example, subclass = re.findall(r"```python\n(.*?)```", section, re.DOTALL)[:2]
    (tmp_path / "test_consumer.py").write_text(example + "\n\n" + subclass)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_consumer.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout


def test_organization_md_lists_every_argument_of_the_guardrail():
    from mfa_policy.components.organization import OrganizationMfaGuardrailArgs

    page = (ROOT / "docs" / "organization.md").read_text()
    listed = page.split("Arguments (`OrganizationMfaGuardrailArgs`):", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", listed))
    assert set(OrganizationMfaGuardrailArgs.__annotations__) <= named


def test_using_the_component_md_lists_every_argument_of_require_mfa_policy():
    from mfa_policy.components.require_mfa import RequireMfaPolicyArgs

    page = (ROOT / "docs" / "using-the-component.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \|", page, re.MULTILINE)
    assert set(RequireMfaPolicyArgs.__annotations__) <= set(rows)


def test_install_commands_say_where_from():
    # The package is on no index: every pip command for it names the Git repository and a tag.
    for page in PAGES:
        for command in re.findall(r"pip install '?mfa-policy[^'`\n]*", page.read_text()):
            assert " @ git+<repository URL>@v" in command, (page.name, command)


def _audit_synopsis(text: str, start: str) -> str:
    """The audit command's synopsis: from ``start`` to the first blank line or fence."""
    begin = text.index(start)
    lines = []
    for line in text[begin:].splitlines():
        if not line.strip() or line.startswith("```"):
            break
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize(("page", "start"), [("README.md", "mfa-policy audit ["),
                                             ("docs/audit.md", "python -m mfa_policy audit [")])
def test_the_audit_synopsis_lists_every_flag(page, start):
    from mfa_policy.cli import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command")
    flags = {
        option
        for action in commands.choices["audit"]._actions
        for option in action.option_strings
        if option.startswith("--") and option not in ("--help", "--json")  # --json: --format json's synonym
    }
    synopsis = _audit_synopsis((ROOT / page).read_text(), start)
    missing = sorted(flag for flag in flags if not re.search(rf"{re.escape(flag)}(?![\w-])", synopsis))
    assert not missing, f"{page}'s audit synopsis lacks {', '.join(missing)}"
