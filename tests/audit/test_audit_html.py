# ruff: noqa: F811  (the fixtures of test_audit_moto.py, imported, are test parameters here)
"""``audit --format html [-o FILE]`` against moto (server mode) holding docs/audit.md's sample
account: the page shows exactly what ``audit --format json`` prints, each user's lines are the
text report's, and ``-o`` writes any format to a file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

if str(Path(__file__).resolve().parents[1] / "report") not in sys.path:  # the report tests' readers
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))

from audit_pages import expected_counts, expected_users, read_audit_html, single
from test_audit_docs_sample import build
from test_audit_moto import account, moto_url  # noqa: F401  (fixtures)

from conftest import ROOT
from mfa_policy.cli import main


def _audit(account, capsys, *args):
    code = main(["audit", "--endpoint-url", account.url, *args])
    return code, capsys.readouterr()


def test_the_page_is_the_jsons_and_its_lines_the_text_reports(account, tmp_path, capsys):
    build(account)
    code, printed = _audit(account, capsys, "--format", "json")
    assert code == 1
    data = json.loads(printed.out)
    output = tmp_path / "audit.html"
    code, printed = _audit(account, capsys, "--format", "html", "-o", str(output))
    assert code == 1 and printed.out == ""
    page = read_audit_html(output.read_text(encoding="utf-8"))
    assert page.users == expected_users(single(data))
    assert page.counts == expected_counts(single(data))
    assert page.failing == "true"
    # Each user's lines on the page are the ones the text report prints under it, and its summary
    # line is the text report's (one wording: the page's is drawn from the JSON).
    code, printed = _audit(account, capsys)
    text = printed.out.splitlines()
    html = output.read_text(encoding="utf-8")
    summary = html.split('<p class="summary"', 1)[1].split("</p>", 1)[0]
    shown = " ".join(re.sub(r"<[^>]+>", "", summary.split(">", 1)[1]).split())
    assert f"Summary: {unescape(shown).removeprefix('✕ ')}" == text[-1]
    for user in page.users:
        name = user["cells"][0]
        (row,) = [index for index, line in enumerate(text) if line.split("  ", 1)[0] == name]
        under = []
        for line in text[row + 1:]:
            if not line.startswith("    "):
                break
            under.append(line.strip())
        assert user["lines"] == under, name


def test_html_goes_to_stdout_without_o(account, capsys):
    build(account)
    code, printed = _audit(account, capsys, "--format", "html", "--no-resource-policies")
    assert code == 1
    assert printed.out.startswith("<!DOCTYPE html>") and printed.out.rstrip().endswith("</html>")
    assert "Resource policies: not read" in " ".join(printed.out.split())


def test_o_writes_the_other_formats_too(account, tmp_path, capsys):
    build(account)
    for format_ in ("text", "markdown", "json"):
        code, printed = _audit(account, capsys, "--format", format_, "--no-resource-policies")
        output = tmp_path / f"audit.{format_}"
        code_to_file, to_file = _audit(account, capsys, "--format", format_, "--no-resource-policies", "-o",
                                       str(output))
        assert code == code_to_file == 1
        assert to_file.out == ""
        assert output.read_text() == printed.out


def test_a_file_that_cannot_be_written_is_one_line_and_exit_2(account, tmp_path, capsys):
    target = tmp_path / "no such folder" / "audit.html"
    code, printed = _audit(account, capsys, "--format", "html", "--no-resource-policies", "-o", str(target))
    assert code == 2
    assert printed.err == f"error: --output: cannot write {target}: No such file or directory\n"
    assert printed.out == ""


WITHOUT_REPORT_EXTRA = """
import sys
sys.modules["jinja2"] = None
from mfa_policy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_the_report_extra_it_says_so_before_reading_aws(tmp_path, credentials_env):
    # Port 9 (discard) is closed: had the audit called AWS first, the error would be another.
    output = tmp_path / "audit.html"
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_REPORT_EXTRA, "audit", "--endpoint-url", "http://127.0.0.1:9",
         "--format", "html", "-o", str(output)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: an HTML report needs the 'report' extra (jinja2 is not installed)")
    assert not output.exists()
