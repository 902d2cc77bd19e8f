"""Soundness of resource-policy grants: a grant on S3 objects is stopped only when the guards (the
identity policies' and the boundary's explicit Denies, the SCP levels that must allow, the
resource policy's own Denies) stop it on *every* object it names, decided over the patterns
themselves, never on a few sample objects.

The first tests are the shapes that once gave a false "protected": a guard Deny with a
``NotResource`` carve-out on a sub-prefix (the sample object ``<bucket>/example`` is denied; an
object under the carve-out is not), an SCP that allows a sub-prefix only, and a Deny whose
``Resource`` covers only part of the grant. The property at the end draws random bucket
policies, guards and SCP levels, and checks the audit against the evaluator alone (the oracle
forms its own resources: nothing from the audit's automaton).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_policy.audit.aws import (
    HARDWARE_TOTP,
    AccessKey,
    AccountSnapshot,
    Credentials,
    InlinePolicy,
    ManagedPolicy,
    MfaDevice,
    ResourcePolicy,
    ScpLevel,
    User,
)
from mfa_policy.audit.resource_policies import ResourcePolicies, guards_from
from mfa_policy.audit.verdicts import PROTECTED, UNPROTECTED, audit
from mfa_policy.verifier.catalog import Catalog, CatalogAction, load_catalog
from mfa_policy.verifier.evaluation import Decision, PolicySet
from mfa_policy.verifier.requests import NO_MFA_SCENARIOS, KeyModel, Principal, relax_document, request_context

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
KEYS = Credentials(access_keys=(AccessKey(active=True),))
DEVICE = (MfaDevice("GAHT1", HARDWARE_TOTP),)
NO_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _reports(*more: dict[str, Any]) -> ResourcePolicy:
    grant = {"Sid": "ReadReports", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::reports/*"}
    return ResourcePolicy("s3", "reports", "arn:aws:s3:::reports", None, _doc(grant, *more))


def _alice(*statements: dict[str, Any], scps: tuple[tuple[dict[str, Any], ...], ...] = ()) -> Any:
    """alice's verdict: MFA device, access keys, one inline policy of ``statements``, SCP levels."""
    inline = (InlinePolicy("own", _doc(*statements)),) if statements else ()
    user = User("alice", "/", ALICE, "AIDAALICE", inline=inline, credentials=KEYS, mfa_devices=DEVICE)
    levels = tuple(ScpLevel(f"level-{i}", tuple(ManagedPolicy(f"scp-{i}-{j}", f"scp-{i}-{j}", d)
                                                for j, d in enumerate(level)))
                   for i, level in enumerate(scps))
    return user, levels


def _verdict(user: User, levels: tuple[ScpLevel, ...], *policies: ResourcePolicy) -> Any:
    snapshot = AccountSnapshot(ACCOUNT, "aws", "auditor", (user,), {}, {}, resource_policies=policies,
                               regions=("us-east-1",), scp_levels=levels,
                               scp_source="from --scp files" if levels else "not applied")
    (verdict,) = audit(snapshot, load_catalog()).users
    return verdict


# Allowed everything with MFA, nothing without, except objects under reports/public/: the
# carve-out is the policy's intent, and alice reaches those objects through the bucket policy.
CARVE_OUT = {"Sid": "RequireMfaButPublic", "Effect": "Deny", "Action": "*",
             "NotResource": "arn:aws:s3:::reports/public/*", "Condition": NO_MFA}
WITH_MFA = {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}


def test_a_guard_deny_with_a_not_resource_carve_out_leaves_the_objects_under_it_granted():
    user, levels = _alice(WITH_MFA, CARVE_OUT)
    verdict = _verdict(user, levels, _reports())
    assert verdict.verdict == UNPROTECTED
    (exposure,) = verdict.resource_exposures
    assert exposure.action == "s3:GetObject"
    assert exposure.resource.startswith("arn:aws:s3:::reports/public/"), exposure
    assert exposure.statement == "ReadReports"


def test_the_resource_policys_own_carve_out_leaves_those_objects_granted():
    own = {"Sid": "MfaButPublic", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
           "NotResource": "arn:aws:s3:::reports/public/*", "Condition": NO_MFA}
    user, levels = _alice(WITH_MFA)
    verdict = _verdict(user, levels, _reports(own))
    assert verdict.verdict == UNPROTECTED
    assert verdict.resource_exposures[0].resource.startswith("arn:aws:s3:::reports/public/")


