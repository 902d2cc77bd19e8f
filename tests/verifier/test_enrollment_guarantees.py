"""G11 enrollment needs the ticket, and G1-G10 with the enrollment option: option combinations,
policies broken on purpose (each caught), the samples of the tag and the source IP, explain."""

from __future__ import annotations

import copy
import itertools

import pytest

from mfa_policy.policy.document import SELF_SERVICE_NAMES
from mfa_policy.policy.enrollment import EnrollmentGates
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.enrollment_ticket import representable, ticket_requests, ticket_values
from mfa_policy.verifier.guarantees import (
    ALONE,
    NEXT_TO_ALLOW_ALL,
    TEST_ACCOUNT_ID,
    Intent,
    OrganizationVerifier,
    Verifier,
    check_all,
    check_all_organization,
    check_g10,
    check_g11,
    decision_matrix,
    intent_for_builder,
    intent_for_file,
    vacuous_reason,
)

CATALOG = load_catalog()
SELF_SERVICE_SUBSETS = [
    subset for size in range(len(SELF_SERVICE_NAMES) + 1) for subset in itertools.combinations(SELF_SERVICE_NAMES, size)
]
CERTIFICATIONS = [None, {"fido": ["L2", "L3"]}, {"fips-140-2": ["L2"], "fips-140-3": ["L3", "L4"]}]
# The gates, in turn: the tag (default or one of the user's), the networks (IPv4, IPv6, both), both.
TAGS = [{}, {"key": "Onboarding ticket", "value": "open"}]
NETWORK_SETS = [["203.0.113.0/24"], ["2001:db8:1::/48"], ["198.51.100.0/25", "203.0.113.64/26", "2001:db8::/32"]]
GATES = ["tag", "networks", "both"]


def gates(kind: str, index: int) -> dict:
    tag = {"require_tag": TAGS[index % len(TAGS)]}
    networks = {"source_ips": NETWORK_SETS[index % len(NETWORK_SETS)]}
    return {"tag": tag, "networks": networks, "both": {**tag, **networks}}[kind]


# Every combination of the options that change the bootstrap set or the denies, with each kind of
# gate; self-service (it only grants) and the certification rule take the next value in turn.
COMBINATIONS = list(itertools.product([False, True], [False, True], [None, 900], ["any", "security_keys"], GATES))


def options_for(index, password, list_users, max_age, devices, kind) -> dict:
    options = {
        "allow_password_change_without_mfa": password,
        "allow_list_users": list_users,
        "self_service": SELF_SERVICE_SUBSETS[index % len(SELF_SERVICE_SUBSETS)],
        "mfa_devices": devices,
        "enrollment": gates(kind, index),
    }
    if max_age is not None:
        options["max_mfa_age_seconds"] = max_age
    certification = CERTIFICATIONS[index % len(CERTIFICATIONS)]
    if devices == "security_keys" and certification is not None:
        options["security_key_certification"] = certification
    return options


def failures(results):
    return {name: [str(c) for c in found[:3]] for name, found in results.items() if found}


@pytest.mark.parametrize(
    ("index", "password", "list_users", "max_age", "devices", "kind"),
    [(index, *combination) for index, combination in enumerate(COMBINATIONS)],
    ids=[f"pw{int(p)}-lu{int(u)}-age{a}-{d}-{k}" for p, u, a, d, k in COMBINATIONS],
)
def test_every_option_combination_with_the_gates_keeps_every_guarantee(
    index, password, list_users, max_age, devices, kind
):
    options = options_for(index, password, list_users, max_age, devices, kind)
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws", **options)
    assert intent.ticket is not None
    assert failures(check_all(document, intent, CATALOG)) == {}


ORGANIZATION = [
    ("aws", False, None, "any", "tag"),
    ("aws", True, 900, "any", "networks"),
    ("aws", True, None, "security_keys", "both"),
    ("aws-us-gov", False, 900, "security_keys", "both"),
]


@pytest.mark.parametrize(("partition", "password", "max_age", "devices", "kind"), ORGANIZATION, ids=str)
def test_the_gates_hold_under_the_scp_for_a_user_in_no_group(partition, password, max_age, devices, kind):
    options = {"allow_password_change_without_mfa": password, "mfa_devices": devices, "enrollment": gates(kind, 2)}
    if max_age is not None:
        options["max_mfa_age_seconds"] = max_age
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, partition, **options)
    results = check_all_organization(document, intent, build_scp_document(partition, **options), CATALOG)
    assert list(results)[-2:] == ["G10", "G11"]
    assert failures(results) == {}


# G11 holds vacuously without the option ----------------------------------------------------------


