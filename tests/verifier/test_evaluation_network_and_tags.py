"""The evaluator on ``aws:PrincipalTag/*`` and ``aws:SourceIp``, pinned to AWS's documented semantics.

Each case reads like a specification: a request (its context), the policies, the expected answer.
The rules they pin, from the IAM User Guide:

* "IAM JSON policy elements: Condition operators": when the key is absent from the request, a
  condition is false, except for negated operators (``StringNotEquals``, ``NotIpAddress``, ...),
  which are true, and for ``...IfExists`` (true when absent) and ``Null`` (tests presence).
  ``StringEquals`` is case-sensitive; condition key names are not.
* IP address operators: a value is a CIDR (``203.0.113.0/24``, ``2001:db8::/32``), IPv4 or IPv6; an
  address without a prefix is one host (``/32``, ``/128``). An address of one version never
  matches a network of the other.
* Several values for one key: the condition holds if the request matches any of them; a negated
  operator holds if it matches none of them.
* "AWS global condition context keys": ``aws:SourceIp`` is absent when the request comes through a
  VPC endpoint; ``aws:PrincipalTag/<key>`` is present when the IAM user carries that tag.
"""

from __future__ import annotations

import pytest

from mfa_policy.verifier.evaluation import Decision, evaluate

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
ACTION, RESOURCE = "iam:EnableMFADevice", "arn:aws:iam::111122223333:user/alice"
TAG = "aws:PrincipalTag/mfa-enrollment"


def deny_if(operator: str, key: str, values) -> dict:
    """A policy that allows everything but denies the request when ``operator`` holds."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            ALLOW_ALL,
            {"Effect": "Deny", "Action": ACTION, "Resource": "*", "Condition": {operator: {key: values}}},
        ],
    }


def allow_if(operator: str, key: str, values) -> dict:
    """A policy that allows the request only when ``operator`` holds."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ACTION, "Resource": "*", "Condition": {operator: {key: values}}}],
    }


DENIED, ALLOWED, NOT_ALLOWED = Decision.EXPLICIT_DENY, Decision.ALLOW, Decision.IMPLICIT_DENY

# (what it shows, request context, policy, expected)
TAG_CASES = [
    (
        "the tag with the value: StringNotEquals is false",
        {TAG: "allowed"},
        deny_if("StringNotEquals", TAG, "allowed"),
        ALLOWED,
    ),
    ("another value: StringNotEquals is true", {TAG: "revoked"}, deny_if("StringNotEquals", TAG, "allowed"), DENIED),
    ("values are case-sensitive", {TAG: "Allowed"}, deny_if("StringNotEquals", TAG, "allowed"), DENIED),
    ("no such tag: a negated operator is true", {}, deny_if("StringNotEquals", TAG, "allowed"), DENIED),
    ("no such tag, IfExists: true as well", {}, deny_if("StringNotEqualsIfExists", TAG, "allowed"), DENIED),
    ("an empty value is a value", {TAG: ""}, deny_if("StringNotEquals", TAG, ""), ALLOWED),
    ("an empty value is not the absent tag", {}, deny_if("StringNotEquals", TAG, ""), DENIED),
    ("any listed value will do", {TAG: "yes"}, deny_if("StringNotEquals", TAG, ["allowed", "yes"]), ALLOWED),
    (
        "the key name is not case-sensitive",
        {"aws:principaltag/MFA-Enrollment": "allowed"},
        deny_if("StringNotEquals", "aws:PrincipalTag/mfa-enrollment", "allowed"),
        ALLOWED,
    ),
    (
        "another tag does not count",
        {"aws:PrincipalTag/team": "allowed"},
        deny_if("StringNotEquals", TAG, "allowed"),
        DENIED,
    ),
    ("StringEquals: the tag absent is false", {}, allow_if("StringEquals", TAG, "allowed"), NOT_ALLOWED),
    ("StringEquals: the value", {TAG: "allowed"}, allow_if("StringEquals", TAG, "allowed"), ALLOWED),
    ("StringEqualsIfExists: absent is true", {}, allow_if("StringEqualsIfExists", TAG, "allowed"), ALLOWED),
    (
        "StringEqualsIfExists: present is compared",
        {TAG: "no"},
        allow_if("StringEqualsIfExists", TAG, "allowed"),
        NOT_ALLOWED,
    ),
    ("Null true: the tag is absent", {}, deny_if("Null", TAG, "true"), DENIED),
    ("Null true: the tag is present", {TAG: "x"}, deny_if("Null", TAG, "true"), ALLOWED),
    ("Null false: the tag is present", {TAG: "x"}, deny_if("Null", TAG, "false"), DENIED),
    ("StringNotEqualsIgnoreCase", {TAG: "ALLOWED"}, deny_if("StringNotEqualsIgnoreCase", TAG, "allowed"), ALLOWED),
]

