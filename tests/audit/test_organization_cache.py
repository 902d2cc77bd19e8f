"""Policy sets shared across accounts (``organization_cache``) and the walk over an in-memory
reader: sharing must never change a verdict. A false "protected" is the worst defect there is.

The reader here stands in for AWS at the ``AccountReader`` boundary (hand-built snapshots); the
AWS side is tested against moto in test_organization_moto.py.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from mfa_policy.audit.aws import AccountSnapshot, Credentials, ManagedPolicy, ScpLevel, User
from mfa_policy.audit.aws_organization import Organization, OrganizationAccount
from mfa_policy.audit.organization import AUDITED, SKIPPED, FilterError, audit_organization, select
from mfa_policy.audit.organization_cache import PLACEHOLDER, SharedEvaluations, portable, rename
from mfa_policy.audit.verdicts import MUST_ENROLL, NO_ACCESS, UNPROTECTED, audit
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog

MANAGEMENT = "100000000001"
ROOT = "r-ab12"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _snapshot(
    account: str, documents: dict[str, dict[str, Any]], users: tuple[str, ...] = ("alice",)
) -> AccountSnapshot:
    """An account whose users each have every customer managed policy in ``documents``."""
    policies = {
        f"arn:aws:iam::{account}:policy/{name}": ManagedPolicy(f"arn:aws:iam::{account}:policy/{name}", name, document)
        for name, document in documents.items()
    }
    return AccountSnapshot(
        account_id=account,
        partition="aws",
        caller_arn=f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/mfa-policy-audit",
        users=tuple(
            User(name, "/", f"arn:aws:iam::{account}:user/{name}", f"AIDA{name.upper()}{account}X",
                 attached=tuple(policies), credentials=Credentials(password_enabled=True), tags=())
            for name in users
        ),
        groups={},
        policies=policies,
    )


class MemoryReader:
    """``AccountReader`` over hand-built snapshots; counts reads running at once."""

    def __init__(self, snapshots: dict[str, AccountSnapshot], levels: dict[str, tuple[ScpLevel, ...]] | None = None):
        self.snapshots = snapshots
        self.levels = levels or {}
        self.lock = threading.Lock()

    def scp_levels(self, account: OrganizationAccount) -> tuple[ScpLevel, ...]:
        return self.levels.get(account.account_id, ())

    def read(self, account: OrganizationAccount) -> AccountSnapshot:
        return self.snapshots[account.account_id]


def _organization(*accounts: OrganizationAccount) -> Organization:
    units = {ROOT: "Root"}
    for account in accounts:
        units.update(zip(account.path, account.path_names, strict=True))
    return Organization("o-test", MANAGEMENT, MANAGEMENT, f"arn:aws:iam::{MANAGEMENT}:user/admin", "aws",
                        accounts, units)


def _account(account_id: str, *units: str, status: str = "ACTIVE") -> OrganizationAccount:
    return OrganizationAccount(account_id, f"acct-{account_id[-2:]}", status, (ROOT, *units),
                               ("Root", *(unit.split("-")[-1] for unit in units)))


def _run(catalog, snapshots, accounts, **options):
    organization = _organization(*accounts)
    reader = MemoryReader(snapshots, options.pop("levels", None))
    return audit_organization(organization, accounts, reader, catalog, role_name="R", **options)


def _verdicts(report) -> dict[tuple[str, str], str]:
    return {(entry.account.account_id, user.user): user.verdict for entry, user in report.users()}


def _require_mfa(account: str, extra_not_action: str | None = None) -> dict[str, Any]:
    document = build_policy_document(account)
    if extra_not_action:
        for statement in document["Statement"]:
            if statement["Effect"] == "Deny" and "NotAction" in statement:
                statement["NotAction"] = [*statement["NotAction"], extra_not_action]
    return document


def test_sets_differing_only_by_account_id_are_evaluated_once(catalog):
    a, b = "111111111111", "222222222222"
    snapshots = {account: _snapshot(account, {"require-mfa": _require_mfa(account), "allow-all": ALLOW_ALL})
                 for account in (a, b)}
    report = _run(catalog, snapshots, [_account(a, "ou-ab12-one11111"), _account(b, "ou-ab12-two22222")])
    assert _verdicts(report) == {(a, "alice"): MUST_ENROLL, (b, "alice"): MUST_ENROLL}
    assert all(entry.shared for entry in report.entries)
    assert report.policy_sets == 1  # two accounts, one distinct set
    # Each account's own report names its own account, never the placeholder.
    text = repr([entry.as_dict() for entry in report.entries])
    assert PLACEHOLDER not in text
    assert report.entries[0].report.account_id in (a, b)
    assert {entry.report.account_id for entry in report.entries} == {a, b}


@pytest.mark.parametrize("order", ["strict first", "loose first"])
def test_sets_differing_in_anything_else_never_share_a_verdict(catalog, order):
    """b's require-MFA policy differs from a's by more than the account ID (its Deny exempts
    s3:*): b's user is unprotected, whichever account is evaluated first."""
    a, b = "111111111111", "222222222222"
    snapshots = {
        a: _snapshot(a, {"require-mfa": _require_mfa(a), "allow-all": ALLOW_ALL}),
        b: _snapshot(b, {"require-mfa": _require_mfa(b, extra_not_action="s3:*"), "allow-all": ALLOW_ALL}),
    }
    accounts = [_account(a, "ou-ab12-one11111"), _account(b, "ou-ab12-two22222")]
    if order == "loose first":
        accounts.reverse()
    report = _run(catalog, snapshots, accounts, max_workers=1)
    assert _verdicts(report) == {(a, "alice"): MUST_ENROLL, (b, "alice"): UNPROTECTED}
    assert report.policy_sets == 2
    # The same verdicts as each account audited alone.
    for account, snapshot in snapshots.items():
        alone = audit(snapshot, catalog)
        assert alone.users[0].verdict == _verdicts(report)[(account, "alice")]
    (loose,) = [entry for entry in report.entries if entry.account.account_id == b]
    assert any(b in exposure.resource or exposure.resource == "*" or "s3" in exposure.action
               for exposure in loose.report.users[0].exposures)


