"""Lint an IAM policy document against the catalog of AWS actions (pure: no Pulumi, no I/O).

``lint(document, catalog, partition=..., account_id=...)`` returns ``Finding``s, each with a stable
``id`` (one of ``CHECKS``); the wording of ``message`` may change, the ids do not. G8 of the
guarantees fails on any finding. The checks:

* ``UNKNOWN_ACTION``: an ``Action``/``NotAction`` entry that names no AWS action. AWS accepts a
  misspelled action and silently ignores it.
* ``RESOURCE_MISMATCH``: an action that takes resources of certain types, in a statement none of
  whose resources can ever match one of those types (``iam:CreateAccessKey`` on ``mfa/*``).
* ``RESOURCELESS_ACTION_ON_ARN``: an action that takes no resource (AWS evaluates it against
  ``*``), in a statement that names only specific ARNs: it is never granted (or denied) there,
  like the 2014 policy's ``iam:ListUsers`` on ``user/*``. Parliament reported both as RESOURCE_MISMATCH.
* ``UNKNOWN_CONDITION_KEY``: a condition key that is neither global (``GLOBAL_CONDITION_KEYS``)
  nor defined for one of the statement's actions or their resource types.
* ``MALFORMED_ARN``, ``WRONG_PARTITION``, ``WRONG_ACCOUNT``: a ``Resource``/``NotResource`` that is
  not ``*`` nor an ARN in the expected partition naming the expected account.
* ``POLICY_TOO_LARGE``: the minified document is over AWS's 6,144-character quota.
* ``INVALID_SID``: a ``Sid`` IAM refuses: "The Sid element supports ASCII uppercase letters (A-Z),
  lowercase letters (a-z), and numbers (0-9)" (IAM User Guide, "IAM JSON policy elements: Sid").
* ``DUPLICATE_SID``: a ``Sid`` used by two statements: "In IAM, the Sid value must be unique
  within a JSON policy" (same page).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mfa_policy.verifier.catalog import Catalog, CatalogAction

MAX_POLICY_CHARACTERS = 6144  # AWS's quota for a customer managed policy, white space excluded.

UNKNOWN_ACTION = "UNKNOWN_ACTION"
RESOURCE_MISMATCH = "RESOURCE_MISMATCH"
RESOURCELESS_ACTION_ON_ARN = "RESOURCELESS_ACTION_ON_ARN"
UNKNOWN_CONDITION_KEY = "UNKNOWN_CONDITION_KEY"
MALFORMED_ARN = "MALFORMED_ARN"
WRONG_PARTITION = "WRONG_PARTITION"
WRONG_ACCOUNT = "WRONG_ACCOUNT"
POLICY_TOO_LARGE = "POLICY_TOO_LARGE"
INVALID_SID = "INVALID_SID"
DUPLICATE_SID = "DUPLICATE_SID"

# Every check's id and what it reports.
CHECKS: dict[str, str] = {
    UNKNOWN_ACTION: "an Action/NotAction entry names no AWS action",
    RESOURCE_MISMATCH: "the statement's resources never match a resource type of the action",
    RESOURCELESS_ACTION_ON_ARN: "an action that takes no resource is given only specific ARNs",
    UNKNOWN_CONDITION_KEY: "a condition key neither global nor defined for the statement's actions",
    MALFORMED_ARN: "a resource is neither * nor an ARN",
    WRONG_PARTITION: "an ARN is in another partition",
    WRONG_ACCOUNT: "an ARN names another account",
    POLICY_TOO_LARGE: "the minified document is over AWS's size quota",
    INVALID_SID: "a Sid has characters other than ASCII letters and digits",
    DUPLICATE_SID: "two statements have the same Sid",
}

# AWS's global condition keys (IAM User Guide, "AWS global condition context keys"), usable with
# any action; ${TagKey} stands for any tag key. The catalog lists a service's own keys only, so this
# is the one list of them. The cross-service keys of that page (ec2:, lambda:, ...) are here too.
GLOBAL_CONDITION_KEYS: tuple[str, ...] = (
    # Properties of the principal
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalOrgID",
    "aws:PrincipalTag/${TagKey}",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalType",
    "aws:userid",
    "aws:username",
    "aws:AssumedRoot",
    # Properties of a role session
    "aws:FederatedProvider",
    "aws:TokenIssueTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:ChatbotSourceArn",
    "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4",
    "aws:SourceIdentity",
    "ec2:RoleDelivery",
    "ec2:SourceInstanceArn",
    "glue:RoleAssumedBy",
    "glue:CredentialIssuingService",
    "lambda:SourceFunctionArn",
    "ssm:SourceInstanceArn",
    "identitystore:UserId",
    # Properties of the network
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpcArn",
    "aws:SourceVpce",
    "aws:VpceAccount",
    "aws:VpceOrgPaths",
    "aws:VpceOrgID",
    "aws:VpcSourceIp",
    # Properties of the resource
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:ResourceTag/${TagKey}",
    # Properties of the request
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:ViaAWSService",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:referer",
    "aws:RequestedRegion",
    "aws:RequestTag/${TagKey}",
    "aws:TagKeys",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:UserAgent",
)

_VARIABLE = re.compile(r"\$\{[^}]*\}")
_KEY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>")


@dataclass(frozen=True)
class Finding:
    """One problem: its stable ``id`` (a key of ``CHECKS``), the statement (Sid or ``#index``), what
    it is about (an action, resource, condition key, or ``size``) and a sentence for people."""

    id: str
    statement: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.id} in {self.statement}: {self.message}"


@functools.lru_cache(maxsize=4096)
def _key_regex(template: str) -> re.Pattern[str]:
    """A condition key template (``aws:RequestTag/${TagKey}``, ``s3:ExistingObjectTag/<key>``) as a
    case-insensitive regular expression: a placeholder stands for any non-empty text."""
    parts = _KEY_PLACEHOLDER.split(template)
    return re.compile(".+".join(re.escape(part) for part in parts), re.IGNORECASE)


def _key_defined(key: str, templates: Iterable[str]) -> bool:
    return any(_key_regex(template).fullmatch(key) for template in templates)


def is_global_condition_key(key: str) -> bool:
    """Whether ``key`` (any case) is one of AWS's global condition keys."""
    return _key_defined(key, GLOBAL_CONDITION_KEYS)


def _globs_overlap(left: str, right: str) -> bool:
    """Whether two IAM globs (``*`` any run, ``?`` one character) match at least one common text."""

    @functools.cache
    def overlap(i: int, j: int) -> bool:
        if i == len(left) and j == len(right):
            return True
        # A * matches nothing more, or takes one more character (or the other side's *).
        if i < len(left) and left[i] == "*" and (overlap(i + 1, j) or (j < len(right) and overlap(i, j + 1))):
            return True
        if j < len(right) and right[j] == "*" and (overlap(i, j + 1) or (i < len(left) and overlap(i + 1, j))):
            return True
        if i < len(left) and j < len(right) and "*" not in (left[i], right[j]):
            return (left[i] == right[j] or "?" in (left[i], right[j])) and overlap(i + 1, j + 1)
        return False

    return overlap(0, 0)


def could_match(resource: str, arn_format: str) -> bool:
    """Whether a statement's resource pattern can match some ARN of the catalog's ``arn_format``.

    Policy variables and the format's placeholders stand for any text; the first five ARN segments
    are compared one by one (a ``*`` there does not cross a colon), the rest as a whole.
    """
    pattern, target = _VARIABLE.sub("*", resource), _VARIABLE.sub("*", arn_format)
    pattern_parts, target_parts = pattern.split(":", 5), target.split(":", 5)
    if len(target_parts) != 6 or pattern_parts[0] != "arn":
        return _globs_overlap(pattern, target)
    if len(pattern_parts) != 6:
        return False  # as in the evaluator: no * of the first five segments crosses a colon
    return all(_globs_overlap(a, b) for a, b in zip(pattern_parts, target_parts, strict=True))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _statements(document: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    body = document.get("Statement", [])
    body = [body] if isinstance(body, dict) else body
    return [
        (str(statement.get("Sid", f"#{index}")), statement)
        for index, statement in enumerate(body)
        if isinstance(statement, Mapping)
    ]


def _check_actions(sid: str, statement: Mapping[str, Any], catalog: Catalog) -> list[Finding]:
    found = []
    for element in ("Action", "NotAction"):
        for pattern in _strings(statement.get(element)):
            if pattern != "*" and not catalog.matching(pattern):
                found.append(Finding(UNKNOWN_ACTION, sid, pattern, f"{element} {pattern!r} names no AWS action"))
    return found


def _matches_star(resource: str) -> bool:
    """Whether a resource pattern matches ``*``, the resource AWS checks an action without one against."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource)
    return re.fullmatch(regex, "*", re.DOTALL) is not None


def _takes(action: CatalogAction, resources: list[str]) -> bool:
    if not action.arn_formats:
        return False
    return any(could_match(resource, arn_format) for resource in resources for arn_format in action.arn_formats)


def _check_resources(sid: str, statement: Mapping[str, Any], catalog: Catalog) -> list[Finding]:
    resources = _strings(statement.get("Resource"))
    # A resource that matches "*" covers every action; NotResource names what is left out.
    if "Action" not in statement or not resources or any(_matches_star(r) for r in resources):
        return []
    found = []
    shown = ", ".join(resources)
    for pattern in _strings(statement.get("Action")):
        actions = catalog.matching(pattern)
        if not actions or any(_takes(action, resources) for action in actions):
            continue
        if all(not action.arn_formats for action in actions):
            found.append(
                Finding(
                    RESOURCELESS_ACTION_ON_ARN,
                    sid,
                    pattern,
                    f"{pattern} takes no resource (AWS checks it against *), but the statement names only {shown}",
                )
            )
        else:
            types = sorted({t for action in actions for t in action.resource_types})
            found.append(
                Finding(
                    RESOURCE_MISMATCH,
                    sid,
                    pattern,
                    f"{pattern} acts on {', '.join(types)}; none of {shown} can match them",
                )
            )
    return found


def _check_condition_keys(sid: str, statement: Mapping[str, Any], catalog: Catalog) -> list[Finding]:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return []
    keys = [key for block in condition.values() if isinstance(block, Mapping) for key in block]
    patterns = _strings(statement.get("Action"))
    # With NotAction or a wildcard service, any service's keys may apply: only aws: keys are checked.
    open_ended = "NotAction" in statement or any("*" in p.split(":", 1)[0] or "?" in p for p in patterns)
    defined: list[str] = []
    if not open_ended:
        for pattern in patterns:
            for action in catalog.matching(pattern):
                defined.extend(catalog.condition_keys_of(action))
        if not defined and not any(catalog.matching(p) for p in patterns):
            return []  # every action is unknown: UNKNOWN_ACTION says so
    found = []
    for key in keys:
        if is_global_condition_key(key) or _key_defined(key, defined):
            continue
        if open_ended and not key.lower().startswith("aws:"):
            continue
        found.append(
            Finding(
                UNKNOWN_CONDITION_KEY,
                sid,
                key,
                f"condition key {key} is neither global nor defined for the statement's actions",
            )
        )
    return found


def _check_arns(
    sid: str, statement: Mapping[str, Any], catalog: Catalog, partition: str | None, account_id: str | None
) -> list[Finding]:
    found = []
    for element in ("Resource", "NotResource"):
        for resource in _strings(statement.get(element)):
            if resource == "*":
                continue
            parts = resource.split(":", 5)
            if len(parts) < 6 or parts[0] != "arn":
                found.append(Finding(MALFORMED_ARN, sid, resource, f"{element} {resource} is neither * nor an ARN"))
                continue
            if partition is not None and parts[1] != partition:
                found.append(
                    Finding(WRONG_PARTITION, sid, resource, f"{element} {resource} is not in partition {partition}")
                )
            if (
                account_id is not None
                and parts[4] != account_id
                and not (parts[4] == "" and _service_has_accountless_arns(catalog, parts[2]))
            ):
                found.append(
                    Finding(WRONG_ACCOUNT, sid, resource, f"{element} {resource} does not name account {account_id}")
                )
    return found


def _service_has_accountless_arns(catalog: Catalog, service: str) -> bool:
    # S3 buckets and objects, for instance, have no account in their ARN.
    return any(
        arn_format.split(":", 5)[4:5] == [""]
        for action in catalog.service_actions(service)
        for arn_format in action.arn_formats
    )


_SID = re.compile(r"[A-Za-z0-9]+", re.ASCII)


def _check_sids(document: Mapping[str, Any]) -> list[Finding]:
    body = document.get("Statement", [])
    body = [body] if isinstance(body, dict) else body if isinstance(body, list) else []
    found = []
    seen: set[str] = set()
    for index, statement in enumerate(body):
        if not isinstance(statement, Mapping) or "Sid" not in statement:
            continue
        sid = statement["Sid"]
        if not isinstance(sid, str) or not _SID.fullmatch(sid):
            found.append(
                Finding(
                    INVALID_SID,
                    f"#{index}",
                    json.dumps(sid),
                    f"Sid {json.dumps(sid)} is not only ASCII letters and digits, which is all IAM accepts in a Sid",
                )
            )
        elif sid in seen:
            found.append(Finding(DUPLICATE_SID, sid, sid, f"Sid {sid} is used by more than one statement"))
        if isinstance(sid, str):
            seen.add(sid)
    return found


def lint(
    document: Mapping[str, Any],
    catalog: Catalog,
    *,
    partition: str | None = None,
    account_id: str | None = None,
    max_characters: int = MAX_POLICY_CHARACTERS,
) -> list[Finding]:
    """Every finding on ``document``, statement by statement, then its size.

    ``partition`` and ``account_id``, when given, are what every ARN must name.
    """
    found: list[Finding] = _check_sids(document)
    for sid, statement in _statements(document):
        found += _check_actions(sid, statement, catalog)
        found += _check_resources(sid, statement, catalog)
        found += _check_condition_keys(sid, statement, catalog)
        found += _check_arns(sid, statement, catalog, partition, account_id)
    size = len(json.dumps(document, separators=(",", ":")))
    if size > max_characters:
        found.append(Finding(POLICY_TOO_LARGE, "", "size", f"{size} characters minified, over AWS's {max_characters}"))
    return found
