"""IAM's grammar on the policies customers write, case by case (issue 15, "The evaluator").

Each table reads as a specification: the policy, the request, and the answer, with the sentence
of AWS's documentation it rests on. Where the documentation is silent, the case says what the
evaluator decided (mfa_policy/verifier/evaluation.py's docstring says why and which way it
pushes a verdict). Sources, all in the IAM User Guide:

- [resource] "IAM JSON policy elements: Resource"
- [operators] "IAM JSON policy elements: Condition operators"
- [version] "IAM JSON policy elements: Version"
- [variables] "IAM policy elements: Variables and tags"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from mfa_policy.verifier.evaluation import (
    Decision,
    PolicyFormatError,
    PolicySet,
    evaluate,
    uses_policy_variables,
)

ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY
ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
NO_VERSION = object()  # a document without a Version element


def document(*statements: dict[str, Any], version: Any = "2012-10-17") -> dict[str, Any]:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not NO_VERSION:
        body["Version"] = version
    return body


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


ALLOW_ALL = document(allow())


@dataclass(frozen=True)
class Request:
    """One request against some policies, and what AWS answers."""

    name: str
    policies: list[dict[str, Any]]
    action: str
    resource: str
    expected: Decision
    context: dict[str, Any] = field(default_factory=dict)


def check(request: Request) -> None:
    decision = evaluate(request.policies, request.action, request.resource, request.context)
    assert decision is request.expected, f"{request.name}: {decision}"


def named(cases: list[Request]) -> Any:
    return pytest.mark.parametrize("request_", cases, ids=[case.name for case in cases])


# ---------------------------------------------------------------------------------------------
# Issue 15's cases, verbatim. Before, the evaluator answered the ARN and Version ones wrongly
# and crashed on the values; the carve-out one is the audit's bug, kept here as the evaluator's half.

ISSUE_15 = [
    Request(
        'Allow on "arn:aws:iam::*" covers a user in any account',
        [document(allow("iam:GetUser", "arn:aws:iam::*"))],
        "iam:GetUser",
        ALICE,
        ALLOW,
    ),
    Request(
        'Deny iam:* on "arn:*" applies',
        [ALLOW_ALL, document(deny("iam:*", "arn:*"))],
        "iam:CreateAccessKey",
        ALICE,
        EXPLICIT,
    ),
    Request(
        'Deny iam:* on "arn:*" leaves other services alone',
        [ALLOW_ALL, document(deny("iam:*", "arn:*"))],
        "s3:GetObject",
        "arn:aws:s3:::bucket/key",
        ALLOW,
    ),
    Request(
        'Deny * NotResource "arn:aws:s3:*" next to allow-all: S3 stays allowed',
        [ALLOW_ALL, document({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:*"})],
        "s3:PutObject",
        "arn:aws:s3:::public-drop/report.csv",
        ALLOW,
    ),
    Request(
        'Deny * NotResource "arn:aws:s3:*" next to allow-all: IAM is denied',
        [ALLOW_ALL, document({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:*"})],
        "iam:CreateUser",
        f"arn:aws:iam::{ACCOUNT}:user/mallory",
        EXPLICIT,
    ),
    Request(
        'Deny * NotResource "arn:aws:s3:*" next to allow-all: EC2 is denied',
        [ALLOW_ALL, document({"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:*"})],
        "ec2:RunInstances",
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*",
        EXPLICIT,
    ),
    Request(
        "A NotResource carve-out in the MFA Deny leaves the carved-out bucket open without MFA",
        [
            ALLOW_ALL,
            document(
                {
                    "Effect": "Deny",
                    "Action": "*",
                    "NotResource": "arn:aws:s3:::public-drop/*",
                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                }
            ),
        ],
        "s3:PutObject",
        "arn:aws:s3:::public-drop/x",
        ALLOW,
    ),
    Request(
        "No Version: ${aws:username} is literal text, so alice's own ARN is not covered",
        [document(allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"), version=NO_VERSION)],
        "iam:CreateAccessKey",
        ALICE,
        IMPLICIT,
        {"aws:username": "alice"},
    ),
    Request(
        'Version "2008-10-17": ${aws:username} is literal text too',
        [
            document(
                allow("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"), version="2008-10-17"
            )
        ],
        "iam:CreateAccessKey",
        ALICE,
        IMPLICIT,
        {"aws:username": "alice"},
    ),
]


@named(ISSUE_15)
def test_issue_15(request_):
    check(request_)


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("DateGreaterThan", "99999999999999999"),
        ("DateLessThan", "inf"),
        ("NumericLessThan", "3_600"),
        ("NumericLessThan", " 100 "),
        ("NumericGreaterThan", "inf"),
        ("NumericEquals", "nan"),
    ],
)
def test_issue_15_bad_values_are_bad_input_not_crashes(operator, value):
    # Before: OSError/OverflowError from the dates, and Python's float reading the numbers.
    with pytest.raises(PolicyFormatError, match="is not"):
        PolicySet([document(deny(Condition={operator: {"test:Key": value}}))])
    policies = PolicySet([document(allow(Condition={operator: {"test:Key": "1"}}))])
    assert policies.evaluate("s3:GetObject", "*", {"test:Key": value}) is IMPLICIT


# ---------------------------------------------------------------------------------------------
# Resource and NotResource: ARN patterns [resource]
#
# "You can use wildcard characters (* and ?) within the individual segments of an ARN (the
# parts separated by colons)" ... "If the * wildcard is the last character of a resource ARN
# segment, it can expand to match beyond the colon boundaries."

EC2_INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1"
LOG_STREAM = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:log-stream:web-1"
DEMO = "arn:aws:s3:::amzn-s3-demo-bucket"

# (pattern, resource, does the pattern cover the resource, why)
RESOURCE_PATTERNS = [
    # A * that is the last character of a segment runs on past the colons.
    ("arn:aws:iam::*", ALICE, True, "* ends the account segment"),
    ("arn:*", ALICE, True, "* ends the partition segment: every ARN"),
    ("arn:*", "arn:aws:s3:::bucket", True, "* ends the partition segment: every ARN"),
    ("arn:aws:s3:*", "arn:aws:s3:::bucket/key", True, "* ends the region segment: all of S3"),
    ("arn:aws:s3:*", "arn:aws:s3-object-lambda:us-east-1:1:accesspoint/a", False, "the service is s3, spelled out"),
    ("arn:aws:logs:*", LOG_STREAM, True, "a common pattern in real policies"),
    ("arn:aws:ec2:us-*", EC2_INSTANCE, True, "us-* ends the region segment"),
    ("arn:aws:iam::*:user/*", ALICE, True, "the usual form"),
    ("arn:aws:iam::*:role/*", ALICE, False, "a role is not a user"),
    # Any other * stays within its segment, and ? is one character other than a colon.
    (f"arn:aws:ec2:us-*-1:{ACCOUNT}:instance/i-1", EC2_INSTANCE, True, "us-*-1 is us-east-1"),
    (f"arn:aws:ec2:us-*-2:{ACCOUNT}:instance/i-1", EC2_INSTANCE, False, "us-*-2 is not us-east-1"),
    ("arn:aws:ec2:us-*1", EC2_INSTANCE, False, "the * is not the last character: it cannot reach i-1"),
    ("arn:aws:iam::1*e", ALICE, False, "the * is not the last character: it cannot reach user/alice"),
    ("arn:aws:iam::11112222333?:user/alice", ALICE, True, "? is one character"),
    (f"arn:aws:iam:?{ACCOUNT}:user/alice", ALICE, False, "? is not a colon"),
    (f"arn:aws:iam::{ACCOUNT}", ALICE, False, "no wildcard: an ARN with fewer segments covers nothing"),
    # Decided (AWS is silent): the resource is the sixth component, and its wildcards match any
    # characters, colons too; a * written in the service segment is a wildcard.
    ("arn:aws:logs:*:*:log-group:app*", LOG_STREAM, True, "decided: log-group:app:log-stream:web-1"),
    (f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f?prod", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:prod",
     True, "decided: ? takes a colon in the resource part"),
    ("arn:aws:s3:::b/*/k", "arn:aws:s3:::b/a:b/k", True, "decided: * takes a colon in the resource part"),
    ("arn:aws:*3:::bucket/key", "arn:aws:s3:::bucket/key", True, "decided: a * in the service segment"),
    # AWS's own example: "arn:aws:s3:::amzn-s3-demo-bucket/*/test/*".
    (f"{DEMO}/*/test/*", f"{DEMO}/1/test/object.jpg", True, "AWS's example"),
    (f"{DEMO}/*/test/*", f"{DEMO}/1/2/test/3/object.jpg", True, "AWS's example: * takes slashes"),
    (f"{DEMO}/*/test/*", f"{DEMO}/1///test///object.jpg", True, "AWS's example"),
    (f"{DEMO}/*/test/*", f"{DEMO}//test/object.jpg", True, "AWS's example: * takes nothing"),
    (f"{DEMO}/*/test/*", f"{DEMO}/1/test/", True, "AWS's example"),
    (f"{DEMO}/*/test/*", f"{DEMO}/1-test/object.jpg", False, "AWS's example"),
    (f"{DEMO}/*/test/*", f"{DEMO}/test/object.jpg", False, "AWS's example"),
    (f"{DEMO}/*/test/*", f"{DEMO}/1/2/test.jpg", False, "AWS's example"),
    # Case-sensitive, whole ARN.
    ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/key", False, "case-sensitive"),
    ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", False, "the whole ARN"),
    ("*", ALICE, True, "everything"),
]


@pytest.mark.parametrize(
    ("pattern", "resource", "covered"),
    [case[:3] for case in RESOURCE_PATTERNS],
    ids=[f"{case[0]} {'covers' if case[2] else 'misses'} {case[1]}: {case[3]}" for case in RESOURCE_PATTERNS],
)
def test_resource_patterns(pattern, resource, covered):
    # The same pattern three ways: as an Allow's Resource, a Deny's Resource, a Deny's NotResource.
    action = "service:Action"
    assert evaluate([document(allow(resource=pattern))], action, resource) is (ALLOW if covered else IMPLICIT)
    assert evaluate([ALLOW_ALL, document(deny(resource=pattern))], action, resource) is (
        EXPLICIT if covered else ALLOW
    )
    carve_out = {"Effect": "Deny", "Action": "*", "NotResource": pattern}
    assert evaluate([ALLOW_ALL, document(carve_out)], action, resource) is (ALLOW if covered else EXPLICIT)


# ---------------------------------------------------------------------------------------------
# ARN condition operators [operators]
#
# "ArnEquals, ArnLike: Case-sensitive matching of the ARN. Each of the six colon-delimited
# components of the ARN is checked separately and each can include multi-character match
# wildcards (*) or single-character match wildcards (?). The ArnEquals and ArnLike condition
# operators behave identically." ArnNotEquals and ArnNotLike are their negations.

SOMESERVICE = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"

# (pattern, request value, does ArnLike match, why)
ARN_CONDITIONS = [
    ("arn:aws:someservice:*:111122223333:finance/*", SOMESERVICE, False,
     "AWS's example: the first * matches only us-east-2"),
    ("arn:aws:iam::*:user/*", ALICE, True, "the usual form"),
    ("arn:aws:iam::*:*", "arn:aws:iam::1:role/a", True, "six components, all there"),
    ("arn:???:*:*:*:*", EC2_INSTANCE, True, "wildcards in every component"),
    ("arn:aws:ec2:us-*:*:instance/*", EC2_INSTANCE, True, "us-* within the region"),
    ("arn:aws:ec2:us-*:*:instance/*", f"arn:aws:ec2:us-east-1:{ACCOUNT}:x:instance/i-1", False,
     "unlike Resource, a * that ends a component stays in it"),
    ("arn:aws:logs:*:*:log-group:*", LOG_STREAM, True, "the resource component holds colons"),
    ("arn:aws:iam::*:USER/*", ALICE, False, "case-sensitive"),
    (f"arn:aws:iam::{ACCOUNT}", ALICE, False, "five components, no trailing *: no ARN matches"),
    ("arn:aws:iam::*:user/*", "not-an-arn", False, "a request value that is not an ARN"),
    ("arn:aws:iam::*:user/*", "arn:aws:iam::user/alice", False, "a request value with five components"),
]


@pytest.mark.parametrize(
    ("pattern", "value", "like"),
    [case[:3] for case in ARN_CONDITIONS],
    ids=[f"{case[0]} vs {case[1]}: {case[3]}" for case in ARN_CONDITIONS],
)
@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"])
def test_arn_condition_operators(operator, pattern, value, like):
    matches = like != ("Not" in operator)
    statements = document(allow(Condition={operator: {"aws:SourceArn": pattern}}))
    assert evaluate([statements], "s3:GetObject", "*", {"aws:SourceArn": value}) is (ALLOW if matches else IMPLICIT)


def test_string_like_matches_where_arn_like_does_not():
    # [operators]: "With a StringLike condition, the match succeeds. The first asterisk matches
    # us-east-2:999999999999:store/abc:."
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    context = {"aws:SourceArn": SOMESERVICE}
    for operator, expected in (("StringLike", ALLOW), ("ArnLike", IMPLICIT)):
        statement = allow(Condition={operator: {"aws:SourceArn": pattern}})
        assert evaluate([document(statement)], "s3:X", "*", context) is expected, operator


def test_one_pattern_two_rules_resource_and_arn_like():
    # The same text: a Resource pattern may run on past a colon, an ArnLike value may not.
    pattern, value = "arn:aws:iam::*", ALICE
    assert evaluate([document(allow(resource=pattern))], "iam:GetUser", value) is ALLOW
    with pytest.raises(PolicyFormatError, match="fewer than the six ARN components"):
        PolicySet([document(allow(Condition={"ArnLike": {"aws:PrincipalArn": pattern}}))])


@pytest.mark.parametrize("pattern", ["arn:aws:iam::*", "arn:*", "*", "arn:aws:s3:*"])
@pytest.mark.parametrize("operator", ["ArnLike", "ArnNotEquals", "ForAnyValue:ArnLikeIfExists"])
def test_a_short_arn_condition_pattern_ending_in_a_star_is_refused(operator, pattern):
    # Undocumented: whether such a * covers the missing components. Either answer can make a
    # Deny apply where AWS would not, so the evaluator refuses to guess: the audit then reports
    # the policy as one it cannot evaluate.
    with pytest.raises(PolicyFormatError, match="six ARN components"):
        PolicySet([document(deny(Condition={operator: {"aws:PrincipalArn": pattern}}))])


def test_a_substituted_arn_is_compared_component_by_component():
    statement = allow(Condition={"ArnEquals": {"aws:SourceArn": "${aws:PrincipalArn}"}})
    context = {"aws:PrincipalArn": ALICE}
    assert evaluate([document(statement)], "s3:X", "*", {**context, "aws:SourceArn": ALICE}) is ALLOW
    bob = ALICE.replace("alice", "bob")
    assert evaluate([document(statement)], "s3:X", "*", {**context, "aws:SourceArn": bob}) is IMPLICIT


# ---------------------------------------------------------------------------------------------
# Policy variables need "Version": "2012-10-17" [version], [variables]
#
# "If you don't include the Version element and set it to an appropriate version date,
# variables like ${aws:username} are treated as literal strings in the policy."

HOME = "arn:aws:s3:::bucket/home/${aws:username}/*"
ALICE_NOTES = "arn:aws:s3:::bucket/home/alice/notes.txt"
LITERAL_NOTES = "arn:aws:s3:::bucket/home/${aws:username}/notes.txt"  # an object key with that very text
VERSIONS = ["2012-10-17", "2008-10-17", NO_VERSION]


def _version_id(version: Any) -> str:
    return "no Version" if version is NO_VERSION else version


# (what, statement, action, resource, context, answer under 2012-10-17, answer otherwise)
VARIABLE_CASES = [
    ("Resource: a variable is the user's name", allow("s3:GetObject", HOME), "s3:GetObject", ALICE_NOTES,
     {"aws:username": "alice"}, ALLOW, IMPLICIT),
    ("Resource: without variables the text itself", allow("s3:GetObject", HOME), "s3:GetObject", LITERAL_NOTES,
     {"aws:username": "alice"}, IMPLICIT, ALLOW),
    ("Resource: an absent key is no match, literal text needs none", allow("s3:GetObject", HOME), "s3:GetObject",
     LITERAL_NOTES, {}, IMPLICIT, ALLOW),
    ("NotResource carve-out of the own home", {"Effect": "Deny", "Action": "*", "NotResource": HOME},
     "s3:GetObject", ALICE_NOTES, {"aws:username": "alice"}, ALLOW, EXPLICIT),
    ("StringEquals value", allow(Condition={"StringEquals": {"s3:prefix": "home/${aws:username}"}}), "s3:ListBucket",
     "*", {"aws:username": "alice", "s3:prefix": "home/alice"}, ALLOW, IMPLICIT),
    ("StringEquals value, literal", allow(Condition={"StringEquals": {"s3:prefix": "home/${aws:username}"}}),
     "s3:ListBucket", "*", {"aws:username": "alice", "s3:prefix": "home/${aws:username}"}, IMPLICIT, ALLOW),
    ("${*} is a literal * only as a variable", allow(Condition={"StringLike": {"s3:prefix": "a${*}"}}),
     "s3:ListBucket", "*", {"s3:prefix": "a${xyz}"}, IMPLICIT, ALLOW),
    ("ArnLike value", allow(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::${aws:username}"}}), "s3:X", "*",
     {"aws:username": "alice", "aws:SourceArn": "arn:aws:s3:::alice"}, ALLOW, IMPLICIT),
    ("Bool value", allow(Condition={"Bool": {"aws:SecureTransport": "${aws:ViaAWSService}"}}), "s3:X", "*",
     {"aws:ViaAWSService": "true", "aws:SecureTransport": "true"}, ALLOW, IMPLICIT),
]


@pytest.mark.parametrize("version", VERSIONS, ids=_version_id)
@pytest.mark.parametrize(
    ("statement", "action", "resource", "context", "with_variables", "literal"),
    [case[1:] for case in VARIABLE_CASES],
    ids=[case[0] for case in VARIABLE_CASES],
)
def test_policy_variables_only_under_version_2012_10_17(
    version, statement, action, resource, context, with_variables, literal
):
    policies = [document(statement, version=version)]
    if statement["Effect"] == "Deny":
        policies.append(ALLOW_ALL)
    expected = with_variables if version == "2012-10-17" else literal
    assert evaluate(policies, action, resource, context) is expected


def test_each_document_keeps_its_own_version():
    own_user = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
    old = document(allow("iam:GetUser", own_user), version=NO_VERSION)
    new = document(allow("iam:ListMFADevices", own_user))
    policies = PolicySet([old, new])
    context = {"aws:username": "alice"}
    assert policies.evaluate("iam:GetUser", ALICE, context) is IMPLICIT
    assert policies.evaluate("iam:ListMFADevices", ALICE, context) is ALLOW


def test_numeric_and_date_operators_take_no_policy_variables():
    # [operators]: "You can not use a policy variable with the Numeric [Date] condition operator":
    # the text is no number or date, so the policy cannot be evaluated.
    for operator, key, value in [
        ("NumericLessThan", "aws:MultiFactorAuthAge", "${aws:PrincipalTag/max-age}"),
        ("DateLessThan", "aws:CurrentTime", "${aws:PrincipalTag/expires}"),
    ]:
        with pytest.raises(PolicyFormatError, match="is not"):
            PolicySet([document(allow(Condition={operator: {key: value}}))])


# (operator, key, policy value, context, answer): ${...} is literal text here, which no address or
# binary value matches; substituted, it would match.
LITERAL_IN_OTHER_OPERATORS = [
    ("IpAddress", "aws:SourceIp", "${aws:PrincipalTag/office}", {"aws:PrincipalTag/office": "203.0.113.0/24"},
     IMPLICIT),
    ("NotIpAddress", "aws:SourceIp", "${aws:PrincipalTag/office}", {"aws:PrincipalTag/office": "203.0.113.0/24"},
     ALLOW),
    ("BinaryEquals", "test:Key", "${aws:PrincipalTag/blob}", {"aws:PrincipalTag/blob": "QmluYXJ5"}, IMPLICIT),
]


@pytest.mark.parametrize(
    ("operator", "key", "value", "context", "expected"),
    LITERAL_IN_OTHER_OPERATORS,
    ids=[case[0] for case in LITERAL_IN_OTHER_OPERATORS],
)
def test_ip_and_binary_operators_read_variables_as_text(operator, key, value, context, expected):
    statement = allow(Condition={operator: {key: value}})
    request = {"aws:SourceIp": "203.0.113.7", "test:Key": "QmluYXJ5", **context}
    assert evaluate([document(statement)], "s3:X", "*", request) is expected


@pytest.mark.parametrize(
    ("body", "uses"),
    [
        ({"Version": "2012-10-17", "Statement": []}, True),
        ({"Version": "2008-10-17", "Statement": []}, False),
        ({"Statement": []}, False),
        ("not a document", False),
    ],
)
def test_uses_policy_variables(body, uses):
    assert uses_policy_variables(body) is uses


@pytest.mark.parametrize("version", ["2012-10-18", "2012-10-17 ", "", None, 2012])
def test_a_version_iam_does_not_know_is_refused(version):
    # [version]: "IAM supports the following Version element values: 2012-10-17 ... 2008-10-17".
    body = {"Version": version, "Statement": [allow()]}
    with pytest.raises(PolicyFormatError, match="Version must be 2012-10-17 or 2008-10-17"):
        PolicySet([body])


# ---------------------------------------------------------------------------------------------
# Numeric condition operators [operators]: "comparing a key to an integer or decimal value"

# (operator, policy value, request value, does it match)
NUMERIC = [
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericEquals", "10", "010", True),
    ("NumericEquals", "0", "-0", True),
    ("NumericEquals", "-1.5", "-1.50", True),
    # Exact: as floats these two are the same number.
    ("NumericEquals", "99999999999999999", "100000000000000000", False),
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", "10", False),
    ("NumericLessThan", "10", "9.999", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThan", "0", "-1", True),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericLessThanEquals", "10", "10.001", False),
    ("NumericGreaterThan", "3600", "3601", True),
    ("NumericGreaterThan", "3600", "3600", False),
    ("NumericGreaterThanEquals", "3600", "3600", True),
    ("NumericGreaterThanEquals", "3600", "3599", False),
]

# Not "an integer or decimal value": Python's float reads most of them, AWS's grammar does not.
NOT_NUMBERS = [
    "3_600", " 100 ", "100 ", "inf", "-inf", "nan", "NaN", "1e3", "+5", ".5", "5.", "0x10", "", "ten",
    "\u0661\u0660\u0660",  # 100 in Arabic-Indic digits: Python's float and \\d take them
]


@pytest.mark.parametrize("value", NOT_NUMBERS)
@pytest.mark.parametrize("operator", ["NumericEquals", "NumericNotEquals", "NumericLessThanIfExists"])
def test_a_policy_number_that_is_not_one_is_refused(operator, value):
    with pytest.raises(PolicyFormatError, match="is not an integer or decimal number"):
        PolicySet([document(deny(Condition={operator: {"aws:MultiFactorAuthAge": value}}))])


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_a_request_number_that_is_not_one_does_not_match(value):
    # It does not match, so a negated operator matches, exactly as for an absent key [operators].
    context = {"test:Key": value}
    for operator, expected in [
        ("NumericEquals", IMPLICIT),
        ("NumericLessThan", IMPLICIT),
        ("NumericLessThanEqualsIfExists", IMPLICIT),  # the key is there: IfExists does not help
        ("NumericGreaterThanEquals", IMPLICIT),
        ("NumericNotEquals", ALLOW),
        ("ForAnyValue:NumericEquals", IMPLICIT),
        ("ForAllValues:NumericNotEquals", ALLOW),
    ]:
        statement = allow(Condition={operator: {"test:Key": "100"}})
        assert evaluate([document(statement)], "s3:X", "*", context) is expected, operator


def test_a_deny_with_a_negated_numeric_operator_applies_to_a_value_that_is_no_number():
    # "Deny unless the level is 3": a request whose level is no number is denied.
    statements = [ALLOW_ALL, document(deny(Condition={"NumericNotEquals": {"test:Level": "3"}}))]
    assert evaluate(statements, "s3:X", "*", {"test:Level": "three"}) is EXPLICIT
    assert evaluate(statements, "s3:X", "*", {"test:Level": "3.0"}) is ALLOW


# ---------------------------------------------------------------------------------------------
# Date condition operators [operators]: "You must specify date/time values with one of the W3C
# implementations of the ISO 8601 date formats or in epoch (UNIX) time."

NEW_YEAR = "2026-01-01T00:00:00Z"  # = 1767225600 seconds since 1970

# Each of these is the same moment as NEW_YEAR.
SAME_MOMENT = [
    "2026-01-01T00:00:00Z",
    "2026-01",  # YYYY-MM
    "2026-01-01",  # YYYY-MM-DD
    "2026-01-01T00:00Z",  # YYYY-MM-DDThh:mmTZD
    "2026-01-01T00:00:00.000Z",  # YYYY-MM-DDThh:mm:ss.sTZD
    "2026-01-01T01:00:00+01:00",
    "2025-12-31T19:00:00-05:00",
    "1767225600",  # epoch seconds
]

# (operator, policy value, request value, does it match)
DATES = [
    ("DateEquals", NEW_YEAR, "2026-01-01T00:00:00Z", True),
    ("DateEquals", NEW_YEAR, "2026-01-01T00:00:00.5Z", False),
    ("DateNotEquals", NEW_YEAR, "2026-01-02", True),
    ("DateLessThan", NEW_YEAR, "2025-12-31T23:59:59Z", True),
    ("DateLessThan", NEW_YEAR, "1767225600", False),
    ("DateLessThanEquals", NEW_YEAR, "1767225600", True),
    ("DateGreaterThan", NEW_YEAR, "1767225601", True),
    ("DateGreaterThan", NEW_YEAR, "2026-01-01T00:00:00.001Z", True),
    ("DateGreaterThanEquals", "2026-01-02", "2026-01-01", False),
    # All digits is epoch seconds: W3C's year-only form cannot be told from it (docstring).
    ("DateEquals", "2026", "1970-01-01T00:33:46Z", True),
    # The last second the W3C form can write, in epoch seconds.
    ("DateEquals", "253402300799", "9999-12-31T23:59:59Z", True),
]

NOT_DATES = [
    "99999999999999999",  # after 9999-12-31T23:59:59Z
    "253402300800",
    "inf",
    "nan",
    "-1",
    "1767225600.5",
    "2026-01-01T00:00:00",  # a time without its zone
    "2026-01-01T00:00",
    "2026-13-01",
    "2026-02-30",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01 00:00:00Z",
    "20260101T000000Z",
    "2026-01-01t00:00:00z",
    " 2026-01-01",
    "2026-W01-1",
    "",
]


@pytest.mark.parametrize("value", SAME_MOMENT)
def test_date_formats_aws_accepts(value):
    for policy_value, actual in ((value, NEW_YEAR), (NEW_YEAR, value)):
        statement = allow(Condition={"DateEquals": {"aws:CurrentTime": policy_value}})
        assert evaluate([document(statement)], "s3:X", "*", {"aws:CurrentTime": actual}) is ALLOW


@pytest.mark.parametrize(
    ("operator", "policy_value", "actual", "matches"),
    NUMERIC + DATES,
    ids=[f"{c[0]} {c[1]} vs {c[2]}" for c in NUMERIC + DATES],
)
def test_numeric_and_date_operators(operator, policy_value, actual, matches):
    statement = allow(Condition={operator: {"test:Key": policy_value}})
    assert evaluate([document(statement)], "s3:X", "*", {"test:Key": actual}) is (ALLOW if matches else IMPLICIT)


@pytest.mark.parametrize("value", NOT_DATES)
def test_a_policy_date_that_is_not_one_is_refused(value):
    with pytest.raises(PolicyFormatError, match="is not a W3C ISO 8601 date"):
        PolicySet([document(deny(Condition={"DateGreaterThan": {"aws:CurrentTime": value}}))])


@pytest.mark.parametrize("value", NOT_DATES)
def test_a_request_date_that_is_not_one_does_not_match(value):
    context = {"aws:CurrentTime": value}
    for operator, expected in (("DateLessThan", IMPLICIT), ("DateGreaterThan", IMPLICIT), ("DateNotEquals", ALLOW)):
        statement = allow(Condition={operator: {"aws:CurrentTime": NEW_YEAR}})
        assert evaluate([document(statement)], "s3:X", "*", context) is expected, operator


# ---------------------------------------------------------------------------------------------
# Whatever the values, evaluate answers or raises PolicyFormatError: never another exception.

ODD_VALUES = [
    "", " ", "*", "?", "${", "${}", "${aws:username", "}", ":", "::::::", "arn:", "arn:aws:iam::*:*",
    "inf", "-inf", "nan", "1e309", "9" * 400, "9" * 5000, "0" * 5000 + "1", "-0", "0x1p3",
    "2026-02-29", "2026-01-01T00:00:00Z",
    "203.0.113.0/33", "::1/129", "QmluYXJ5", "====", "true", "\x00", "\u0661", "\U0001f600",
]
OPERATORS = [
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateGreaterThan",
    "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
    "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
]


@pytest.mark.parametrize("operator", OPERATORS)
def test_odd_values_never_crash(operator):
    for policy_value in ODD_VALUES:
        try:
            policies = PolicySet([document(allow("s3:*", f"arn:aws:s3:::{policy_value}",
                                                 Condition={operator: {"test:Key": policy_value}}))])
        except PolicyFormatError:
            continue
        for actual in ODD_VALUES:
            decision = policies.evaluate("s3:GetObject", f"arn:aws:s3:::{actual}", {"test:Key": actual})
            assert decision in (ALLOW, IMPLICIT), (operator, policy_value, actual)
