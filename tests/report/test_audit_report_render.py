"""The audit's HTML report drawn from the audit's JSON: every user and every count on the page is
the JSON's, text is escaped once, the page runs nothing but its own filter script and reads fully
without it (parsed here with the standard library; the browser tests load the same pages)."""

from __future__ import annotations

import base64
import copy
import hashlib
import re
from html import unescape

import pytest
from audit_pages import (
    HOSTILE_ACCOUNT_NAME,
    MARKUP_POLICY,
    SCRIPT_NAME,
    expected_counts,
    expected_users,
    read_audit_html,
    single,
    synthetic_audit,
)

from mfa_policy.report import render_audit
from mfa_policy.report.audit import account_entry, audit_page
from mfa_policy.report.rendering import AUDIT_SCRIPT, static_text


@pytest.fixture(scope="module")
def audit():
    return synthetic_audit(60)


def organization(audit):
    """Two audited accounts and one that could not be: an organization report's entries."""
    other = copy.deepcopy(synthetic_audit(13, account_id="210987654321"))
    return [
        {"id": audit["accountId"], "name": "production", "ouPath": "r-ab12/ou-prod", "status": "audited",
         "reason": None, "scpsApplied": ["p-guardrail", "p-FullAWSAccess"], "audit": audit},
        {"id": other["accountId"], "name": "staging", "ouPath": "r-ab12/ou-dev", "status": "audited",
         "reason": None, "audit": other},
        {"id": "333333333333", "name": HOSTILE_ACCOUNT_NAME, "ouPath": "r-ab12", "status": "failed",
         "reason": "AccessDenied: could not assume OrganizationAccountAccessRole", "audit": None},
    ]


def test_a_single_account_is_a_list_of_one():
    data = synthetic_audit(3)
    assert account_entry(data) == single(data)[0]


def test_every_user_and_count_on_the_page_is_the_jsons(audit):
    entries = single(audit)
    page = read_audit_html(render_audit(entries))
    assert page.users == expected_users(entries)
    assert len(page.users) == 60
    assert page.counts == expected_counts(entries)
    assert page.shown_counts == {audit["accountId"]: {v: str(n) for v, n in audit["summary"].items()}}
    assert page.failing == ("true" if audit["failing"] else "false")
    text = " ".join("".join(page.text).split())
    # The account's lines above the table, as the text report prints them.
    assert "Root user: ✓ ok: an MFA device and no password (centralized root access: not managed centrally)" in text
    assert "Resource policies: 2 bucket policies, 1 key policy (read in us-east-1; S3 buckets in every region)" in text
    assert "Devices: security keys only (--mfa-devices security_keys)" in text
    assert "over 22,321 AWS actions" in text


def test_every_verdict_finding_and_note_is_shown(audit):
    page = read_audit_html(render_audit(single(audit)))
    assert {user["verdict"] for user in page.users} == set(audit["summary"])
    lines = [line for user in page.users for line in user["lines"]]
    assert any(line.startswith("finding: not phishing-resistant: ") for line in lines)
    assert any(line.startswith("note: a Deny conditioned on aws:SourceIp") for line in lines)
    assert any("granted by the bucket policy of reports, statement ReportReader" in line for line in lines)


def test_the_organization_shows_users_per_verdict_per_account(audit):
    entries = organization(audit)
    html = render_audit(entries, {"managementAccount": "111111111111", "filters": {"ous": ["ou-prod", "ou-dev"]}})
    page = read_audit_html(html)
    assert page.users == expected_users(entries)
    assert page.counts == expected_counts(entries)
    # The totals row: each verdict summed over the audited accounts.
    footer = html.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    for verdict in audit["summary"]:
        total = sum(entry["audit"]["summary"][verdict] for entry in entries if entry["audit"])
        assert f'data-verdict="{verdict}" data-count="{total}"' in footer
    text = " ".join("".join(page.text).split())
    assert "MFA audit of 3 accounts" in text
    assert "failed: AccessDenied: could not assume OrganizationAccountAccessRole" in text
    assert HOSTILE_ACCOUNT_NAME in text and "<b>bold</b>" not in html
    assert "r-ab12/ou-prod" in text
    # The organization's and each entry's other fields, whatever they are, drawn as they come.
    assert "managementAccount: 111111111111" in text and "filters: ous: ou-prod, ou-dev" in text
    assert "scpsApplied: p-guardrail, p-FullAWSAccess" in text
    data = audit_page(entries)
    assert data["users"] == 73 and [entry["id"] for entry in data["audited"]] == ["123456789012", "210987654321"]