def test_an_account_id_inside_a_pattern_is_not_renamed(catalog):
    """A pattern whose literal digits line up with part of the account ID would decide otherwise
    under the placeholder: such an account is evaluated under its own ID."""
    account = "123456789012"
    only_own = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::12*"}]}
    snapshot = _snapshot(account, {"own-iam": only_own})
    ok, why = portable(snapshot)
    assert not ok and "next to a wildcard" in why
    # What the check prevents: renamed, the pattern no longer reaches the account's users.
    naive = audit(rename(snapshot, account, PLACEHOLDER), catalog)
    assert naive.users[0].verdict != UNPROTECTED
    report = _run(catalog, {account: snapshot}, [_account(account, "ou-ab12-one11111")])
    assert _verdicts(report) == {(account, "alice"): UNPROTECTED}
    assert not report.entries[0].shared


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("arn:aws:iam::111111111111:user/${aws:username}", True),
        ("arn:aws:s3:::logs-2024/*", True),
        ("arn:aws:iam::*:role/x", True),
        ("arn:aws:s3:::logs2024*", False),  # digits next to a wildcard
        ("arn:aws:iam::?11111111111:user/x", False),
        ("arn:aws:s3:::b/${aws:username}*", False),  # a variable next to a wildcard
        ("arn:aws:s3:::b/x${aws:username}", True),
        ("arn:aws:s3:::b/1${aws:username}", False),  # a variable next to a digit
    ],
)
def test_portable_patterns(text, expected):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                          "Resource": text}]}
    assert portable(_snapshot("111111111111", {"p": document}))[0] is expected


def test_portable_refuses_the_id_inside_a_longer_number_and_the_placeholder():
    inside = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                       "Resource": "arn:aws:s3:::b/1111111111119"}]}
    assert not portable(_snapshot("111111111111", {"p": inside}))[0]
    placeholder = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                            "Resource": f"arn:aws:s3:::b/{PLACEHOLDER}"}]}
    assert not portable(_snapshot("111111111111", {"p": placeholder}))[0]
    numeric = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"NumericLessThan": {"aws:PrincipalAccount": "5"}}}]}
    assert not portable(_snapshot("111111111111", {"p": numeric}))[0]