def test_without_the_option_g11_holds_vacuously_and_says_so():
    document, intent = intent_for_builder(TEST_ACCOUNT_ID)
    assert intent.ticket is None
    assert check_g11(Verifier(document, intent, CATALOG)) == []
    assert vacuous_reason("G11", intent) == "vacuously: the enrollment option is off"
    _, gated = intent_for_builder(TEST_ACCOUNT_ID, enrollment={"require_tag": {}})
    assert vacuous_reason("G11", gated) is None
    assert vacuous_reason("G1", intent) is None


# Each part of G11 (and the guarantees the gates touch) caught by a broken policy -----------------

BOTH = {"require_tag": {}, "source_ips": ["203.0.113.0/24", "2001:db8::/32"]}


def broken(mutate, **options):
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, **options)
    document = copy.deepcopy(document)
    mutate(document)
    found = check_all(document, Intent(**{**intent.__dict__, "rebuild": None}), CATALOG)
    return {name: items for name, items in found.items() if items}


def gate_statements(document, word=""):
    return [s for s in document["Statement"] if s.get("Sid", "").startswith("DenyMfaEnrollment") and word in s["Sid"]]


def drop(document, sid):
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]


def test_g11_catches_a_policy_without_gates():
    document, _ = intent_for_builder(TEST_ACCOUNT_ID)
    intent = intent_for_file(document, enrollment=BOTH)
    found = check_all(document, intent, CATALOG)
    assert set(failures(found)) == {"G11"}
    labels = {c.context for c in found["G11"]}
    assert "keys, no tag, from 203.0.113.1 (inside)+totp" in labels
    assert "console, tag mfa-enrollment=allowed, no source IP+totp" in labels
    assert "console, tag mfa-enrollment=allowed, from 2001:db8::1 (inside)+totp" not in labels


@pytest.mark.parametrize(
    ("mutate", "options"),
    [
        (lambda d: drop(d, "DenyMfaEnrollmentWithoutTagWithoutMfa"), {"enrollment": BOTH}),
        (lambda d: drop(d, "DenyMfaEnrollmentOutsideNetworksWithoutMfa"), {"enrollment": BOTH}),
        # An MFA session older than the max age counts as none: it must need the ticket too.
        (
            lambda d: drop(d, "DenyMfaEnrollmentWithoutTagWhenMfaIsOlderThanMaxAge"),
            {"enrollment": BOTH, "max_mfa_age_seconds": 900},
        ),
        # A network the intent does not name.
        (
            lambda d: gate_statements(d, "Outside")[0]["Condition"]["NotIpAddress"]["aws:SourceIp"].append(
                "100.64.0.0/10"
            ),
            {"enrollment": BOTH},
        ),
        # A tag value the intent does not name.
        (
            lambda d: gate_statements(d, "Tag")[0]["Condition"].update(
                StringNotEquals={"aws:PrincipalTag/mfa-enrollment": ["allowed", "yes"]}
            ),
            {"enrollment": BOTH},
        ),
        # Bool instead of BoolIfExists: long-term keys carry no MFA key, and escape the gate.
        (
            lambda d: [
                s["Condition"].update(Bool=s["Condition"].pop("BoolIfExists")) for s in gate_statements(d, "WithoutMfa")
            ],
            {"enrollment": BOTH},
        ),
        # Device creation left open.
        (
            lambda d: [s.update(Action=["iam:EnableMFADevice"]) for s in gate_statements(d)],
            {"enrollment": BOTH},
        ),
        # The first-sign-in password change left open.
        (
            lambda d: [s["Action"].remove("iam:ChangePassword") for s in gate_statements(d)],
            {"enrollment": BOTH, "allow_password_change_without_mfa": True},
        ),
        # The gate as an Allow condition: beside allow-all it restricts nothing.
        (
            lambda d: [drop(d, s["Sid"]) for s in gate_statements(d)],
            {"enrollment": BOTH},
        ),
        # Security keys: enabling a key without the ticket.
        (
            lambda d: drop(d, "DenyMfaEnrollmentWithoutTagWithoutMfa"),
            {"enrollment": {"require_tag": {}}, "mfa_devices": "security_keys"},
        ),
    ],
    ids=[
        "no-tag-gate",
        "no-network-gate",
        "no-max-age-gate",
        "extra-network",
        "extra-tag-value",
        "bool-not-bool-if-exists",
        "create-open",
        "password-open",
        "no-gates",
        "security-keys",
    ],
)
def test_g11_catches_an_open_enrollment(mutate, options):
    found = broken(mutate, **options)
    assert "G11" in found
    assert all(c.expected == "deny" for c in found["G11"])


