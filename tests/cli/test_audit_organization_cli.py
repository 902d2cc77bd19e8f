"""``audit --organization``'s argument types and progress lines (pure: no AWS)."""

from __future__ import annotations

import argparse
import io

import pytest

from mfa_policy.audit.aws_organization import OrganizationAccount
from mfa_policy.audit.organization import AUDITED, SKIPPED, AccountEntry
from mfa_policy.cli import audit_organization as cli


def test_argument_types():
    assert cli.account_ids("111122223333, 444455556666,111122223333") == ("111122223333", "444455556666")
    assert cli.unit_ids("ou-a1b2-workload1,r-a1b2") == ("ou-a1b2-workload1", "r-a1b2")
    assert cli.role_name("AWSControlTowerExecution") == "AWSControlTowerExecution"
    assert cli.workers("8") == 8
    for convert, value in ((cli.account_ids, "12345"), (cli.unit_ids, "workloads"), (cli.role_name, "a/b"),
                           (cli.workers, "0"), (cli.workers, "33")):
        with pytest.raises(argparse.ArgumentTypeError, match=f"got {value!r}"):
            convert(value)


class _Stderr(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _entry(name: str, status: str = AUDITED) -> AccountEntry:
    return AccountEntry(OrganizationAccount(f"1111222233{len(name):02d}", name, "ACTIVE", ("r-ab12",), ("Root",)),
                        status)


@pytest.mark.parametrize("tty", [True, False])
def test_progress(monkeypatch, tty):
    stderr = _Stderr(tty)
    monkeypatch.setattr("sys.stderr", stderr)
    progress = cli._OrganizationProgress()
    progress(_entry("a"), 1, 2, 0)
    progress(_entry("bb", SKIPPED), 2, 2, 0)
    if tty:  # one line rewritten in place, ended when done
        assert stderr.getvalue() == "\raccounts 1/2, 0 users, 0 s\raccounts 2/2, 0 users, 0 s\n"
    else:  # one line per finished account
        assert stderr.getvalue().splitlines() == [
            "account 111122223301 (a): audited [1/2 accounts, 0 users, 0 s]",
            "account 111122223302 (bb): skipped [2/2 accounts, 0 users, 0 s]",
        ]
