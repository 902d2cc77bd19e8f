"""Benchmark the audit: 1,000 users in 50 groups with 200 policies, built in moto (server mode).

Times the AWS reads (against moto on 127.0.0.1: no network latency, no throttling, so a real
account reads slower) and the evaluation (catalog load apart) separately. Goal: evaluation under
5 s on 2 cores. Then a second figure, built without AWS: 1,000 users whose policy sets are all
distinct (4 of the same 200 policies per user in a different combination, half with the require-MFA
policy, every 5th under a permission boundary, every 7th with a Deny carve-out), so nothing is
shared between users. Goal: under 10 s on 2 cores.

Run: ``python benchmarks/audit.py`` (``--distinct-only`` skips moto). Prints its figures; asserts
nothing.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
from moto.server import ThreadedMotoServer

from mfa_policy.audit.aws import AccountSnapshot, Credentials, ManagedPolicy, User, read_account
from mfa_policy.audit.verdicts import audit
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import Catalog, load_catalog

USERS, GROUPS, POLICIES = 1000, 50, 200
ACCOUNT = "123456789012"  # moto's default account
SERVICES = ("s3", "ec2", "dynamodb", "lambda", "sqs", "sns", "kms", "logs", "cloudwatch", "rds")


def _policy(index: int) -> dict:
    """A mix of what accounts hold: whole services, read-only wildcards, and resource-scoped grants."""
    service = SERVICES[index % len(SERVICES)]
    if index % 4 == 0:
        statement = {"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"}
    elif index % 4 == 1:
        statement = {"Effect": "Allow", "Action": [f"{service}:Get*", f"{service}:List*", f"{service}:Describe*"],
                     "Resource": "*"}
    elif index % 4 == 2:
        statement = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                     "Resource": f"arn:aws:s3:::bucket-{index}/*"}
    else:
        statement = {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                     "Resource": f"arn:aws:dynamodb:*:{ACCOUNT}:table/table-{index}",
                     "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def build(url: str) -> None:
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    arns = [
        iam.create_policy(PolicyName=f"policy-{i}", PolicyDocument=json.dumps(_policy(i)))["Policy"]["Arn"]
        for i in range(POLICIES)
    ]
    require_mfa = iam.create_policy(
        PolicyName="require-mfa", PolicyDocument=json.dumps(build_policy_document(ACCOUNT))
    )["Policy"]["Arn"]
    for g in range(GROUPS):
        iam.create_group(GroupName=f"group-{g}")
        for arn in arns[g * 4 : g * 4 + 4]:
            iam.attach_group_policy(GroupName=f"group-{g}", PolicyArn=arn)
        if g % 2 == 0:  # half the groups enforce MFA: their members need the full catalog walk
            iam.attach_group_policy(GroupName=f"group-{g}", PolicyArn=require_mfa)

    def user(i: int) -> None:
        name = f"user-{i:04d}"
        iam.create_user(UserName=name, Path="/" if i % 3 else "/team/")
        iam.add_user_to_group(GroupName=f"group-{i % GROUPS}", UserName=name)
        if i % 7 == 0:
            iam.add_user_to_group(GroupName=f"group-{(i * 3 + 2) % GROUPS}", UserName=name)
        if i % 10 == 0:
            iam.put_user_policy(UserName=name, PolicyName="extra", PolicyDocument=json.dumps(_policy(i % 5)))
        iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
        if i % 5 == 0:
            iam.create_access_key(UserName=name)
        if i % 3 == 0:
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                                  AuthenticationCode2="654321")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(user, range(USERS)))


def distinct_snapshot() -> AccountSnapshot:
    """1,000 users, each with a policy set no other user has (built in memory: no AWS)."""
    arn = f"arn:aws:iam::{ACCOUNT}:policy/"
    policies = {
        f"{arn}policy-{i}": ManagedPolicy(f"{arn}policy-{i}", f"policy-{i}", _policy(i)) for i in range(POLICIES)
    }
    policies[f"{arn}require-mfa"] = ManagedPolicy(f"{arn}require-mfa", "require-mfa", build_policy_document(ACCOUNT))
    policies[f"{arn}boundary"] = ManagedPolicy(f"{arn}boundary", "boundary", {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    policies[f"{arn}carve-out"] = ManagedPolicy(f"{arn}carve-out", "carve-out", {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::drop-*/*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]})
    combinations = itertools.islice(itertools.combinations(range(POLICIES), 4), 0, None, 997)
    users = []
    for index, combination in zip(range(USERS), combinations, strict=False):
        attached = [f"{arn}policy-{i}" for i in combination]
        if index % 2 == 0:
            attached.append(f"{arn}require-mfa")
        if index % 7 == 0:
            attached.append(f"{arn}carve-out")
        name = f"user-{index:04d}"
        users.append(User(name, "/", f"arn:aws:iam::{ACCOUNT}:user/{name}", f"AIDA{index:016d}",
                          attached=tuple(attached), boundary=f"{arn}boundary" if index % 5 == 0 else None,
                          credentials=Credentials(password_enabled=True)))
    return AccountSnapshot(ACCOUNT, "aws", f"arn:aws:iam::{ACCOUNT}:user/auditor", tuple(users), {}, policies)


def timed(label: str, snapshot: AccountSnapshot, catalog: Catalog, per: str, goal: str) -> None:
    """Evaluate ``snapshot`` and print the time (wall and CPU), per user or per set, and the verdicts."""
    start, cpu = time.perf_counter(), time.process_time()
    report = audit(snapshot, catalog)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    count = len(report.users) if per == "user" else report.policy_sets
    print(f"{label}: {elapsed:.2f} s ({used:.2f} s CPU) for {len(report.users)} users, {report.policy_sets} distinct "
          f"policy sets ({elapsed / count * 1000:.1f} ms per {per}; goal: {goal})")
    print("verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in report.counts().items()))


@contextlib.contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 with moto's fake keys in the environment: yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # a log line per request otherwise
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def distinct() -> None:
    timed("distinct sets", distinct_snapshot(), load_catalog(), "set", "under 10 s")


def main() -> None:
    if "--distinct-only" in sys.argv:
        distinct()
        return
    with moto_endpoint() as url:
        start = time.perf_counter()
        build(url)
        print(f"built {USERS} users, {GROUPS} groups, {POLICIES} policies in moto: {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        snapshot = read_account(endpoint_url=url)
        print(f"AWS reads (GetAccountAuthorizationDetails, credential report, {USERS} ListMFADevices): "
              f"{time.perf_counter() - start:.2f} s against moto on 127.0.0.1")

    start = time.perf_counter()
    catalog = load_catalog()
    print(f"catalog load: {time.perf_counter() - start:.2f} s ({len(catalog)} actions)")
    timed("evaluation", snapshot, catalog, "user", "under 5 s")
    distinct()


if __name__ == "__main__":
    main()
