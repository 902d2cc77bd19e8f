"""explain's grid: every catalog request in one cell, counted by state, with its deciding statements."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from conftest import REFERENCE
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import Decision
from mfa_policy.verifier.guarantees import (
    ALONE,
    NEXT_TO_ALLOW_ALL,
    OTHER_USER_PATHS,
    OWN_USER_PATHS,
    TEST_ACCOUNT_ID,
    OrganizationVerifier,
    Verifier,
    intent_for_builder,
    intent_for_file,
)
from mfa_policy.verifier.matrix import (
    BOOTSTRAP_ROW,
    IAM_ROW,
    MFA_REMOVAL_ROW,
    OTHER_SERVICES_ROW,
    SELF_SERVICE_ACTIONS,
    SELF_SERVICE_ROW,
    decision_grid,
)

CATALOG = load_catalog()
STATE = {Decision.ALLOW: "allowed", Decision.EXPLICIT_DENY: "explicitDeny", Decision.IMPLICIT_DENY: "implicitDeny"}


def project(**options):
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, **options)
    return Verifier(document, intent, CATALOG)


def policy_file(name):
    document = json.loads((REFERENCE / name).read_text())
    return Verifier(document, intent_for_file(document), CATALOG)


@pytest.fixture(scope="module")
def default_grid():
    return decision_grid(project())


def cells(grid, policies, enrollment=False):
    source = grid["enrollment"] if enrollment else grid
    (found,) = [entry for entry in source["policySets"] if entry["id"] == policies]
    return {(cell["row"], cell["column"]): cell for cell in found["cells"]}


def sids(cell, state=None):
    return {entry["sid"] for entry in cell["decidedBy"] if state is None or entry["state"] == state}


def test_rows_columns_and_one_cell_for_each_pair(default_grid):
    rows = [row["id"] for row in default_grid["rows"]]
    assert rows == [BOOTSTRAP_ROW, MFA_REMOVAL_ROW, SELF_SERVICE_ROW, IAM_ROW, OTHER_SERVICES_ROW]
    columns = [column["id"] for column in default_grid["columns"]]
    assert columns == [f"{context} / {whose}" for context in ("console", "keys", "mfa") for whose in ("own", "other")]
    assert [entry["id"] for entry in default_grid["policySets"]] == [NEXT_TO_ALLOW_ALL, ALONE]
    for policy_set in default_grid["policySets"]:
        assert [(cell["row"], cell["column"]) for cell in policy_set["cells"]] == [
            (row, column) for row in rows for column in columns
        ]


def test_every_catalog_request_is_counted_once_per_context(default_grid):
    """Each column counts the same requests (only their decisions differ), and the whole catalog:
    every action on each of its resources, as verify walks them."""
    expected = Counter()
    for service in CATALOG.service_names():
        for action in CATALOG.service_actions(service):
            own = CATALOG.resources_for(
                action, account_id=TEST_ACCOUNT_ID, partition="aws", users_with_path=OWN_USER_PATHS
            )
            every = CATALOG.resources_for(
                action, account_id=TEST_ACCOUNT_ID, partition="aws", users_with_path=OWN_USER_PATHS + OTHER_USER_PATHS
            )
            expected["own"] += len(own)
            expected["other"] += len(every) - len(own)
    for policy_set in default_grid["policySets"]:
        for column in default_grid["columns"]:
            total = sum(sum(cell["counts"].values()) for cell in policy_set["cells"] if cell["column"] == column["id"])
            assert total == expected[column["whose"]], column["id"]
    assert expected["own"] > len(CATALOG)


@pytest.mark.parametrize("row", [IAM_ROW, SELF_SERVICE_ROW, BOOTSTRAP_ROW, MFA_REMOVAL_ROW])
@pytest.mark.parametrize("name", ["project", "seed-2014-policy.json", "aws-reference-policy.json"])
def test_iam_cells_equal_a_count_with_the_evaluator_request_by_request(name, row):
    """The IAM rows recounted independently: ``Verifier.decide`` on every request of the row."""
    verifier = project() if name == "project" else policy_file(name)
    grid = decision_grid(verifier)
    row_actions = {
        BOOTSTRAP_ROW: {action.lower() for action, _ in verifier.intent.bootstrap()},
        MFA_REMOVAL_ROW: {"iam:deactivatemfadevice", "iam:deletevirtualmfadevice"},
    }
    row_actions[SELF_SERVICE_ROW] = {action.lower() for action in SELF_SERVICE_ACTIONS} - row_actions[BOOTSTRAP_ROW]
    claimed = set().union(*row_actions.values())
    others = set(verifier.intent.other_user_arns())
    for policies in (ALONE, NEXT_TO_ALLOW_ALL):
        expected: dict[str, Counter] = {}
        for service in ("iam", "sts"):
            for action in CATALOG.service_actions(service):
                name_ = action.name.lower()
                in_row = name_ in row_actions[row] if row != IAM_ROW else service == "iam" and name_ not in claimed
                if not in_row:
                    continue
                for resource in verifier.resources(action):
                    whose = "other" if resource in others else "own"
                    for context in verifier.contexts.values():
                        decision = verifier.decide(policies, action.name, resource, context)
                        expected.setdefault(f"{context.name} / {whose}", Counter())[STATE[decision]] += 1
        found = cells(grid, policies)
        for column in grid["columns"]:
            counts = {state: count for state, count in found[(row, column["id"])]["counts"].items() if count}
            assert counts == dict(expected.get(column["id"], {})), (policies, row, column["id"])


def test_the_project_policy_next_to_allow_all_denies_all_but_enrollment_without_mfa(default_grid):
    grid = cells(default_grid, NEXT_TO_ALLOW_ALL)
    for context in ("console", "keys"):
        bootstrap = grid[(BOOTSTRAP_ROW, f"{context} / own")]
        assert bootstrap["state"] == "allowed"
        assert "AllowManageOwnMfaDevices" in sids(bootstrap)
        # Enrolling a device on bob's user: denied by name, even beside allow-all.
        on_bob = grid[(BOOTSTRAP_ROW, f"{context} / other")]
        assert on_bob["state"] == "explicitDeny"
        assert sids(on_bob) == {"DenyMfaBootstrapOnOtherUsersWithoutMfa"}
        for row in (MFA_REMOVAL_ROW, SELF_SERVICE_ROW, IAM_ROW):
            assert grid[(row, f"{context} / own")]["state"] == "explicitDeny", row
            assert sids(grid[(row, f"{context} / own")]) == {"DenyAllExceptMfaBootstrapWithoutMfa"}
        # Every other service: denied, but for sts:GetCallerIdentity, which AWS allows anyway.
        other = grid[(OTHER_SERVICES_ROW, f"{context} / own")]
        assert other["state"] == "mixed"
        assert other["counts"]["allowed"] == 1
        allowed = [entry for entry in other["decidedBy"] if entry["state"] == "allowed"]
        assert [(entry["policy"], entry["sid"]) for entry in allowed] == [("AWS, outside policies", None)]
    with_mfa = grid[(OTHER_SERVICES_ROW, "mfa / own")]
    assert with_mfa["state"] == "allowed"
    assert {entry["policy"] for entry in with_mfa["decidedBy"]} == {"allow-all", "AWS, outside policies"}


def test_the_project_policy_alone_grants_nothing_on_bob_and_nothing_outside_iam(default_grid):
    grid = cells(default_grid, ALONE)
    for column in ("console / other", "keys / other", "mfa / other"):
        for row in (MFA_REMOVAL_ROW, SELF_SERVICE_ROW, IAM_ROW, OTHER_SERVICES_ROW):
            assert grid[(row, column)]["counts"]["allowed"] == 0, (row, column)
    assert grid[(OTHER_SERVICES_ROW, "mfa / own")]["counts"]["implicitDeny"] > 20000
    outside = f"S{len(intent_for_builder(TEST_ACCOUNT_ID)[0]['Statement']) + 2}"  # after the policy, allow-all
    assert grid[(OTHER_SERVICES_ROW, "mfa / own")]["decidedBy"] == [
        {"state": "allowed", "statementId": outside, "policy": "AWS, outside policies", "sid": None, "requests": 1}
    ]
    # An implicit deny has no deciding statement.
    assert grid[(IAM_ROW, "mfa / other")]["state"] == "implicitDeny"
    assert grid[(IAM_ROW, "mfa / other")]["decidedBy"] == []


def test_the_2014_policy_leaves_iam_open_without_mfa():
    grid = cells(decision_grid(policy_file("seed-2014-policy.json")), NEXT_TO_ALLOW_ALL)
    assert grid[(IAM_ROW, "console / own")]["state"] == "allowed"
    assert grid[(IAM_ROW, "console / own")]["counts"]["allowed"] > 150
    denied = grid[(OTHER_SERVICES_ROW, "console / own")]
    assert sids(denied, "explicitDeny") == {"DoNotAllowAnythingOtherThanAboveUnlessMFAd"}


def test_an_mfa_session_older_than_the_max_age_has_its_columns():
    grid = decision_grid(project(max_mfa_age_seconds=900))
    assert [context["id"] for context in grid["contexts"]] == ["console", "keys", "mfa", "mfa-expired"]
    assert grid["contexts"][3]["label"] == "MFA older than 15 min"
    assert "(900 seconds)" in grid["contexts"][3]["description"]
    expired = cells(grid, NEXT_TO_ALLOW_ALL)[(IAM_ROW, "mfa-expired / own")]
    assert expired["state"] == "explicitDeny"
    assert sids(expired) == {"DenyAllExceptMfaBootstrapWhenMfaIsOlderThanMaxAge"}


@pytest.mark.parametrize(("seconds", "label"), [(43200, "12 h"), (5400, "90 min"), (61, "61 s"), (3601, "3601 s")])
def test_the_max_age_reads_in_hours_minutes_or_seconds(seconds, label):
    grid = decision_grid(project(max_mfa_age_seconds=seconds))
    assert grid["contexts"][3]["label"] == f"MFA older than {label}"


def test_enrollment_by_device_type_with_security_keys_only():
    grid = decision_grid(project(mfa_devices="security_keys"))
    rows = [row["id"] for row in grid["enrollment"]["rows"]]
    assert rows[:4] == ["virtual-device", "totp", "key-create", "key-activate"]
    beside = cells(grid, NEXT_TO_ALLOW_ALL, enrollment=True)
    assert beside[("totp", "mfa / own")]["state"] == "explicitDeny"
    assert beside[("key-activate", "console / own")]["state"] == "allowed"
    assert beside[("virtual-device", "console / own")]["state"] == "explicitDeny"
    assert beside[("virtual-device", "console / other")]["state"] == "none"
    assert beside[("virtual-device", "console / other")]["counts"] == {
        "allowed": 0,
        "explicitDeny": 0,
        "implicitDeny": 0,
    }


def test_the_legend_names_each_deciding_statement_once_in_document_order(default_grid):
    legend = default_grid["statements"]
    document, _ = intent_for_builder(TEST_ACCOUNT_ID)
    count = len(document["Statement"])
    assert [entry["id"] for entry in legend] == sorted((entry["id"] for entry in legend), key=lambda i: int(i[1:]))
    assert legend[-1] == {
        "id": f"S{count + 2}",
        "policy": "AWS, outside policies",
        "statement": None,
        "sid": None,
        "effect": "Allow",
    }
    allow_all = [entry for entry in legend if entry["policy"] == "allow-all"]
    assert allow_all == [{"id": f"S{count + 1}", "policy": "allow-all", "statement": 0, "sid": None, "effect": "Allow"}]
    used = {
        entry["statementId"]
        for policy_set in default_grid["policySets"] + default_grid["enrollment"]["policySets"]
        for cell in policy_set["cells"]
        for entry in cell["decidedBy"]
    }
    assert used == {entry["id"] for entry in legend}
    for entry in legend:
        if entry["policy"] == "the policy":
            assert entry["id"] == f"S{entry['statement'] + 1}"
            assert document["Statement"][entry["statement"]].get("Sid") == entry["sid"]


def test_a_statement_without_a_sid_is_named_by_its_position():
    document, intent = intent_for_builder(TEST_ACCOUNT_ID)
    document = copy.deepcopy(document)
    (deny,) = [s for s in document["Statement"] if s["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa"]
    position = document["Statement"].index(deny)
    del deny["Sid"]
    grid = decision_grid(Verifier(document, intent, CATALOG))
    cell = cells(grid, NEXT_TO_ALLOW_ALL)[(IAM_ROW, "console / own")]
    (entry,) = cell["decidedBy"]
    (named,) = [item for item in grid["statements"] if item["id"] == entry["statementId"]]
    assert named == {"id": named["id"], "policy": "the policy", "statement": position, "sid": None, "effect": "Deny"}


def test_under_the_organization_scp_its_denies_are_named_in_the_scp():
    _, intent = intent_for_builder(TEST_ACCOUNT_ID)
    scp = build_scp_document("aws")
    # A user in no group at all: only allow-all, so every deny comes from the SCP.
    grid = decision_grid(OrganizationVerifier({"Version": "2012-10-17", "Statement": []}, intent, scp, CATALOG))
    beside = cells(grid, NEXT_TO_ALLOW_ALL)
    policies = {entry["policy"] for entry in beside[(IAM_ROW, "console / own")]["decidedBy"]}
    assert policies == {"the SCP at the root"}
    scp_sids = {statement.get("Sid") for statement in scp["Statement"]}
    assert sids(beside[(IAM_ROW, "console / own")]) <= scp_sids
    assert {entry["policy"] for entry in beside[(IAM_ROW, "mfa / own")]["decidedBy"]} == {"allow-all"}
    alone = cells(grid, ALONE)
    assert alone[(IAM_ROW, "mfa / own")]["state"] == "implicitDeny"
