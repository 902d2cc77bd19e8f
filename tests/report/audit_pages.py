"""The audit's HTML report read back, to compare with the audit's JSON: from the HTML text (the
standard library's parser, for unit tests) and from the browser's DOM (report_browser). Both give
the shapes ``expected_*`` builds from the JSON, written here from the JSON's fields directly
(not with the report's own helpers), as the text report spells them.

``synthetic_audit(n)`` makes the JSON of an audit of ``n`` users from the audit's own classes
(``AuditReport.as_dict()``, as ``audit --format json`` prints it), without AWS: every verdict,
exposures, resource-policy grants, findings and notes; for the unit tests and the benchmark.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

MARKS = {
    "unprotected": "✕",
    "will be locked out": "⊘",
    "must enroll": "!",
    "protected": "✓",
    "no access": "○",
    "no credentials": "∅",
}
LOUD = ("unprotected", "will be locked out")

# Attacker-controllable text: IAM refuses such user and policy names, but an organization's
# account names, resource names in notes and Sids come through as any text.
SCRIPT_NAME = "<script>alert(1)</script>"
MARKUP_POLICY = 'R&D "team" <img src=x onerror=alert(2)>'
HOSTILE_ACCOUNT_NAME = "sandbox <b>bold</b> & co"


def synthetic_audit(users: int, *, account_id: str = "123456789012", hostile: bool = False) -> dict[str, Any]:
    """The JSON of an audit of ``users`` users, every verdict among them (worst first, as the
    audit sorts them); ``hostile``: the first user's name and a policy name are markup."""
    from mfa_policy.audit.findings import Finding, RootVerdict
    from mfa_policy.audit.resource_policies import Coverage, ResourceExposure
    from mfa_policy.audit.verdicts import VERDICTS, AuditReport, Exposure, UserVerdict
    from mfa_policy.cli.audit import audit_json

    policy = MARKUP_POLICY if hostile else "AdminAccess"
    used = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    made = []
    for index in range(users):
        verdict = VERDICTS[index % len(VERDICTS)]
        name = SCRIPT_NAME if hostile and index == 0 else f"user-{index:04d}"
        keys = index % 3
        made.append(
            UserVerdict(
                user=name,
                path="/" if index % 4 else "/team/",
                verdict=verdict,
                enforced=verdict not in ("unprotected",),
                exposures=(
                    Exposure("s3:PutObject", "arn:aws:s3:::example/example", "console without MFA", (policy,)),
                    Exposure("iam:CreateAccessKey", f"arn:aws:iam::{account_id}:user/another-user", "access keys",
                             (policy, "ReadOnlyS3 (group ci)")),
                ) if verdict == "unprotected" else (),
                groups=("operators", "ci")[: index % 3],
                mfa_devices=("virtual",) if verdict == "protected" else (),
                password=index % 2 == 0,
                active_keys=keys,
                keys_last_used=used - timedelta(days=index % 40) if keys and index % 5 else None,
                notes=(f"a Deny conditioned on aws:SourceIp in {policy}, which the audit does not model",)
                if index % 7 == 0 else (),
                resource_exposures=(
                    ResourceExposure("s3:GetObject", "arn:aws:s3:::reports/example", "access keys",
                                     "the bucket policy of reports", "ReportReader", "arn:aws:s3:::reports"),
                ) if verdict == "unprotected" and (index // 6) % 2 else (),
                findings=(
                    Finding("not phishing-resistant", f"virtual device arn:aws:iam::{account_id}:mfa/{name}: only "
                            "security keys are allowed (--mfa-devices security_keys)", f"mfa/{name}"),
                ) if verdict == "protected" and index % 4 == 3 else (),
            )
        )
    order = {verdict: position for position, verdict in enumerate(VERDICTS)}
    made.sort(key=lambda user: (order[user.verdict], user.user))
    report = AuditReport(
        account_id=account_id,
        partition="aws",
        scenario="as the account stands",
        users=tuple(made),
        policy_sets=max(1, users // 10),
        key_age_days=30,
        notes=("the account is in no organization: no service control policy applies",),
        scps="none apply",
        root=RootVerdict(False, False, 0, True, "an MFA device and no password", "not managed centrally"),
        resource_policies=Coverage(True, ("us-east-1",), {"s3": 2, "kms": 1}, ()),
        device_requirement="--mfa-devices security_keys",
    )
    return audit_json(report, 22321)


def organization_entry(
    audit: Mapping[str, Any] | None, *, account_id: str | None = None, name: str, ou_path: str = "Root",
    ou_ids: Sequence[str] = ("r-ab12",), status: str = "audited", reason: str | None = None,
    management: bool = False, state: str = "ACTIVE", **others: Any,
) -> dict[str, Any]:
    """One account's entry as ``audit --organization --format json`` prints it (AccountEntry.as_dict:
    docs/audit.md lists its fields), around ``audit`` (None: not audited); ``others`` are added
    as they come (fields the page does not know)."""
    if audit is not None:
        account_id = audit["accountId"]
    return {
        "id": account_id, "name": name, "state": state, "ouPath": ou_path, "ouIds": list(ou_ids), "status": status,
        "reason": reason, "managementAccount": management, "scpsApplied": audit is not None and not management,
        "serviceControlPolicies": {"source": "none apply" if management else "read from AWS Organizations",
                                   "levels": 0 if management else len(ou_ids) + 1},
        "planned": [], "sharedPolicySets": audit is not None, "failing": bool(audit and audit["failing"]),
        "summary": dict(audit["summary"]) if audit else None, "root": audit["root"] if audit else None,
        "audit": audit, **others,
    }


def organization_summary(entries: Sequence[Mapping[str, Any]], **fields: Any) -> dict[str, Any]:
    """The organization's own object of ``audit --organization --format json`` for ``entries``
    (OrganizationReport.as_dict()['organization']), without filters; ``fields`` override or add."""
    audited = [entry for entry in entries if entry["audit"] is not None]
    totals: dict[str, int] = {}
    for entry in audited:
        for verdict, count in entry["audit"]["summary"].items():
            totals[verdict] = totals.get(verdict, 0) + count
    statuses = {status: sum(1 for entry in entries if entry["status"] == status)
                for status in ("audited", "failed", "skipped")}
    failing = any(entry["audit"]["failing"] for entry in audited)
    return {
        "id": "o-a1b2c3d4e5", "managementAccountId": "111111111111",
        "caller": "arn:aws:sts::111111111111:assumed-role/Auditor/ci", "roleName": "OrganizationAccountAccessRole",
        "scenario": "as the organization stands", "filters": {"accounts": [], "ou": []}, "accounts": statuses,
        "summary": totals, "policySetsEvaluated": 7, "failing": failing,
        "exitCode": 2 if statuses["failed"] else 1 if failing else 0, **fields,
    }


def single(audit: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A single-account audit as the renderer's list of entries."""
    return [{"id": audit["accountId"], "name": None, "ouPath": None, "status": "audited", "reason": None,
             "audit": audit}]


def expected_users(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every user of every audited account, as its row and the lines under it must read."""
    found = []
    for entry in entries:
        if entry["audit"] is None:
            continue
        for user in entry["audit"]["users"]:
            keys = "-"
            if user["activeAccessKeys"]:
                last = user["accessKeysLastUsed"]
                keys = f"{user['activeAccessKeys']} ({'used ' + last[:10] if last else 'never used'})"
            verdict = user["verdict"]
            lines = [
                f"without MFA: {e['action']} on {e['resource']} ({e['context']}; allowed by {', '.join(e['policies'])})"
                for e in user["allowedWithoutMfa"]
            ]
            lines += [
                f"without MFA: {g['action']} on {g['resource']} ({g['context']}; granted by {g['policy']}, "
                f"statement {g['statement']})"
                for g in user["grantedByResourcePolicies"]
            ]
            lines += [f"finding: {f['kind']}: {f['message']}" for f in user["findings"]]
            lines += [f"note: {note}" for note in user["notes"]]
            found.append(
                {
                    "account": entry["id"],
                    "user": user["user"],
                    "verdict": verdict,
                    "cells": [
                        user["user"] if user["path"] == "/" else user["path"] + user["user"],
                        f"{MARKS[verdict]} {verdict.upper() if verdict in LOUD else verdict}",
                        "yes" if user["password"] else "-",
                        keys,
                        ", ".join(user["mfaDevices"]) or "-",
                        ", ".join(user["groups"]) or "-",
                    ],
                    "lines": lines,
                }
            )
    return found


def expected_counts(entries: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Users per verdict per audited account, as the summary table must show them."""
    return {entry["id"]: dict(entry["audit"]["summary"]) for entry in entries if entry["audit"] is not None}


class AuditReader(HTMLParser):
    """Collects the users (row cells, evidence lines), the summary table's counts and the page's
    text from the audit report's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.users: list[dict[str, Any]] = []
        self.counts: dict[str, dict[str, int]] = {}
        self.shown_counts: dict[str, dict[str, str]] = {}
        self.text: list[str] = []
        self.failing: str | None = None
        self._user: dict[str, Any] | None = None
        self._cell: list[str] | None = None
        self._line: list[str] | None = None
        self._account: str | None = None
        self._count: tuple[str, str] | None = None
        self._count_text: list[str] = []
        self._row = 0
        self._skip = 0
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in ("style", "script", "title"):
            self._skip += 1
        if tag == "body":
            self._in_body = True
        if tag == "p" and "summary" in classes and self.failing is None:
            self.failing = attributes["data-failing"]
        if tag == "tbody" and "user" in classes:
            self._user = {"account": attributes["data-account"], "user": attributes["data-user"],
                          "verdict": attributes["data-verdict"], "cells": [], "lines": []}
            self._row = 0
        elif self._user is not None and tag == "tr":
            self._row += 1
        elif self._user is not None and self._row == 1 and tag in ("th", "td"):
            self._cell = []
        elif self._user is not None and tag == "li":
            self._line = []
        if tag == "tr" and attributes.get("data-account") and attributes.get("data-status"):
            self._account = attributes["data-account"]
        if tag == "td" and "count" in classes and self._account is not None:
            self._count = (self._account, attributes["data-verdict"] or "")
            self.counts.setdefault(self._account, {})[self._count[1]] = int(attributes["data-count"] or 0)
            self._count_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        if self._user is not None and tag in ("th", "td") and self._cell is not None:
            self._user["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._user is not None and tag == "li" and self._line is not None:
            self._user["lines"].append(" ".join("".join(self._line).split()))
            self._line = None
        elif tag == "tbody" and self._user is not None:
            self.users.append(self._user)
            self._user = None
        elif tag == "td" and self._count is not None:
            account, verdict = self._count
            self.shown_counts.setdefault(account, {})[verdict] = "".join(self._count_text).strip()
            self._count = None
        elif tag == "tr":
            self._account = None

    def handle_data(self, data: str) -> None:
        if self._skip or not self._in_body:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._line is not None:
            self._line.append(data)
        if self._count is not None:
            self._count_text.append(data)


def read_audit_html(page: str) -> AuditReader:
    reader = AuditReader()
    reader.feed(page)
    reader.close()
    return reader


# The same, from the browser's DOM (run by Playwright's page.evaluate): what is rendered, with
# whether each user's rows are displayed.
READ_AUDIT_DOM = """() => {
  const clean = (text) => text.replace(/\\s+/g, " ").trim();
  const users = [...document.querySelectorAll("tbody.user")].map(tbody => {
    const row = tbody.rows[0];
    return {
      account: tbody.dataset.account,
      user: tbody.dataset.user,
      verdict: tbody.dataset.verdict,
      cells: [...row.cells].map(cell => clean(cell.innerText)),
      lines: [...tbody.querySelectorAll("tr.evidence li")].map(li => clean(li.innerText)),
      visible: tbody.getClientRects().length > 0 && row.getBoundingClientRect().height > 0,
    };
  });
  const counts = {};
  for (const td of document.querySelectorAll("table.overview tbody td.count")) {
    const account = td.closest("tr").dataset.account;
    (counts[account] = counts[account] || {})[td.dataset.verdict] = clean(td.innerText);
  }
  const form = document.getElementById("filters");
  return {
    users, counts,
    filters: form.getClientRects().length > 0,
    shown: clean(document.getElementById("shown").innerText),
    text: document.body.innerText,
    scripts: document.scripts.length,
  };
}"""
