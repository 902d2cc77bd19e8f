"""The IAM evaluator, rule by rule (cases from AWS's policy evaluation documentation)."""

from __future__ import annotations

import pytest

from mfa_policy.verifier.evaluation import (
    Decision,
    LayeredPolicySet,
    PolicyFormatError,
    PolicySet,
    decided_outside_policies,
    evaluate,
)

ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(statements, action="s3:GetObject", resource="arn:aws:s3:::bucket/key", context=None):
    return evaluate([policy(*statements)], action, resource, context or {})


# Effects -------------------------------------------------------------------------------------


def test_no_matching_statement_is_an_implicit_deny():
    assert decide([allow("ec2:*")]) is IMPLICIT


def test_explicit_deny_beats_allow_in_any_policy_and_any_order():
    assert evaluate([policy(allow()), policy(deny("s3:*"))], "s3:GetObject", "*") is EXPLICIT
    assert evaluate([policy(deny("s3:*")), policy(allow())], "s3:GetObject", "*") is EXPLICIT


def test_decision_is_a_plain_string_too():
    assert decide([allow()]) == "Allow"
    assert decide([]) == "ImplicitDeny"
    assert decide([deny()]) == "ExplicitDeny"


# Action / NotAction --------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["s3:GetObject", "S3:getobject", "s3:Get*", "s3:*Object", "s3:GetObjec?", "*"])
def test_action_matches_case_insensitively_with_wildcards(pattern):
    assert decide([allow(pattern)]) is ALLOW


@pytest.mark.parametrize("pattern", ["s3:GetObjectAcl", "s3:Get", "s3:GetObjec??", "ec2:GetObject", "s3:Put*"])
def test_action_patterns_match_the_whole_name(pattern):
    assert decide([allow(pattern)]) is IMPLICIT


def test_action_list_matches_any_entry():
    assert decide([allow(["ec2:RunInstances", "s3:GetObject"])]) is ALLOW


def test_not_action_matches_every_other_action():
    statement = {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}
    assert decide([statement], action="s3:GetObject") is ALLOW
    assert decide([statement], action="IAM:CreateUser", resource="*") is IMPLICIT


# Resource / NotResource ----------------------------------------------------------------------


def test_resource_matches_case_sensitively():
    assert decide([allow(resource="arn:aws:s3:::bucket/key")]) is ALLOW
    assert decide([allow(resource="arn:aws:s3:::Bucket/key")]) is IMPLICIT


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("arn:aws:s3:::bucket/*", ALLOW),
        ("arn:aws:s3:::bucket/k?y", ALLOW),
        ("arn:aws:s3:::*", ALLOW),
        ("arn:aws:s3:::bucket", IMPLICIT),
        ("arn:aws:s3:::bucket/k?", IMPLICIT),
        (["arn:aws:s3:::other/*", "arn:aws:s3:::bucket/*"], ALLOW),
    ],
)
def test_resource_wildcards_and_lists(pattern, expected):
    assert decide([allow(resource=pattern)]) is expected


def test_resource_wildcard_that_ends_a_segment_may_cross_colons():
    # AWS: "If the * wildcard is the last character of a resource ARN segment, it can expand to
    # match beyond the colon boundaries." (test_evaluation_grammar.py has the full table.)
    resource = "arn:aws:iam::111122223333:user/alice"
    assert decide([allow(resource="arn:aws:iam::*:user/alice")], "iam:GetUser", resource) is ALLOW
    assert decide([allow(resource="arn:aws:iam::*")], "iam:GetUser", resource) is ALLOW
    assert decide([allow(resource="arn:aws:iam::*:*")], "iam:GetUser", resource) is ALLOW
    # Not the last character of its segment: the * stays within the account.
    assert decide([allow(resource="arn:aws:iam::1*3:user/alice")], "iam:GetUser", resource) is ALLOW
    assert decide([allow(resource="arn:aws:iam::1*e")], "iam:GetUser", resource) is IMPLICIT


