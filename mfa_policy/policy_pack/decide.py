"""The policy pack's one call into the audit's decision: is MFA enforced for these users? (pure)

Everything the pack decides about requests without MFA goes through ``decide_enforcement``: the
users of a stack (``stack.AccountModel.snapshot``), one policy document judged on its own
(``documents``), and the groups of the project's own component (``components``). It builds no
evaluation of its own: it asks the audit (``mfa_policy.audit.verdicts.audit``) over the
snapshot, the same plain data the audit reads from AWS, and keeps the answer the pack needs
(``enforced``, the requests that get through, the notes). When the audit's question moves into the
verifier as one call, only this function changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mfa_policy.audit.aws import AccountSnapshot
from mfa_policy.audit.verdicts import KEYS, Exposure, audit
from mfa_policy.verifier.catalog import Catalog

# How many requests allowed without MFA an answer names (at most one per service).
EXAMPLES = 3
# The audit's note for a user missing from the credential report: the pack has none to read.
_CREDENTIALS_NOTE = "not in the credential report yet"


@dataclass(frozen=True)
class Enforcement:
    """The audit's answer for one user: whether MFA is enforced, and if not, examples of what
    gets through without MFA (action, resource, context, and the policies that allow it)."""

    enforced: bool
    exposures: tuple[Exposure, ...] = ()
    notes: tuple[str, ...] = ()


def decide_enforcement(snapshot: AccountSnapshot, catalog: Catalog) -> Mapping[str, Enforcement]:
    """Whether MFA is enforced for each user of ``snapshot``, by user name: the audit's
    ``enforced``, decided over the whole catalog of AWS actions."""
    report = audit(snapshot, catalog, examples=EXAMPLES)
    return {
        verdict.user: Enforcement(
            enforced=verdict.enforced,
            exposures=verdict.exposures,
            # The notes of an enforced user are about enrolling, which the pack does not judge.
            notes=() if verdict.enforced else tuple(n for n in verdict.notes if _CREDENTIALS_NOTE not in n),
        )
        for verdict in report.users
    }


def describe(exposure: Exposure) -> str:
    """One request that gets through, for a message: ``s3:GetObject on arn:... with access keys``."""
    how = "with access keys" if exposure.context == KEYS else "in a console session without MFA"
    return f"{exposure.action} on {exposure.resource} {how}"
