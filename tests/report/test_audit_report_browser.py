# ruff: noqa: F811  (the browser fixture of test_report_browser.py, imported, is a test parameter here)
"""The audit's report in a real browser: Debian's headless Chromium loads each page from disk,
offline, every request intercepted; the users and counts are read from the DOM and compared with
the audit's JSON; the verdict filter is used with script, and every user is read without it. The
W3C's HTML checker validates the same pages.

Without Chromium or Java these tests skip with the reason (fail in CI), as test_report_browser's.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess

import pytest
from audit_pages import (
    HOSTILE_ACCOUNT_NAME,
    MARKUP_POLICY,
    READ_AUDIT_DOM,
    SCRIPT_NAME,
    expected_users,
    organization_entry,
    organization_summary,
    single,
    synthetic_audit,
)
from report_browser import java
from report_samples import docs_account
from test_report_browser import _skip_or_fail, browser, vnu_jar  # noqa: F401  (the browser fixture)

from mfa_policy.report import render_audit


def _moto_page(folder):
    """docs/audit.md's account in moto, audited twice: ``--format json``, then ``--format html -o``."""
    from mfa_policy.cli import main

    path = folder / "moto.html"
    with docs_account() as url:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["audit", "--endpoint-url", url, "--format", "json"]) == 1
        assert main(["audit", "--endpoint-url", url, "--format", "html", "-o", str(path)]) == 1
    return path, single(json.loads(buffer.getvalue()))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """name -> (the HTML file, the entries it was drawn from)."""
    folder = tmp_path_factory.mktemp("audit-reports")
    hostile = synthetic_audit(12, hostile=True)
    production, staging = synthetic_audit(40), synthetic_audit(9, account_id="210987654321")
    entries = {
        "single": single(synthetic_audit(60)),
        "hostile": single(hostile),
        "organization": [
            organization_entry(production, name="production", ou_path="Root/prod", ou_ids=["r-ab12", "ou-ab12-prod"],
                               costCenter={"team": "payments", "owner": None}),
            organization_entry(staging, name="staging", ou_path="Root/dev", ou_ids=["r-ab12", "ou-ab12-dev"]),
            organization_entry(None, account_id="333333333333", name=HOSTILE_ACCOUNT_NAME, status="skipped",
                               state="SUSPENDED", reason="the account is suspended: not audited"),
        ],
    }
    written = {}
    for name, accounts in entries.items():
        path = folder / f"{name}.html"
        organization = organization_summary(accounts) if name == "organization" else None
        path.write_text(render_audit(accounts, organization), encoding="utf-8")
        written[name] = (path, accounts)
    written["moto"] = _moto_page(folder)
    return written


NAMES = ["single", "hostile", "organization", "moto"]


def _counts_shown(accounts):
    return {
        entry["id"]: {verdict: f"{count:,}" for verdict, count in entry["audit"]["summary"].items()}
        for entry in accounts
        if entry["audit"] is not None
    }


@pytest.mark.parametrize("name", NAMES)
def test_the_page_loads_offline_and_shows_every_user_and_count_of_the_json(browser, pages, name):
    path, accounts = pages[name]
    with browser.load(path) as loaded:
        dom = loaded.page.evaluate(READ_AUDIT_DOM)
        assert loaded.requests == [loaded.url] and loaded.blocked == []
        assert loaded.dialogs == [] and loaded.errors == []
        # A refused style or script (its hash not in the CSP) would be reported here.
        assert loaded.console == []
    users = dom["users"]
    assert all(user.pop("visible") for user in users)
    assert users == expected_users(accounts)
    assert dom["counts"] == _counts_shown(accounts)
    total = len(users)
    assert dom["filters"] is True and dom["shown"] == f"{total:,} of {total:,} users shown"
    for entity in ("&amp;", "&lt;", "&gt;", "&#39;", "&quot;"):
        assert entity not in dom["text"]


def _visible(page):
    return page.evaluate(
        """() => [...document.querySelectorAll("tbody.user")]
                 .filter(tbody => tbody.getClientRects().length > 0).map(tbody => tbody.dataset.verdict)"""
    )