def test_g11_catches_a_read_only_bootstrap_action_behind_the_gate():
    def mutate(d):
        for s in gate_statements(d):
            s["Action"] = [*s["Action"], "iam:ListMFADevices"]

    found = broken(mutate, enrollment=BOTH)
    assert set(found) == {"G11"}
    assert {(c.action, c.expected, c.policies) for c in found["G11"]} == {("iam:ListMFADevices", "Allow", ALONE)}


def test_g11_catches_a_gate_that_blocks_the_ticket_too():
    # IpAddress instead of NotIpAddress: denies exactly those inside the networks.
    def mutate(d):
        for s in gate_statements(d, "Outside"):
            s["Condition"]["IpAddress"] = s["Condition"].pop("NotIpAddress")

    found = broken(mutate, enrollment=BOTH)
    assert {"G2", "G11"} <= set(found)
    assert any(c.expected == "Allow" for c in found["G11"])


def test_if_exists_forms_of_the_gates_are_the_same():
    def mutate(d):
        for s in gate_statements(d):
            for operator in ("NotIpAddress", "StringNotEquals"):
                if operator in s["Condition"]:
                    s["Condition"][f"{operator}IfExists"] = s["Condition"].pop(operator)

    assert broken(mutate, enrollment=BOTH) == {}


def test_g5_catches_gates_that_apply_with_mfa_too():
    def mutate(d):
        for s in gate_statements(d):
            del s["Condition"]["BoolIfExists"]

    found = broken(mutate, enrollment=BOTH)
    assert "G5" in found
    assert any(c.context.startswith("mfa, ") and c.action == "iam:EnableMFADevice" for c in found["G5"])


def other_users_deny(document):
    return next(s for s in document["Statement"] if s["Sid"] == "DenyMfaBootstrapOnOtherUsersWithoutMfa")


def test_g1_samples_the_networks_a_policy_names():
    # A deny that spares a network the intent never mentions: found from the policy's own CIDR.
    def mutate(d):
        other_users_deny(d)["Condition"]["NotIpAddress"] = {"aws:SourceIp": ["203.0.113.0/24", "100.64.0.0/10"]}

    found = broken(mutate, enrollment={"source_ips": ["203.0.113.0/24"]})
    # From the intent's network (the base contexts'), and from the other, which only the policy names
    # (an action the gates do not cover: there, they would deny enrolling on bob anyway).
    spared = {c.context for c in found["G1"] if c.action == "iam:GetUser" and c.resource.endswith("/bob")}
    assert spared == {"keys", "console", "keys, from 100.64.0.1 (outside)", "console, from 100.64.0.1 (outside)"}


def test_g1_samples_the_tag_values_a_policy_names():
    def mutate(d):
        other_users_deny(d)["Condition"]["StringNotEquals"] = {"aws:PrincipalTag/mfa-enrollment": "breakglass"}

    found = broken(mutate, enrollment={"require_tag": {}})
    assert {c.context.split(", ")[1] for c in found["G1"]} == {"tag mfa-enrollment=breakglass"}


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringLike", "allow*"),  # a pattern: other values than the samples may match
        ("StringNotEqualsIgnoreCase", "allowed"),
        ("ForAnyValue:StringNotEquals", "allowed"),
        ("StringNotEquals", "${aws:username}"),  # a policy variable
    ],
)
def test_a_condition_on_the_tag_the_samples_do_not_decide_is_unproven(operator, value):
    def mutate(d):
        other_users_deny(d)["Condition"][operator] = {"aws:PrincipalTag/mfa-enrollment": value}

    found = broken(mutate, enrollment={"require_tag": {}})
    unproven = [c for c in found["G1"] if c.action == "aws:PrincipalTag/mfa-enrollment"]
    assert unproven and "does not vary" in unproven[0].decision and "not with this operator" in unproven[0].decision


def test_a_resource_that_reads_the_tag_is_unproven():
    def mutate(d):
        other_users_deny(d)["NotResource"] = f"arn:aws:iam::{TEST_ACCOUNT_ID}:user/${{aws:PrincipalTag/mfa-enrollment}}"

    found = broken(mutate, enrollment={"require_tag": {}})
    assert "aws:PrincipalTag/mfa-enrollment" in {c.action for c in found["G1"]}


