"""Each policy's validate, called with the arguments the engine sends (after `up` and at preview)."""

from __future__ import annotations

import json

import pytest
from pack_engine import UNKNOWN, resource
from stacks import (
    BOOTSTRAP,
    OWN_USER_BOOTSTRAP,
    WITHOUT_MFA,
    arn,
    component,
    document,
    group,
    group_policy,
    managed,
    resource_violations,
    stack_violations,
    user,
)

from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy_pack.policies import (
    ACCESS_KEYS,
    COMPONENT_UNWEAKENED,
    GUARDRAIL_ONLY,
    MFA_CONDITION,
    UNDECIDED,
    USERS_COVERED,
)
from mfa_policy.policy_pack.stack import (
    ACCESS_KEY,
    GROUP_POLICY,
    GROUP_POLICY_ATTACHMENT,
    GROUP_POLICY_ATTACHMENTS_EXCLUSIVE,
    POLICY,
    POLICY_ATTACHMENT,
    ROLE_POLICY,
    USER,
    USER_GROUP_MEMBERSHIP,
    USER_POLICY,
)

HAND_WRITTEN = document(
    {"Sid": "DenyAllButEnrolling", "Effect": "Deny", "NotAction": BOOTSTRAP, "Resource": "*", "Condition": WITHOUT_MFA},
    {
        "Sid": "DenyEnrollingOthers",
        "Effect": "Deny",
        "Action": OWN_USER_BOOTSTRAP,
        "NotResource": "arn:aws:iam::111122223333:user/${aws:username}",
        "Condition": WITHOUT_MFA,
    },
)
# Statements whose MFA condition does not enforce: the patterns of issue 17.
ALLOW_IF_EXISTS = document(
    {
        "Effect": "Allow",
        "Action": "*",
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    }
)
DENY_BOOL = document(
    {
        "Effect": "Deny",
        "NotAction": BOOTSTRAP,
        "Resource": "*",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
    }
)
AGE_ONLY = document(
    {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
    }
)
NOT_ACTION_TOO_WIDE = document(
    {"Effect": "Deny", "NotAction": [*BOOTSTRAP, "s3:*"], "Resource": "*", "Condition": WITHOUT_MFA}
)
WEAK = {
    "allow BoolIfExists true": ALLOW_IF_EXISTS,
    "deny Bool false": DENY_BOOL,
    "age only": AGE_ONLY,
    "NotAction": NOT_ACTION_TOO_WIDE,
}


# ---------------------------------------------------------------------------------------------
# Every IAM user in the stack is covered


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_user_in_a_group_of_our_component_is_covered(preview: bool) -> None:
    # At preview the attachment's policyArn is unknown: followed to the policy it depends on.
    stack = component(["admins"], preview=preview) + user("alice", "admins") + user("erin")
    assert set(stack_violations(USERS_COVERED, stack)) == {"erin"}
    assert stack_violations(UNDECIDED, stack) == {}


def test_a_hand_written_enforcing_policy_covers_next_to_administrator_access() -> None:
    stack = managed("auditors", "auditors-mfa", HAND_WRITTEN) + user("carol", "auditors")
    stack.append(
        resource(
            GROUP_POLICY_ATTACHMENT,
            "admin",
            {"group": "auditors", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        )
    )
    assert stack_violations(USERS_COVERED, stack) == {}


def test_a_group_named_in_enforced_groups_covers() -> None:
    stack = user("dave", "legacy-admins")
    assert set(stack_violations(USERS_COVERED, stack)) == {"dave"}
    assert stack_violations(USERS_COVERED, stack, {"enforcedGroups": ["Legacy-Admins"]}) == {}


def test_a_user_with_no_policy_at_all_is_not_covered_and_the_message_says_what_to_do() -> None:
    (message,) = stack_violations(USERS_COVERED, user("erin")).values()
    assert "IAM user erin" in message and "MFA is not enforced" in message
    assert "iam:CreateAccessKey on arn:aws:iam::111122223333:user/another-user with access keys" in message
    assert "It is in no group of this stack" in message
    for fix in ("RequireMfaPolicy", "enforcedGroups", "organizationGuardrail", "exemptUsers"):
        assert fix in message


def test_a_user_level_grant_does_not_cover() -> None:
    policy = resource(
        USER_POLICY,
        "erin-s3",
        {"user": "erin", "policy": json.dumps(document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))},
    )
    assert set(stack_violations(USERS_COVERED, [*user("erin"), policy])) == {"erin"}