def test_the_filter_shows_the_verdicts_ticked(browser, pages):
    path, accounts = pages["organization"]
    verdicts = [user["verdict"] for entry in accounts if entry["audit"] for user in entry["audit"]["users"]]
    with browser.load(path) as loaded:
        page = loaded.page
        for verdict in ("must enroll", "protected", "no access", "no credentials"):
            page.locator(f"#filters input[value='{verdict}']").uncheck()
        failing = [verdict for verdict in verdicts if verdict in ("unprotected", "will be locked out")]
        assert _visible(page) == failing
        assert page.locator("#shown").inner_text() == f"{len(failing)} of {len(verdicts)} users shown"
        page.locator("#filters input[value='unprotected']").uncheck()
        assert set(_visible(page)) == {"will be locked out"}
        for verdict in ("unprotected", "must enroll", "protected", "no access", "no credentials"):
            page.locator(f"#filters input[value='{verdict}']").check()
        assert _visible(page) == verdicts
        assert loaded.errors == [] and loaded.console == []


@pytest.mark.parametrize("name", ["single", "organization"])
def test_without_script_every_user_shows_and_no_filter_pretends_to(browser, pages, name):
    path, accounts = pages[name]
    with browser.load(path, javascript=False) as loaded:
        dom = loaded.page.evaluate(READ_AUDIT_DOM)  # Playwright's own evaluation still runs
    users = dom["users"]
    assert all(user.pop("visible") for user in users)
    assert users == expected_users(accounts)
    assert dom["filters"] is False and dom["shown"] == ""


def test_in_print_the_filter_is_left_out_and_every_user_kept(browser, pages):
    path, _ = pages["single"]
    with browser.load(path) as loaded:
        loaded.page.emulate_media(media="print")
        dom = loaded.page.evaluate(READ_AUDIT_DOM)
        pdf = loaded.page.pdf()
    assert dom["filters"] is False
    assert all(user["visible"] for user in dom["users"])
    assert pdf.startswith(b"%PDF")


def test_markup_in_names_renders_as_text_and_never_runs(browser, pages):
    path, _ = pages["hostile"]
    with browser.load(path) as loaded:
        dom = loaded.page.evaluate(READ_AUDIT_DOM)
        images = loaded.page.locator("img").count()
        first = loaded.page.locator("tbody.user th.name").first.inner_text()
        assert loaded.dialogs == [] and loaded.blocked == []
    assert first == f"/team/{SCRIPT_NAME}"  # its IAM path, then its name, as text
    assert SCRIPT_NAME in dom["text"] and MARKUP_POLICY in dom["text"]
    assert dom["scripts"] == 1 and images == 0  # the page's own filter script only
    path, _ = pages["organization"]
    with browser.load(path) as loaded:
        assert HOSTILE_ACCOUNT_NAME in loaded.page.locator("table.overview").inner_text()
        assert loaded.page.locator("b").count() == 0


def test_the_organizations_header_names_it_and_no_raw_value_shows(browser, pages):
    path, _ = pages["organization"]
    with browser.load(path) as loaded:
        title = loaded.page.title()
        header = " ".join(loaded.page.locator("header").inner_text().split())
        text = loaded.page.locator("body").inner_text()
        field = loaded.page.locator("li[data-field='costCenter'] li").all_inner_texts()
    assert title == "MFA audit of organization o-a1b2c3d4e5"
    assert header.startswith("MFA audit of organization o-a1b2c3d4e5 Management account 111111111111;")
    assert "Accounts: 3 (2 audited, 0 failed (could not be audited), 1 skipped)" in header
    assert "Exit code: 1: an audited account fails" in header and "Filters" not in header
    assert "None" not in text and "exitCode" not in text and "root: failing" not in text
    assert field == ["team: payments", "owner: unknown"]


def test_the_audit_pages_are_valid_html(pages):
    """The W3C's Nu HTML Checker over every audit page at once, errors and warnings."""
    if java() is None:
        _skip_or_fail("no java for the W3C HTML checker: apt-get install default-jre-headless")
    files = [str(path) for path, _ in pages.values()]
    completed = subprocess.run(
        ["java", "-jar", str(vnu_jar()), "--format", "json", "--also-check-svg", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(completed.stderr)["messages"] == []