def test_without_the_intent_a_gate_is_unproven_and_the_message_says_which_flag():
    document, _ = intent_for_builder(TEST_ACCOUNT_ID, enrollment=BOTH)
    found = check_all(document, intent_for_file(document), CATALOG)["G1"]
    messages = {c.action: c.decision for c in found}
    assert set(messages) == {"aws:PrincipalTag/mfa-enrollment", "aws:SourceIp"}
    assert "--enrollment-tag KEY=VALUE" in messages["aws:PrincipalTag/mfa-enrollment"]
    assert "--enrollment-source-ips" in messages["aws:SourceIp"]


def test_g9_checks_the_device_type_without_the_tag_too():
    # A device-type deny that only applies with the tag: with MFA and no tag, TOTP enrolls.
    def mutate(d):
        device = next(s for s in d["Statement"] if s["Sid"] == "DenyMfaEnrollmentExceptSecurityKeys")
        device["Condition"]["StringEquals"] = {"aws:PrincipalTag/mfa-enrollment": "allowed"}

    found = broken(mutate, enrollment={"require_tag": {}}, mfa_devices="security_keys")
    assert {c.context.split("+")[0] for c in found["G9"]} == {"mfa, tag mfa-enrollment=revoked"}


def test_g10_catches_an_scp_without_the_gates():
    options = {"enrollment": BOTH}
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, **options)
    scp = build_scp_document(**options)
    scp["Statement"] = [s for s in scp["Statement"] if "Enrollment" not in s["Sid"]]
    found = check_g10(OrganizationVerifier(document, intent, scp, CATALOG))
    assert found and all(c.guarantee == "G10" and c.context.startswith("IAM user in no group, ") for c in found)
    assert {c.action for c in found} == {"iam:CreateVirtualMFADevice", "iam:EnableMFADevice"}


# The samples ------------------------------------------------------------------------------------


def test_the_base_contexts_hold_the_ticket():
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, enrollment={**BOTH, "require_tag": {"key": "Team"}})
    verifier = Verifier(document, intent, CATALOG)
    for context in verifier.contexts.values():
        assert context.values["aws:principaltag/team"] == ("allowed",)
        assert context.values["aws:sourceip"] == ("203.0.113.1",)
    assert ticket_values(intent.ticket) == {"aws:PrincipalTag/Team": "allowed", "aws:SourceIp": "203.0.113.1"}


def test_one_variant_per_class_of_decisions():
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, enrollment=BOTH)
    verifier = Verifier(document, intent, CATALOG)
    # (the value, another, none) x (inside each network, outside IPv4, outside IPv6, none)
    assert len(verifier.ticket_requests()) == 3 * 5
    console = [c.name for c in verifier.variants(verifier.contexts["console"])]
    assert console == [
        "console",
        "console, tag mfa-enrollment=allowed, from 192.0.2.1 (outside)",
        "console, tag mfa-enrollment=revoked, from 203.0.113.1 (inside)",
        "console, tag mfa-enrollment=revoked, from 192.0.2.1 (outside)",
    ]
    # With MFA the gates do not apply: every sample is decided the same.
    assert [c.name for c in verifier.variants(verifier.contexts["mfa"])] == ["mfa"]
    # Without the option, the contexts are what they always were.
    plain = Verifier(*intent_for_builder(TEST_ACCOUNT_ID), CATALOG)
    assert plain.variants(plain.contexts["console"]) == [plain.contexts["console"]]


def test_ip_samples_cover_every_region_of_nested_networks():
    gates = EnrollmentGates(None, ("10.1.0.0/16", "2001:db8::/32"))
    policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            },
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.1.2.0/24"}},
            },
        ]
    }
    assert [(r.source_ip, r.ticket, r.label) for r in ticket_requests(gates, [policy])] == [
        ("10.1.0.1", True, "from 10.1.0.1 (inside)"),  # 10.1.0.0/16, outside 10.1.2.0/24
        ("10.1.2.1", True, "from 10.1.2.1 (inside)"),  # 10.1.2.0/24
        ("2001:db8::1", True, "from 2001:db8::1 (inside)"),
        ("10.0.0.1", False, "from 10.0.0.1 (outside)"),  # 10.0.0.0/8, outside 10.1.0.0/16
        ("192.0.2.1", False, "from 192.0.2.1 (outside)"),  # outside every IPv4 network
        ("3fff::1", False, "from 3fff::1 (outside)"),  # outside every IPv6 network
        (None, False, "no source IP"),  # a VPC endpoint
    ]


def test_the_whole_address_space_has_no_outside():
    requests = ticket_requests(EnrollmentGates(None, ("0.0.0.0/0",)), [])
    assert [r.source_ip for r in requests] == ["0.0.0.1", "2001:db8::1", None]
    assert [r.ticket for r in requests] == [True, False, False]


