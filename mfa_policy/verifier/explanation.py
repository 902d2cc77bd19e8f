"""What ``explain`` reports, as plain data (pure): ``explain --format json`` prints it, and the
HTML report draws it (mfa_policy.report). Nothing here depends on how it is drawn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mfa_policy.verifier.catalog import DATA_PACKAGE, Catalog
from mfa_policy.verifier.evaluation import decided_outside_policies
from mfa_policy.verifier.guarantees import (
    ALONE,
    GUARANTEES,
    Counterexample,
    Intent,
    OrganizationVerifier,
    Verifier,
    check_all,
    check_all_organization,
    decision_matrix,
    organization_guarantees,
    vacuous_reason,
)
from mfa_policy.verifier.matrix import decision_grid

# What each place in the bootstrap set means, as the report spells it out.
BOOTSTRAP_WHERE = {
    "own user": "on the user's own IAM user (at any path)",
    "mfa/*": "on a virtual MFA device of any name",
    "*": "on no resource in particular (the action takes none)",
}


def catalog_summary(catalog: Catalog) -> dict[str, Any]:
    """The catalog a report was made with: ``{"source", "dataVersion", "actions"}``."""
    return {"source": DATA_PACKAGE, "dataVersion": catalog.data_version, "actions": len(catalog)}


def explain_report(verifier: Verifier, target: str) -> dict[str, Any]:
    """Everything ``explain`` shows for ``verifier``'s policy, labelled ``target``.

    The keys ``explain --format json`` always had (``target``, ``catalog``,
    ``decidedOutsidePolicies``, ``columns``, ``tables``, ``enrollment``: the sample of actions
    one by one), and: ``grid`` (``mfa_policy.verifier.matrix.decision_grid``: the picture),
    ``bootstrap`` (``[{action, where, meaning}]``), ``guarantees`` (as ``verify --json``: per
    guarantee ``title``, ``pass`` and every counterexample), ``accountId``, ``partition``,
    ``organization``.
    """
    matrix = decision_matrix(verifier)
    intent = verifier.intent
    outside = {
        row["action"]: reason
        for row in matrix["tables"][ALONE]
        if (reason := decided_outside_policies(row["action"])) is not None
    }
    return {
        "target": target,
        "accountId": intent.account_id,
        "partition": intent.partition,
        "organization": isinstance(verifier, OrganizationVerifier),
        "catalog": catalog_summary(verifier.catalog),
        "decidedOutsidePolicies": outside,
        **matrix,
        "grid": decision_grid(verifier),
        "bootstrap": [
            {"action": action, "where": where, "meaning": BOOTSTRAP_WHERE[where]}
            for action, where in intent.bootstrap()
        ],
        "guarantees": guarantee_results(verifier),
    }


def guarantee_results(verifier: Verifier) -> dict[str, dict[str, Any]]:
    """Every guarantee (G10 too under an organization SCP) as ``verify --json`` reports it:
    ``{name: {"title", "pass", "counterexamples": [...], "note"?}}``."""
    if isinstance(verifier, OrganizationVerifier):
        table = organization_guarantees()
        results = check_all_organization(verifier.document, verifier.intent, verifier.scp, verifier.catalog)
    else:
        table = GUARANTEES
        results = check_all(verifier.document, verifier.intent, verifier.catalog)
    return results_as_json(results, table, verifier.intent)


def results_as_json(
    results: dict[str, list[Counterexample]], table: Mapping[str, tuple[str, Any]], intent: Intent
) -> dict[str, dict[str, Any]]:
    """The guarantees' results as ``verify --json`` and ``explain --format json`` carry them: per
    guarantee its title, pass, every counterexample, and a note when it holds vacuously."""
    return {
        name: {
            "title": table[name][0],
            "pass": not found,
            "counterexamples": [c.as_dict() for c in found],
            **({"note": note} if (note := vacuous_reason(name, intent)) else {}),
        }
        for name, found in results.items()
    }