@pytest.mark.parametrize("weak", WEAK.values(), ids=WEAK.keys())
def test_a_group_whose_only_policy_does_not_enforce_does_not_cover(weak: dict) -> None:
    stack = [group_policy("weak", weak), *user("frank", "weak")]
    violations = stack_violations(USERS_COVERED, stack)
    assert set(violations) == {"frank"} and "weak (weak-inline)" in violations["frank"]


def test_an_age_deny_next_to_a_proper_deny_covers() -> None:
    # The prod stack's document: NumericGreaterThan aws:MultiFactorAuthAge next to BoolIfExists.
    stack = component(["operators"], max_mfa_age_seconds=43200) + user("olga", "operators")
    assert stack_violations(USERS_COVERED, stack) == {}
    assert resource_violations(MFA_CONDITION, stack[1]) == []


def test_exempt_users_match_patterns_case_insensitively() -> None:
    stack = user("Break-Glass-1") + user("erin")
    assert set(stack_violations(USERS_COVERED, stack, {"exemptUsers": ["break-glass-*"]})) == {"erin"}


def test_organization_guardrail_turns_uncovered_users_into_advice() -> None:
    stack = user("erin") + component(["admins"]) + user("alice", "admins")
    config = {"organizationGuardrail": True}
    assert stack_violations(USERS_COVERED, stack, config) == {}
    advice = stack_violations(GUARDRAIL_ONLY, stack, config)
    assert set(advice) == {"erin"} and "management account" in advice["erin"]
    assert stack_violations(GUARDRAIL_ONLY, stack) == {}  # only with the config


def test_a_bad_config_value_is_one_clear_violation() -> None:
    (message,) = stack_violations(USERS_COVERED, user("erin"), {"enforcedGroups": "admins"}).values()
    assert (
        message == f'policy {USERS_COVERED}: config enforcedGroups: got "admins"; expected a list of non-empty strings'
    )


def test_providers_are_accounts_a_group_of_another_account_does_not_cover() -> None:
    other = "urn:pulumi:dev::team::pulumi:providers:aws::other-account"
    stack = component(["admins"])
    stack += [
        resource(USER, "alice", {"name": "alice", "path": "/"}, provider=other),
        resource(USER_GROUP_MEMBERSHIP, "alice-groups", {"user": "alice", "groups": ["admins"]}, provider=other),
    ]
    assert set(stack_violations(USERS_COVERED, stack)) == {"alice"}


# ---------------------------------------------------------------------------------------------
# Unknown values at preview


def test_a_group_chosen_among_several_at_preview_is_undecided_never_covered() -> None:
    ops, auditors = group("ops"), group("auditors")
    judy = resource(USER, "judy", {"name": "judy", "path": "/"})
    membership = resource(
        USER_GROUP_MEMBERSHIP, "judy-groups", {"user": "judy", "groups": [UNKNOWN]}, depends={"groups": [ops, auditors]}
    )
    stack = [*component(["ops", "auditors"], preview=True), ops, auditors, judy, membership]
    assert stack_violations(USERS_COVERED, stack) == {}
    undecided = stack_violations(UNDECIDED, stack)
    assert "judy-groups" in undecided["judy"] and "not counted as covered" in undecided["judy"]


def test_a_group_named_by_an_unknown_value_is_followed_through_its_dependencies() -> None:
    ops = group("ops", name=UNKNOWN)
    enforcer = resource(POLICY, "ops-mfa", {"name": "ops-mfa", "policy": json.dumps(HAND_WRITTEN), "arn": UNKNOWN})
    attachment = resource(
        GROUP_POLICY_ATTACHMENT,
        "ops-mfa",
        {"group": UNKNOWN, "policyArn": UNKNOWN},
        depends={"group": [ops], "policyArn": [enforcer]},
    )
    ivan = resource(USER, "ivan", {"name": "ivan"})
    membership = resource(
        USER_GROUP_MEMBERSHIP, "ivan-groups", {"user": "ivan", "groups": [UNKNOWN]}, depends={"groups": [ops]}
    )
    stack = [ops, enforcer, attachment, ivan, membership]
    assert stack_violations(USERS_COVERED, stack) == {} and stack_violations(UNDECIDED, stack) == {}
    # Without the dependency, the membership cannot be followed.
    membership.property_dependencies = {}
    assert set(stack_violations(UNDECIDED, stack)) == {"ivan"}


def test_a_document_not_known_yet_counts_as_allowing_everything() -> None:
    stack = managed("team", "team-policy", UNKNOWN) + user("tess", "team")
    assert stack_violations(USERS_COVERED, stack) == {}
    undecided = stack_violations(UNDECIDED, stack)
    assert set(undecided) == {"tess", "team-policy"}
    assert "document of team-policy" in undecided["tess"]
    # Next to our component the same user is decided: enforced whatever the unknown document says.
    stack += component(["team"])
    assert stack_violations(USERS_COVERED, stack) == {} and "tess" not in stack_violations(UNDECIDED, stack)


