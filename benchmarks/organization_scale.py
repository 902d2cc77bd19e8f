"""Choosing between the modes: `accounts` (one RequireMfaPolicy per account) against `organization`
(one SCP and one StackSet), for 10, 100 and 1,000 accounts.

Run: ``python benchmarks/organization_scale.py`` (``--json`` for machines, ``--max-accounts N`` to
stop earlier). Prints a table; asserts nothing. Each run is the real ``__main__.py`` under the
Pulumi SDK's mock engine (no CLI, no AWS): the figures are resources in the Pulumi program and the
mocked preview time, which grows with them. In organization mode the accounts sit in 1 or 10 OUs;
the program only names the OUs, and AWS (StackSets, automatic deployment) creates one stack
instance per account itself, which this benchmark cannot time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from preview_scale import config_for  # benchmarks/ is on the path when run as a script

from mfa_policy.program.preview import OfflineMocks, run_program

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ["administrators", "developers"]
ACCOUNT_COUNTS = (10, 100, 1000)
OU_COUNTS = (1, 10)


def accounts_config(accounts: int) -> dict[str, str]:
    return config_for(accounts, GROUPS)


def organization_config(ous: int) -> dict[str, str]:
    targets = [f"ou-ab12-{index:08d}" for index in range(ous)]
    return {
        "aws:region": "us-east-1",
        "mfa-policy:groups": json.dumps(GROUPS),
        "mfa-policy:createGroups": "true",
        "mfa-policy:organization": json.dumps({"targets": targets, "stackSet": True}),
    }


def measure(config: dict[str, str]) -> tuple[int, float]:
    start = time.perf_counter()
    run = run_program(ROOT / "__main__.py", config, OfflineMocks(), project="mfa-policy", stack="bench")
    return len(run.resources), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--max-accounts", type=int, default=max(ACCOUNT_COUNTS), help="skip larger cases")
    args = parser.parse_args(argv)

    measure(organization_config(1))  # warm-up: imports and the first mock engine
    rows = []
    for accounts in (count for count in ACCOUNT_COUNTS if count <= args.max_accounts):
        print(f"accounts mode, {accounts} accounts ...", file=sys.stderr)
        resources, seconds = measure(accounts_config(accounts))
        rows.append({"mode": "accounts", "accounts": accounts, "ous": None, "resources": resources, "seconds": seconds})
        for ous in OU_COUNTS:
            print(f"organization mode, {accounts} accounts in {ous} OU(s) ...", file=sys.stderr)
            resources, seconds = measure(organization_config(ous))
            rows.append(
                {"mode": "organization", "accounts": accounts, "ous": ous, "resources": resources, "seconds": seconds}
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"Mocked preview of __main__.py, {len(GROUPS)} groups per account (one run each):")
    print(f"{'mode':<13} {'accounts':>8} {'OUs':>4} {'resources':>9} {'preview':>9}  in every account")
    for row in rows:
        ous = "-" if row["ous"] is None else str(row["ous"])
        where = "policy + attachments (Pulumi)" if row["mode"] == "accounts" else "stack instance (AWS StackSets)"
        print(f"{row['mode']:<13} {row['accounts']:>8} {ous:>4} {row['resources']:>9} {row['seconds']:>8.2f}s  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
