"""Benchmark the mocked preview of the program at scale: 1, 10 and 50 accounts, 20 groups each.

Run: ``make bench`` (or ``python benchmarks/preview_scale.py``). Prints its figures; asserts
nothing. Each run is the real ``__main__.py`` under the Pulumi SDK's mock engine: one provider,
one component, one policy and 20 attachments per account.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from mfa_policy.program.preview import OfflineMocks, run_program

ROOT = Path(__file__).resolve().parent.parent
GROUPS = [f"team-{index:02d}" for index in range(20)]
REPEATS = 3


def config_for(accounts: int, groups: list[str] = GROUPS) -> dict[str, str]:
    """The stack config of ``accounts`` accounts (one role each), every one with ``groups``."""
    entries = [
        {"name": f"account-{index:04d}", "roleArn": f"arn:aws:iam::{100000000000 + index}:role/mfa-deployer"}
        for index in range(accounts)
    ]
    return {
        "aws:region": "us-east-1",
        "mfa-policy:groups": json.dumps(groups),
        "mfa-policy:accounts": json.dumps(entries),
    }


def main() -> None:
    run_program(ROOT / "__main__.py", config_for(1), OfflineMocks(), project="mfa-policy", stack="bench")  # warm-up
    print(f"mocked preview, {len(GROUPS)} groups per account (median of {REPEATS}):")
    for accounts in (1, 10, 50):
        times, resources = [], 0
        for _ in range(REPEATS):
            start = time.perf_counter()
            run = run_program(
                ROOT / "__main__.py", config_for(accounts), OfflineMocks(), project="mfa-policy", stack="bench"
            )
            times.append(time.perf_counter() - start)
            resources = len(run.resources)
        median = statistics.median(times)
        print(
            f"  {accounts:>2} accounts: {resources:>5} resources in {median:6.2f} s "
            f"({median / accounts * 1000:5.0f} ms per account)"
        )


if __name__ == "__main__":
    main()
