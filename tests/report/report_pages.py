"""What a report page shows, read back two ways to compare with its data: from the HTML text (the
standard library's parser, for unit tests) and from the browser's DOM (report_browser). Both give
the same plain shapes as ``expected_*`` builds from the JSON."""

from __future__ import annotations

import contextlib
import functools
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from conftest import ROOT

MARKS = {"allowed": "✓", "explicitDeny": "✕", "implicitDeny": "○"}
NBSP = "\u00a0"


@functools.cache
def explain_output(args: tuple[str, ...], format_: str) -> str:
    """What ``mfa-policy explain ARGS --format FORMAT`` prints (once per process: it is pure)."""
    from mfa_policy.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["explain", *args, "--format", format_]) == 0
    return buffer.getvalue()


def explain_json(args: tuple[str, ...]) -> dict[str, Any]:
    return json.loads(explain_output(args, "json"))


def expected_cells(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every cell of explain's grids, as the page must show it."""
    found = []
    grids = [("actions", report["grid"]), ("enrollment", report["grid"]["enrollment"])]
    if report["grid"].get("ticket"):  # the enrollment option: with and without the ticket
        grids.append(("ticket", report["grid"]["ticket"]))
    for kind, source in grids:
        for policy_set in source["policySets"]:
            for cell in policy_set["cells"]:
                counts = cell["counts"]
                found.append(
                    {
                        "grid": kind,
                        "policySet": policy_set["id"],
                        "row": cell["row"],
                        "column": cell["column"],
                        "state": cell["state"],
                        "counts": dict(counts),
                        "statements": [entry["statementId"] for entry in cell["decidedBy"]],
                        "shown": [f"{MARKS[state]}{NBSP}{counts[state]:,}" for state in MARKS if counts[state]],
                    }
                )
    return found


def ticket_stack(folder: Path) -> tuple[str, ...]:
    """A stack whose policy has the ``enrollment`` option (the tag, with its defaults), in
    ``folder``: the arguments of ``explain`` for it."""
    (folder / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (folder / "Pulumi.ticket.yaml").write_text(
        "config:\n  mfa-policy:groups: [developers]\n  mfa-policy:enrollment:\n    requireTag: {}\n"
    )
    return ("--stack", "ticket", "--cwd", str(folder))


# The ticket ``ticket_stack`` and ``--enrollment-tag`` (without a value) ask for, as reports name it.
DEFAULT_TICKET = "tag mfa-enrollment=allowed"


def expected_guarantees(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": name, "pass": result["pass"], "counterexamples": len(result["counterexamples"])}
        for name, result in report["guarantees"].items()
    ]


class _Reader(HTMLParser):
    """Collects grid cells, guarantee lines and legend rows from a report's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[dict[str, Any]] = []
        self.guarantees: list[dict[str, Any]] = []
        self.legend: dict[str, str] = {}
        self.text: list[str] = []
        self._table: dict[str, str | None] = {}
        self._cell: dict[str, Any] | None = None
        self._count: list[str] | None = None
        self._count_depth = 0  # spans open inside the count being read
        self._legend_row: str | None = None
        self._legend_cells: list[str] = []
        self._skip = 0  # inside <style>, <script> or <title>: not page text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in ("style", "script", "title"):
            self._skip += 1
        if tag == "table" and "grid" in classes:
            self._table = attributes
        elif tag == "td" and "cell" in classes:
            self._cell = {
                "grid": self._table.get("data-grid"),
                "policySet": self._table.get("data-policy-set"),
                "row": attributes["data-row"],
                "column": attributes["data-column"],
                "state": attributes["data-state"],
                "counts": {
                    "allowed": int(attributes["data-allowed"] or 0),
                    "explicitDeny": int(attributes["data-explicit-deny"] or 0),
                    "implicitDeny": int(attributes["data-implicit-deny"] or 0),
                },
                "statements": (attributes["data-statements"] or "").split(),
                "shown": [],
                "title": attributes.get("title"),
            }
        elif tag == "span" and self._count is not None:
            self._count_depth += 1
        elif tag == "span" and "count" in classes and self._cell is not None:
            self._count = []
        elif tag == "li" and "guarantee" in classes:
            self.guarantees.append(
                {
                    "name": attributes["data-guarantee"],
                    "pass": attributes["data-pass"] == "true",
                    "counterexamples": int(attributes["data-counterexamples"] or 0),
                }
            )
        elif tag == "tr" and attributes.get("data-statement"):
            self._legend_row = attributes["data-statement"]
            self._legend_cells = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        elif tag == "span" and self._count is not None and self._count_depth:
            self._count_depth -= 1
        elif tag == "span" and self._count is not None and self._cell is not None:
            self._cell["shown"].append("".join(self._count).strip())
            self._count = None
        elif tag == "tr" and self._legend_row is not None:
            self.legend[self._legend_row] = " | ".join(self._legend_cells)
            self._legend_row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._count is not None:
            self._count.append(data)
        if self._legend_row is not None and data.strip():
            self._legend_cells.append(data.strip())


def read_html(page: str) -> _Reader:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader


def without_titles(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in cell.items() if key != "title"} for cell in cells]


# The same, from the browser's DOM (run by Playwright's page.evaluate).
READ_DOM = """() => {
  const cells = [...document.querySelectorAll("table.grid td.cell")].map(td => {
    const table = td.closest("table");
    return {
      grid: table.dataset.grid,
      policySet: table.dataset.policySet,
      row: td.dataset.row,
      column: td.dataset.column,
      state: td.dataset.state,
      counts: {
        allowed: Number(td.dataset.allowed),
        explicitDeny: Number(td.dataset.explicitDeny),
        implicitDeny: Number(td.dataset.implicitDeny),
      },
      statements: td.dataset.statements ? td.dataset.statements.split(" ") : [],
      shown: [...td.querySelectorAll(".count")].map(span => span.textContent.trim()),
      visible: td.getBoundingClientRect().width > 0 && td.getBoundingClientRect().height > 0,
      bars: td.querySelectorAll("svg.bar rect").length,
    };
  });
  const guarantees = [...document.querySelectorAll("li.guarantee")].map(li => ({
    name: li.dataset.guarantee,
    pass: li.dataset.pass === "true",
    counterexamples: Number(li.dataset.counterexamples),
    line: li.querySelector(".line").innerText,
  }));
  return {cells, guarantees, text: document.body.innerText, scripts: document.scripts.length};
}"""


# Attacker-controllable text: Sids and a file name that HTML would read as markup.
SCRIPT_SID = "<script>alert(1)</script>"
MARKUP_SID = 'R&D "team" <img src=x onerror=alert(2)>'
HOSTILE_FILE_NAME = "R&D <policy>.json"


def hostile_policy() -> dict[str, Any]:
    """A policy whose Sids are markup; each decides some request of the grid."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": SCRIPT_SID, "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListMFADevices"], "Resource": "*"},
            {"Sid": MARKUP_SID, "Effect": "Deny", "Action": "s3:*", "Resource": "*"},
        ],
    }