# ---------------------------------------------------------------------------------------------
# An MFA condition that does not enforce


@pytest.mark.parametrize(
    ("weak", "why"),
    [
        (ALLOW_IF_EXISTS, "allows with BoolIfExists aws:MultiFactorAuthPresent true"),
        (DENY_BOOL, "denies with Bool aws:MultiFactorAuthPresent false"),
        (AGE_ONLY, "denies with NumericGreaterThan aws:MultiFactorAuthAge"),
        (NOT_ACTION_TOO_WIDE, "NotAction leaves s3:PutObject open"),
    ],
    ids=WEAK.keys(),
)
@pytest.mark.parametrize("kind", [POLICY, GROUP_POLICY, USER_POLICY, ROLE_POLICY])
def test_a_document_whose_mfa_condition_does_not_enforce_is_a_violation(weak: dict, why: str, kind: str) -> None:
    (message,) = resource_violations(MFA_CONDITION, resource(kind, "weak", {"policy": json.dumps(weak)}))
    assert message.startswith(f"weak ({kind}): its MFA condition does not enforce MFA")
    assert why in message
    assert " on " in message and ("with access keys" in message or "console session" in message)


@pytest.mark.parametrize(
    "holds",
    [
        build_policy_document("111122223333", max_mfa_age_seconds=43200),
        HAND_WRITTEN,
        document({"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*", "Condition": WITHOUT_MFA}),
        document(
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ),
        document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),  # no MFA key: not this policy's business
        # The enrollment gates: Denies with an MFA key and the tag / source IP (issue 18).
        build_policy_document(
            "111122223333",
            max_mfa_age_seconds=3600,
            enrollment={"require_tag": {}, "source_ips": ["203.0.113.0/24"]},
        ),
    ],
    ids=["prod stack", "hand-written", "one action", "allow with Bool true", "no MFA key", "enrollment gates"],
)
def test_a_document_whose_mfa_condition_holds_passes(holds: dict) -> None:
    assert resource_violations(MFA_CONDITION, resource(POLICY, "ok", {"policy": json.dumps(holds)})) == []


def test_a_document_not_known_yet_is_not_judged_by_the_resource_policy() -> None:
    assert resource_violations(MFA_CONDITION, resource(POLICY, "later", {"policy": UNKNOWN})) == []
    assert (
        resource_violations(MFA_CONDITION, resource(GROUP_POLICY_ATTACHMENT, "x", {"policy": json.dumps(DENY_BOOL)}))
        == []
    )


# ---------------------------------------------------------------------------------------------
# The project's own policy, unweakened


def _without(sid: str) -> dict:
    built = build_policy_document("111122223333")
    return {**built, "Statement": [s for s in built["Statement"] if s["Sid"] != sid]}


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_our_component_as_built_keeps_every_guarantee(preview: bool) -> None:
    assert stack_violations(COMPONENT_UNWEAKENED, component(["admins", "ops"], preview=preview)) == {}


def test_a_transformed_document_that_fails_a_guarantee_is_stopped() -> None:
    stack = component(["admins"], deployed=_without("DenyMfaBootstrapOnOtherUsersWithoutMfa"))
    (message,) = stack_violations(COMPONENT_UNWEAKENED, stack).values()
    assert "fails the guarantees: G1 (lockdown): iam:EnableMFADevice on arn:aws:iam::111122223333:user/bob" in message
    assert "removed DenyMfaBootstrapOnOtherUsersWithoutMfa" in message and "transformation" in message


def test_an_edit_that_keeps_every_guarantee_passes() -> None:
    built = build_policy_document("111122223333")
    renamed = {**built, "Statement": [{**s, "Sid": s["Sid"] + "Renamed"} for s in built["Statement"]]}
    assert stack_violations(COMPONENT_UNWEAKENED, component(["admins"], deployed=renamed)) == {}


def test_options_are_read_from_the_component_so_an_option_added_by_an_edit_fails() -> None:
    # allow_list_users is an option; added by a transformation to a component built without it,
    # it fails G7 (options do exactly what they say).
    with_listing = build_policy_document("111122223333", allow_list_users=True)
    (message,) = stack_violations(COMPONENT_UNWEAKENED, component(["admins"], deployed=with_listing)).values()
    assert "G7 (options do exactly what they say)" in message and "iam:ListUsers" in message
    assert stack_violations(COMPONENT_UNWEAKENED, component(["admins"], allow_list_users=True)) == {}


