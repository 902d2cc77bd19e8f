# ruff: noqa: F811  (the fixtures of test_audit_moto.py, imported, are test parameters here)
"""The sample report in docs/audit.md and README.md is real output: this test builds the sample
account in moto (server mode, through the IAM API), runs the command line, and compares. Dates
(an access key's last use is today) are compared as YYYY-MM-DD.

``python tests/audit/test_audit_docs_sample.py`` prints the output to paste into the docs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import boto3

if __name__ == "__main__":  # run as a script: the tests' folder holds conftest
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_audit_moto import (  # noqa: F401  (fixtures)
    ACCOUNT,
    ALLOW_ALL,
    Account,
    account,
    moto_url,
)

from conftest import ROOT, same_under_any_botocore
from mfa_policy.cli import main
from mfa_policy.policy.document import build_policy_document

S3_READ = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
# Everything without MFA is denied, except one bucket: the carve-out the audit must not miss.
CARVE_OUT = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyWithoutMfaExceptUploads", "Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::uploads/*",
    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}


def build(account: Account) -> None:
    """The sample account: three groups, a directly attached admin, a carve-out, an idle user."""
    admin = account.policy("AdminAccess", ALLOW_ALL)
    require_mfa = account.policy("require-mfa", build_policy_document(ACCOUNT))
    reads = account.policy("ReadOnlyS3", S3_READ)
    carve_out = account.policy("uploads-without-mfa", CARVE_OUT)
    for group, policies in (("administrators", (admin, require_mfa)), ("operators", (reads, require_mfa)),
                            ("ci", (reads,))):
        account.iam.create_group(GroupName=group)
        for arn in policies:
            account.iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    account.user("alice", groups=("administrators",), password=True, device="virtual")
    account.user("bob", path="/platform/", groups=("operators",), password=True, device="GAHT12345678")
    account.user("carol", groups=("operators",), password=True)
    account.user("deploy-bot", groups=("operators",), use_key=True)
    account.user("build-bot", groups=("ci",), use_key=True)
    account.user("mallory", attach=(admin,), password=True)
    account.user("uploader", attach=(admin, carve_out), password=True, device="virtual")
    account.user("intern", password=True)  # no policy: allowed nothing, even with MFA
    account.user("retired", groups=("operators",))
    # No identity policy at all, but a bucket policy grants it reads: unprotected all the same.
    account.user("report-reader", use_key=True)
    s3 = boto3.client("s3", endpoint_url=account.url, region_name="us-east-1")
    s3.create_bucket(Bucket="reports")
    s3.put_bucket_policy(Bucket="reports", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "ReportReader", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/report-reader"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]}))


def _normalized(text: str) -> str:
    return same_under_any_botocore(re.sub(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD", text))


def _docs_sample() -> str:
    docs = (ROOT / "docs" / "audit.md").read_text()
    block = docs.split("```text\n$ python -m mfa_policy audit\n", 1)[1].split("```", 1)[0]
    return block


def test_the_docs_sample_is_real_output(account, capsys):
    build(account)
    assert main(["audit", "--endpoint-url", account.url]) == 1
    output = capsys.readouterr().out
    assert _normalized(_docs_sample()) == _normalized(output)
    # README shows the same report, shortened: each of its lines is a line of the output.
    readme = (ROOT / "README.md").read_text().split("### Who is protected? `audit`", 1)[1]
    readme = readme.split("\n## ", 1)[0].split("\n### ", 1)[0]
    sample = [line[4:] for line in readme.splitlines() if line.startswith("    ") and not line.startswith("    pip")]
    lines = _normalized(output).splitlines()
    shown = [line for line in sample if not line.startswith(("mfa-policy audit", "...", "  "))]
    assert shown and all(_normalized(line).split(" FAIL:")[0] in "\n".join(lines) for line in shown), shown


if __name__ == "__main__":  # print the sample, to paste into the docs
    import logging
    import os

    from conftest import moto_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # moto's fake keys, as the tests' credentials_env sets them: nothing from this machine.
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[name] = value
    with moto_server() as url:
        build(Account(url, boto3.client("iam", endpoint_url=url, region_name="us-east-1")))
        sys.exit(main(["audit", "--endpoint-url", url]))
