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


# The entry fields the page draws in their own places (an organization report's per-account
# fields among them: ``entry_facts`` words them; the root user, the counts, the SCPs and whether
# it fails are the account's audit's, drawn once from there); any other is listed under the
# account's heading as it comes (``other_fields``).
ENTRY_FIELDS = frozenset({
    "id", "name", "ouPath", "status", "reason", "audit",
    "state", "ouIds", "managementAccount", "scpsApplied", "serviceControlPolicies", "planned", "sharedPolicySets",
    "failing", "summary", "root",
})

# The organization's fields (``audit --organization --format json``'s ``organization``) the
# header draws (``organization_facts``); its ``summary`` and ``failing`` are the page's totals and
# summary line. Any other is listed as it comes.
ORGANIZATION_FIELDS = frozenset({
    "id", "managementAccountId", "caller", "roleName", "scenario", "filters", "accounts", "summary",
    "policySetsEvaluated", "failing", "exitCode",
})
# What each exit code of ``audit --organization`` means (docs/audit.md, "Exit codes").
EXIT_CODES = {
    0: "every audited account passes",
    1: "an audited account fails (a user unprotected or about to be locked out, a finding, or a failing root user)",
    2: "an account could not be audited",
}
# An account's status in the organization's counts, in words where the JSON's word is terse.
STATUS_WORDS = {"failed": "failed (could not be audited)"}
# The organization's filters as the flags that set them.
FILTER_FLAGS = {"accounts": "--accounts", "ou": "--ou"}
# A value the audit could not read (JSON null), as the page says it.
UNKNOWN = "unknown"


def _empty(value: Any) -> bool:
    return value in ([], {}, "", ()) or (isinstance(value, Mapping) and all(_empty(item) for item in value.values()))


def other_fields(item: Mapping[str, Any], known: frozenset[str] = ENTRY_FIELDS) -> list[dict[str, Any]]:
    """``[{name, text, lines}]``: the fields of ``item`` not in ``known`` that hold something.

    ``text`` is the value on one line; ``lines`` an object's ``key: value`` lines (one level
    deeper: on one line each), empty for any other value. Empty values (and objects of nothing
    but empty values) are left out; a null reads ``unknown``, never as a programming language's
    spelling of it."""
    return [
        {
            "name": name,
            "text": _plain(value),
            "lines": [f"{key}: {_plain(inner)}" for key, inner in value.items() if not _empty(inner)]
            if isinstance(value, Mapping)
            else [],
        }
        for name, value in item.items()
        if name not in known and value is not None and not _empty(value)
    ]


def organization_facts(organization: Mapping[str, Any]) -> list[dict[str, str]]:
    """``[{name, text}]``: the organization's header lines, from its JSON (the fields it lacks
    are left out): the scenario, the accounts audited/failed/skipped, the filters (only when
    given), who read it with which role, the policy sets evaluated, and the exit code in words."""
    facts = []
    if organization.get("scenario"):
        facts.append({"name": "Scenario", "text": str(organization["scenario"])})
    counts = organization.get("accounts")
    if isinstance(counts, Mapping):
        total = sum(count for count in counts.values() if isinstance(count, int))
        parts = ", ".join(f"{count:,} {STATUS_WORDS.get(status, status)}" for status, count in counts.items())
        facts.append({"name": "Accounts", "text": f"{total:,} ({parts})" if parts else f"{total:,}"})
    filters = organization.get("filters")
    if isinstance(filters, Mapping):
        given = [
            f"{FILTER_FLAGS.get(name, name)} {_plain(value)}" for name, value in filters.items() if not _empty(value)
        ]
        if given:
            facts.append({"name": "Filters", "text": "; ".join(given)})
    if organization.get("caller"):
        role = f", the accounts through the role {organization['roleName']}" if organization.get("roleName") else ""
        facts.append({"name": "Read by", "text": f"{organization['caller']}{role}"})
    if organization.get("policySetsEvaluated") is not None:
        facts.append(
            {"name": "Policy sets", "text": f"{organization['policySetsEvaluated']:,} distinct policy sets evaluated"}
        )
    code = organization.get("exitCode")
    if code is not None:
        meaning = EXIT_CODES.get(code)
        facts.append({"name": "Exit code", "text": f"{code}: {meaning}" if meaning else str(code)})
    return facts


def entry_facts(entry: Mapping[str, Any]) -> list[str]:
    """An organization's account in words, from its entry's own fields (an audited account's SCPs,
    root user and counts are its audit's, drawn from there): its state when not active, its OU IDs,
    what a preview added, and whether its policy sets were shared with other accounts."""
    facts = []
    state = entry.get("state")
    if state and state != "ACTIVE":
        facts.append(f"AWS state: {state}")
    if entry.get("ouIds"):
        facts.append(f"OU IDs: {' / '.join(str(unit) for unit in entry['ouIds'])}")
    if entry.get("planned"):
        facts.append(f"planned by the preview: {_plain(entry['planned'])}")
    if entry.get("audit") is not None and entry.get("sharedPolicySets") is not None:
        facts.append(
            "policy sets shared with other accounts"
            if entry["sharedPolicySets"]
            else "policy sets evaluated under the account's own ID (not shared with other accounts)"
        )
    return facts


def root_details(root: Mapping[str, Any]) -> str:
    """The root user's credentials as read: ``password: unknown, active access keys: 0, MFA: no``
    (a value the audit could not read is ``unknown``)."""
    named = (("password", "password"), ("activeAccessKeys", "active access keys"), ("mfa", "MFA device"))
    return ", ".join(f"{label}: {_plain(root[key])}" for key, label in named if key in root)


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
    """A JSON value as a line of text: empty values inside it left out, null as ``unknown``."""
    if value is None:
        return UNKNOWN
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_plain(item)}" for key, item in value.items() if not _empty(item))
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value if not _empty(item))
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
