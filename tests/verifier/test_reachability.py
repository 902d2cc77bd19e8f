"""The shared reachability question (``mfa_policy.verifier.reachability``): layers that must allow,
layers whose Denies alone count, decided over the patterns."""

from __future__ import annotations

from typing import Any

from mfa_policy.verifier.evaluation import PolicySet
from mfa_policy.verifier.reachability import ALL, NONE, SOME, Layer, Reachability, in_domain
from mfa_policy.verifier.resource_sets import ANY, ONE, STAR, literal

OBJECTS = ((*literal("arn:aws:s3:::reports/"), (ONE, ANY), (STAR, ANY)),)  # every object of the bucket


def _set(*statements: dict[str, Any]) -> PolicySet:
    return PolicySet([{"Version": "2012-10-17", "Statement": list(statements)}])


def _ask(layers: list[Layer], values: dict[str, tuple[str, ...]] | None = None) -> str | None:
    reach = Reachability()
    applicable = reach.applicable(layers, "s3:GetObject", OBJECTS, values or {})
    return None if applicable is None else reach.member(OBJECTS, applicable, values or {})


GRANT = _set({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"})


def test_a_carve_out_is_found_over_the_patterns():
    carve_out = _set({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::reports/public/*"})
    found = _ask([Layer(GRANT), Layer(carve_out, needs_allow=False)])
    assert found is not None and found.startswith("arn:aws:s3:::reports/public/") and in_domain(OBJECTS, found)


def test_a_layer_whose_allows_do_not_count_needs_no_allow_and_one_that_does():
    nothing = _set({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
    assert _ask([Layer(GRANT), Layer(nothing, needs_allow=False)]) is not None  # its implicit deny: no matter
    assert _ask([Layer(GRANT), Layer(nothing)]) is None  # an SCP level that allows nothing here


def test_a_deny_on_every_object_stops_the_request():
    # "*" before any question; a pattern that covers every object all the same, by the automaton.
    deny = _set({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    reach = Reachability()
    assert reach.applicable([Layer(GRANT), Layer(deny, needs_allow=False)], "s3:GetObject", OBJECTS, {}) is None
    every_object = _set({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*/*"})
    assert _ask([Layer(GRANT), Layer(every_object, needs_allow=False)]) is None
    some_objects = _set({"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*/e*"})
    assert _ask([Layer(GRANT), Layer(some_objects, needs_allow=False)]) is not None


def test_conditions_are_decided_first():
    deny = _set({"Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    layers = [Layer(GRANT), Layer(deny, needs_allow=False)]
    assert _ask(layers, {"aws:multifactorauthpresent": ("true",)}) is not None
    assert _ask(layers, {}) is None


def test_relevance_of_a_statement_to_a_domain():
    reach = Reachability()

    def relevance(key: str, patterns: list[str]) -> int:
        (statement,) = _set({"Effect": "Deny", "Action": "*", key: patterns}).statements
        return reach.relevance(statement, OBJECTS)

    assert relevance("Resource", ["*"]) == ALL
    assert relevance("Resource", ["arn:aws:s3:::reports/e*"]) == SOME
    assert relevance("Resource", ["arn:aws:s3:::other/*"]) == NONE
    assert relevance("NotResource", ["arn:aws:s3:::other/*"]) == ALL
    assert relevance("NotResource", ["arn:aws:s3:::reports/public/*"]) == SOME
