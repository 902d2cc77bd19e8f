"""Benchmark the verifier: evaluations per second, and the wall time of a full ``verify``.

Run: ``make bench`` (or ``python benchmarks/verify.py``). Prints its figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import time

from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.guarantees import (
    ALONE,
    NEXT_TO_ALLOW_ALL,
    TEST_ACCOUNT_ID,
    Verifier,
    check_all,
    intent_for_builder,
    parliament_findings,
)

REPEATS = 5


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    start = time.perf_counter()
    catalog = load_catalog()
    parliament_findings({"Statement": []})  # imports parliament: measured with the imports

    print(f"imports and catalog load: {time.perf_counter() - start:.2f} s ({len(catalog)} actions)")

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

    # A full verify of the default policy: G1-G8 over the catalog, fresh compile each time.
    runs = [timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws"), catalog)) for _ in range(REPEATS)]
    print(f"full verify, default policy: median {statistics.median(runs) * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms")
    every = {"allow_password_change_without_mfa": True, "allow_list_users": True, "max_mfa_age_seconds": 3600}
    runs = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws", **every), catalog)) for _ in range(REPEATS)
    ]
    print(f"full verify, every option on: median {statistics.median(runs) * 1000:.0f} ms")
    certification = {"fido": ["L2", "L3"], "fips-140-3": ["L2"]}
    keys = {**every, "mfa_devices": "security_keys", "security_key_certification": certification}
    runs = [
        timed(lambda: check_all(*intent_for_builder(TEST_ACCOUNT_ID, "aws", **keys), catalog)) for _ in range(REPEATS)
    ]
    print(f"full verify, every option on with security keys only (G9): median {statistics.median(runs) * 1000:.0f} ms")
    build = [timed(lambda: build_policy_document(TEST_ACCOUNT_ID, **every)) for _ in range(100)]
    print(f"build_policy_document: median {statistics.median(build) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
