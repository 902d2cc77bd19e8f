"""The HTML report drawn from explain's data: the picture shows exactly the JSON's cells, text is
escaped once, the page fetches and runs nothing (parsed here with the standard library; the
browser tests load the same pages in Chromium)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html import unescape

import pytest
from report_pages import (
    DEFAULT_TICKET,
    HOSTILE_FILE_NAME,
    MARKUP_SID,
    SCRIPT_SID,
    expected_cells,
    expected_guarantees,
    explain_json,
    explain_output,
    hostile_policy,
    read_html,
    ticket_stack,
    without_titles,
)

from conftest import REFERENCE, ROOT
from mfa_policy.report.helpers import MIN_SEGMENT, SHOWN_COUNTEREXAMPLES, bar_segments
from mfa_policy.report.rendering import content_security_policy, environment, static_text

TARGETS = {
    "defaults": [],
    "prod": ["--stack", "prod", "--cwd", str(ROOT)],
    "seed-2014": ["--policy-file", str(REFERENCE / "seed-2014-policy.json")],
    "aws-reference": ["--policy-file", str(REFERENCE / "aws-reference-policy.json")],
    "organization": ["--organization", "--max-mfa-age-seconds", "900"],
    "security-keys": ["--mfa-devices", "security_keys", "--security-key-certification", "fido=L2"],
    "enrollment-tag": ["--enrollment-tag", "mfa-enrollment=allowed"],
    "enrollment-network": ["--enrollment-tag", "--enrollment-source-ips", "203.0.113.0/24"],
}


def explain(capsys, args, format_):
    return explain_json(tuple(args)) if format_ == "json" else explain_output(tuple(args), format_)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / HOSTILE_FILE_NAME
    path.write_text(json.dumps(hostile_policy()))
    return ["--policy-file", str(path)]


@pytest.mark.parametrize("target", TARGETS)
def test_the_picture_shows_exactly_the_jsons_cells_and_guarantees(capsys, target):
    report = explain(capsys, TARGETS[target], "json")
    page = read_html(explain(capsys, TARGETS[target], "html"))
    assert without_titles(page.cells) == expected_cells(report)
    assert page.guarantees == expected_guarantees(report)
    # Every deciding statement is in the legend, by its Sid.
    for statement in report["grid"]["statements"]:
        assert statement["id"] in page.legend
        if statement["sid"] is not None:
            assert statement["sid"] in page.legend[statement["id"]]


@pytest.fixture(scope="module")
def ticket_stack_args(tmp_path_factory):
    return list(ticket_stack(tmp_path_factory.mktemp("ticket-stack")))


@pytest.mark.parametrize("target", ["stack", "enrollment-tag", "enrollment-network"])
def test_with_the_enrollment_option_the_page_shows_the_ticket_and_enrollment_without_it(
    capsys, ticket_stack_args, target
):
    args = ticket_stack_args if target == "stack" else TARGETS[target]
    report = explain(capsys, args, "json")
    html = explain(capsys, args, "html")
    page = read_html(html)
    ticket = report["grid"]["ticket"]
    carried = DEFAULT_TICKET + (", from 203.0.113.1 (inside)" if target == "enrollment-network" else "")
    # The ticket the requests carry, as the Markdown's "every request in the tables carries ...".
    assert ticket["carried"] == carried
    assert report["ticket"]["alone"][0]["request"] == f"the ticket: {carried}"
    text = " ".join("".join(page.text).split())
    assert f"every request in these grids (and in enrollment by device type) carries the ticket: {carried}." in text
    assert "Enrollment with and without the ticket, next to allow-all" in text
    # Every way to miss the ticket the Markdown shows heads its rows, with the ticket's first.
    shown = list(dict.fromkeys(row["request"] for row in report["ticket"]["alone"]))
    groups = re.findall(r'<tr class="group" data-ticket="(true|false)"><th [^>]*>([^<]*)</th>', html)
    assert [label.removeprefix("without the ticket: ") for _, label in groups] == shown * 2
    assert [flag for flag, _ in groups] == (["true"] + ["false"] * (len(shown) - 1)) * 2
    # The grid's cells are the JSON's, decided as the Markdown's tables say.
    ticket_cells = [cell for cell in without_titles(page.cells) if cell["grid"] == "ticket"]
    assert ticket_cells == [cell for cell in expected_cells(report) if cell["grid"] == "ticket"]
    markdown = {(row["request"].removeprefix("the ticket: "), row["action"]): row["cells"]
                for row in report["ticket"]["next to allow-all"]}
    rows = {row["id"]: row for row in ticket["rows"]}
    for cell in ticket_cells:
        if cell["policySet"] != "next to allow-all":
            continue
        row = rows[cell["row"]]
        request = row["group"].removeprefix("the ticket: ").removeprefix("without the ticket: ")
        decision = markdown[(request, row["label"])][cell["column"]]
        assert cell["state"] == {"allow": "allowed", "-": "none"}.get(decision, cell["state"])
        if decision == "deny":
            assert cell["state"] in ("explicitDeny", "implicitDeny")
    # Without the ticket and without MFA, enrollment is denied by the policy's enrollment gate:
    # its Sids decide cells and are listed with the deciding statements.
    gates = [s for s in report["grid"]["statements"] if (s["sid"] or "").startswith("DenyMfaEnrollment")]
    assert gates
    for statement in gates:
        assert statement["sid"] in page.legend[statement["id"]]
        assert any(statement["id"] in cell["statements"] for cell in ticket_cells)
    enable = next(row["id"] for row in ticket["rows"] if not row["ticket"] and row["label"] == "iam:EnableMFADevice")
    denied = next(c for c in ticket_cells if c["row"] == enable and c["column"] == "console / own")
    assert denied["state"] == "explicitDeny" and set(denied["statements"]) <= {g["id"] for g in gates}


def test_without_the_enrollment_option_there_is_no_ticket(capsys):
    report = explain(capsys, TARGETS["defaults"], "json")
    html = explain(capsys, TARGETS["defaults"], "html")
    assert report["grid"]["ticket"] is None
    assert 'id="ticket"' not in html and "carries the ticket" not in html


def test_a_cells_title_tells_its_counts_and_deciding_sids(capsys):
    report = explain(capsys, TARGETS["seed-2014"], "json")
    page = read_html(explain(capsys, TARGETS["seed-2014"], "html"))
    titles = {(cell["grid"], cell["policySet"], cell["row"], cell["column"]): cell["title"] for cell in page.cells}
    cell = next(
        c
        for c in report["grid"]["policySets"][0]["cells"]
        if c["row"] == "iam-other" and c["column"] == "console / own"
    )
    title = titles[("actions", "next to allow-all", "iam-other", "console / own")]
    assert title.startswith("console, no MFA, own: ")
    assert f"{cell['counts']['allowed']:,} allowed by" in title
    for entry in cell["decidedBy"]:
        assert entry["statementId"] in title
        if entry["sid"]:
            assert f"{entry['sid']} in {entry['policy']}" in title


def test_attacker_controlled_text_is_text(capsys, hostile):
    report = explain(capsys, hostile, "json")
    html = explain(capsys, hostile, "html")
    assert {statement["sid"] for statement in report["grid"]["statements"]} >= {SCRIPT_SID, MARKUP_SID}
    # Not one tag of theirs: escaped once, everywhere (text, attributes, the title).
    assert "<script>alert" not in html and "<img src=x" not in html and "<policy>" not in html
    assert html.count("<script") == 0
    page = read_html(html)
    text = "".join(page.text)
    assert SCRIPT_SID in text and MARKUP_SID in text and HOSTILE_FILE_NAME in text
    assert any(SCRIPT_SID in (cell["title"] or "") for cell in page.cells)
    # Escaped once, not twice: no entity is left over once the HTML is read.
    assert "&amp;" not in text and "&lt;" not in text and "&#" not in text


def test_counterexamples_are_capped_with_the_total(capsys):
    report = explain(capsys, TARGETS["seed-2014"], "json")
    html = explain(capsys, TARGETS["seed-2014"], "html")
    total = len(report["guarantees"]["G1"]["counterexamples"])
    assert total > SHOWN_COUNTEREXAMPLES
    section = html.split('data-guarantee="G1"', 1)[1].split("</li>", 1)[0]
    assert section.count("<tr>") == SHOWN_COUNTEREXAMPLES + 1  # the header row and the shown ones
    assert f"fails, {total:,} counterexamples" in section
    assert f"... and {total - SHOWN_COUNTEREXAMPLES:,} more" in section
    first = report["guarantees"]["G1"]["counterexamples"][0]
    assert f"<td>{first['action']}</td>" in section


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_may_fetch_nothing_and_run_nothing_but_its_own_style(capsys):
    html = explain(capsys, [], "html")
    (policy,) = [
        unescape(p) for p in re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    ]
    assert policy.startswith("default-src 'none'; ")
    assert "script-src 'none'" in policy
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert f"style-src {_sha256(style)};" in policy
    assert style == static_text("report.css")
    # Nothing that could reach out: no external URL in any attribute.
    assert not re.search(r'(?:src|href)="(?!#)', html)


def test_a_reports_inline_script_is_allowed_by_its_hash_only():
    policy = content_security_policy("p {}", ["console.log(1)", "console.log(2)"])
    assert f"script-src {_sha256('console.log(1)')} {_sha256('console.log(2)')};" in policy


def test_autoescaping_is_on_for_every_template():
    assert environment().autoescape is True


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"allowed": 5, "explicitDeny": 0, "implicitDeny": 0}, [("allowed", 0.0, 101.0)]),
        ({"allowed": 0, "explicitDeny": 0, "implicitDeny": 0}, []),
        (
            {"allowed": 1, "explicitDeny": 1, "implicitDeny": 2},
            [("allowed", 0.0, 26.0), ("explicitDeny", 26.0, 26.0), ("implicitDeny", 52.0, 49.0)],
        ),
    ],
)
def test_bar_segments_share_the_width_in_proportion(counts, expected):
    segments = [(s["state"], s["x"], s["width"]) for s in bar_segments(counts)]
    assert segments == expected


def test_a_single_request_among_thousands_still_shows():
    segments = bar_segments({"allowed": 1, "explicitDeny": 28666, "implicitDeny": 0})
    assert segments[0]["width"] >= MIN_SEGMENT
    assert segments[1]["x"] == segments[0]["width"]
    assert segments[1]["x"] + segments[1]["width"] > 100
