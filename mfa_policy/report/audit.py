"""What the audit's HTML report draws (pure): per-account entries around the audit's JSON.

The page is drawn from exactly what ``audit --format json`` prints (``AuditReport.as_dict()`` and
``catalogActions``), so machines read what people see. It takes a list of per-account entries,
the shape of an organization's report (``{"id", "name", "ouPath", "status", "reason", ...,
"audit": <the single-account JSON, or None when the account was not audited>}``): a
single-account audit is a list of one (``account_entry``). Nothing here knows every verdict,
note or finding: verdicts come in the order the JSON's ``summary`` lists them (worst first), and
whatever notes, findings and fields a user carries are drawn as they come.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# An account's status in an organization's report; a single account is always audited.
AUDITED = "audited"

# The user fields the page draws in their own columns or lines; any other field a user carries
# is listed under the user as "field: value" (a field added to the JSON shows up unasked).
USER_FIELDS = frozenset({
    "user", "path", "verdict", "enforced", "groups", "mfaDevices", "password", "activeAccessKeys",
    "accessKeysLastUsed", "allowedWithoutMfa", "notes", "grantedByResourcePolicies", "findings",
    # The enrollment ticket's state and the command to run are in the user's notes already.
    "enrollment",
})


# The entry fields the page draws in their own places; any other (an organization report's
# per-account summary: the SCPs applied, ...) is listed under the account's heading.
ENTRY_FIELDS = frozenset({"id", "name", "ouPath", "status", "reason", "audit"})


def other_fields(item: Mapping[str, Any], known: frozenset[str] = ENTRY_FIELDS) -> list[dict[str, str]]:
    """``[{name, text}]``: the fields of ``item`` not in ``known`` that hold something, as text."""
    return [
        {"name": name, "text": _plain(value)}
        for name, value in item.items()
        if name not in known and value not in (None, [], {}, "")
    ]


def account_entry(audit: Mapping[str, Any]) -> dict[str, Any]:
    """A single-account audit (``audit --format json``) as the one entry of the report's list."""
    return {"id": audit["accountId"], "name": None, "ouPath": None, "status": AUDITED, "reason": None, "audit": audit}


def audit_page(accounts: Sequence[Mapping[str, Any]], organization: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The page's data: the entries as given, and the totals its summary draws.

    ``verdicts``: every verdict the audited accounts' summaries name, in their order (worst
    first); ``totals``: users per verdict over those accounts; ``users``: how many in all;
    ``failing``: whether any audited account fails; ``audited``: the entries with an audit.
    """
    audited = [entry for entry in accounts if entry.get("audit") is not None]
    verdicts: dict[str, int] = {}
    for entry in audited:
        for verdict, count in entry["audit"]["summary"].items():
            verdicts[verdict] = verdicts.get(verdict, 0) + count
    return {
        "accounts": list(accounts),
        "organization": organization,
        "audited": audited,
        "verdicts": list(verdicts),
        "totals": verdicts,
        "users": sum(len(entry["audit"]["users"]) for entry in audited),
        "failing": any(entry["audit"]["failing"] for entry in audited),
    }


def display_name(user: Mapping[str, Any]) -> str:
    """The user as the report shows it: with its IAM path unless the path is ``/``."""
    return f"{user['path']}{user['user']}" if user["path"] != "/" else user["user"]


def keys_text(user: Mapping[str, Any]) -> str:
    """``1 (used 2026-11-28)``, ``2 (never used)``, or ``-`` without an active key."""
    if not user["activeAccessKeys"]:
        return "-"
    used = user["accessKeysLastUsed"]
    return f"{user['activeAccessKeys']} ({f'used {used[:10]}' if used else 'never used'})"


def evidence_lines(user: Mapping[str, Any]) -> list[dict[str, str]]:
    """The lines under a user, as the text report prints them: ``[{kind, text}]`` with kind
    ``without MFA``, ``finding``, ``note`` or another field's name."""
    lines = [
        {"kind": "without MFA", "text": f"{e['action']} on {e['resource']} ({e['context']}; allowed by "
                                        f"{', '.join(e['policies']) or 'the policies together'})"}
        for e in user.get("allowedWithoutMfa", ())
    ]
    lines += [
        {"kind": "without MFA", "text": f"{g['action']} on {g['resource']} ({g['context']}; granted by "
                                        f"{g['policy']}, statement {g['statement']})"}
        for g in user.get("grantedByResourcePolicies", ())
    ]
    lines += [{"kind": "finding", "text": _finding_text(finding)} for finding in user.get("findings", ())]
    lines += [{"kind": "note", "text": str(note)} for note in user.get("notes", ())]
    lines += [{"kind": field["name"], "text": field["text"]} for field in other_fields(user, USER_FIELDS)]
    return lines


