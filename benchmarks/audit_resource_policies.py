"""Benchmark the audit's resource-policy reads and their share of the evaluation.

The account of ``benchmarks/audit.py`` (1,000 users in 50 groups with 200 policies), plus 200
resource policies built in moto (server mode): 100 S3 buckets (one public, 40 granting a user
by ARN, the rest delegating to the account), 40 KMS keys with the default key policy, 20 SQS
queues granting a user, 20 SNS topics with the default topic policy, 20 Secrets Manager secrets
granting a user. Times the reads of those policies (against moto on 127.0.0.1) and the
evaluation with and without them. Run: ``python benchmarks/audit_resource_policies.py``. Prints
its figures; asserts nothing.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audit import ACCOUNT, USERS, build, moto_endpoint  # the same account as benchmarks/audit.py

from mfa_policy.audit.aws import read_account
from mfa_policy.audit.verdicts import audit
from mfa_policy.verifier.catalog import load_catalog

BUCKETS, KEYS, QUEUES, TOPICS, SECRETS = 100, 40, 20, 20, 20
RUNS = 3


def _grant(index: int, action: str, resource: str) -> str:
    user = f"arn:aws:iam::{ACCOUNT}:user/{'team/' if index % 3 == 0 else ''}user-{index:04d}"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": f"Grant{index}", "Effect": "Allow", "Principal": {"AWS": user}, "Action": action,
         "Resource": resource}]})


def build_resources(url: str) -> None:
    def client(service: str):
        return boto3.client(service, endpoint_url=url, region_name="us-east-1")

    s3, kms, sqs, sns, secrets = (client(s) for s in ("s3", "kms", "sqs", "sns", "secretsmanager"))

    def bucket(index: int) -> None:
        name = f"bucket-{index}"
        s3.create_bucket(Bucket=name)
        if index == 0:
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]})
        elif index <= 40:
            policy = _grant(index * 7, "s3:GetObject", f"arn:aws:s3:::{name}/*")
        else:
            policy = json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:*",
                "Resource": f"arn:aws:s3:::{name}/*"}]})
        s3.put_bucket_policy(Bucket=name, Policy=policy)

    def queue(index: int) -> None:
        url_ = sqs.create_queue(QueueName=f"queue-{index}")["QueueUrl"]
        arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue-{index}"
        sqs.set_queue_attributes(QueueUrl=url_, Attributes={"Policy": _grant(index * 11 + 1, "sqs:*", arn)})

    def secret(index: int) -> None:
        arn = secrets.create_secret(Name=f"secret-{index}", SecretString="x")["ARN"]
        secrets.put_resource_policy(SecretId=arn, ResourcePolicy=_grant(index * 13 + 2, "secretsmanager:*", "*"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(bucket, range(BUCKETS)))
        list(pool.map(lambda _: kms.create_key(), range(KEYS)))
        list(pool.map(queue, range(QUEUES)))
        list(pool.map(lambda i: sns.create_topic(Name=f"topic-{i}"), range(TOPICS)))
        list(pool.map(secret, range(SECRETS)))


def main() -> None:
    with moto_endpoint() as url:
        start = time.perf_counter()
        build(url)
        build_resources(url)
        print(f"built {USERS} users and {BUCKETS + KEYS + QUEUES + TOPICS + SECRETS} resource policies in moto: "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        without = read_account(endpoint_url=url, resource_policies=False)
        reads_without = time.perf_counter() - start
        start = time.perf_counter()
        snapshot = read_account(endpoint_url=url)
        reads_with = time.perf_counter() - start
    policies = snapshot.resource_policies or ()
    print(f"AWS reads: {reads_without:.2f} s without resource policies, {reads_with:.2f} s with them "
          f"({len(policies)} policies in us-east-1) against moto on 127.0.0.1")

    catalog = load_catalog()
    audit(without, catalog)  # builds the catalog's services once: not part of either figure
    timings = {}
    for label, built in (("without", dataclasses.replace(snapshot, resource_policies=())), ("with", snapshot)):
        runs = []
        for _ in range(RUNS):  # the shared machine's load varies: the fastest of a few runs
            start = time.perf_counter()
            report = audit(built, catalog)
            runs.append(time.perf_counter() - start)
        timings[label] = min(runs)
        exposed = sum(1 for user in report.users if user.resource_exposures)
        print(f"evaluation {label} the resource policies: {timings[label]:.2f} s (fastest of {RUNS}) for "
              f"{len(report.users)} users ({exposed} granted something by one); verdicts: "
              + ", ".join(f"{count} {verdict}" for verdict, count in report.counts().items()))
    print(f"resource policies' share of the evaluation: {timings['with'] - timings['without']:.2f} s")


if __name__ == "__main__":
    main()