def test_not_resource_matches_every_other_resource():
    statement = {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::bucket/*"}
    assert decide([allow(), statement]) is ALLOW
    assert decide([allow(), statement], resource="arn:aws:s3:::other/key") is EXPLICIT


# Policy variables ----------------------------------------------------------------------------


def test_username_variable_in_resource():
    statement = allow("iam:GetUser", "arn:aws:iam::111122223333:user/${aws:username}")
    alice = "arn:aws:iam::111122223333:user/alice"
    assert decide([statement], "iam:GetUser", alice, {"aws:username": "alice"}) is ALLOW
    assert decide([statement], "iam:GetUser", alice, {"aws:username": "bob"}) is IMPLICIT


def test_variable_keys_are_case_insensitive_and_values_literal():
    statement = allow("iam:GetUser", "arn:aws:iam::1:user/${AWS:UserName}")
    assert decide([statement], "iam:GetUser", "arn:aws:iam::1:user/alice", {"aws:username": "alice"}) is ALLOW
    # A value containing * is matched literally, not as a wildcard.
    assert decide([statement], "iam:GetUser", "arn:aws:iam::1:user/alice", {"aws:username": "*"}) is IMPLICIT


def test_absent_variable_makes_the_value_not_match():
    statement = allow("iam:GetUser", "arn:aws:iam::1:user/${aws:username}")
    assert decide([statement], "iam:GetUser", "arn:aws:iam::1:user/", {}) is IMPLICIT
    not_resource = {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:iam::1:user/${aws:username}"}
    assert decide([allow(), not_resource], "iam:GetUser", "arn:aws:iam::1:user/alice", {}) is EXPLICIT


def test_variable_default_and_escapes():
    with_default = allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'none'}/*")
    assert decide([with_default], resource="arn:aws:s3:::bucket/none/key") is ALLOW
    star = allow("s3:GetObject", "arn:aws:s3:::bucket/${*}")
    assert decide([star], resource="arn:aws:s3:::bucket/*") is ALLOW
    assert decide([star], resource="arn:aws:s3:::bucket/key") is IMPLICIT


def test_variable_in_condition_value():
    statement = allow(Condition={"StringEquals": {"s3:prefix": "home/${aws:username}"}})
    assert decide([statement], context={"aws:username": "alice", "s3:prefix": "home/alice"}) is ALLOW
    assert decide([statement], context={"aws:username": "alice", "s3:prefix": "home/bob"}) is IMPLICIT
    assert decide([statement], context={"s3:prefix": "home/"}) is IMPLICIT


@pytest.mark.parametrize(
    ("operator", "actual", "expected"),
    [
        ("StringLike", "team-a", IMPLICIT),  # the tag value's * is not a wildcard
        ("StringLike", "team-*", ALLOW),
        ("StringNotLike", "team-a", ALLOW),
        ("ArnLike", "arn:aws:iam::1:user/a", IMPLICIT),
        ("ArnLike", "arn:aws:iam::1:user/*", ALLOW),
    ],
)
def test_substituted_values_are_literal_in_pattern_operators(operator, actual, expected):
    key = "aws:PrincipalArn" if operator.startswith("Arn") else "s3:prefix"
    tag = "arn:aws:iam::1:user/*" if operator.startswith("Arn") else "team-*"
    statement = allow(Condition={operator: {key: "${aws:PrincipalTag/scope}"}})
    context = {"aws:PrincipalTag/scope": tag, key: actual}
    assert decide([statement], context=context) is expected


def test_literal_variables_stay_literal_in_string_like():
    statement = allow(Condition={"StringLike": {"s3:prefix": "a${*}"}})
    assert decide([statement], context={"s3:prefix": "a*"}) is ALLOW
    assert decide([statement], context={"s3:prefix": "abc"}) is IMPLICIT
    # The policy's own wildcards still work next to a substituted value.
    statement = allow(Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})
    assert decide([statement], context={"aws:username": "a*", "s3:prefix": "home/a*/x"}) is ALLOW
    assert decide([statement], context={"aws:username": "a*", "s3:prefix": "home/ab/x"}) is IMPLICIT


# AWS's exceptions: actions no policy decides ---------------------------------------------------


@pytest.mark.parametrize("action", ["sts:GetSessionToken", "STS:getcalleridentity"])
def test_actions_aws_decides_outside_policies_are_always_allowed(action):
    for statements in ([], [deny()], [deny("sts:*")], [deny(action)], [allow("s3:*")]):
        assert decide(statements, action, "*") is ALLOW
    assert "outside policies" in decided_outside_policies(action)
    policies = PolicySet([policy(deny("sts:*"))])
    assert policies.evaluate_normalized(action, "*", {}, "ctx") is ALLOW
    assert policies.service_decision("sts", {}, "ctx") is None  # sts is not decided as a whole
    assert len(policies.statements_for(action)[0]) == 1  # the statements still cover it


def test_other_actions_are_decided_by_policies():
    assert decided_outside_policies("sts:AssumeRole") is None
    assert decide([deny("sts:*")], "sts:AssumeRole", "*") is EXPLICIT
    assert decide([], "sts:GetFederationToken", "*") is IMPLICIT


# Conditions ----------------------------------------------------------------------------------


def when(operator, key, values):
    return [allow(Condition={operator: {key: values}})]


@pytest.mark.parametrize(
    ("operator", "policy_value", "actual", "expected"),
    [
        ("StringEquals", "abc", "abc", ALLOW),
        ("StringEquals", "abc", "ABC", IMPLICIT),
        ("StringNotEquals", "abc", "abd", ALLOW),
        ("StringNotEquals", "abc", "abc", IMPLICIT),
        ("StringEqualsIgnoreCase", "abc", "ABC", ALLOW),
        ("StringNotEqualsIgnoreCase", "abc", "ABC", IMPLICIT),
        ("StringLike", "home/*/x?", "home/a/b/xy", ALLOW),
        ("StringLike", "home/*", "work/a", IMPLICIT),
        ("StringNotLike", "home/*", "work/a", ALLOW),
        ("NumericEquals", "10", "10.0", ALLOW),
        ("NumericNotEquals", "10", "11", ALLOW),
        ("NumericLessThan", "10", "9", ALLOW),
        ("NumericLessThan", "10", "10", IMPLICIT),
        ("NumericLessThanEquals", "10", "10", ALLOW),
        ("NumericGreaterThan", "3600", "3601", ALLOW),
        ("NumericGreaterThan", "3600", "3600", IMPLICIT),
        ("NumericGreaterThanEquals", "3600", "3600", ALLOW),
        ("NumericEquals", "10", "ten", IMPLICIT),
        ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", ALLOW),
        ("DateGreaterThan", "2026-01-01T00:00:00Z", "1767225601", ALLOW),
        ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", ALLOW),
        ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", ALLOW),
        ("DateLessThanEquals", "2026-01-01", "2026-01-01", ALLOW),
        ("DateGreaterThanEquals", "2026-01-02", "2026-01-01", IMPLICIT),
        ("Bool", "true", "TRUE", ALLOW),
        ("Bool", "false", "true", IMPLICIT),
        ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", ALLOW),
        ("BinaryEquals", "QmluYXJ5", "T3RoZXI=", IMPLICIT),
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", ALLOW),
        ("IpAddress", "203.0.113.0/24", "198.51.100.7", IMPLICIT),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.7", ALLOW),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", ALLOW),
        ("ArnEquals", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a", ALLOW),
        ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::1:role/a/b", ALLOW),
        ("ArnLike", "arn:aws:iam::*:*", "arn:aws:iam::1:role/a", ALLOW),
        ("ArnNotEquals", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b", ALLOW),
        ("ArnNotLike", "arn:aws:iam::*:role/*", "arn:aws:iam::1:role/a", IMPLICIT),
    ],
)
def test_condition_operators(operator, policy_value, actual, expected):
    assert decide(when(operator, "test:Key", policy_value), context={"test:Key": actual}) is expected


def test_condition_keys_are_case_insensitive():
    assert decide(when("StringEquals", "AWS:SourceVpc", "vpc-1"), context={"aws:sourcevpc": "vpc-1"}) is ALLOW


def test_or_across_a_keys_values_and_across_patterns():
    assert decide(when("StringEquals", "test:Key", ["a", "b"]), context={"test:Key": "b"}) is ALLOW
    assert decide(when("StringNotEquals", "test:Key", ["a", "b"]), context={"test:Key": "b"}) is IMPLICIT


def test_and_across_operators_and_keys():
    statement = allow(
        Condition={"StringEquals": {"test:A": "1", "test:B": "2"}, "Bool": {"aws:SecureTransport": "true"}}
    )
    full = {"test:A": "1", "test:B": "2", "aws:SecureTransport": True}
    assert decide([statement], context=full) is ALLOW
    assert decide([statement], context={**full, "test:B": "3"}) is IMPLICIT
    assert decide([statement], context={**full, "aws:SecureTransport": False}) is IMPLICIT


def test_absent_key_does_not_match_positive_operators():
    for operator in ("StringEquals", "StringLike", "NumericGreaterThan", "Bool", "ArnLike", "IpAddress"):
        assert decide(when(operator, "test:Key", "1"), context={}) is IMPLICIT, operator


def test_absent_key_matches_negated_operators():
    for operator in ("StringNotEquals", "StringNotLike", "NumericNotEquals", "ArnNotLike", "NotIpAddress"):
        assert decide(when(operator, "test:Key", "1"), context={}) is ALLOW, operator


def test_if_exists_matches_when_the_key_is_absent():
    # AWS's require-MFA pattern: keys-only requests carry no aws:MultiFactorAuthPresent.
    statements = [allow(), deny(Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})]
    assert decide(statements, context={}) is EXPLICIT
    assert decide(statements, context={"aws:MultiFactorAuthPresent": "false"}) is EXPLICIT
    assert decide(statements, context={"aws:MultiFactorAuthPresent": "true"}) is ALLOW
    plain = [allow(), deny(Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})]
    assert decide(plain, context={}) is ALLOW  # why Bool alone is not enough
    assert decide(when("NumericLessThanIfExists", "test:Age", "10"), context={"test:Age": "11"}) is IMPLICIT


