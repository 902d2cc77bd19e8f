"""The sample reports in docs/reports/, and how `make report` writes them (run by the Makefile;
the tests import SAMPLES to check the committed files).

    python tests/report/report_samples.py [FOLDER]     # default: docs/reports

Each sample is an `explain` command line run from the repository's root: its HTML goes to
FOLDER/<name>.html and a screenshot of the page's top, taken with Debian's headless Chromium, to
FOLDER/<name>.png. The screenshots are not compared by the tests (a font update changes pixels);
the HTML is, byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# name -> the `mfa-policy` arguments that make it (run from ROOT; `--format html -o FILE` added).
SAMPLES: dict[str, list[str]] = {
    "explain-dev": ["explain", "--stack", "dev"],
    "explain-prod": ["explain", "--stack", "prod"],
    "explain-seed-2014": ["explain", "--policy-file", "tests/data/seed-2014-policy.json"],
    "explain-aws-reference": ["explain", "--policy-file", "tests/data/aws-reference-policy.json"],
    # The audit's report comes here (issue 19): "audit-moto": ["audit", ...] against the moto
    # account docs/audit.md uses, once `audit --format html` exists; the Makefile's `report`
    # target starts that moto server.
}
# The screenshots show the top of each page: the summary and the picture (at most this high).
SCREENSHOT_HEIGHT = 1500
SCREENSHOT_UNTIL = "#picture"


def write_html(name: str, folder: Path) -> Path:
    """Run a sample's command line; return the HTML file it wrote."""
    from mfa_policy.cli import main

    path = folder / f"{name}.html"
    code = main([*SAMPLES[name], "--format", "html", "-o", str(path)])
    if code not in (0, 1):
        raise SystemExit(f"{name}: mfa-policy {' '.join(SAMPLES[name])} exited {code}")
    return path


def main(argv: list[str]) -> int:
    import os

    from report_browser import chromium, missing

    folder = Path(argv[0] if argv else ROOT / "docs" / "reports").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT)  # the samples name files relative to the repository
    reason = missing()
    if reason is not None:
        print(f"make report needs the browser for the screenshots: {reason}", file=sys.stderr)
        return 2
    pages = [write_html(name, folder) for name in SAMPLES]
    with chromium() as browser:
        for page in pages:
            png = page.with_suffix(".png")
            browser.screenshot(page, png, max_height=SCREENSHOT_HEIGHT, until=SCREENSHOT_UNTIL)
            print(
                f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}: {page.stat().st_size:,} bytes; "
                f"{png.name}: {png.stat().st_size:,} bytes"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