def test_tag_samples():
    gates = EnrollmentGates(("mfa-enrollment", "allowed"), ())
    policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/MFA-Enrollment": ["revoked", "x"]}},
            }
        ]
    }
    assert [(r.tag, r.ticket, r.label) for r in ticket_requests(gates, [policy])] == [
        ("allowed", True, "tag mfa-enrollment=allowed"),
        ("revoked", False, "tag mfa-enrollment=revoked"),
        ("x", False, "tag mfa-enrollment=x"),
        ("no", False, "tag mfa-enrollment=no"),
        (None, False, "no tag"),
    ]


@pytest.mark.parametrize(
    ("operator", "key", "values", "decided"),
    [
        ("StringNotEquals", "aws:PrincipalTag/mfa-enrollment", "allowed", True),
        ("StringEqualsIfExists", "aws:principaltag/MFA-ENROLLMENT", ["a", "b"], True),
        ("Null", "aws:PrincipalTag/mfa-enrollment", "true", True),
        ("StringLike", "aws:PrincipalTag/mfa-enrollment", "a*", False),
        ("ForAllValues:StringEquals", "aws:PrincipalTag/mfa-enrollment", "a", False),
        ("StringEquals", "aws:PrincipalTag/other", "a", False),  # not the intent's tag
        ("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8", "2001:db8::/32"], True),
        ("IpAddressIfExists", "aws:sourceip", "10.0.0.1", True),
        ("NotIpAddress", "aws:SourceIp", "office", False),
        ("StringEquals", "aws:SourceIp", "10.0.0.1", False),
    ],
)
def test_which_conditions_the_samples_decide(operator, key, values, decided):
    gates = EnrollmentGates(("mfa-enrollment", "allowed"), ("10.0.0.0/8",))
    assert representable(operator, key, values, gates) is decided
    assert representable(operator, key, values, None) is False


def test_the_intent_takes_the_option_as_written():
    mapping = {"source_ips": ["2001:DB8::/32"], "require_tag": {}}
    intent = intent_for_file({"Statement": []}, enrollment=mapping)
    assert intent.ticket == EnrollmentGates(("mfa-enrollment", "allowed"), ("2001:db8::/32",))
    assert intent == Intent(enrollment=intent.ticket)  # normalized: equal and hashable
    assert hash(intent) == hash(Intent(enrollment=mapping))
    assert intent.document_options()["enrollment"] == {
        "require_tag": {"key": "mfa-enrollment", "value": "allowed"},
        "source_ips": ["2001:db8::/32"],
    }


# explain -----------------------------------------------------------------------------------------


def test_explain_shows_enrollment_with_and_without_the_ticket():
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, enrollment=BOTH, allow_password_change_without_mfa=True)
    matrix = decision_matrix(Verifier(document, intent, CATALOG))
    rows = matrix["ticket"][NEXT_TO_ALLOW_ALL]
    by_request = {}
    for row in rows:
        by_request.setdefault(row["request"], {})[row["action"]] = row["cells"]
    ticket = "the ticket: tag mfa-enrollment=allowed, from 203.0.113.1 (inside)"
    # The ticket, then each way to miss it by one key.
    assert list(by_request) == [
        ticket,
        "the ticket: tag mfa-enrollment=allowed, from 2001:db8::1 (inside)",
        "tag mfa-enrollment=allowed, from 192.0.2.1 (outside)",
        "tag mfa-enrollment=allowed, from 3fff::1 (outside)",
        "tag mfa-enrollment=allowed, no source IP",
        "tag mfa-enrollment=revoked, from 203.0.113.1 (inside)",
        "no tag, from 203.0.113.1 (inside)",
    ]
    for action in ("iam:EnableMFADevice", "iam:CreateVirtualMFADevice", "iam:ChangePassword"):
        assert by_request[ticket][action]["console / own"] == "allow"
        assert by_request["no tag, from 203.0.113.1 (inside)"][action]["keys / own"] == "deny"
        assert by_request["tag mfa-enrollment=allowed, no source IP"][action]["console / own"] == "deny"
        assert by_request["no tag, from 203.0.113.1 (inside)"][action]["mfa / own"] == "allow"
    assert by_request["no tag, from 203.0.113.1 (inside)"]["iam:GetUser"]["keys / own"] == "allow"
    assert by_request[ticket]["iam:EnableMFADevice"]["console / other"] == "deny"
    assert by_request[ticket]["iam:CreateVirtualMFADevice"]["console / other"] == "-"
    plain = decision_matrix(Verifier(*intent_for_builder(TEST_ACCOUNT_ID), CATALOG))
    assert plain["ticket"] == {ALONE: [], NEXT_TO_ALLOW_ALL: []}
