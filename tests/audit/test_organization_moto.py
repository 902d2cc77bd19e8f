"""``audit --organization`` against moto in server mode: an organization, OUs and accounts built
through the Organizations API, users and policies in each member account through the
credentials of ``sts:AssumeRole`` (moto scopes IAM to the account in the role's ARN), SCPs at an
OU (the project's own guardrail SCP) next to AWS's FullAWSAccess.

One moto server and one organization per module (built once; the tests only read it). What moto
does not do, and where each test says so:

* ``AssumeRole`` succeeds into any role ARN: moto checks neither that the role exists nor its
  trust policy. The account whose role refuses is answered, at the STS client, with the
  ``AccessDenied`` AWS sends (``_refusing``); the code under test runs unchanged.
* moto has no delegated administrators for Organizations reads: the tests read as the
  management account.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import boto3
import pytest

from conftest import ROOT, moto_server

if str(ROOT / "tests" / "report") not in sys.path:  # the report tests' readers of the HTML page
    sys.path.insert(0, str(ROOT / "tests" / "report"))
from audit_pages import expected_counts, expected_users, read_audit_html

from mfa_policy.audit import aws_organization
from mfa_policy.audit.aws_organization import AwsAccountReader
from mfa_policy.audit.organization import audit_organization, select
from mfa_policy.audit.verdicts import AuditReport
from mfa_policy.cli import main
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document
from mfa_policy.verifier.catalog import load_catalog

MANAGEMENT = "123456789012"  # moto's default account
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@dataclass
class Org:
    url: str
    root: str
    units: dict[str, str]  # name -> ID
    accounts: dict[str, str]  # name -> ID


def _member_iam(url: str, account: str) -> Any:
    sts = boto3.client("sts", endpoint_url=url, **KEYS)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _user(iam: Any, account: str, name: str, *, policies: dict[str, dict[str, Any]], device: bool = False) -> None:
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
    for policy_name, document in policies.items():
        arn = f"arn:aws:iam::{account}:policy/{policy_name}"
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(document))
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
    if device:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-phone")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")


@pytest.fixture(scope="module")
def org() -> Iterator[Org]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with moto_server() as url:
        client = boto3.client("organizations", endpoint_url=url, **KEYS)
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        client.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        units = {"workloads": client.create_organizational_unit(ParentId=root, Name="workloads")}
        units["team"] = client.create_organizational_unit(
            ParentId=units["workloads"]["OrganizationalUnit"]["Id"], Name="team")
        units["sandbox"] = client.create_organizational_unit(ParentId=root, Name="sandbox")
        unit_ids = {name: answer["OrganizationalUnit"]["Id"] for name, answer in units.items()}
        accounts = {}
        placement = (("prod", "workloads"), ("stage", "workloads"), ("dev", "team"), ("play", "sandbox"),
                     ("locked", None), ("closed", None))
        for name, parent in placement:
            account = client.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"][
                "AccountId"]
            accounts[name] = account
            if parent:
                client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit_ids[parent])
        client.close_account(AccountId=accounts["closed"])  # SUSPENDED
        guardrail = client.create_policy(
            Content=json.dumps(build_scp_document("aws")), Description="require MFA", Name="require-mfa",
            Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        client.attach_policy(PolicyId=guardrail, TargetId=unit_ids["workloads"])

        management = boto3.client("iam", endpoint_url=url, **KEYS)
        _user(management, MANAGEMENT, "mgmt-admin", policies={"allow-all": ALLOW_ALL})
        for name in ("prod", "stage", "dev"):
            account = accounts[name]
            iam = _member_iam(url, account)
            # alice: the account's own require-MFA policy (differs from the other's by the ID only).
            _user(iam, account, "alice", policies={"require-mfa": build_policy_document(account),
                                                    "allow-all": ALLOW_ALL}, device=True)
            # scp-only: allowed everything, protected by the guardrail SCP on workloads alone.
            _user(iam, account, "scp-only", policies={"allow-all": ALLOW_ALL})
        _user(_member_iam(url, accounts["play"]), accounts["play"], "loose", policies={"allow-all": ALLOW_ALL})
        yield Org(url, root, unit_ids, accounts)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _refusing(account: str):
    """A ``before-call`` handler answering AssumeRole into ``account`` as AWS does when the role is
    missing or does not trust the caller (moto checks neither)."""

    def handler(params: dict[str, Any], **_: Any) -> Any:
        role = params.get("body", {}).get("RoleArn", "")
        if f"::{account}:" not in role:
            return None

        class Response:
            status_code = 403
            headers: ClassVar[dict[str, str]] = {}
            content = b""
            raw = None

        error = {"Error": {"Code": "AccessDenied", "Message": f"User: arn:aws:iam::{MANAGEMENT}:user/admin is not "
                           f"authorized to perform: sts:AssumeRole on resource: {role}"},
                 "ResponseMetadata": {"HTTPStatusCode": 403}}
        return Response(), error

    return handler


@pytest.fixture
def refusing(org, monkeypatch):
    """The role of the ``locked`` account refuses (at the STS client's boundary)."""
    original = AwsAccountReader.__init__

    def init(self: AwsAccountReader, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.sts.meta.events.register("before-call.sts.AssumeRole", _refusing(org.accounts["locked"]))

    monkeypatch.setattr(AwsAccountReader, "__init__", init)


def _run(capsys, org: Org, *flags: str) -> tuple[int, str, str]:
    code = main(["audit", "--organization", "--endpoint-url", org.url, *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_whole_organization_as_json(org, credentials_env, refusing, capsys, tmp_path):
    code, out, err = _run(capsys, org, "--format", "json", "--no-resource-policies")
    assert code == 2  # an account could not be audited: 2 wins over 1
    report = json.loads(out)
    entries = {entry["name"]: entry for entry in report["accounts"]}  # moto names its management account "master"
    assert set(entries) == {"master", "prod", "stage", "dev", "play", "locked", "closed"}
    by_id = {entry["id"]: entry for entry in report["accounts"]}
    accounts = org.accounts

    locked = by_id[accounts["locked"]]
    assert locked["status"] == "failed" and locked["audit"] is None
    assert "AccessDenied" in locked["reason"] and "OrganizationAccountAccessRole" in locked["reason"]
    closed = by_id[accounts["closed"]]
    assert closed["status"] == "skipped" and closed["state"] == "SUSPENDED" and closed["audit"] is None

    management = by_id[MANAGEMENT]
    assert management["managementAccount"] and not management["scpsApplied"]
    assert management["serviceControlPolicies"]["source"] == "none apply"
    verdicts = {(entry["id"], user["user"]): user["verdict"]
                for entry in report["accounts"] if entry["audit"] for user in entry["audit"]["users"]}
    assert verdicts == {
        (MANAGEMENT, "mgmt-admin"): "unprotected",  # SCPs never restrict the management account
        (accounts["prod"], "alice"): "protected",
        (accounts["prod"], "scp-only"): "must enroll",  # protected by the guardrail SCP alone
        (accounts["stage"], "alice"): "protected",
        (accounts["stage"], "scp-only"): "must enroll",
        (accounts["dev"], "alice"): "protected",
        (accounts["dev"], "scp-only"): "must enroll",  # under a child OU of workloads: inherited
        (accounts["play"], "loose"): "unprotected",
    }
    prod, dev = by_id[accounts["prod"]], by_id[accounts["dev"]]
    assert prod["ouPath"] == "Root/workloads" and dev["ouPath"] == "Root/workloads/team"
    assert prod["scpsApplied"] and prod["serviceControlPolicies"]["levels"] == 3
    assert dev["serviceControlPolicies"]["levels"] == 4
    # Each entry's audit is exactly the single-account JSON object.
    assert set(prod["audit"]) == {*AuditReport("", "", "", (), 0, 0).as_dict(), "catalogActions"}
    assert prod["audit"]["accountId"] == accounts["prod"]
    organization = report["organization"]
    assert organization["accounts"] == {"audited": 5, "failed": 1, "skipped": 1}
    assert organization["managementAccountId"] == MANAGEMENT and organization["exitCode"] == 2
    assert organization["failing"] is True  # whenever the run does not pass, exit 2 too
    # prod and stage (same OU) share their sets, alice's differing by the account ID only: 2 of
    # stage's sets cost nothing. (dev's path has one more level, so its sets are other sets.)
    assert organization["policySetsEvaluated"] == sum(
        entry["audit"]["policySetsEvaluated"] for entry in report["accounts"] if entry["audit"]) - 2
    assert prod["sharedPolicySets"] and by_id[accounts["stage"]]["sharedPolicySets"]
    # Progress: one line per finished account on a pipe.
    assert err.count("\naccount ") + err.startswith("account ") == 7

    # The HTML report draws the same JSON: every audited account's users and counts, and the
    # account that could not be audited with its reason.
    page_file = tmp_path / "organization.html"
    code, out, _ = _run(capsys, org, "--format", "html", "-o", str(page_file), "--no-resource-policies")
    assert code == 2 and out == ""
    page = read_audit_html(page_file.read_text(encoding="utf-8"))
    key = lambda user: (user["account"], user["user"])  # noqa: E731
    assert sorted(page.users, key=key) == sorted(expected_users(report["accounts"]), key=key)
    assert page.counts == expected_counts(report["accounts"])
    assert "OrganizationAccountAccessRole" in " ".join(page.text)


def test_text_and_markdown(org, credentials_env, capsys):
    code, out, _ = _run(capsys, org, "--no-resource-policies")
    assert code == 1  # no account failed to be read here (moto's roles all answer): unprotected users
    assert out.startswith("MFA audit of organization o-")
    assert "7 accounts (6 audited, 0 failed, 1 skipped)" in out
    assert "outside SCPs (management account)" in out
    assert "Users, worst first:" in out
    assert out.index("mgmt-admin") < out.index("alice")  # worst first
    # moto's root users have a password and no MFA device: every audited account fails on its root.
    assert "every audited account: root user: FAIL: " in out
    assert "Summary over 6 audited accounts:" in out and "FAIL: 6 accounts fail" in out
    assert "2 with users unprotected or about to be locked out (or with findings), 6 with a failing root " in out
    # docs/audit.md's sample is this output (moto's account and organization IDs are random, and
    # accounts of one OU path are ordered by ID: the lines are compared as a set).
    docs = (ROOT / "docs" / "audit.md").read_text()
    section = docs[docs.index("### The report"):]
    sample = section[section.index("```text\n") + 8:section.index("\n```", section.index("```text"))]
    assert _normalized(sample) == _normalized(out)
    code, out, _ = _run(capsys, org, "--no-resource-policies", "--format", "markdown", "--ou", org.units["team"])
    assert code == 1
    assert out.startswith("# MFA audit of organization o-")
    assert "## Users, worst first" in out and "| account | user | verdict |" in out


def _normalized(text: str) -> list[str]:
    text = re.sub(r"\b[0-9]{12}\b", "<account>", text)
    return sorted(re.sub(r"\bo-[0-9a-z]{10}\b", "o-<id>", text).strip().splitlines())


def test_filters(org, credentials_env, capsys):
    code, out, _ = _run(capsys, org, "--json", "--no-resource-policies", "--accounts", org.accounts["prod"])
    assert code == 1  # alice protected, scp-only must enroll; moto's root user fails
    assert [entry["id"] for entry in json.loads(out)["accounts"]] == [org.accounts["prod"]]
    code, out, _ = _run(capsys, org, "--json", "--no-resource-policies", "--ou", org.units["workloads"])
    assert code == 1
    ids = {entry["id"] for entry in json.loads(out)["accounts"]}
    # The child OU's account too, not the management account.
    assert ids == {org.accounts["prod"], org.accounts["stage"], org.accounts["dev"]}
    code, out, err = _run(capsys, org, "--ou", "ou-abcd-nothere1")
    assert code == 2 and out == ""
    # Only a suspended account selected: nothing was audited, which is not a pass.
    code, out, _ = _run(capsys, org, "--no-resource-policies", "--accounts", org.accounts["closed"])
    assert code == 2
    assert "FAIL: no account was audited (every selected account was skipped): nothing was decided" in out
    assert "--ou: ou-abcd-nothere1 not in organization" in err


def test_flags_are_checked_before_anything(org, credentials_env, capsys):
    assert main(["audit", "--accounts", "111122223333"]) == 2
    assert "--accounts only applies with --organization" in capsys.readouterr().err
    assert main(["audit", "--organization", "--scp", "x.json"]) == 2
    assert "--scp does not apply with --organization" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "--organization", "--accounts", "12345"])
    assert "12-digit account IDs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "--organization", "--max-workers", "0"])


def test_accounts_are_read_concurrently_and_one_failure_loses_nothing(org, credentials_env, catalog, refusing):
    reader, organization = AwsAccountReader.connect(None, "us-east-1", org.url, resource_policies=False)
    # Two reads must be in flight at once, or the barrier breaks (and the test fails).
    barrier = threading.Barrier(2, timeout=20)
    calls = []
    read = reader.read

    def overlapping(account):
        calls.append(account.account_id)
        if len(calls) <= 2:
            barrier.wait()
        return read(account)

    reader.read = overlapping  # type: ignore[method-assign]
    # Four accounts: two to audit, the refusing one, the closed one.
    accounts = [account for account in select(organization)
                if account.name in ("prod", "stage", "locked", "closed")]
    many = audit_organization(organization, accounts, reader, catalog, role_name="R", max_workers=4)
    assert not barrier.broken
    reader.read = read  # type: ignore[method-assign]
    one = audit_organization(organization, accounts, reader, catalog, role_name="R", max_workers=1)
    assert many.as_dict() == one.as_dict()
    statuses = {entry.account.name or "management": entry.status for entry in many.entries}
    assert statuses["locked"] == "failed"
    assert [entry.status for entry in many.entries].count("audited") == 2
    assert many.exit_code == 2


def test_stack_preview_over_the_organization(org, credentials_env, capsys, tmp_path):
    """--stack with mfa-policy:organization: the SCP at its targets (sandbox) and the StackSet's
    policy in the accounts of its OUs; play's loose user would then be enrolled, not unprotected."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.orgtest.yaml").write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  mfa-policy:organization:\n"
        f"    targets: [\"{org.units['sandbox']}\"]\n"
        "  mfa-policy:groups: [developers]\n"
    )
    code, out, _ = _run(capsys, org, "--json", "--no-resource-policies", "--stack", "orgtest", "--cwd",
                        str(tmp_path), "--accounts", f"{org.accounts['play']},{org.accounts['prod']}")
    report = json.loads(out)
    by_id = {entry["id"]: entry for entry in report["accounts"]}
    play, prod = by_id[org.accounts["play"]], by_id[org.accounts["prod"]]
    assert play["planned"] == [f"SCP at {org.units['sandbox']}", "StackSet policy"]
    assert play["audit"]["users"][0]["verdict"] == "must enroll"
    assert prod["planned"] == []  # outside the targets: as it stands
    assert report["organization"]["scenario"] == "as if stack orgtest were deployed now"
    assert code == 1  # moto's root users
    # A per-account stack is refused with --organization, before any AWS call.
    (tmp_path / "Pulumi.single.yaml").write_text("config:\n  mfa-policy:groups: [developers]\n")
    assert main(["audit", "--organization", "--stack", "single", "--cwd", str(tmp_path)]) == 2
    assert "sets no mfa-policy:organization" in capsys.readouterr().err
    # The repository's Pulumi.org.yaml names OUs of another organization: a preview that would
    # attach its SCP nowhere is refused, not silently the organization as it stands.
    code, out, err = _run(capsys, org, "--no-resource-policies", "--stack", "org", "--cwd", str(ROOT))
    assert code == 2 and out == ""
    assert "stack org: its organization.targets ou-a1b2-workload1, ou-a1b2-sandbox01, 444455556666 are not in " in err


def test_the_role_name_is_the_one_assumed(org, credentials_env, catalog):
    reader, organization = AwsAccountReader.connect(None, "us-east-1", org.url, resource_policies=False,
                                                    role_name="AWSControlTowerExecution")
    (prod,) = select(organization, accounts=(org.accounts["prod"],))
    snapshot = reader.read(prod)
    assert snapshot.caller_arn.endswith(f":{org.accounts['prod']}:assumed-role/AWSControlTowerExecution/"
                                        f"{aws_organization.SESSION_NAME}")
