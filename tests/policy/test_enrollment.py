"""The enrollment option in the builder and the SCP: the gates, their input rules, their size.

The catalog-wide proof (G1-G11 for option combinations with the gates) is in
tests/verifier/test_enrollment_guarantees.py; these are the cases a reader checks by eye.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from mfa_policy import build_policy_document
from mfa_policy.policy.document import MAX_POLICY_CHARACTERS, check_document_options
from mfa_policy.policy.enrollment import (
    DEFAULT_TAG_KEY,
    DEFAULT_TAG_VALUE,
    MAX_SOURCE_IPS,
    check_enrollment,
    check_source_ips,
    check_tag_key,
    check_tag_value,
    enrollment_gates,
)
from mfa_policy.policy.scp import MAX_SCP_CHARACTERS, build_scp_document, scp_json
from mfa_policy.policy.stackset_template import build_stackset_template, resolve_policy_document
from mfa_policy.policy.validation import CERTIFICATION_LEVELS, MAX_MFA_AGE_SECONDS, InvalidInputError
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision, evaluate
from mfa_policy.verifier.guarantees import ALLOW_ALL
from mfa_policy.verifier.lint import MAX_POLICY_CHARACTERS as LINT_MAX_POLICY_CHARACTERS
from mfa_policy.verifier.lint import lint

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEVICE = f"arn:aws:iam::{ACCOUNT}:mfa/My Phone"
TAG = {"require_tag": {}}
NETWORKS = {"source_ips": ["203.0.113.0/24", "2001:db8::/32"]}
BOTH = {**TAG, **NETWORKS}
TICKET = {"aws:PrincipalTag/mfa-enrollment": "allowed", "aws:SourceIp": "203.0.113.10"}
KEYS = {"aws:username": "alice"}
CONSOLE = {**KEYS, "aws:MultiFactorAuthPresent": "false"}
MFA = {**KEYS, "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60"}


def sids(document):
    return [statement["Sid"] for statement in document["Statement"]]


def statement(document, sid):
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def beside_admin(document, action, resource, context):
    return evaluate([document, ALLOW_ALL], action, resource, context)


# The statements ------------------------------------------------------------------------------


def test_one_deny_per_gate_after_everything_else():
    document = build_policy_document(ACCOUNT, enrollment=BOTH)
    assert sids(document)[-2:] == [
        "DenyMfaEnrollmentWithoutTagWithoutMfa",
        "DenyMfaEnrollmentOutsideNetworksWithoutMfa",
    ]
    assert sids(document)[:-2] == sids(build_policy_document(ACCOUNT))
    tag = statement(document, "DenyMfaEnrollmentWithoutTagWithoutMfa")
    assert tag == {
        "Sid": "DenyMfaEnrollmentWithoutTagWithoutMfa",
        "Effect": "Deny",
        "Action": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"],
        "Resource": "*",
        "Condition": {
            "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
            "StringNotEquals": {"aws:PrincipalTag/mfa-enrollment": "allowed"},
        },
    }
    networks = statement(document, "DenyMfaEnrollmentOutsideNetworksWithoutMfa")
    assert networks["Condition"]["NotIpAddress"] == {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}


@pytest.mark.parametrize(
    ("enrollment", "expected"),
    [
        (TAG, ["DenyMfaEnrollmentWithoutTagWithoutMfa"]),
        (NETWORKS, ["DenyMfaEnrollmentOutsideNetworksWithoutMfa"]),
    ],
    ids=["tag", "networks"],
)
def test_only_the_gates_configured(enrollment, expected):
    assert [sid for sid in sids(build_policy_document(ACCOUNT, enrollment=enrollment)) if "Enrollment" in sid] == [
        *expected
    ]


def test_a_max_age_gates_an_old_mfa_session_too():
    document = build_policy_document(ACCOUNT, enrollment=BOTH, max_mfa_age_seconds=900)
    assert sids(document)[-4:] == [
        "DenyMfaEnrollmentWithoutTagWithoutMfa",
        "DenyMfaEnrollmentOutsideNetworksWithoutMfa",
        "DenyMfaEnrollmentWithoutTagWhenMfaIsOlderThanMaxAge",
        "DenyMfaEnrollmentOutsideNetworksWhenMfaIsOlderThanMaxAge",
    ]
    old = {**MFA, "aws:MultiFactorAuthAge": "901", "aws:SourceIp": "203.0.113.10"}
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, old) is Decision.EXPLICIT_DENY
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, {**old, **TICKET}) is Decision.ALLOW


def test_the_first_sign_in_password_change_is_gated_and_resync_is_not():
    document = build_policy_document(ACCOUNT, enrollment=TAG, allow_password_change_without_mfa=True)
    gate = statement(document, "DenyMfaEnrollmentWithoutTagWithoutMfa")
    assert gate["Action"] == ["iam:ChangePassword", "iam:CreateVirtualMFADevice", "iam:EnableMFADevice"]
    assert beside_admin(document, "iam:ChangePassword", ALICE, CONSOLE) is Decision.EXPLICIT_DENY
    assert beside_admin(document, "iam:ChangePassword", ALICE, {**CONSOLE, **TICKET}) is Decision.ALLOW
    # ResyncMFADevice needs two codes of a device already enabled on the user: it enrolls nothing.
    assert evaluate([document], "iam:ResyncMFADevice", ALICE, CONSOLE) is Decision.ALLOW


def test_security_keys_gate_enabling_only():
    document = build_policy_document(ACCOUNT, enrollment=TAG, mfa_devices="security_keys")
    assert statement(document, "DenyMfaEnrollmentWithoutTagWithoutMfa")["Action"] == ["iam:EnableMFADevice"]
    request = {**CONSOLE, "iam:RegisterSecurityKey": "Create"}
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, request) is Decision.EXPLICIT_DENY
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, {**request, **TICKET}) is Decision.ALLOW


@pytest.mark.parametrize("base", [KEYS, CONSOLE], ids=["keys", "console"])
@pytest.mark.parametrize(
    ("request_keys", "enrolls"),
    [
        (TICKET, True),
        ({**TICKET, "aws:SourceIp": "2001:db8:42::1"}, True),
        ({**TICKET, "aws:SourceIp": "198.51.100.1"}, False),
        ({**TICKET, "aws:SourceIp": "2001:db9::1"}, False),
        ({"aws:PrincipalTag/mfa-enrollment": "allowed"}, False),  # no source IP: a VPC endpoint
        ({"aws:SourceIp": "203.0.113.10"}, False),  # no tag
        ({**TICKET, "aws:PrincipalTag/mfa-enrollment": "Allowed"}, False),  # values are case-sensitive
    ],
    ids=["ticket", "ticket-ipv6", "outside", "outside-ipv6", "no-source-ip", "no-tag", "other-value"],
)
def test_without_mfa_enrollment_needs_the_tag_and_the_network(base, request_keys, enrolls):
    document = build_policy_document(ACCOUNT, enrollment=BOTH)
    context = {**base, **request_keys}
    expected = Decision.ALLOW if enrolls else Decision.EXPLICIT_DENY
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, context) is expected
    assert beside_admin(document, "iam:CreateVirtualMFADevice", DEVICE, context) is expected
    # The read-only bootstrap actions stay open: the console's enrollment page reads them.
    for action in ("iam:GetUser", "iam:ListMFADevices", "iam:GetMFADevice"):
        assert evaluate([document], action, ALICE, context) is Decision.ALLOW
    assert evaluate([document], "iam:ListVirtualMFADevices", "*", context) is Decision.ALLOW


def test_with_mfa_nothing_changes():
    document = build_policy_document(ACCOUNT, enrollment=BOTH)
    assert beside_admin(document, "iam:EnableMFADevice", ALICE, MFA) is Decision.ALLOW  # no tag, no source IP
    assert beside_admin(document, "iam:CreateVirtualMFADevice", DEVICE, {**MFA, "aws:SourceIp": "192.0.2.1"}) is (
        Decision.ALLOW
    )


def test_tagging_oneself_without_mfa_stays_denied():
    # The ticket is safe because only someone with MFA can set it: iam:TagUser is no bootstrap action.
    document = build_policy_document(ACCOUNT, enrollment=TAG)
    assert beside_admin(document, "iam:TagUser", ALICE, {**CONSOLE, **TICKET}) is Decision.EXPLICIT_DENY


def test_the_scp_carries_the_same_gates_for_iam_users():
    scp = build_scp_document(enrollment=BOTH, max_mfa_age_seconds=900)
    identity = build_policy_document(ACCOUNT, enrollment=BOTH, max_mfa_age_seconds=900)
    gates = [s for s in identity["Statement"] if "Enrollment" in s["Sid"] and s["Effect"] == "Deny"]
    ours = [s for s in scp["Statement"] if "Enrollment" in s["Sid"]]
    assert [s["Sid"] for s in ours] == [s["Sid"] for s in gates] and len(ours) == 4
    for mine, theirs in zip(ours, gates, strict=True):
        assert mine["Condition"] == {**theirs["Condition"], "StringEquals": {"aws:PrincipalType": "User"}}
    user = {**CONSOLE, "aws:PrincipalType": "User"}
    layer = [scp, ALLOW_ALL]
    assert evaluate(layer, "iam:EnableMFADevice", ALICE, user) is Decision.EXPLICIT_DENY
    assert evaluate(layer, "iam:EnableMFADevice", ALICE, {**user, **TICKET}) is Decision.ALLOW
    role = {"aws:PrincipalType": "AssumedRole", "aws:MultiFactorAuthPresent": "false"}
    assert evaluate(layer, "iam:EnableMFADevice", ALICE, role) is Decision.ALLOW


def test_the_stackset_template_deploys_the_builders_document_with_the_gates():
    template = json.loads(json.dumps(build_stackset_template(["admins"], enrollment=BOTH)))
    for account, partition in (("444455556666", "aws"), ("123456789012", "aws-us-gov")):
        resolved = resolve_policy_document(template, account, partition)
        assert json.dumps(resolved) == json.dumps(build_policy_document(account, partition, enrollment=BOTH))


def test_the_lint_knows_the_keys():
    # aws:PrincipalTag/<key> and aws:SourceIp are global condition keys.
    catalog = load_catalog()
    options = {"enrollment": BOTH, "max_mfa_age_seconds": 900, "allow_password_change_without_mfa": True}
    assert lint(build_policy_document(ACCOUNT, **options), catalog, partition="aws", account_id=ACCOUNT) == []
    assert lint(build_scp_document(**options), catalog, partition="aws", max_characters=MAX_SCP_CHARACTERS) == []


# Defaults, canonical form, determinism --------------------------------------------------------


def test_defaults_and_canonical_form():
    assert (DEFAULT_TAG_KEY, DEFAULT_TAG_VALUE) == ("mfa-enrollment", "allowed")
    assert check_enrollment({"require_tag": {}}) == {"require_tag": {"key": "mfa-enrollment", "value": "allowed"}}
    assert check_enrollment({"require_tag": {"key": "onboarding"}}) == {
        "require_tag": {"key": "onboarding", "value": "allowed"}
    }
    # Networks sorted, IPv4 first; IPv6 in its short lower-case form; an address alone is one host.
    assert check_enrollment({"source_ips": ["2001:DB8::/32", "203.0.113.9", "198.51.100.0/24"]}) == {
        "source_ips": ["198.51.100.0/24", "203.0.113.9/32", "2001:db8::/32"]
    }
    assert check_enrollment({"require_tag": None, "source_ips": ["192.0.2.0/24"]}) == {"source_ips": ["192.0.2.0/24"]}
    assert enrollment_gates({"requireTag": {}}, camel_case=True).tag == ("mfa-enrollment", "allowed")


def test_the_same_gates_in_any_order_give_the_same_bytes():
    first = build_policy_document(ACCOUNT, enrollment={"source_ips": ["2001:db8::/32", "203.0.113.0/24"], **TAG})
    second = build_policy_document(
        ACCOUNT, enrollment={"require_tag": {"key": "mfa-enrollment", "value": "allowed"}, **NETWORKS}
    )
    assert json.dumps(first) == json.dumps(second)


def test_the_document_options_check_the_gates():
    assert check_document_options({})["enrollment"] is None
    assert check_document_options({"enrollment": {"source_ips": ["2001:DB8::/32"]}})["enrollment"] == {
        "source_ips": ["2001:db8::/32"]
    }


# Input rules ---------------------------------------------------------------------------------


BAD = [
    ({}, "enrollment", "at least one"),
    ({"require_tag": None, "source_ips": None}, "enrollment", "at least one"),
    ("mfa-enrollment", "enrollment", "an object"),
    # Python spells it require_tag: the unknown field is named, with a suggestion.
    ({"requireTag": {}}, "enrollment.requireTag", "a field of enrollment (did you mean require_tag?)"),
    ({"require_tag": "mfa-enrollment"}, "enrollment.require_tag", "{key, value}"),
    ({"require_tag": {"name": "x"}}, "enrollment.require_tag.name", "a field of enrollment.require_tag: key, value"),
    ({"require_tag": {"Key": "x"}}, "enrollment.require_tag.Key", "(did you mean key?)"),
    ({"require_tag": {"key": "aws:enroll"}}, "enrollment.require_tag.key", "not starting with 'aws:'"),
    ({"require_tag": {"key": "AWS:enroll"}}, "enrollment.require_tag.key", "not starting with 'aws:'"),
    ({"require_tag": {"key": ""}}, "enrollment.require_tag.key", "1-128"),
    ({"require_tag": {"key": "k" * 129}}, "enrollment.require_tag.key", "1-128"),
    ({"require_tag": {"key": "a$b"}}, "enrollment.require_tag.key", "letters, digits"),
    ({"require_tag": {"key": "a{b}"}}, "enrollment.require_tag.key", "letters, digits"),
    ({"require_tag": {"key": 7}}, "enrollment.require_tag.key", "an IAM tag key"),
    ({"require_tag": {"value": "v" * 257}}, "enrollment.require_tag.value", "0-256"),
    ({"require_tag": {"value": "${aws:username}"}}, "enrollment.require_tag.value", "letters, digits"),
    ({"require_tag": {"value": True}}, "enrollment.require_tag.value", "an IAM tag value"),
    ({"source_ips": []}, "enrollment.source_ips", "non-empty list"),
    ({"source_ips": "203.0.113.0/24"}, "enrollment.source_ips", "list"),
    ({"source_ips": ["203.0.113.7/24"]}, "enrollment.source_ips", "its network is '203.0.113.0/24'"),
    ({"source_ips": ["2001:db8::1/32"]}, "enrollment.source_ips", "its network is '2001:db8::/32'"),
    ({"source_ips": ["203.0.113.0/33"]}, "enrollment.source_ips", "is not a network"),
    ({"source_ips": ["office"]}, "enrollment.source_ips", "is not a network"),
    ({"source_ips": [3232235520]}, "enrollment.source_ips", "CIDR notation"),
    ({"source_ips": ["203.0.113.0/24", "203.0.113.0/24"]}, "enrollment.source_ips", "appears more than once"),
    ({"source_ips": ["203.0.113.9", "203.0.113.9/32"]}, "enrollment.source_ips", "203.0.113.9/32 appears more"),
    ({"source_ips": ["2001:db8::/32", "2001:DB8::/32"]}, "enrollment.source_ips", "2001:db8::/32 appears more"),
    (
        {"source_ips": [f"10.0.{i}.0/24" for i in range(MAX_SOURCE_IPS + 1)]},
        "enrollment.source_ips",
        f"at most {MAX_SOURCE_IPS}",
    ),
]


@pytest.mark.parametrize(("value", "key", "allowed"), BAD, ids=[f"{k}-{i}" for i, (_, k, _) in enumerate(BAD)])
def test_bad_gates_name_the_field_the_value_and_the_rule(value, key, allowed):
    with pytest.raises(InvalidInputError) as raised:
        build_policy_document(ACCOUNT, enrollment=value)
    message = str(raised.value)
    assert raised.value.key == key
    assert message.startswith(f"{key}: got ") and "; expected " in message
    assert allowed in message
    assert "\n" not in message and not message.endswith("?.")


def test_the_scp_refuses_the_same_values():
    with pytest.raises(InvalidInputError, match=r"^enrollment\.source_ips: got \['x'\]"):
        build_scp_document(enrollment={"source_ips": ["x"]})


def test_valid_keys_values_and_networks():
    assert check_tag_key("Onboarding ticket_2026 :/=+-@", "k") == "Onboarding ticket_2026 :/=+-@"
    assert check_tag_key("Einschreibung-ä", "k") == "Einschreibung-ä"  # IAM allows letters of any script
    assert check_tag_key("k" * 128, "k") == "k" * 128
    assert check_tag_value("", "v") == ""
    assert check_tag_value("v" * 256, "v") == "v" * 256
    assert check_source_ips(["0.0.0.0/0", "::/0"], "s") == ("0.0.0.0/0", "::/0")


# Size --------------------------------------------------------------------------------------------


EVERY_OPTION = {
    "allow_password_change_without_mfa": True,
    "allow_list_users": True,
    "max_mfa_age_seconds": 43200,
    "mfa_devices": "security_keys",
    "security_key_certification": {name: list(levels) for name, levels in CERTIFICATION_LEVELS.items()},
}
# The longest form of an IPv6 network and of an IPv4 one, for the capacity figures.
LONGEST_IPV6 = [f"2001:db8:{i:x}:ffff:ffff:ffff:ffff:ff00/120" for i in range(MAX_SOURCE_IPS)]


def minified(document) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def test_the_builder_and_the_lint_use_the_same_quota():
    assert MAX_POLICY_CHARACTERS == LINT_MAX_POLICY_CHARACTERS == 6144


def test_every_option_on_fits_both_quotas():
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        for devices in ({}, {"mfa_devices": "security_keys"}, EVERY_OPTION):
            options = {**EVERY_OPTION, **devices, "enrollment": BOTH}
            if "mfa_devices" not in devices:
                options = {k: v for k, v in options.items() if k not in ("mfa_devices", "security_key_certification")}
            assert minified(build_policy_document(ACCOUNT, partition, **options)) <= MAX_POLICY_CHARACTERS
            assert len(scp_json(build_scp_document(partition, **options))) <= MAX_SCP_CHARACTERS


def test_the_largest_gates_fit_or_are_refused_before_anything_is_built():
    # Every option on, the longest tag, and as many of the longest networks as fit: within quota.
    gates = {"require_tag": {"key": "k" * 128, "value": "v" * 256}, "source_ips": LONGEST_IPV6[:1]}
    options = {**EVERY_OPTION, "max_mfa_age_seconds": 43200}
    with pytest.raises(InvalidInputError) as raised:
        build_policy_document(ACCOUNT, "aws-us-gov", **options, enrollment=gates)
    message = str(raised.value)
    assert raised.value.key == "enrollment"
    assert re.search(
        r"quota of 6,144 characters for a managed policy, with the other options \(this one has 6,\d{3}\)", message
    )
    assert "fewer or wider networks, or a shorter tag" in message
    fits = {**gates, "require_tag": {"key": "k" * 128, "value": "v" * 64}}
    assert minified(build_policy_document(ACCOUNT, "aws-us-gov", **options, enrollment=fits)) <= MAX_POLICY_CHARACTERS


def capacity(networks=LONGEST_IPV6, **options) -> int:
    """How many of ``networks`` fit, with the default tag, in both documents (aws-us-gov)."""
    count = 0
    for count in range(1, MAX_SOURCE_IPS + 1):
        gates = {"require_tag": {}, "source_ips": networks[:count]}
        try:
            build_policy_document(ACCOUNT, "aws-us-gov", **options, enrollment=gates)
            build_scp_document("aws-us-gov", **options, enrollment=gates)
        except InvalidInputError:
            return count - 1
    return count


def capacity_figures() -> dict[str, int]:
    """How many networks fit with every other option on, the longest max MFA age among them (the
    sizes: tests/test_doc_figures.py)."""
    every = {**EVERY_OPTION, "max_mfa_age_seconds": MAX_MFA_AGE_SECONDS}
    without_devices = {k: v for k, v in every.items() if k not in ("mfa_devices", "security_key_certification")}
    return {
        "IPv6 capacity, every option": capacity(**every),
        "IPv6 capacity, any device": capacity(**without_devices),
        "IPv4 /24 capacity, every option": capacity([f"203.0.{i}.0/24" for i in range(MAX_SOURCE_IPS)], **every),
    }


def test_the_capacity_the_docs_quote():
    figures = {name: f"{value:,}" for name, value in capacity_figures().items()}
    policy = (ROOT / "docs" / "policy.md").read_text()
    capacity_text = (
        f"up to {figures['IPv6 capacity, every option']} networks in the longest IPv6 form "
        f"({figures['IPv6 capacity, any device']} with `mfaDevices: any`), or "
        f"{figures['IPv4 /24 capacity, every option']} IPv4 /24s, fit"
    )
    assert capacity_text in " ".join(policy.split()), capacity_text