def _finding_text(finding: Any) -> str:
    """``kind: message``, as the text report prints a finding; any other field it carries (the
    device's serial number is in the message) follows in parentheses, so none is lost."""
    if not isinstance(finding, Mapping):
        return str(finding)
    text = ": ".join(str(finding[key]) for key in ("kind", "message") if finding.get(key))
    others = {key: value for key, value in finding.items() if key not in ("kind", "message", "device")}
    extra = ", ".join(f"{key}: {_plain(value)}" for key, value in others.items() if value not in (None, "", [], {}))
    return f"{text} ({extra})" if text and extra else text or extra


def _plain(value: Any) -> str:
    """A JSON value as a line of text."""
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_plain(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def counts_text(counts: Mapping[str, int]) -> str:
    """``4 unprotected, 1 will be locked out, ...``: users per verdict, as the summary line says it."""
    return ", ".join(f"{count:,} {verdict}" for verdict, count in counts.items())


def summary_line(audit: Mapping[str, Any]) -> str:
    """The text report's summary of one account, from its JSON: ``4 unprotected, ... FAIL: ...``."""
    counts = audit["summary"]
    parts = counts_text(counts)
    if audit["failing"]:
        reasons = []
        if counts.get("unprotected") or counts.get("will be locked out"):
            reasons.append("someone is unprotected or will be locked out")
        if audit["findings"]:
            reasons.append(f"{audit['findings']} user finding{'s' if audit['findings'] != 1 else ''}")
        root = audit.get("root")
        if root is not None and root["failing"]:
            reasons.append(f"the root user ({root['reason']})")
        verdict = "FAIL: " + "; ".join(reasons or ["see the users below"])
    else:
        verdict = "OK: nobody is unprotected or about to be locked out"
    return f"{parts}. {verdict}{_caveat(audit['resourcePolicies'])}"


def _caveat(coverage: Mapping[str, Any]) -> str:
    if not coverage["read"]:
        return " (resource policies were not read: grants there are not seen)"
    if coverage["gaps"]:
        count = len(coverage["gaps"])
        policies = "policy" if count == 1 else "policies"
        return f" (but {count} resource {policies} could not be read: grants there are not seen)"
    return ""


def resource_policy_line(coverage: Mapping[str, Any]) -> str:
    """Which resource policies the audit read, as the text report says it."""
    if not coverage["read"]:
        return ("not read: grants to users in bucket, key, queue, topic, secret, function, repository and file system "
                "policies are not seen")
    from mfa_policy.audit.aws_resources import RESOURCE_KINDS

    def named(kind: str, count: int) -> str:
        name = RESOURCE_KINDS[kind][0] if kind in RESOURCE_KINDS else f"{kind} policy"
        return f"{count} {name.removesuffix('policy')}{'policy' if count == 1 else 'policies'}"

    read = ", ".join(named(kind, count) for kind, count in coverage["policies"].items() if count) or "none found"
    return f"{read} (read in {', '.join(coverage['regions'])}; S3 buckets in every region)"