@pytest.mark.parametrize("order", ["open first", "closed first"])
def test_sets_reading_the_ou_path_are_shared_per_path_only(catalog, order):
    """The same documents, allowing everything only under ou-open: the verifier shares decisions
    between principals of one account, so across accounts the OU path must be part of the key."""
    opened, closed = "111111111111", "222222222222"
    by_path = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"o-test/{ROOT}/ou-ab12-open1111/*"}}}]}
    snapshots = {account: _snapshot(account, {"by-path": by_path}) for account in (opened, closed)}
    accounts = [_account(opened, "ou-ab12-open1111"), _account(closed, "ou-ab12-shut1111")]
    if order == "closed first":
        accounts.reverse()
    report = _run(catalog, snapshots, accounts, max_workers=1)
    assert _verdicts(report) == {(opened, "alice"): UNPROTECTED, (closed, "alice"): NO_ACCESS}
    assert report.policy_sets == 2


def test_the_shared_store_keys_the_path_only_where_a_set_reads_it():
    store = SharedEvaluations()
    plain = (("doc",), None, ())
    reading = (('{"Condition": "aws:PrincipalOrgPaths"}',), None, ())
    store.view(("o/r/ou-a/",))[plain] = "a"
    store.view(("o/r/ou-a/",))[reading] = "a"
    assert store.view(("o/r/ou-b/",)).get(plain) == "a"
    assert store.view(("o/r/ou-b/",)).get(reading) is None
    assert len(store) == 2


def test_many_workers_give_the_results_of_one(catalog):
    accounts, snapshots = [], {}
    for index in range(6):
        account = f"3333333333{index:02d}"
        documents = {"require-mfa": _require_mfa(account), "allow-all": ALLOW_ALL}
        if index % 3 == 0:
            documents = {"allow-all": ALLOW_ALL}
        snapshots[account] = _snapshot(account, documents, users=("alice", "bob"))
        accounts.append(_account(account, "ou-ab12-one11111"))
    accounts.append(_account("444444444444", status="SUSPENDED"))
    one = _run(catalog, snapshots, accounts, max_workers=1)
    many = _run(catalog, snapshots, accounts, max_workers=4)
    assert one.as_dict() == many.as_dict()
    assert [entry.status for entry in one.entries].count(SKIPPED) == 1
    assert one.policy_sets == 2
    assert one.exit_code == 1


def test_filters_are_strict():
    accounts = (_account(MANAGEMENT), _account("111111111111", "ou-ab12-one11111"),
                _account("222222222222", "ou-ab12-one11111", "ou-ab12-kid11111"), _account("333333333333"))
    organization = _organization(*accounts)
    ids = lambda found: [account.account_id for account in found]  # noqa: E731
    assert ids(select(organization)) == [MANAGEMENT, "111111111111", "222222222222", "333333333333"]
    assert ids(select(organization, units=("ou-ab12-one11111",))) == ["111111111111", "222222222222"]
    assert ids(select(organization, units=("ou-ab12-kid11111",))) == ["222222222222"]
    assert ids(select(organization, accounts=("333333333333",))) == ["333333333333"]
    assert ids(select(organization, accounts=(MANAGEMENT, "111111111111"), units=("ou-ab12-one11111",))) == [
        "111111111111"]
    with pytest.raises(FilterError, match="444444444444 not in organization o-test"):
        select(organization, accounts=("444444444444",))
    with pytest.raises(FilterError, match="ou-ab12-nope1111 not in organization"):
        select(organization, units=("ou-ab12-nope1111",))


def test_the_rename_round_trips_a_report(catalog):
    account = "555555555555"
    snapshot = _snapshot(account, {"allow-all": ALLOW_ALL, "require-mfa": _require_mfa(account, "iam:*")})
    alone = audit(snapshot, catalog)
    shared = rename(audit(rename(snapshot, account, PLACEHOLDER), catalog), PLACEHOLDER, account)
    assert dataclasses.asdict(shared) == dataclasses.asdict(alone)
    assert alone.users[0].verdict == UNPROTECTED
    assert any(account in exposure.resource for exposure in alone.users[0].exposures)
    assert AUDITED == "audited"


# ---------------------------------------------------------------------------------------------
# Found by review: shapes that sharing once got wrong. Each compares the organization's shared
# run with every account audited alone (its snapshot as the organization's walk reads it).