def test_null_tests_presence():
    assert decide(when("Null", "aws:MultiFactorAuthAge", "true"), context={}) is ALLOW
    assert decide(when("Null", "aws:MultiFactorAuthAge", "true"), context={"aws:MultiFactorAuthAge": "5"}) is IMPLICIT
    assert decide(when("Null", "aws:MultiFactorAuthAge", "false"), context={"aws:MultiFactorAuthAge": "5"}) is ALLOW


def test_for_any_value_and_for_all_values():
    tags = {"aws:TagKeys": ["team", "cost"]}
    assert decide(when("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]), context=tags) is ALLOW
    assert decide(when("ForAllValues:StringEquals", "aws:TagKeys", ["team"]), context=tags) is IMPLICIT
    assert decide(when("ForAllValues:StringEquals", "aws:TagKeys", ["team", "cost", "x"]), context=tags) is ALLOW
    # Empty or absent: ForAllValues is vacuously true, ForAnyValue false.
    assert decide(when("ForAllValues:StringEquals", "aws:TagKeys", ["team"]), context={}) is ALLOW
    assert decide(when("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]), context={}) is IMPLICIT
    assert decide(when("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"]), context=tags) is ALLOW
    assert decide(when("ForAnyValue:StringLike", "aws:TagKeys", ["co*"]), context=tags) is ALLOW


@pytest.mark.parametrize("operator", ["StringEqualz", "Maybe:StringEquals", "BoolIfExistsIfExists"])
def test_unknown_operator_raises(operator):
    with pytest.raises(PolicyFormatError, match="unknown condition"):
        decide(when(operator, "test:Key", "1"), context={"test:Key": "1"})


@pytest.mark.parametrize(
    "document",
    [
        {"Version": "2012-10-17"},
        {"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]},
        {"Statement": "nope"},
    ],
)
def test_malformed_documents_raise(document):
    with pytest.raises(PolicyFormatError):
        PolicySet([document])


def test_a_single_statement_object_is_accepted():
    assert evaluate([{"Statement": allow()}], "s3:GetObject", "*") is ALLOW


def test_policy_set_caches_per_action_without_changing_answers():
    policies = PolicySet([policy(allow("s3:*"), deny("s3:Delete*", "arn:aws:s3:::locked/*"))])
    for _ in range(2):
        assert policies.evaluate("s3:DeleteObject", "arn:aws:s3:::locked/a", {}) is EXPLICIT
        assert policies.evaluate("s3:DeleteObject", "arn:aws:s3:::open/a", {}) is ALLOW
        assert policies.evaluate("ec2:RunInstances", "*", {}) is IMPLICIT


def test_service_decision_only_when_the_whole_service_decides_alike():
    policies = PolicySet([policy(allow(), deny("iam:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}))])
    without_mfa = {"aws:multifactorauthpresent": ("false",)}
    assert policies.service_decision("s3", without_mfa, "console") is ALLOW
    assert policies.service_decision("iam", without_mfa, "console") is None  # named by a statement
    scoped = PolicySet([policy(allow(resource="arn:aws:s3:::bucket/*"))])
    assert scoped.service_decision("s3", {}, "none") is None  # depends on the resource


# Guard layers (service control policies, permission boundaries) --------------------------------

FULL_AWS_ACCESS = policy(allow())


def layered(identity, *guards):
    return LayeredPolicySet(PolicySet(identity), [PolicySet(guard) for guard in guards])


def test_a_guard_layer_only_takes_away():
    # Allowed by identity and every level: allowed. A level that does not allow: implicit deny.
    assert layered([policy(allow())], [FULL_AWS_ACCESS]).evaluate("s3:GetObject", "*") is ALLOW
    assert layered([policy(allow())], [FULL_AWS_ACCESS], [policy(allow("ec2:*"))]).evaluate(
        "s3:GetObject", "*"
    ) is IMPLICIT
    # A guard that allows cannot grant what identity policies do not.
    assert layered([policy(allow("ec2:*"))], [FULL_AWS_ACCESS]).evaluate("s3:GetObject", "*") is IMPLICIT


def test_an_explicit_deny_in_any_layer_wins():
    scp = policy(deny("s3:*"))
    assert layered([policy(allow())], [FULL_AWS_ACCESS, scp]).evaluate("s3:GetObject", "*") is EXPLICIT
    assert layered([policy(deny("s3:*"))], [FULL_AWS_ACCESS]).evaluate("s3:GetObject", "*") is EXPLICIT
    # A deny in a lower layer is still explicit even where a higher level already fails to allow.
    assert layered([policy(allow())], [policy(allow("ec2:*"))], [scp]).evaluate("s3:GetObject", "*") is EXPLICIT


def test_guard_conditions_see_the_request_context():
    scp = policy(deny("*", Condition={"StringEquals": {"aws:PrincipalType": "User"}}), allow())
    layers = layered([policy(allow())], [scp])
    assert layers.evaluate("s3:GetObject", "*", {"aws:PrincipalType": "User"}) is EXPLICIT
    assert layers.evaluate("s3:GetObject", "*", {"aws:PrincipalType": "AssumedRole"}) is ALLOW


def test_layers_decide_a_whole_service_only_when_every_layer_can():
    from mfa_policy.verifier.evaluation import normalize_context

    context = normalize_context({})
    layers = layered([policy(allow())], [policy(allow(), deny("s3:GetObject"))])
    assert layers.service_decision("ec2", context, "none") is ALLOW
    assert layers.service_decision("s3", context, "none") is None  # s3:GetObject differs