IP = "aws:SourceIp"
OFFICE = ["203.0.113.0/24", "2001:db8:1::/48"]
IP_CASES = [
    ("inside an IPv4 network", {IP: "203.0.113.7"}, deny_if("NotIpAddress", IP, OFFICE), ALLOWED),
    ("outside every network", {IP: "198.51.100.7"}, deny_if("NotIpAddress", IP, OFFICE), DENIED),
    ("inside an IPv6 network", {IP: "2001:db8:1:42::9"}, deny_if("NotIpAddress", IP, OFFICE), ALLOWED),
    ("outside, IPv6", {IP: "2001:db8:2::1"}, deny_if("NotIpAddress", IP, OFFICE), DENIED),
    ("IPv6 is compared case-insensitively", {IP: "2001:DB8:1::A"}, deny_if("NotIpAddress", IP, OFFICE), ALLOWED),
    ("no source IP (VPC endpoint): NotIpAddress is true", {}, deny_if("NotIpAddress", IP, OFFICE), DENIED),
    ("no source IP, NotIpAddressIfExists: true", {}, deny_if("NotIpAddressIfExists", IP, OFFICE), DENIED),
    ("no source IP: IpAddress is false", {}, allow_if("IpAddress", IP, OFFICE), NOT_ALLOWED),
    ("no source IP: IpAddressIfExists is true", {}, allow_if("IpAddressIfExists", IP, OFFICE), ALLOWED),
    ("IpAddress inside", {IP: "203.0.113.200"}, allow_if("IpAddress", IP, OFFICE), ALLOWED),
    ("IpAddress outside", {IP: "203.0.114.1"}, allow_if("IpAddress", IP, OFFICE), NOT_ALLOWED),
    (
        "the network's first and last address",
        {IP: "203.0.113.255"},
        allow_if("IpAddress", IP, "203.0.113.0/24"),
        ALLOWED,
    ),
    (
        "an IPv4 address never matches an IPv6 network",
        {IP: "203.0.113.7"},
        allow_if("IpAddress", IP, "::/0"),
        NOT_ALLOWED,
    ),
    (
        "an IPv6 address never matches an IPv4 network",
        {IP: "2001:db8::1"},
        allow_if("IpAddress", IP, "0.0.0.0/0"),
        NOT_ALLOWED,
    ),
    (
        "... so NotIpAddress on IPv4 only is true for IPv6",
        {IP: "2001:db8::1"},
        deny_if("NotIpAddress", IP, "0.0.0.0/0"),
        DENIED,
    ),
    ("an address alone is one host", {IP: "203.0.113.7"}, allow_if("IpAddress", IP, "203.0.113.7"), ALLOWED),
    ("... and only that host", {IP: "203.0.113.8"}, allow_if("IpAddress", IP, "203.0.113.7"), NOT_ALLOWED),
    ("/32 is one host", {IP: "203.0.113.7"}, allow_if("IpAddress", IP, "203.0.113.7/32"), ALLOWED),
    ("/128 is one host", {IP: "2001:db8::7"}, allow_if("IpAddress", IP, "2001:db8::7/128"), ALLOWED),
    ("Null true: no source IP", {}, deny_if("Null", IP, "true"), DENIED),
    ("Null true: a source IP", {IP: "203.0.113.7"}, deny_if("Null", IP, "true"), ALLOWED),
]


def _ids(cases):
    return [case[0] for case in cases]


@pytest.mark.parametrize(("shows", "context", "policy", "expected"), TAG_CASES, ids=_ids(TAG_CASES))
def test_principal_tags(shows, context, policy, expected):
    assert evaluate([policy], ACTION, RESOURCE, context) is expected


@pytest.mark.parametrize(("shows", "context", "policy", "expected"), IP_CASES, ids=_ids(IP_CASES))
def test_source_ips(shows, context, policy, expected):
    assert evaluate([policy], ACTION, RESOURCE, context) is expected


def gates(*conditions: dict) -> dict:
    """Allow-all, and one Deny per gate: each gate that fails denies (the gates must all hold)."""
    return {
        "Version": "2012-10-17",
        "Statement": [ALLOW_ALL]
        + [{"Effect": "Deny", "Action": ACTION, "Resource": "*", "Condition": condition} for condition in conditions],
    }


WITHOUT_MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
BOTH = gates(
    {**WITHOUT_MFA, "StringNotEquals": {TAG: "allowed"}},
    {**WITHOUT_MFA, "NotIpAddress": {IP: OFFICE}},
)
TICKET = {TAG: "allowed", IP: "203.0.113.7"}
GATE_CASES = [
    ("keys, the tag, inside: both gates hold", TICKET, ALLOWED),
    ("keys, the tag, outside", {**TICKET, IP: "192.0.2.1"}, DENIED),
    ("keys, the tag, through a VPC endpoint", {TAG: "allowed"}, DENIED),
    ("keys, no tag, inside", {IP: "203.0.113.7"}, DENIED),
    ("console without MFA, the ticket", {**TICKET, "aws:MultiFactorAuthPresent": "false"}, ALLOWED),
    ("console without MFA, no tag", {IP: "2001:db8:1::1", "aws:MultiFactorAuthPresent": "false"}, DENIED),
    (
        "with MFA, no tag, outside: the gates do not apply",
        {IP: "192.0.2.1", "aws:MultiFactorAuthPresent": "true"},
        ALLOWED,
    ),
    ("with MFA, no source IP", {"aws:MultiFactorAuthPresent": "true"}, ALLOWED),
]


@pytest.mark.parametrize(("shows", "context", "expected"), GATE_CASES, ids=_ids(GATE_CASES))
def test_two_gates_each_must_hold_without_mfa(shows, context, expected):
    # A Deny's conditions all hold or it does not apply: one Deny per gate makes "either fails" deny.
    assert evaluate([BOTH], ACTION, RESOURCE, context) is expected


def test_one_deny_with_both_conditions_would_only_deny_when_both_fail():
    # Why the builder writes one Deny per gate: within one statement the conditions are ANDed.
    single = gates({**WITHOUT_MFA, "StringNotEquals": {TAG: "allowed"}, "NotIpAddress": {IP: OFFICE}})
    assert evaluate([single], ACTION, RESOURCE, {IP: "192.0.2.1", TAG: "allowed"}) is ALLOWED
    assert evaluate([single], ACTION, RESOURCE, {IP: "192.0.2.1"}) is DENIED