def _alone(catalog, snapshots, accounts):
    from mfa_policy.audit.organization import _read

    organization = _organization(*accounts)
    found = {}
    for account in accounts:
        _, snapshot, _ = _read(organization, account, MemoryReader(snapshots), None)
        report = audit(snapshot, catalog)
        found.update({(account.account_id, u.user): (u.verdict, [f.kind for f in u.findings]) for u in report.users})
    return found


def _shared(catalog, snapshots, accounts):
    report = _run(catalog, snapshots, accounts, max_workers=1)
    return {(e.account.account_id, u.user): (u.verdict, [f.kind for f in u.findings])
            for e in report.entries for u in e.report.users}


_MFA_DENY = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


@pytest.mark.parametrize(
    "condition",
    [
        # The account ID, or the placeholder, as a JSON number: renaming reaches only strings.
        {**_MFA_DENY, "StringNotEquals": {"aws:PrincipalAccount": 111111111111}},
        {**_MFA_DENY, "StringEquals": {"aws:PrincipalAccount": 987654321098}},
    ],
)
def test_an_account_id_written_as_a_number_is_not_renamed_away(catalog, condition):
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "NotAction": ["iam:ListUsers"], "Resource": "*", "Condition": condition}]}
    snapshots = {"111111111111": _snapshot("111111111111", {"allow-all": ALLOW_ALL, "deny": deny})}
    assert not portable(snapshots["111111111111"])[0]
    accounts = [_account("111111111111", "ou-ab12-one11111")]
    assert _shared(catalog, snapshots, accounts) == _alone(catalog, snapshots, accounts)


def test_a_date_condition_on_the_account_is_not_renamed_away(catalog):
    # 111111111111 reads as epoch seconds (a date before 9999); the placeholder does not.
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
             "Condition": {"ForAnyValue:DateLessThan": {"aws:PrincipalAccount": "200000000000"}}}]}
    snapshots = {"111111111111": _snapshot("111111111111", {"allow-early": allow})}
    assert not portable(snapshots["111111111111"])[0]
    accounts = [_account("111111111111", "ou-ab12-one11111")]
    assert _shared(catalog, snapshots, accounts) == _alone(catalog, snapshots, accounts)


def test_the_enrollment_check_is_keyed_by_its_own_relaxation(catalog):
    # The same set once the registration keys are relaxed away; B's also denies every enrollment
    # on a registration-key condition. Each has an enrolled user still carrying the ticket: only A's
    # ticket opens enrollment (a finding), in either order.
    from mfa_policy.audit.aws import VIRTUAL, MfaDevice

    tag = {"key": "mfa-enrollment", "value": "allowed"}
    no_enrollment = {"Effect": "Deny", "Action": ["iam:EnableMFADevice", "iam:CreateVirtualMFADevice"],
                     "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"iam:RegisterSecurityKey": "never"}}}

    def account(account_id: str, locked: bool) -> AccountSnapshot:
        document = build_policy_document(account_id, enrollment={"require_tag": tag})
        if locked:
            document = {**document, "Statement": [*document["Statement"], no_enrollment]}
        snapshot = _snapshot(account_id, {"require-mfa": document, "allow-all": ALLOW_ALL})
        user = dataclasses.replace(snapshot.users[0], tags=(("mfa-enrollment", "allowed"),),
                                   mfa_devices=(MfaDevice(f"arn:aws:iam::{account_id}:mfa/alice", VIRTUAL),))
        return dataclasses.replace(snapshot, users=(user,))

    snapshots = {"111111111111": account("111111111111", False), "222222222222": account("222222222222", True)}
    for order in (("222222222222", "111111111111"), ("111111111111", "222222222222")):
        accounts = [_account(account_id, "ou-ab12-one11111") for account_id in order]
        alone = _alone(catalog, snapshots, accounts)
        assert alone[("111111111111", "alice")][1] == ["open enrollment ticket"]
        assert alone[("222222222222", "alice")][1] == []
        assert _shared(catalog, snapshots, accounts) == alone


def test_an_empty_shared_store_passed_in_is_the_one_used(catalog):
    shared = SharedEvaluations()
    snapshots = {"111111111111": _snapshot("111111111111", {"allow-all": ALLOW_ALL})}
    _run(catalog, snapshots, [_account("111111111111", "ou-ab12-one11111")], shared=shared)
    assert len(shared) > 0
