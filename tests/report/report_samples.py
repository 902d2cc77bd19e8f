"""The sample reports in docs/reports/, and how `make report` writes them (run by the Makefile;
the tests import SAMPLES to check the committed files).

    python tests/report/report_samples.py [FOLDER]     # default: docs/reports

Each sample is a command line run from the repository's root: its HTML goes to FOLDER/<name>.html
and a screenshot of the page's top, taken with Debian's headless Chromium, to FOLDER/<name>.png.
The screenshots are not compared by the tests (a font update changes pixels); the HTML is, byte
for byte, but for the audit's dates (below).

The audit's sample runs `audit` against moto in server mode on 127.0.0.1, holding the account
docs/audit.md shows (tests/audit/test_audit_docs_sample.py builds it through the IAM and S3 APIs),
with moto's fake keys. Everything in that report is fixed by the account but the dates access
keys were last used (moto records today's): the committed-files test compares the page with its
dates as YYYY-MM-DD (``undated``), as the docs' sample test compares the text report.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Where `{moto}` stands in a sample's arguments: the URL of the moto server holding the docs' account.
MOTO = "{moto}"

# name -> the `mfa-policy` arguments that make it (run from ROOT; `--format html -o FILE` added).
SAMPLES: dict[str, list[str]] = {
    "explain-dev": ["explain", "--stack", "dev"],
    "explain-prod": ["explain", "--stack", "prod"],
    "explain-seed-2014": ["explain", "--policy-file", "tests/data/seed-2014-policy.json"],
    "explain-aws-reference": ["explain", "--policy-file", "tests/data/aws-reference-policy.json"],
    "audit-moto": ["audit", "--endpoint-url", MOTO],
}
# The screenshots show the top of each page: the summary and the picture (at most this high).
SCREENSHOT_HEIGHT = 1500
SCREENSHOT_UNTIL = "#picture"
# The audit's sample is short: its picture and the users under it.
SCREENSHOT_UNTIL_BY_SAMPLE = {"audit-moto": "#users"}


def write_html(name: str, folder: Path) -> Path:
    """Run a sample's command line; return the HTML file it wrote."""
    from mfa_policy.cli import main

    path = folder / f"{name}.html"
    arguments = SAMPLES[name]
    with docs_account() if MOTO in arguments else _nothing() as url:
        code = main([*(url if argument == MOTO else argument for argument in arguments), "--format", "html",
                     "-o", str(path)])
    if code not in (0, 1):
        raise SystemExit(f"{name}: mfa-policy {' '.join(SAMPLES[name])} exited {code}")
    return path


def undated(html: str) -> str:
    """The page with its dates as YYYY-MM-DD, and its one botocore-dependent note as the docs show
    it: what the audit's sample fixes of it."""
    from conftest import same_under_any_botocore

    return same_under_any_botocore(re.sub(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD", html))


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""


# moto's fake keys and no file or service of this machine: the audit reads only the moto server.
_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET_AWS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS")


@contextmanager
def docs_account() -> Iterator[str]:
    """moto in server mode holding docs/audit.md's sample account, with moto's fake keys in the
    environment (restored after): yields the server's URL."""
    import logging

    for folder in (ROOT / "tests", ROOT / "tests" / "audit"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import boto3
    from test_audit_docs_sample import build
    from test_audit_moto import Account

    from conftest import moto_server

    # moto answers the calls it lacks (ListOrganizationsFeatures) with a logged traceback.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    saved = {name: os.environ.get(name) for name in (*_FAKE_AWS, *_UNSET_AWS)}
    os.environ.update(_FAKE_AWS)
    for name in _UNSET_AWS:
        os.environ.pop(name, None)
    try:
        with moto_server() as url:
            build(Account(url, boto3.client("iam", endpoint_url=url, region_name="us-east-1")))
            yield url
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
            until = SCREENSHOT_UNTIL_BY_SAMPLE.get(page.stem, SCREENSHOT_UNTIL)
            browser.screenshot(page, png, max_height=SCREENSHOT_HEIGHT, until=until)
            print(
                f"{page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}: {page.stat().st_size:,} bytes; "
                f"{png.name}: {png.stat().st_size:,} bytes"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
