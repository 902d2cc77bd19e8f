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
    organization_entry,
    organization_summary,
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
    """Two audited accounts and one that could not be: an organization report's entries, as
    ``audit --organization --format json`` prints them; the first carries a field the page does
    not know (an object with an empty and an unknown value)."""
    other = copy.deepcopy(synthetic_audit(13, account_id="210987654321"))
    return [
        organization_entry(audit, name="production", ou_path="Root/prod", ou_ids=["r-ab12", "ou-ab12-prod"],
                           costCenter={"team": "payments", "owner": None, "budget": ""}),
        organization_entry(other, name="staging", ou_path="Root/dev", ou_ids=["r-ab12", "ou-ab12-dev"]),
        organization_entry(None, account_id="333333333333", name=HOSTILE_ACCOUNT_NAME, status="failed",
                           reason="AccessDenied: could not assume OrganizationAccountAccessRole"),
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
    assert (
        "Root user: ✓ ok: an MFA device and no password (password: no, active access keys: 0, MFA device: yes; "
        "centralized root access: not managed centrally)"
    ) in text
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
    html = render_audit(entries, organization_summary(entries, filters={"accounts": [], "ou": ["ou-ab12-prod"]}))
    page = read_audit_html(html)
    assert page.users == expected_users(entries)
    assert page.counts == expected_counts(entries)
    # The totals row: each verdict summed over the audited accounts.
    footer = html.split("<tfoot>", 1)[1].split("</tfoot>", 1)[0]
    for verdict in audit["summary"]:
        total = sum(entry["audit"]["summary"][verdict] for entry in entries if entry["audit"])
        assert f'data-verdict="{verdict}" data-count="{total}"' in footer
    text = " ".join("".join(page.text).split())
    assert "failed: AccessDenied: could not assume OrganizationAccountAccessRole" in text
    assert HOSTILE_ACCOUNT_NAME in text and "<b>bold</b>" not in html
    assert "Root/prod" in text
    data = audit_page(entries)
    assert data["users"] == 73 and [entry["id"] for entry in data["audited"]] == ["123456789012", "210987654321"]


def _header(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html.split("<header>", 1)[1].split("</header>", 1)[0])).split())


def test_the_organizations_header_names_it_and_says_its_figures_in_words(audit):
    entries = organization(audit)
    html = render_audit(entries, organization_summary(entries))
    header = _header(html)
    assert re.search(r"<title>MFA audit of organization o-a1b2c3d4e5</title>", html)
    assert header.startswith("MFA audit of organization o-a1b2c3d4e5 Management account 111111111111; 73 users in "
                             "the 2 audited accounts.")
    assert "Scenario: as the organization stands" in header
    assert "Accounts: 3 (2 audited, 1 failed (could not be audited), 0 skipped)" in header
    assert "Read by: arn:aws:sts::111111111111:assumed-role/Auditor/ci, the accounts through the role " \
           "OrganizationAccountAccessRole" in header
    assert "Policy sets: 7 distinct policy sets evaluated" in header
    assert "Exit code: 2: an account could not be audited" in header
    # An account that could not be audited fails the page too (exit 2), not only failing users.
    assert header.endswith("✕ 2 of 2 audited accounts fail; 1 account could not be audited")
    # No raw JSON: no empty filters, no field names, no booleans as yes/no, no Python's None.
    for raw in ("Filters", "filters:", "exitCode", "failing:", "yes", "None", "summary:", "managementAccountId"):
        assert raw not in header, raw
    assert "None" not in " ".join(read_audit_html(html).text)


def test_the_organizations_filters_show_when_given_as_the_flags_that_set_them(audit):
    entries = organization(audit)
    filters = {"accounts": ["123456789012", "210987654321"], "ou": ["ou-ab12-prod"]}
    header = _header(render_audit(entries, organization_summary(entries, filters=filters)))
    assert "Filters: --accounts 123456789012, 210987654321; --ou ou-ab12-prod" in header
    only_ou = _header(render_audit(entries, organization_summary(entries, filters={"accounts": [], "ou": ["r-ab12"]})))
    assert "Filters: --ou r-ab12 " in only_ou + " " and "--accounts" not in only_ou


@pytest.mark.parametrize(("code", "meaning"), [(0, "every audited account passes"), (1, "an audited account fails"),
                                               (7, None)])
def test_the_exit_code_is_said_in_words(audit, code, meaning):
    entries = organization(audit)
    header = _header(render_audit(entries, organization_summary(entries, exitCode=code)))
    expected = f"Exit code: {code}: {meaning}" if meaning else f"Exit code: {code} "
    assert expected in header + " "


def _account_block(html, account):
    block = html.split(f'<div class="account" id="account-{account}"', 1)[1].split("<table", 1)[0]
    block = block.split('<p class="not-audited">', 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", "", block.split(">", 1)[1])).split())


def test_each_account_shows_its_root_user_once_and_readably(audit):
    entries = organization(audit)
    entries[0]["audit"] = copy.deepcopy(audit)
    entries[0]["audit"]["root"] = entries[0]["root"] = {
        "failing": True, "password": None, "activeAccessKeys": 0, "mfa": False,
        "reason": "perhaps a password (unknown) and no MFA device", "centralRootAccess": "unknown",
        "unknown": ["GetAccountSummary has no AccountPasswordPresent"],
    }
    entries[0]["managementAccount"] = True
    html = render_audit(entries, organization_summary(entries))
    block = _account_block(html, "123456789012")
    # Once: its line (the account's summary line gives it as a reason to fail, as the text report does).
    assert block.count("Root user") == 1 and block.count("centralized root access") == 1
    assert block.count("perhaps a password") == 2 and "; the root user (perhaps a password" in block
    assert "root:" not in block and "None" not in block and "failing:" not in block
    assert ("Root user: ✕ FAIL: perhaps a password (unknown) and no MFA device (password: unknown, active access "
            "keys: 0, MFA device: no; centralized root access: unknown)") in block
    assert "unknown: GetAccountSummary has no AccountPasswordPresent" in block
    assert block.startswith("Account 123456789012 production (management account) Root/prod")
    assert "OU IDs: r-ab12 / ou-ab12-prod" in block and "policy sets shared with other accounts" in block
    # The entry's own fields that its audit already draws are not repeated as raw fields.
    for raw in ("state:", "scpsApplied", "serviceControlPolicies", "sharedPolicySets", "summary:", "ouIds"):
        assert raw not in block, raw


def test_fields_the_page_does_not_know_are_listed_readably(audit):
    entries = organization(audit)
    html = render_audit(entries, organization_summary(entries, delegatedAdministrator={"account": "444455556666",
                                                                                       "since": None, "note": ""}))
    block = _account_block(html, "123456789012")
    # An object: its "key: value" lines under its name; null: unknown; empty values left out.
    assert "budget" not in block and "None" not in block
    assert re.search(r'<li data-field="costCenter"><span class="field">costCenter:</span><ul><li>team: payments</li>'
                     r"<li>owner: unknown</li></ul></li>", html)
    header = _header(html)
    assert "delegatedAdministrator: account: 444455556666 since: unknown" in header and "note" not in header
    # A field whose value is empty, or an object of empty values, is left out altogether.
    entries[1]["extra"] = {"a": [], "b": ""}
    assert "extra" not in render_audit(entries, organization_summary(entries))


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
    assert f"otherwise idle (medians of 3 runs): {size / 1024 / 1024:.2f} MB" in page
