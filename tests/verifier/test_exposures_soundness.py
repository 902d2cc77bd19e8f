"""Soundness of the audit's "enforced", as a property: for random policy sets, whenever the audit
says MFA is enforced, no request the evaluator can form without MFA beyond the bootstrap set is
allowed; and every request the audit names as an exposure is allowed by the evaluator.

"The requests the evaluator can form" are every action of a small catalog (real ARN formats) on
resources drawn independently of the code under test: witnesses of every pattern the statements
name, filled several ways, the catalog's formats filled with names from the patterns and random
text, and random ARNs. The oracle is the evaluator alone, and its own reading of the bootstrap set
and of the resources an action can name; nothing from the audit's automaton.

Runs a fixed budget of examples (derandomized in CI: CI=true), a few seconds in all.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_policy.audit.aws import AccountSnapshot, Credentials, InlinePolicy, ManagedPolicy, ScpLevel, User
from mfa_policy.audit.verdicts import UNPROTECTED, audit
from mfa_policy.verifier.catalog import Catalog, CatalogAction, load_catalog
from mfa_policy.verifier.evaluation import Decision, LayeredPolicySet, PolicySet, decided_outside_policies
from mfa_policy.verifier.exposures import ALLOWED_WITHOUT_MFA
from mfa_policy.verifier.requests import NO_MFA_SCENARIOS, Principal, request_context

ACCOUNT = "111122223333"
ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListAllMyBuckets",
    "iam:CreateAccessKey",
    "iam:EnableMFADevice",
    "iam:GetUser",
    "iam:ChangePassword",
    "iam:CreateVirtualMFADevice",
    "iam:ListVirtualMFADevices",
    "iam:ListUsers",
    "ec2:TerminateInstances",
    "ec2:DescribeInstances",
    "sts:GetSessionToken",
    "sts:AssumeRole",
    "logs:PutLogEvents",
)
ACTION_PATTERNS = (
    "*", "s3:*", "s3:Get*", "s3:PutObject", "iam:*", "iam:CreateAccessKey", "iam:EnableMFADevice",
    "iam:Get*", "iam:*MFA*", "ec2:*", "sts:*", "logs:*", "*:*Object",
)
RESOURCE_PATTERNS = (
    "*",
    "arn:aws:s3:::drop/*",
    "arn:aws:s3:::a*",
    "arn:aws:s3:::*b",
    "arn:aws:s3:::drop/x?z",
    "arn:aws:s3:*",
    "arn:aws:*",
    "arn:*",
    f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
    f"arn:aws:iam::{ACCOUNT}:user/*/${{aws:username}}",
    f"arn:aws:iam::{ACCOUNT}:user/*",
    f"arn:aws:iam::{ACCOUNT}:user/bob",
    "arn:aws:iam::*:user/${aws:username}",
    f"arn:aws:iam::{ACCOUNT}:mfa/*",
    f"arn:aws:iam::{ACCOUNT}:role/*",
    "arn:aws:iam::*:role/admin",
    "arn:aws:ec2:*:*:instance/*",
    "arn:aws:ec2:us-east-1:*:instance/i-1",
    "arn:aws:logs:*:*:log-group:app:*",
)
MFA_CONDITIONS: tuple[dict[str, Any] | None, ...] = (
    None,
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"Null": {"aws:MultiFactorAuthPresent": "true"}},
    {"Null": {"aws:MultiFactorAuthPresent": "false"}},
    {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
    {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "3600"}},
    {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
    {"StringEquals": {"aws:PrincipalType": "User"}},
    {"Bool": {"aws:ViaAWSService": "false"}},
)


@st.composite
def statements(draw: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(("Allow", "Deny")))}
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    statement["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = actions
    resources = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=3, unique=True))
    statement["NotResource" if draw(st.booleans()) else "Resource"] = resources
    condition = draw(st.sampled_from(MFA_CONDITIONS))
    if condition is not None:
        statement["Condition"] = condition
    return statement


def documents(max_statements: int = 3) -> Any:
    return st.lists(statements(), min_size=1, max_size=max_statements).map(
        lambda found: {"Version": "2012-10-17", "Statement": found}
    )


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
policy_sets = st.fixed_dictionaries(
    {
        "identity": st.lists(st.one_of(documents(), st.just(ALLOW_ALL)), min_size=0, max_size=3),
        "boundary": st.one_of(st.none(), documents(2)),
        "scps": st.lists(st.lists(st.one_of(st.just(ALLOW_ALL), documents(2)), min_size=1, max_size=2), max_size=2),
        "path": st.sampled_from(("/", "/team/")),
        "fillers": st.lists(st.text("abxyz/:*?-drop", min_size=0, max_size=6), min_size=2, max_size=4),
    }
)


def small_catalog() -> Catalog:
    full = load_catalog()
    return Catalog({name.lower(): _copy(full.get(name)) for name in ACTIONS})


def _copy(action: CatalogAction | None) -> CatalogAction:
    assert action is not None
    return CatalogAction(action.name, action.resource_types, action.arn_formats, action.condition_keys)


CATALOG = small_catalog()


# ---------------------------------------------------------------------------------------------
# The oracle's own reading of the bootstrap set and of the resources an action can name.

_BOOTSTRAP = {action.lower(): where for action, where in ALLOWED_WITHOUT_MFA}


def _exempt(action: str, resource: str, name: str) -> bool:
    if decided_outside_policies(action) is not None:
        return True
    where = _BOOTSTRAP.get(action.lower())
    if where == "own user":
        # A user's name is unique in the account: user/<any path>/alice is alice or nobody.
        return re.fullmatch(rf"arn:aws:iam::{ACCOUNT}:user/(.*/)?{re.escape(name)}", resource, re.DOTALL) is not None
    if where == "mfa/*":
        return resource.startswith(f"arn:aws:iam::{ACCOUNT}:mfa/")
    return where == "*" and resource == "*"


def _formats_regex(action: CatalogAction, own_arn: str) -> re.Pattern[str]:
    if action.name == "iam:ChangePassword":
        return re.compile(re.escape(own_arn))  # it acts on the caller alone
    if not action.arn_formats:
        return re.compile(r"\*")
    parts = []
    for arn_format in action.arn_formats:
        text = re.escape(arn_format)
        text = text.replace(re.escape("${Partition}"), "aws")
        account = re.escape(ACCOUNT) if action.service == "iam" else "[^:]+"
        text = text.replace(re.escape("${Account}"), account).replace(re.escape("${Region}"), "[^:]+")
        text = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", text)
        parts.append(text)
    return re.compile("|".join(parts), re.DOTALL)


def _fill(arn_format: str, filler: str, name: str) -> str:
    values = {"Partition": "aws", "Account": ACCOUNT, "Region": "us-east-1", "UserName": name}
    return re.sub(r"\$\{([^}]*)\}", lambda m: values.get(m.group(1), filler or "x"), arn_format)


def _resources(layers: list[dict[str, Any]], fillers: list[str], name: str, path: str) -> set[str]:
    """Resources to try, from the patterns (several fillings) and the formats (several names)."""
    patterns = {p for doc in layers for s in doc["Statement"] for key in ("Resource", "NotResource")
                for p in s.get(key, [])}
    names = [name, f"{path.strip('/')}/{name}".lstrip("/"), "bob", "team/bob", "drop", "a", "b", "ab", "xyz", "admin",
             "i-1", "app", *fillers]
    found = {"*"}
    for pattern in patterns:
        for filler in ["", "x", "drop/x", ":", "a:b", "xyz", *fillers]:
            text = pattern.replace("${aws:username}", name)
            found.add(text.replace("*", filler).replace("?", (filler or "q")[:1]))
    for action in CATALOG:
        for arn_format in action.arn_formats:
            for filler in names:
                found.add(_fill(arn_format, filler, filler if "/" not in filler else filler.rsplit("/", 1)[1]))
                found.add(_fill(arn_format, filler, name).replace(f"user/{name}", f"user/{filler}"))
    return found


def _layers(example: dict[str, Any]) -> PolicySet | LayeredPolicySet:
    identity = PolicySet(example["identity"])
    guards = ([PolicySet([example["boundary"]])] if example["boundary"] else []) + [
        PolicySet(level) for level in example["scps"]
    ]
    return LayeredPolicySet(identity, guards) if guards else identity


def _snapshot(example: dict[str, Any]) -> AccountSnapshot:
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
    policies = {boundary: ManagedPolicy(boundary, "boundary", example["boundary"])} if example["boundary"] else {}
    path = example["path"]
    user = User(
        "alice", path, f"arn:aws:iam::{ACCOUNT}:user{path}alice", "AIDAALICE",
        inline=tuple(InlinePolicy(f"p{i}", d) for i, d in enumerate(example["identity"])),
        boundary=boundary if example["boundary"] else None,
        credentials=Credentials(password_enabled=True), tags=(),
    )
    levels = tuple(
        ScpLevel(f"level-{i}", tuple(ManagedPolicy(f"scp-{i}-{j}", f"scp-{i}-{j}", d) for j, d in enumerate(level)))
        for i, level in enumerate(example["scps"])
    )
    return AccountSnapshot(ACCOUNT, "aws", "auditor", (user,), {}, policies, scp_levels=levels,
                           scp_source="from --scp files", organization_id="")


def check(example: dict[str, Any]) -> None:
    (verdict,) = audit(_snapshot(example), CATALOG, examples=1000).users
    policies = _layers(example)
    path = example["path"]
    principal = Principal(ACCOUNT, "aws", "alice", path, "AIDAALICE", f"arn:aws:iam::{ACCOUNT}:user{path}alice",
                          tags={}, organization_id="")
    contexts = {scenario.name: request_context(principal, scenario) for scenario in NO_MFA_SCENARIOS}
    # Every exposure the audit names is a real request: allowed, not in the bootstrap set.
    for exposure in verdict.exposures:
        action = CATALOG.get(exposure.action)
        assert action is not None
        assert _formats_regex(action, principal.own_arn).fullmatch(exposure.resource), exposure
        assert not _exempt(exposure.action, exposure.resource, "alice"), exposure
        decision = policies.evaluate_normalized(exposure.action, exposure.resource, contexts[exposure.context])
        assert decision is Decision.ALLOW, (exposure, decision)
    if verdict.verdict == UNPROTECTED:
        return
    # Enforced: nothing beyond the bootstrap set, on any resource the oracle can think of.
    layers = [*example["identity"], *([example["boundary"]] if example["boundary"] else []),
              *itertools.chain.from_iterable(example["scps"])]
    resources = _resources(layers, example["fillers"], "alice", path)
    for action in CATALOG:
        domain = _formats_regex(action, principal.own_arn)
        for resource in resources:
            if not domain.fullmatch(resource) or _exempt(action.name, resource, "alice"):
                continue
            for name, values in contexts.items():
                decision = policies.evaluate_normalized(action.name, resource, values)
                assert decision is not Decision.ALLOW, (
                    f"{verdict.verdict}, yet {action.name} on {resource} ({name}) is allowed"
                )


@settings(
    max_examples=120,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(policy_sets)
def test_enforced_means_nothing_beyond_the_bootstrap_set_is_allowed(example):
    check(example)


def test_a_not_resource_carve_out_is_an_exposure():
    # The case: allow-all next to a require-MFA Deny that carves out one bucket.
    carve_out = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::public-drop/*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}
    (verdict,) = audit(_snapshot({"identity": [ALLOW_ALL, carve_out], "boundary": None, "scps": [], "path": "/"}),
                       CATALOG).users
    assert verdict.verdict == UNPROTECTED
    assert verdict.exposures[0].resource.startswith("arn:aws:s3:::public-drop/")


def test_two_not_resource_denies_leave_their_combination_open():
    # Neither pattern's witness gets through both Denies; arn:aws:s3:::a...b does.
    denies = [{"Effect": "Deny", "Action": "*", "NotResource": pattern,
               "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
              for pattern in ("arn:aws:s3:::a*", "arn:aws:s3:::*b")]
    example = {"identity": [ALLOW_ALL, {"Version": "2012-10-17", "Statement": denies}], "boundary": None, "scps": [],
               "path": "/", "fillers": []}
    (verdict,) = audit(_snapshot(example), CATALOG).users
    assert verdict.verdict == UNPROTECTED
    exposure = verdict.exposures[0]
    assert exposure.resource.startswith("arn:aws:s3:::a") and exposure.resource.endswith("b"), exposure
    check(example)
