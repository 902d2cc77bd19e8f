"""``explain --format json|html [-o FILE]``: the report's data, and the same data as one HTML page."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REFERENCE, ROOT
from mfa_policy.cli import main
from mfa_policy.verifier.guarantees import GUARANTEES, organization_guarantees


def explain_json(capsys, *args):
    assert main(["explain", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_json_carries_the_grid_bootstrap_and_guarantees_beside_the_old_keys(capsys):
    report = explain_json(capsys)
    # What explain --format json always printed is still there.
    assert {"target", "catalog", "decidedOutsidePolicies", "columns", "tables", "enrollment"} <= set(report)
    grid = report["grid"]
    assert {"rows", "contexts", "columns", "policySets", "enrollment", "statements", "unit"} <= set(grid)
    cell = grid["policySets"][0]["cells"][0]
    assert set(cell) == {"row", "column", "state", "counts", "decidedBy"}
    assert set(cell["counts"]) == {"allowed", "explicitDeny", "implicitDeny"}
    assert [entry["action"] for entry in report["bootstrap"]][:2] == ["iam:GetUser", "iam:ListMFADevices"]
    assert list(report["guarantees"]) == list(GUARANTEES)
    assert all(result["pass"] for result in report["guarantees"].values())


def test_the_json_guarantees_are_verifys(capsys):
    path = str(REFERENCE / "aws-reference-policy.json")
    assert main(["verify", "--policy-file", path, "--json"]) == 1
    verified = json.loads(capsys.readouterr().out)["guarantees"]
    assert explain_json(capsys, "--policy-file", path)["guarantees"] == verified


def test_under_the_organization_scp_the_guarantees_include_g10(capsys):
    report = explain_json(capsys, "--organization")
    assert report["organization"] is True
    assert list(report["guarantees"]) == list(organization_guarantees())
    assert report["target"].endswith("under the organization SCP and FullAWSAccess")


@pytest.mark.parametrize(
    "target",
    [
        [],
        ["--stack", "prod", "--cwd", str(ROOT)],
        ["--policy-file", str(REFERENCE / "seed-2014-policy.json")],
        ["--organization"],
    ],
    ids=["defaults", "stack", "policy-file", "organization"],
)
def test_html_goes_to_stdout_or_to_the_file_o_names(tmp_path, capsys, target):
    assert main(["explain", *target, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    output = tmp_path / "report.html"
    assert main(["explain", *target, "--format", "html", "-o", str(output)]) == 0
    assert capsys.readouterr().out == ""
    assert output.read_text(encoding="utf-8") == page


@pytest.mark.parametrize("format_", ["json", "markdown"])
def test_o_writes_the_other_formats_too(tmp_path, capsys, format_):
    assert main(["explain", "--format", format_]) == 0
    printed = capsys.readouterr().out
    output = tmp_path / f"report.{format_}"
    assert main(["explain", "--format", format_, "--output", str(output)]) == 0
    assert capsys.readouterr().out == ""
    assert output.read_text() == printed


@pytest.mark.parametrize("format_", ["html", "markdown"])
def test_a_file_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, capsys, format_):
    target = tmp_path / "no such folder" / "report.html"
    assert main(["explain", "--format", format_, "-o", str(target)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: --output: cannot write {target}: No such file or directory\n"
    assert captured.out == ""


WITHOUT_REPORT_EXTRA = """
import sys
sys.modules["jinja2"] = None
from mfa_policy.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_the_report_extra_one_line_says_how_to_install_it(tmp_path):
    output = tmp_path / "report.html"
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_REPORT_EXTRA, "explain", "--format", "html", "-o", str(output)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        "error: an HTML report needs the 'report' extra (jinja2 is not installed): pip install "
        "'mfa-policy[report] @ git+<repository URL>@v0.3.0' (in a checkout: pip install -e '.[report]'; make test "
        "installs every extra)\n"
    )
    assert not output.exists()