def test_markup_in_names_is_text(audit):
    hostile = synthetic_audit(12, hostile=True)
    html = render_audit(single(hostile))
    # Only the page's own script tag; not one tag of theirs, in text or attributes.
    assert html.count("<script") == 1 and "<script>alert" not in html
    assert "<img" not in html
    page = read_audit_html(html)
    assert SCRIPT_NAME in [user["user"] for user in page.users]
    assert page.users == expected_users(single(hostile))
    text = "".join(page.text)
    assert SCRIPT_NAME in text and MARKUP_POLICY in text
    # Escaped once: no entity is left over once the HTML is read.
    assert "&amp;" not in text and "&lt;" not in text and "&#" not in text


def test_new_verdicts_notes_findings_and_fields_show_without_template_changes():
    data = synthetic_audit(6)
    user = data["users"][0]
    user["verdict"] = "a verdict of tomorrow"
    user["notes"].append("enrollment ticket open since 2026-11-02")
    user["findings"].append({"kind": "open enrollment ticket", "message": "opened 31 days ago", "device": "",
                             "ticket": "OPS-42"})
    user["enrollmentTicket"] = {"state": "open", "tag": "mfa-enrollment"}
    data["summary"] = {"a verdict of tomorrow": 1, **{k: v for k, v in data["summary"].items()}}
    data["summary"]["unprotected"] -= 1
    page = read_audit_html(render_audit(single(data)))
    (shown,) = [entry for entry in page.users if entry["user"] == user["user"]]
    assert shown["verdict"] == "a verdict of tomorrow" and shown["cells"][1] == "? a verdict of tomorrow"
    assert "note: enrollment ticket open since 2026-11-02" in shown["lines"]
    assert "finding: open enrollment ticket: opened 31 days ago (ticket: OPS-42)" in shown["lines"]
    assert "enrollmentTicket: state: open, tag: mfa-enrollment" in shown["lines"]
    assert page.counts[data["accountId"]]["a verdict of tomorrow"] == 1


def _sha256(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_page_runs_only_its_filter_script_allowed_by_hash(audit):
    html = render_audit(single(audit))
    metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    (policy,) = [unescape(meta) for meta in metas]
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert script == static_text(AUDIT_SCRIPT)
    assert f"script-src {_sha256(script)};" in policy
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert style == static_text("report.css") + static_text("audit.css")
    assert f"style-src {_sha256(style)};" in policy
    assert policy.startswith("default-src 'none'; ") and "unsafe-inline" not in policy
    assert not re.search(r'(?:src|href)="(?!#)', html)


def test_without_script_every_user_shows_and_the_filter_does_not(audit):
    html = render_audit(single(audit))
    # The filter's form is hidden until its script shows it; no user is hidden in the HTML.
    assert re.search(r'<form id="filters" class="filters" hidden>', html)
    assert not re.search(r'<tbody[^>]* hidden', html)
    for verdict in audit["summary"]:
        assert f'<input type="checkbox" name="verdict" value="{verdict}" checked>' in html


def test_a_verdict_is_never_told_by_colour_alone(audit):
    html = render_audit(single(audit))
    page = read_audit_html(html)
    marks = {user["verdict"]: user["cells"][1].split(" ", 1)[0] for user in page.users}
    assert len(set(marks.values())) == len(marks) == 6  # a distinct symbol per verdict
    # A pattern (hatched, crossed, dotted, lined) or a plain fill, distinct per verdict in the bars.
    for pattern in ("unprotected", "will-be-locked-out", "must-enroll", "no-credentials"):
        assert f'<pattern id="fill-{pattern}"' in html
    assert "@media print" in static_text("report.css") and "@media print" in static_text("audit.css")


def test_the_figures_docs_audit_md_quotes_of_the_1000_user_report():
    """Its size and lines of evidence are what benchmarks/report.py's page has today (the timings
    are measured, stated as approximate, and not tested)."""
    from conftest import ROOT

    data = synthetic_audit(1000)
    size = len(render_audit(single(data)).encode("utf-8"))
    lines = sum(len(user[key]) for user in data["users"]
                for key in ("allowedWithoutMfa", "grantedByResourcePolicies", "findings", "notes"))
    page = " ".join((ROOT / "docs" / "audit.md").read_text().split())
    assert f"synthetic audit of 1,000 users (every verdict, {lines:,} lines of evidence)" in page
    assert f"shared with other work (load average about 8): {size / 1024 / 1024:.2f} MB" in page
