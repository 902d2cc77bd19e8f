"""Benchmark the HTML reports: size, time to make, and time to open in the browser.

Run: ``make bench`` (or ``python benchmarks/report.py [--runs N]``). Prints its figures; asserts
nothing. Per report: the HTML's size (and gzipped, as a mail attachment is often sent), the data
and the rendering in process, ``explain --format html -o FILE`` end to end (process start to exit,
after a warm-up run), and opening the file in Debian's headless Chromium (the same launch the
browser tests use): the page's load event and first contentful paint, from its own Navigation
Timing, median of the runs, each in a fresh context. The audit's report of 1,000 users (goal:
under a few MB, opens in under 2 s), from a synthetic audit's JSON (tests/report/audit_pages.py:
the audit's own classes, every verdict, exposures, grants, findings and notes): its size, the
rendering in process, and the same opening in Chromium, then applying the verdict filter.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "report"))

from report_browser import chromium, missing  # noqa: E402

# name -> explain's arguments (as make report's samples, plus the organization).
PAGES: dict[str, list[str]] = {
    "explain dev stack": ["--stack", "dev"],
    "explain prod stack": ["--stack", "prod"],
    "explain 2014 policy": ["--policy-file", "tests/data/seed-2014-policy.json"],
    "explain AWS reference": ["--policy-file", "tests/data/aws-reference-policy.json"],
    "explain --organization": ["--organization"],
}
NAVIGATION = """() => {
  const navigation = performance.getEntriesByType("navigation")[0];
  const paint = performance.getEntriesByName("first-contentful-paint")[0];
  return {load: navigation.loadEventEnd, paint: paint ? paint.startTime : null};
}"""


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def in_process(arguments: list[str], runs: int) -> tuple[float, float]:
    """Median seconds to compute explain's data, and to render it (catalog already loaded)."""
    from mfa_policy.cli import build_parser
    from mfa_policy.cli.verify import _target
    from mfa_policy.report import render_explain
    from mfa_policy.verifier.explanation import explain_report
    from mfa_policy.verifier.guarantees import OrganizationVerifier, Verifier

    args = build_parser().parse_args(["explain", *arguments])
    document, intent, label, scp = _target(args)
    data_times, render_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        verifier = Verifier(document, intent) if scp is None else OrganizationVerifier(document, intent, scp)
        data = explain_report(verifier, label)
        data_times.append(time.perf_counter() - start)
        render_times.append(timed(lambda data=data: render_explain(data)))
    return statistics.median(data_times), statistics.median(render_times)


AUDIT_USERS = 1000
FILTER = """() => {
  const start = performance.now();
  const box = document.querySelector("#filters input[value='protected']");
  box.click();
  const shown = document.getElementById("shown").textContent;
  return {ms: performance.now() - start, shown};
}"""


def audit_page(folder: Path, runs: int) -> Path:
    """The 1,000-user audit report: print its size and rendering time; return its file."""
    from audit_pages import single, synthetic_audit

    from mfa_policy.report import render_audit

    data = synthetic_audit(AUDIT_USERS)
    entries = single(data)
    render_audit(entries)  # warm-up: templates compiled once per process
    times = [timed(lambda: render_audit(entries)) for _ in range(runs)]
    path = folder / "audit-1000-users.html"
    path.write_text(render_audit(entries), encoding="utf-8")
    size = path.stat().st_size
    packed = len(gzip.compress(path.read_bytes()))
    lines = sum(len(user["allowedWithoutMfa"]) + len(user["grantedByResourcePolicies"]) + len(user["findings"])
                + len(user["notes"]) for user in data["users"])
    print(f"\naudit report, {AUDIT_USERS:,} users ({lines:,} lines of evidence): {size / 1024 / 1024:.2f} MB "
          f"({packed / 1024:.0f} KB gzipped); render {statistics.median(times):.2f} s (median of {runs}, "
          "from the JSON)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each measure (default 5)")
    runs = parser.parse_args().runs
    os.chdir(ROOT)  # the pages name their files relative to the repository
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")
    folder = Path(tempfile.mkdtemp(prefix="mfa-policy-report-bench-"))
    files: dict[str, Path] = {}
    print(f"\n{'report':<24} {'HTML':>10} {'gzipped':>9} {'data':>8} {'render':>8} {'end to end':>11}")
    for name, arguments in PAGES.items():
        path = folder / (name.replace(" ", "-").replace("/", "") + ".html")
        command = [sys.executable, "-m", "mfa_policy", "explain", *arguments, "--format", "html", "-o", str(path)]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)  # warm-up (and the file)
        end_to_end = [
            timed(lambda command=command: subprocess.run(command, cwd=ROOT, check=True, capture_output=True))
            for _ in range(runs)
        ]
        data, render = in_process(arguments, runs)
        size = path.stat().st_size
        packed = len(gzip.compress(path.read_bytes()))
        print(
            f"{name:<24} {size / 1024:>7.0f} KB {packed / 1024:>6.0f} KB {data:>6.2f} s {render:>6.2f} s "
            f"{statistics.median(end_to_end):>9.2f} s"
        )
        files[name] = path
    audit = audit_page(folder, runs)
    files[f"audit {AUDIT_USERS:,} users"] = audit
    reason = missing()
    if reason is not None:
        print(f"\nopening in the browser: skipped ({reason})")
        return
    print(f"\nopening in headless Chromium (median of {runs}; goto = wall time of the navigation):")
    print(f"{'report':<24} {'load event':>11} {'first paint':>12} {'goto':>8}")
    with chromium() as browser:
        for name, path in files.items():
            loads, paints, gotos = [], [], []
            for _ in range(runs):
                start = time.perf_counter()
                with browser.load(path) as loaded:
                    gotos.append(time.perf_counter() - start)
                    figures = loaded.page.evaluate(NAVIGATION)
                    assert loaded.blocked == [], loaded.blocked
                loads.append(figures["load"])
                if figures["paint"] is not None:
                    paints.append(figures["paint"])
            paint = f"{statistics.median(paints):>9.0f} ms" if paints else "        -"
            print(f"{name:<24} {statistics.median(loads):>8.0f} ms {paint:>12} {statistics.median(gotos):>6.2f} s")
        filters = []
        for _ in range(runs):
            with browser.load(audit) as loaded:
                filters.append(loaded.page.evaluate(FILTER))
        print(f"\nthe audit's filter over {AUDIT_USERS:,} users (untick one verdict): "
              f"{statistics.median(f['ms'] for f in filters):.0f} ms (median of {runs}; {filters[0]['shown']})")


if __name__ == "__main__":
    main()
