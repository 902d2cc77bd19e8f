"""The exposures call and the resource automaton: cases that read like a specification."""

from __future__ import annotations

import random

import pytest

from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import PolicySet
from mfa_policy.verifier.exposures import PolicyLayers, exposures
from mfa_policy.verifier.guarantees import FULL_AWS_ACCESS, check_all, intent_for_file
from mfa_policy.verifier.requests import CONSOLE, KEYS, Principal
from mfa_policy.verifier.resource_sets import Automaton, find_member, format_glob, glob_of

ACCOUNT = "111122223333"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ALICE = Principal(ACCOUNT, "aws", "alice", "/", "AIDAALICE", tags={})
CATALOG = load_catalog()


def deny_without_mfa(**element: object) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": "*", **element,
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}


def found(*identity, boundary=None, scps=(), principal=ALICE, limit=None):
    answer = exposures(PolicyLayers(tuple(identity), boundary, tuple(scps)), principal, CATALOG, limit=limit)
    return {(e.action, e.resource, e.context) for e in answer.found}, answer


def test_the_project_policy_next_to_allow_all_exposes_nothing():
    assert found(build_policy_document(ACCOUNT), ALLOW_ALL)[0] == set()


def test_the_guardrail_scp_alone_exposes_nothing():
    levels = [(FULL_AWS_ACCESS, build_scp_document()), (FULL_AWS_ACCESS,)]
    assert found(ALLOW_ALL, scps=levels)[0] == set()


def test_a_not_resource_carve_out_is_found_with_its_resource():
    hits, _ = found(ALLOW_ALL, deny_without_mfa(NotResource="arn:aws:s3:::public-drop/*"))
    assert ("s3:PutObject", "arn:aws:s3:::public-drop/example", KEYS) in hits
    assert all(resource.startswith("arn:aws:s3:::public-drop/") for _, resource, _ in hits)


def test_a_deny_scoped_to_some_resources_leaves_the_others_open():
    hits, _ = found(ALLOW_ALL, deny_without_mfa(Resource=["arn:aws:s3:::payroll/*", "arn:aws:iam::*:user/*"]))
    assert ("s3:PutObject", "arn:aws:s3:::example/example", KEYS) in hits
    assert not any(action.startswith("iam:") and "user/" in resource for action, resource, _ in hits)


def test_change_password_acts_on_the_caller_only():
    # Without the password option it is an exposure, on alice herself: never "on another user".
    change = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"}]}
    answer = exposures(PolicyLayers((change,)), ALICE, CATALOG, bootstrap=(("iam:GetUser", "own user"),))
    assert [(e.action, e.resource) for e in answer.found] == [
        ("iam:ChangePassword", f"arn:aws:iam::{ACCOUNT}:user/alice")]
    # With the default bootstrap set (password change included) it is no exposure at all.
    assert found(change)[0] == set()


def test_bootstrap_actions_on_another_user_are_exposures_in_the_real_account():
    enrollment = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "iam:EnableMFADevice", "iam:CreateVirtualMFADevice", "iam:ListVirtualMFADevices"]}]}
    hits, _ = found(enrollment)
    # Devices are named freely (mfa/* is the bootstrap set); enabling one on a colleague is not.
    assert hits == {("iam:EnableMFADevice", f"arn:aws:iam::{ACCOUNT}:user/another-user", KEYS)}


def test_unknown_keys_are_relaxed_with_a_note():
    office = deny_without_mfa(Resource="*")
    office["Statement"][0]["Condition"]["NotIpAddress"] = {"aws:SourceIp": "203.0.113.0/24"}
    hits, answer = found(ALLOW_ALL, office, limit=1)
    assert hits and "aws:SourceIp" in answer.notes[0]


def test_secure_transport_is_chosen_by_the_caller():
    # A Deny that needs HTTPS to apply does not stop a request over HTTP (S3 accepts it).
    https_only = deny_without_mfa(Resource="*")
    https_only["Statement"][0]["Condition"]["Bool"] = {"aws:SecureTransport": "true"}
    hits, answer = found(ALLOW_ALL, https_only, limit=1)
    assert hits and "HTTP" in answer.notes[0]
    # An Allow that needs HTTPS is met: the caller uses HTTPS.
    allow_https = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}
    hits, answer = found(allow_https, limit=1)
    assert [h[0] for h in hits] == ["s3:GetObject"] and answer.notes == ()


def test_console_only_denies_leave_access_keys_open():
    bool_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]}
    hits, _ = found(ALLOW_ALL, bool_only, limit=2)
    assert {context for _, _, context in hits} == {KEYS}
    assert CONSOLE != KEYS


def test_g1_of_a_policy_file_catches_a_carve_out():
    # Before the exposures call, G1 tried the catalog's example resources only and passed this.
    document = build_policy_document(ACCOUNT)
    lockdown = next(s for s in document["Statement"] if s["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa")
    del lockdown["Resource"]
    lockdown["NotResource"] = "arn:aws:s3:::public-drop/*"
    results = check_all(document, intent_for_file(document))
    g1 = {(c.action, c.resource, c.context) for c in results["G1"]}
    assert ("s3:PutObject", "arn:aws:s3:::public-drop/example", "keys") in g1


# ---------------------------------------------------------------------------------------------
# The automaton reads patterns exactly as the evaluator matches them


@pytest.mark.parametrize("seed", range(3))
def test_the_automaton_matches_what_the_evaluator_matches(seed):
    rng = random.Random(seed)
    for _ in range(400):
        pattern = "".join(rng.choice("arn:s3*?/ab") for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.5:
            pattern = "arn:aws:" + pattern
        evaluator = PolicySet([{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": pattern}]}])
        automaton = Automaton([glob_of(pattern)])
        for _ in range(25):
            text = "".join(rng.choice("arn:s3/abx") for _ in range(rng.randint(0, 16)))
            if rng.random() < 0.5:
                text = "arn:aws:" + text
            allowed = evaluator.evaluate("s3:GetObject", text) == "Allow"
            assert allowed == automaton.matches(text), (pattern, text)


def test_find_member_is_exact_on_intersections_and_differences():
    domain = Automaton([format_glob("arn:${Partition}:s3:::${BucketName}/${ObjectName}", partition="aws",
                                    account_id=None)])
    a, b = Automaton([glob_of("arn:aws:s3:::a*")]), Automaton([glob_of("arn:aws:s3:::*b")])
    both = find_member(domain, [a, b], ("and", (("in", 0), ("in", 1))))
    assert both is not None and both.startswith("arn:aws:s3:::a") and both.endswith("b")
    # In a*, not in a*: nothing.
    assert find_member(domain, [a], ("and", (("in", 0), ("not", ("in", 0))))) is None