def test_an_scp_that_allows_a_sub_prefix_only_does_not_stop_the_grant_there():
    everything_else = {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}
    public_only = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/public/*"}
    user, levels = _alice(WITH_MFA, scps=((_doc(everything_else, public_only),),))
    verdict = _verdict(user, levels, _reports())
    assert verdict.verdict == UNPROTECTED
    assert verdict.resource_exposures[0].resource.startswith("arn:aws:s3:::reports/public/")


def test_a_deny_whose_resource_covers_part_of_the_grant_does_not_stop_it():
    # The Deny covers the sample object the audit once tried (reports/example) and more, not
    # every object of the grant.
    partial = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/e*", "Condition": NO_MFA}
    user, levels = _alice(WITH_MFA, partial)
    verdict = _verdict(user, levels, _reports())
    assert verdict.verdict == UNPROTECTED
    (exposure,) = verdict.resource_exposures
    assert exposure.resource.startswith("arn:aws:s3:::reports/") and not exposure.resource.startswith(
        "arn:aws:s3:::reports/e"), exposure


@pytest.mark.parametrize(
    "guard",
    [
        # Every object of the grant: covered by each, so the grant is stopped.
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": NO_MFA},
        {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/*", "Condition": NO_MFA},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*", "Condition": NO_MFA},
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::other/*", "Condition": NO_MFA},
        {"Effect": "Deny", "Action": "*", "NotResource": ["arn:aws:s3:::reports", "arn:aws:s3:::x/*"],
         "Condition": NO_MFA},
    ],
)
def test_a_deny_that_covers_every_object_of_the_grant_stops_it(guard):
    user, levels = _alice(WITH_MFA, guard)
    verdict = _verdict(user, levels, _reports())
    assert verdict.verdict == PROTECTED and not verdict.resource_exposures


def test_two_denies_that_together_cover_the_grant_stop_it_and_a_gap_between_them_does_not():
    # Deny everything but public/*, and deny public/* too: nothing left. Deny public/a* only: public/b... is left.
    public = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::reports/public/*", "Condition": NO_MFA}
    user, levels = _alice(WITH_MFA, CARVE_OUT, public)
    assert _verdict(user, levels, _reports()).verdict == PROTECTED
    part = {**public, "Resource": "arn:aws:s3:::reports/public/a*"}
    user, levels = _alice(WITH_MFA, CARVE_OUT, part)
    verdict = _verdict(user, levels, _reports())
    assert verdict.verdict == UNPROTECTED
    resource = verdict.resource_exposures[0].resource
    assert resource.startswith("arn:aws:s3:::reports/public/") and not resource.startswith(
        "arn:aws:s3:::reports/public/a"), resource


# ---------------------------------------------------------------------------------------------
# The property: random bucket policies and guards, the audit against the evaluator.

BUCKET = "arn:aws:s3:::b"
ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket")
ACTION_PATTERNS = ("*", "s3:*", "s3:Get*", "s3:GetObject", "s3:ListBucket", "s3:*Object")
PATTERNS = (
    "*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::b",
    "arn:aws:s3:::b*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/p/*",
    "arn:aws:s3:::b/p*",
    "arn:aws:s3:::b/*/x",
    "arn:aws:s3:::b/e*",
    "arn:aws:s3:::b/?",
    "arn:aws:s3:::*/p/*",
    "arn:aws:s3:::other/*",
    "arn:aws:s3:::b/${aws:username}/*",
)
CONDITIONS: tuple[dict[str, Any] | None, ...] = (
    None,
    NO_MFA,
    {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"Null": {"aws:MultiFactorAuthPresent": "true"}},
)


@st.composite
def statements(draw: Any, principal: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(("Allow", "Deny")))}
    if principal:
        statement["Principal"] = "*"
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(
        st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2, unique=True))
    statement["NotResource" if draw(st.booleans()) else "Resource"] = draw(
        st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3, unique=True))
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        statement["Condition"] = condition
    return statement


def documents(principal: bool = False, max_size: int = 3) -> Any:
    return st.lists(statements(principal), min_size=1, max_size=max_size).map(lambda found: _doc(*found))