def test_another_policy_of_the_group_that_reopens_the_weakened_document_is_named() -> None:
    stack = component(["admins"], deployed=_without("DenyAllExceptMfaBootstrapWithoutMfa"))
    stack += managed("admins", "s3-read", document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    reopened = [m for m in stack_violations_all(stack) if "in group admins" in m]
    assert reopened and all("s3-read (group admins) allows s3:" in m for m in reopened)


def stack_violations_all(stack: list) -> list[str]:
    from pack_engine import stack_args
    from stacks import POLICIES

    found: list[str] = []
    POLICIES[COMPONENT_UNWEAKENED].validate(stack_args(stack), lambda message, urn=None: found.append(message))
    return found


@pytest.mark.parametrize(
    "detacher",
    [
        lambda: resource(
            POLICY_ATTACHMENT, "exclusive", {"policyArn": arn("require-mfa"), "groups": ["others"], "users": []}
        ),
        lambda: resource(
            GROUP_POLICY_ATTACHMENTS_EXCLUSIVE, "only-s3", {"groupName": "admins", "policyArns": [arn("s3")]}
        ),
    ],
    ids=["PolicyAttachment", "GroupPolicyAttachmentsExclusive"],
)
def test_a_resource_that_detaches_our_policy_reopens_it(detacher) -> None:
    stack = component(["admins"]) + user("alice", "admins") + [detacher()]
    (message,) = stack_violations(COMPONENT_UNWEAKENED, stack).values()
    assert "group admins loses the policy require-mfa-policy" in message and detacher().name in message
    assert set(stack_violations(USERS_COVERED, stack)) == {"alice"}


ENROLLMENT = {"require_tag": {"key": "mfa-enrollment", "value": "allowed"}, "source_ips": ["203.0.113.0/24"]}


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_our_component_with_enrollment_gates_as_built_is_decided_and_keeps_every_guarantee(preview: bool) -> None:
    stack = component(["admins"], preview=preview, enrollment=ENROLLMENT) + user("alice", "admins")
    assert stack_violations(COMPONENT_UNWEAKENED, stack) == {}
    assert stack_violations(UNDECIDED, stack) == {}
    assert stack_violations(USERS_COVERED, stack) == {}


@pytest.mark.parametrize(
    "gate", ["DenyMfaEnrollmentWithoutTagWithoutMfa", "DenyMfaEnrollmentOutsideNetworksWithoutMfa"]
)
def test_a_transformation_that_drops_an_enrollment_gate_fails_g11(gate: str) -> None:
    built = build_policy_document("111122223333", enrollment=ENROLLMENT)
    weakened = {**built, "Statement": [s for s in built["Statement"] if s["Sid"] != gate]}
    (message,) = stack_violations(COMPONENT_UNWEAKENED, component(["admins"], deployed=weakened,
                                                                   enrollment=ENROLLMENT)).values()
    assert "G11 (enrollment needs the ticket)" in message and f"removed {gate}" in message


def test_gates_added_by_a_transformation_to_a_component_built_without_them_are_no_weakening() -> None:
    # The component was built without the option, so its intent has no ticket: the deployed gates
    # stop a user without the tag from enrolling, which G2 (enrollment works) forbids. What is
    # deployed is not what the component says: the message names it.
    gated = build_policy_document("111122223333", enrollment=ENROLLMENT)
    (message,) = stack_violations(COMPONENT_UNWEAKENED, component(["admins"], deployed=gated)).values()
    assert "G2 (" in message


def test_a_component_whose_options_this_pack_does_not_know_is_undecided() -> None:
    stack = component(["admins"])
    built = json.loads(stack[0].properties["policy_document"])
    built["Statement"].append(
        {"Sid": "SomeFutureOption", "Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}
    )
    stack[0].properties["policy_document"] = json.dumps(built)
    assert stack_violations(COMPONENT_UNWEAKENED, stack) == {}
    (message,) = stack_violations(UNDECIDED, stack).values()
    assert "cannot be read back" in message


# ---------------------------------------------------------------------------------------------
# Access keys of enforced users


def test_access_keys_of_an_enforced_user_are_advice_with_the_way_to_mfa_sessions() -> None:
    stack = component(["admins"]) + user("alice", "admins") + user("erin")
    stack += [resource(ACCESS_KEY, "alice-key", {"user": "alice"}), resource(ACCESS_KEY, "erin-key", {"user": "erin"})]
    advice = stack_violations(ACCESS_KEYS, stack)
    assert set(advice) == {"alice-key"}
    assert "sts get-session-token" in advice["alice-key"] and "role" in advice["alice-key"]
    assert set(stack_violations(ACCESS_KEYS, stack, {"enforcedGroups": ["admins"], "exemptUsers": ["alice"]})) == set()
