"""Updates that never churn: stable logical names, in-place policy updates, stable bytes."""

from __future__ import annotations

import json

import pytest

from conftest import ACCOUNT_ID, ROOT
from mfa_policy.program.preview import OfflineMocks, run_program

POLICY = "aws:iam/policy:Policy"


def run(groups, **options):
    config = {"mfa-policy:groups": json.dumps(groups)}
    config.update({f"mfa-policy:{key}": value for key, value in options.items()})
    return run_program(ROOT / "__main__.py", config, OfflineMocks(ACCOUNT_ID), project="mfa-policy", stack="dev")


def by_urn(program_run):
    return {resource.urn: resource for resource in program_run.resources}


@pytest.mark.parametrize("create_groups", ["false", "true"])
def test_removing_a_group_changes_only_that_groups_resources(create_groups):
    before = by_urn(run(["a", "b", "c"], createGroups=create_groups))
    after = by_urn(run(["a", "c"], createGroups=create_groups))
    removed = set(before) - set(after)
    assert removed and all(urn.endswith("::require-mfa-b") for urn in removed)
    assert set(after) <= set(before)
    for urn, resource in after.items():
        assert resource.inputs == before[urn].inputs, urn


def test_adding_a_group_only_adds():
    before = by_urn(run(["a", "c"]))
    after = by_urn(run(["a", "b", "c"]))
    assert set(before) <= set(after)
    assert all(urn.endswith("::require-mfa-b") for urn in set(after) - set(before))


def test_reordering_groups_changes_no_resource():
    first = by_urn(run(["a", "b", "c"]))
    second = by_urn(run(["c", "a", "b"]))
    assert first.keys() == second.keys()
    assert all(first[urn].inputs == second[urn].inputs for urn in first)


@pytest.mark.parametrize(
    "option",
    [
        {"allowPasswordChangeWithoutMfa": "true"},
        {"allowListUsers": "true"},
        {"selfService": '["password"]'},
        {"maxMfaAgeSeconds": "3600"},
    ],
    ids=lambda option: next(iter(option)),
)
def test_changing_a_policy_option_updates_the_policy_in_place(option):
    before = by_urn(run(["a", "b"]))
    after = by_urn(run(["a", "b"], **option))
    assert before.keys() == after.keys()
    (policy_urn,) = [urn for urn, resource in before.items() if resource.type == POLICY]
    # Only the document changes; name, path and description (which force a replacement) do not.
    changed = {urn for urn in before if before[urn].inputs != after[urn].inputs}
    assert changed == {policy_urn}
    old, new = before[policy_urn].inputs, after[policy_urn].inputs
    assert {k: v for k, v in old.items() if k != "policy"} == {k: v for k, v in new.items() if k != "policy"}
    assert old["policy"] != new["policy"]


def test_same_inputs_give_the_same_bytes():
    first = run(["a", "b"], maxMfaAgeSeconds="900", selfService='["ssh_public_keys", "password"]')
    second = run(["a", "b"], maxMfaAgeSeconds="900", selfService='["password", "ssh_public_keys"]')
    assert first.outputs["policyDocument"] == second.outputs["policyDocument"]
    (policy,) = [r for r in first.resources if r.type == POLICY]
    assert policy.inputs["policy"] == first.outputs["policyDocument"]