ALLOW_ALL = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
examples = st.fixed_dictionaries({
    "bucket": documents(principal=True),
    "denies": st.lists(documents(), max_size=2),
    "scps": st.lists(st.lists(st.one_of(st.just(ALLOW_ALL), documents(max_size=2)), min_size=1, max_size=2),
                     max_size=2),
})
FILLERS = ("", "x", "p", "p/x", "e", "ex", "alice", "alice/x", "q/x", "p/", "/", "a/p/x", "b")


@dataclass(frozen=True)
class _Context:
    name: str
    values: Any


def _small_catalog() -> Catalog:
    full = load_catalog()
    found = {}
    for name in ACTIONS:
        action = full.get(name)
        assert action is not None
        found[name.lower()] = CatalogAction(action.name, action.resource_types, action.arn_formats,
                                            action.condition_keys)
    return Catalog(found)


CATALOG = _small_catalog()
PRINCIPAL = Principal(ACCOUNT, "aws", "alice", "/", "AIDAALICE", ALICE, tags={}, organization_id="")
CONTEXTS = [_Context(s.name, request_context(PRINCIPAL, s)) for s in NO_MFA_SCENARIOS]


def _oracle_resources(example: dict[str, Any]) -> set[str]:
    patterns = {p for doc in (example["bucket"], *example["denies"], *(d for level in example["scps"] for d in level))
                for s in doc["Statement"] for key in ("Resource", "NotResource") for p in s.get(key, [])}
    found = {BUCKET, f"{BUCKET}/x"}
    for pattern in patterns:
        for filler in FILLERS:
            text = pattern.replace("${aws:username}", "alice")
            found.add(text.replace("*", filler).replace("?", (filler or "q")[:1]))
    return found


def _in_domain(action: str, resource: str) -> bool:
    if action == "s3:ListBucket":
        return resource == BUCKET
    return re.fullmatch(r"arn:aws:s3:::b/.+", resource, re.DOTALL) is not None


def _oracle_allows(example: dict[str, Any], action: str, resource: str, values: Any) -> bool:
    """The evaluator alone: the bucket policy allows; no identity/boundary Deny; every SCP level allows."""
    bucket = {**example["bucket"], "Statement": [{k: v for k, v in s.items() if k != "Principal"}
                                                 for s in example["bucket"]["Statement"]]}
    if PolicySet([bucket]).evaluate_normalized(action, resource, values) is not Decision.ALLOW:
        return False
    if any(PolicySet([d]).evaluate_normalized(action, resource, values) is Decision.EXPLICIT_DENY
           for d in example["denies"]):
        return False
    return all(PolicySet(level).evaluate_normalized(action, resource, values) is Decision.ALLOW
               for level in example["scps"])


def check(example: dict[str, Any]) -> None:
    policy = ResourcePolicy("s3", "b", BUCKET, None, example["bucket"])
    view = ResourcePolicies((policy,), CATALOG, lambda document, label: relax_document(document, label, KeyModel()))
    guards = guards_from(example["denies"], [PolicySet(level) for level in example["scps"]])
    user = User("alice", "/", ALICE, "AIDAALICE", credentials=KEYS)
    found, _ = view.exposures(user, ACCOUNT, "aws", CONTEXTS, guards)
    values = {context.name: context.values for context in CONTEXTS}
    # Every exposure named is a real request: in the action's resources, allowed by the oracle.
    for exposure in found:
        assert _in_domain(exposure.action, exposure.resource), exposure
        assert _oracle_allows(example, exposure.action, exposure.resource, values[exposure.context]), exposure
    if found:
        return
    # None named: no request the oracle can form is allowed.
    for action in ACTIONS:
        for resource in _oracle_resources(example):
            if not _in_domain(action, resource):
                continue
            for context in CONTEXTS:
                assert not _oracle_allows(example, action, resource, context.values), (
                    f"no exposure found, yet {action} on {resource} ({context.name}) is granted and not stopped")


@settings(
    max_examples=150,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(examples)
def test_no_exposure_means_no_granted_request_gets_through_the_guards(example):
    check(example)


def test_the_property_catches_the_carve_out():
    # The property's check on the shape of the first test: the oracle finds b/p/x granted and not
    # stopped, so the audit must name a grant (it named none before the patterns decided it).
    example = {"bucket": _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                               "Resource": "arn:aws:s3:::b/*"}),
               "denies": [_doc({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::b/p/*",
                                "Condition": NO_MFA})],
               "scps": []}
    check(example)
    assert any(_oracle_allows(example, "s3:GetObject", "arn:aws:s3:::b/p/x", c.values) for c in CONTEXTS)
