"""Benchmark ``audit --organization``: 50 accounts x 100 users, built in moto (server mode).

moto runs in its own process (``python -m moto.server``), so the audit's threads do not share
its interpreter. The organization: 5 OUs under the root, the project's guardrail SCP on the first;
in every account the same three customer policies (the require-MFA policy, which names the
account's ID, allow-all, and an S3 read policy) and two groups, and 100 users spread over the
groups, half with a console password. The accounts' policy sets differ only by their account IDs
and their OU paths.

Prints: the accounts, users, distinct policy sets evaluated in the whole run (against the sum of
each account's own), the reading and evaluation times, and the wall time with ``--max-workers 1``
and with ``--max-workers 8`` on the same organization. Against moto on 127.0.0.1 there is no
network latency to overlap: the pool's gain here is bounded by the 2 cores moto and the audit
share (against AWS, where each call waits on the network, it is larger). Resource policies are
not read (``--no-resource-policies``): IAM's reads are what grows with users.

Last, ``--max-workers 1`` against ``8`` on 10 of the accounts with a simulated round trip
(``--latency-ms``, default 20) added before each call is sent: what the pool overlaps against AWS.

Run: ``python benchmarks/audit_organization.py [--accounts N] [--users N] [--latency-ms N]``.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3

from mfa_policy.audit.aws_organization import AwsAccountReader
from mfa_policy.audit.organization import audit_organization, select
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog

KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
S3_READ = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
OUS = 5


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/").read()
            return process, url
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)


def _member(url: str, account: str) -> object:
    credentials = boto3.client("sts", endpoint_url=url, **KEYS).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="build"
    )["Credentials"]
    return boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )


def _fill(url: str, account: str, users: int) -> None:
    iam = _member(url, account)
    arns = [
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]  # type: ignore[attr-defined]
        for name, document in (("require-mfa", build_policy_document(account)), ("allow-all", ALLOW_ALL),
                               ("s3-read", S3_READ))
    ]
    iam.create_group(GroupName="developers")  # type: ignore[attr-defined]
    iam.attach_group_policy(GroupName="developers", PolicyArn=arns[0])  # type: ignore[attr-defined]
    iam.attach_group_policy(GroupName="developers", PolicyArn=arns[1])  # type: ignore[attr-defined]
    iam.create_group(GroupName="readers")  # type: ignore[attr-defined]
    iam.attach_group_policy(GroupName="readers", PolicyArn=arns[2])  # type: ignore[attr-defined]
    for index in range(users):
        name = f"user-{index:03d}"
        iam.create_user(UserName=name)  # type: ignore[attr-defined]
        iam.add_user_to_group(GroupName="developers" if index % 3 else "readers", UserName=name)  # type: ignore[attr-defined]
        if index % 2 == 0:
            iam.create_login_profile(UserName=name, Password="Correct-Horse-9")  # type: ignore[attr-defined]


def build(url: str, accounts: int, users: int) -> None:
    client = boto3.client("organizations", endpoint_url=url, **KEYS)
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    units = [client.create_organizational_unit(ParentId=root, Name=f"ou-{index}")["OrganizationalUnit"]["Id"]
             for index in range(OUS)]
    guardrail = client.create_policy(Content=json.dumps(build_scp_document("aws")), Description="require MFA",
                                     Name="require-mfa", Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    client.attach_policy(PolicyId=guardrail, TargetId=units[0])
    ids = []
    for index in range(accounts):
        account = client.create_account(Email=f"a{index}@example.com", AccountName=f"account-{index:02d}")[
            "CreateAccountStatus"]["AccountId"]
        client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=units[index % OUS])
        ids.append(account)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda account: _fill(url, account, users), ids))


def _with_latency(url: str, catalog: object, latency_ms: int, accounts: int = 10) -> None:
    """``--max-workers 1`` and ``8`` on ``accounts`` accounts, each AWS call delayed by ``latency_ms``
    before it is sent: the network round trip an audit of AWS waits on, which moto on 127.0.0.1
    does not have (the delay is the benchmark's, in botocore's sending; the audit's code is as is)."""
    from botocore.endpoint import Endpoint

    send = Endpoint._send

    def delayed(self: Endpoint, request: object) -> object:
        time.sleep(latency_ms / 1000)
        return send(self, request)

    Endpoint._send = delayed  # type: ignore[method-assign]
    try:
        walls = {}
        for workers in (1, 8):
            reader, organization = AwsAccountReader.connect(None, "us-east-1", url, resource_policies=False)
            management = organization.management_account_id
            chosen = [account for account in select(organization) if account.account_id != management][:accounts]
            start = time.perf_counter()
            audit_organization(organization, chosen, reader, catalog,  # type: ignore[arg-type]
                               role_name="OrganizationAccountAccessRole", max_workers=workers)
            walls[workers] = time.perf_counter() - start
        print(f"with a simulated {latency_ms} ms round trip per call, {accounts} accounts: wall {walls[1]:.1f} s with "
              f"--max-workers 1, {walls[8]:.1f} s with 8 ({walls[8] / walls[1]:.2f})")
    finally:
        Endpoint._send = send  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20, help="simulated round trip of the last comparison")
    options = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    for name, value in KEYS.items():
        os.environ[name.upper() if name != "region_name" else "AWS_DEFAULT_REGION"] = value
    process, url = _start_moto()
    try:
        start = time.perf_counter()
        build(url, options.accounts, options.users)
        print(f"built {options.accounts} accounts x {options.users} users in moto: {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        catalog = load_catalog()
        print(f"catalog load: {time.perf_counter() - start:.2f} s ({len(catalog)} actions)")
        walls = {}
        for workers in (1, 8):
            reader, organization = AwsAccountReader.connect(None, "us-east-1", url, resource_policies=False)
            management = organization.management_account_id
            accounts = [account for account in select(organization) if account.account_id != management]
            start = time.perf_counter()
            report = audit_organization(organization, accounts, reader, catalog,
                                        role_name="OrganizationAccountAccessRole", max_workers=workers)
            walls[workers] = time.perf_counter() - start
            audited = [entry for entry in report.entries if entry.report]
            users = sum(len(entry.report.users) for entry in audited if entry.report)
            own = sum(entry.report.policy_sets for entry in audited if entry.report)
            print(f"--max-workers {workers}: {len(audited)} accounts, {users} users; {report.policy_sets} distinct "
                  f"policy sets evaluated (the accounts' own sets add up to {own}); "
                  f"reading {report.read_seconds:.1f} s (summed over accounts), "
                  f"evaluation {report.evaluation_seconds:.2f} s ({report.evaluation_cpu_seconds:.2f} s CPU), "
                  f"wall {walls[workers]:.1f} s")
            print("verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in report.counts().items()))
        print(f"wall time with 8 workers / with 1: {walls[8] / walls[1]:.2f} (moto's one process is the bottleneck)")
        _with_latency(url, catalog, options.latency_ms)
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
