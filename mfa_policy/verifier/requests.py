"""The requests an IAM user makes, as AWS builds their context (pure: no AWS, no I/O).

A direct call by an IAM user, with long-term access keys or from a console session, carries a
known set of global condition keys (IAM User Guide, "AWS global condition context keys",
Availability of each key). ``request_context`` sets them; ``key_knowledge`` says, for any key,
whether its value in such a request is known (set, or known to be absent), one of a few values,
or unknown; ``relax_document`` resolves what is unknown in the user's favour, so that a verdict
built on the relaxed documents over-approximates what the user can do.

Set by AWS for a direct call by an IAM user (and modelled here):

* ``aws:username``, ``aws:userid``, ``aws:PrincipalArn``, ``aws:PrincipalAccount``: the user's;
* ``aws:PrincipalType`` ``User``; ``aws:PrincipalIsAWSService`` ``false``; ``aws:ViaAWSService``
  ``false`` (a call an AWS service makes with the user's credentials follows a direct call, which
  must itself be allowed);
* ``aws:PrincipalTag/<key>``: one per tag of the user (absent for a key the user has no tag for),
  when the tags were read;
* ``aws:PrincipalOrgID`` / ``aws:PrincipalOrgPaths``: when the organization is known;
* ``aws:MultiFactorAuthPresent``: absent with access keys, ``false`` in a console (or session-token)
  session without MFA; ``aws:MultiFactorAuthAge`` absent without MFA;
* ``aws:SecureTransport``: ``true`` over HTTPS, but a service that accepts HTTP (Amazon S3) lets
  the caller make it ``false``: a Deny counts only when it applies either way.

Absent in such a request (``ABSENT_KEYS``): ``aws:CalledVia``/``CalledViaFirst``/``CalledViaLast``,
``aws:PrincipalServiceName``/``PrincipalServiceNamesList``, ``aws:SourceArn``/``SourceAccount``/
``SourceOrgID``/``SourceOrgPaths``, SNS's ``AWS:SourceOwner``, ``kms:ViaService`` (service-to-service
calls), ``aws:FederatedProvider``, ``aws:SourceIdentity``, ``aws:AssumedRoot``,
``aws:Ec2InstanceSourceVpc``/``...PrivateIPv4`` (other principals' sessions).

Unknown (the caller or the resource decides): ``aws:SourceIp``, ``aws:SourceVpc``/``SourceVpce``/
``VpcSourceIp``, ``aws:RequestedRegion``, ``aws:CurrentTime``/``EpochTime``, ``aws:TokenIssueTime``,
``aws:UserAgent``/``Referer``, ``aws:RequestTag/*``, ``aws:TagKeys``, ``aws:ResourceTag/*``,
``aws:ResourceAccount``/``ResourceOrgID``/``ResourceOrgPaths``, and every service's own keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mfa_policy.verifier.evaluation import Decision, PolicySet, normalize_context, uses_policy_variables

KEYS = "access keys"
CONSOLE = "console without MFA"
WITH_MFA = "with MFA"

# Never in a direct call by an IAM user, whatever its credentials (lower case): the one list the
# identity policies' request contexts (which leave them out) and the resource policies'
# ``resolve_absent_keys`` share. IAM User Guide, "AWS global condition context keys", Availability:
ABSENT_KEYS = frozenset(
    {
        # set only when a service calls another service on a principal's or a resource's behalf
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceowner",  # SNS's older name of aws:SourceAccount (every default topic policy)
        "kms:viaservice",  # set only when a service calls AWS KMS for the user (AWS managed keys)
        # set only for other kinds of principal or session
        "aws:federatedprovider",  # federated (role) sessions
        "aws:sourceidentity",  # role sessions with a source identity
        "aws:assumedroot",  # root sessions assumed by a management account
        "aws:ec2instancesourcevpc",  # EC2 instance role credentials
        "aws:ec2instancesourceprivateipv4",
    }
)
# Set to one value in every such request (the principal's own keys come from ``Principal``).
FIXED_KEYS: dict[str, str] = {
    "aws:principaltype": "User",
    "aws:principalisawsservice": "false",
    "aws:viaawsservice": "false",
}
# Keys the caller may set to one of a few values: the Deny that depends on them counts only when
# it applies to each value; the context holds the first (the usual one).
CHOSEN_KEYS: dict[str, tuple[str, ...]] = {"aws:securetransport": ("true", "false")}
# Set per user (lower case).
PRINCIPAL_KEYS = frozenset({"aws:username", "aws:userid", "aws:principalarn", "aws:principalaccount"})
PRINCIPAL_TAG = "aws:principaltag/"
ORGANIZATION_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
MFA_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})

_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Principal:
    """An IAM user making requests: who, where, and what AWS knows about it.

    ``tags`` is None when the user's tags were not read (``aws:PrincipalTag/*`` is then unknown);
    ``organization_id`` is None when the organization is unknown, ``""`` when the account is known
    to be in none.
    """

    account_id: str
    partition: str
    name: str
    path: str = "/"
    user_id: str = ""
    arn: str = ""
    tags: Mapping[str, str] | None = field(default=None, compare=False)
    organization_id: str | None = None
    organization_paths: tuple[str, ...] = ()

    @property
    def name_with_path(self) -> str:
        return f"{self.path.strip('/')}/{self.name}".lstrip("/")

    @property
    def own_arn(self) -> str:
        return self.arn or f"arn:{self.partition}:iam::{self.account_id}:user/{self.name_with_path}"


@dataclass(frozen=True)
class KeyModel:
    """What the audit knows about the keys of a request, the same for every user of an account.

    ``extra`` names more keys (lower case) that the contexts set themselves (the security-key
    registration keys of an enrollment check); ``quiet`` names unknown keys relaxed without a note
    (keys a request chooses, whose relaxation a reader need not hear about)."""

    tags_known: bool = False
    organization_known: bool = False
    extra: frozenset[str] = frozenset()
    quiet: frozenset[str] = frozenset()


def key_knowledge(key: str, model: KeyModel) -> str:
    """``known`` (set, or known absent), ``chosen`` (one of ``CHOSEN_KEYS``) or ``unknown``."""
    name = key.lower()
    if name in CHOSEN_KEYS:
        return "chosen"
    if name in ABSENT_KEYS or name in FIXED_KEYS or name in PRINCIPAL_KEYS or name in MFA_KEYS or name in model.extra:
        return "known"
    if name.startswith(PRINCIPAL_TAG):
        return "known" if model.tags_known else "unknown"
    if name in ORGANIZATION_KEYS:
        return "known" if model.organization_known else "unknown"
    return "unknown"


@dataclass(frozen=True)
class Scenario:
    """How the request is signed: its name and the MFA keys it carries."""

    name: str
    mfa_keys: Mapping[str, str] = field(default_factory=dict, compare=False)


NO_MFA_SCENARIOS = (
    Scenario(KEYS),  # long-term access keys: aws:MultiFactorAuthPresent is absent
    Scenario(CONSOLE, {"aws:MultiFactorAuthPresent": "false"}),
)
MFA_SCENARIO = Scenario(WITH_MFA, {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60"})


def request_context(principal: Principal, scenario: Scenario) -> dict[str, tuple[str, ...]]:
    """The normalized context of a direct call by ``principal`` in ``scenario``."""
    values: dict[str, Any] = {
        "aws:username": principal.name,
        "aws:userid": principal.user_id,
        "aws:principalarn": principal.own_arn,
        "aws:principalaccount": principal.account_id,
        **FIXED_KEYS,
        **{key: choices[0] for key, choices in CHOSEN_KEYS.items()},
        **scenario.mfa_keys,
    }
    for key, value in (principal.tags or {}).items():
        values[f"{PRINCIPAL_TAG}{key}"] = value
    if principal.organization_id:
        values["aws:principalorgid"] = principal.organization_id
        if principal.organization_paths:
            values["aws:principalorgpaths"] = list(principal.organization_paths)
    return normalize_context(values)


# ---------------------------------------------------------------------------------------------
# Relaxing what cannot be known, in the user's favour


def _policy_variables(value: Any) -> list[str]:
    texts = value if isinstance(value, list) else [value]
    found = []
    for text in texts:
        for body in _VARIABLE.findall(text) if isinstance(text, str) else []:
            name = body.split(",", 1)[0].strip()
            if name not in ("*", "?", "$"):
                found.append(name)
    return found


def _holds_for(operator: str, key: str, values: Any, value: str) -> bool:
    """Whether one condition entry holds when ``key`` is ``value`` (through the evaluator)."""
    probe = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {operator: {key: values}}}]}
    try:
        return PolicySet([probe]).evaluate("probe:Probe", "*", {key: value}) is Decision.ALLOW
    except Exception:  # a bad entry: the whole document is reported unreadable elsewhere
        return True


def relax_document(document: Mapping[str, Any], label: str, model: KeyModel) -> tuple[Mapping[str, Any], list[str]]:
    """``document`` with what the request model cannot know resolved in the user's favour, and notes.

    A Deny statement whose Condition (or a policy variable in it or its Resource) uses an unknown
    key is dropped: with some source IP, tag or time it does not apply. A Deny on a key the caller
    chooses among a few values (``aws:SecureTransport``) is kept only when it applies to each. In
    an Allow statement each condition on an unknown or chosen key counts as met (the entry is
    dropped), and a policy variable on an unknown key in a Resource matches anything. A document
    the evaluator cannot read is returned unchanged (compiling it raises ``PolicyFormatError``).
    """
    body = document.get("Statement") if isinstance(document, Mapping) else None
    statements = [body] if isinstance(body, dict) else body
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        return document, []

    variables = uses_policy_variables(document)

    def unknown(keys: Iterable[str]) -> list[str]:
        return [key for key in keys if key_knowledge(key, model) == "unknown"]

    def _variables(value: Any) -> list[str]:
        return _policy_variables(value) if variables else []

    def told(keys: list[str]) -> list[str]:
        return [key for key in keys if key.lower() not in model.quiet]

    notes: list[str] = []
    relaxed: list[dict[str, Any]] = []
    changed_any = False
    for index, statement in enumerate(statements):
        sid = statement.get("Sid", f"#{index}")
        conditions = statement.get("Condition", {})
        if not isinstance(conditions, dict) or not all(isinstance(keys, dict) for keys in conditions.values()):
            relaxed.append(statement)
            continue
        entries = [(op, key, values) for op, keys in conditions.items() for key, values in keys.items()]
        if statement.get("Effect") == "Deny":
            keys = [k for _, key, values in entries for k in unknown([key, *_variables(values)])]
            for element in ("Resource", "NotResource"):
                keys += unknown(_variables(statement.get(element, [])))
            chosen = [
                key
                for op, key, values in entries
                if key_knowledge(key, model) == "chosen"
                and not all(_holds_for(op, key, values, v) for v in CHOSEN_KEYS[key.lower()])
            ]
            if told(keys):
                notes.append(
                    f"{label}, statement {sid}: a Deny conditioned on {', '.join(dict.fromkeys(keys))}, which the "
                    "audit does not model: counted as not applying"
                )
            elif chosen and not keys:
                notes.append(
                    f"{label}, statement {sid}: a Deny conditioned on {', '.join(dict.fromkeys(chosen))}, which the "
                    "caller chooses (HTTP or HTTPS): counted as not applying"
                )
            if keys or chosen:
                changed_any = True
                continue
            relaxed.append(statement)
            continue
        kept: dict[str, dict[str, Any]] = {}
        dropped: list[str] = []
        met_by_choice = False
        for operator, key, values in entries:
            missing = unknown([key, *_variables(values)])
            if missing:
                dropped += missing
            elif key_knowledge(key, model) == "chosen":
                met_by_choice = True  # the caller picks the value that meets it (or none does)
                if not any(_holds_for(operator, key, values, v) for v in CHOSEN_KEYS[key.lower()]):
                    kept.setdefault(operator, {})[key] = values
            else:
                kept.setdefault(operator, {})[key] = values
        resources = statement.get("Resource")
        if isinstance(resources, (str, list)) and unknown(_variables(resources)):
            dropped += unknown(_variables(resources))
            patterns = resources if isinstance(resources, list) else [resources]
            resources = [
                _VARIABLE.sub(lambda m: "*" if unknown(_variables(m.group(0))) else m.group(0), p)
                if isinstance(p, str)
                else p
                for p in patterns
            ]
        if not dropped and not met_by_choice:
            relaxed.append(statement)
            continue
        if told(dropped):
            notes.append(
                f"{label}, statement {sid}: an Allow conditioned on {', '.join(dict.fromkeys(dropped))}, which the "
                "audit does not model: counted as met"
            )
        changed = {k: v for k, v in statement.items() if k != "Condition"}
        if kept:
            changed["Condition"] = kept
        if "Resource" in statement:
            changed["Resource"] = resources
        relaxed.append(changed)
        changed_any = True
    if not changed_any:
        return document, []
    return {**document, "Statement": relaxed}, notes


def canonical(document: Mapping[str, Any]) -> str:
    """A document as canonical JSON: identical documents, identical text."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
