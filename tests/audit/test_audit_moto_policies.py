# ruff: noqa: F811  (the fixtures of test_audit_moto.py, imported, are test parameters here)
"""The audit against moto in server mode, on the policies customers write: carve-outs in Denies,
request keys (aws:ViaAWSService, aws:PrincipalTag, aws:username), policy versions, and service
control policies read from moto's Organizations API or given as files.

Ordinary boto3 clients on 127.0.0.1, every scenario built through the AWS API; the fixtures are
those of test_audit_moto.py. Where moto falls short it says so here: permission boundaries on
users are tested on hand-built snapshots (test_audit_verdicts.py); moto lets no member account
read the organization (a delegated administrator's reads answer AccountNotFoundException), so a
member account's SCPs are read with the management account's credentials (--organization-profile).
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from test_audit_moto import (  # noqa: F401  (fixtures)
    ACCOUNT,
    ALLOW_ALL,
    Account,
    _post,
    account,
    catalog,
    moto_url,
)

from mfa_policy.audit.aws import SCPS_FROM_ORGANIZATION, SCPS_NONE_APPLY, SCPS_NOT_APPLIED, read_account
from mfa_policy.audit.verdicts import MUST_ENROLL, NO_ACCESS, PROTECTED, UNPROTECTED, audit
from mfa_policy.cli import main
from mfa_policy.policy.document import build_policy_document
from mfa_policy.policy.scp import build_scp_document


def _without_mfa(*statements: dict[str, Any]) -> dict[str, Any]:
    """Denies that apply without MFA (BoolIfExists: access keys too)."""
    for statement in statements:
        statement.setdefault("Condition", {}).setdefault("BoolIfExists", {})["aws:MultiFactorAuthPresent"] = "false"
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _require_mfa_unless(condition: dict[str, Any]) -> dict[str, Any]:
    """The project's policy with ``condition`` added to each of its Deny statements."""
    document = json.loads(json.dumps(build_policy_document(ACCOUNT)))
    for statement in document["Statement"]:
        if statement["Effect"] == "Deny":
            for operator, entries in condition.items():
                statement["Condition"].setdefault(operator, {}).update(entries)
    return document


def _verdicts(report: Any) -> dict[str, Any]:
    return {user.user: user for user in report.users}


def test_carve_outs_in_denies_are_exposures(account, catalog):
    allow_all = account.policy("allow-all", ALLOW_ALL)
    # Deny everything without MFA except one bucket (NotResource); and a Deny scoped to one bucket.
    not_resource = account.policy("carve-out", _without_mfa(
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::public-drop/*"}))
    scoped = account.policy("payroll-only", _without_mfa(
        {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::payroll/*"}))
    # Two NotResource Denies: each one's witness is caught by the other; a bucket named a...b is not.
    both = account.policy("two-carve-outs", _without_mfa(
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::logs-*"},
        {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::*-archive/*"}))
    enforced = account.policy("require-mfa", build_policy_document(ACCOUNT))
    account.user("dropper", attach=(allow_all, not_resource), password=True, device="virtual")
    account.user("payroll", attach=(allow_all, scoped), password=True, device="virtual")
    account.user("archivist", attach=(allow_all, both), password=True, device="virtual")
    account.user("alice", attach=(allow_all, enforced), password=True, device="virtual")
    users = _verdicts(audit(read_account(endpoint_url=account.url), catalog))

    assert {name: user.verdict for name, user in users.items()} == {
        "dropper": UNPROTECTED, "payroll": UNPROTECTED, "archivist": UNPROTECTED, "alice": PROTECTED}
    (drop,) = [e for e in users["dropper"].exposures if e.action.startswith("s3:")]
    assert drop.resource == "arn:aws:s3:::public-drop/example" and drop.policies == ("allow-all",)
    assert users["payroll"].exposures[0].action == "iam:CreateAccessKey"  # the Deny covers one bucket only
    archive = [e.resource for e in users["archivist"].exposures if e.action.startswith("s3:")]
    assert archive and archive[0].startswith("arn:aws:s3:::logs-") and "-archive/" in archive[0]


def test_request_keys_decide_exemptions(account, catalog):
    allow_all = account.policy("allow-all", ALLOW_ALL)
    # "Deny without MFA unless an AWS service calls on your behalf": a direct call is not one.
    via_service = account.policy("via-service", _require_mfa_unless({"Bool": {"aws:ViaAWSService": "false"}}))
    # Exempt users tagged mfa-exempt=true, and the break-glass user by name.
    tag_exempt = account.policy("tag-exempt", _require_mfa_unless(
        {"StringNotEquals": {"aws:PrincipalTag/mfa-exempt": "true"}}))
    name_exempt = account.policy("name-exempt", _require_mfa_unless(
        {"StringNotEquals": {"aws:username": "break-glass"}}))
    account.user("svc", attach=(allow_all, via_service), password=True, device="virtual")
    account.user("tagged", attach=(allow_all, tag_exempt), password=True, device="virtual")
    account.iam.tag_user(UserName="tagged", Tags=[{"Key": "mfa-exempt", "Value": "true"}])
    account.user("untagged", attach=(allow_all, tag_exempt), password=True, device="virtual")
    account.iam.tag_user(UserName="untagged", Tags=[{"Key": "team", "Value": "data"}])
    account.user("break-glass", attach=(allow_all, name_exempt), password=True, device="virtual")
    account.user("named", attach=(allow_all, name_exempt), password=True)
    snapshot = read_account(endpoint_url=account.url)
    assert next(u for u in snapshot.users if u.name == "tagged").tags == (("mfa-exempt", "true"),)
    users = _verdicts(audit(snapshot, catalog))

    assert {name: user.verdict for name, user in users.items()} == {
        "svc": PROTECTED, "tagged": UNPROTECTED, "untagged": PROTECTED, "break-glass": UNPROTECTED,
        "named": MUST_ENROLL}
    assert not any("does not model" in note for user in users.values() for note in user.notes)


def test_the_default_policy_version_is_what_counts(account, catalog):
    arn = account.policy("evolving", ALLOW_ALL)
    # v2 adds the require-MFA statements but is not made the default: v1 (allow-all) still applies.
    statements = [*build_policy_document(ACCOUNT)["Statement"], *ALLOW_ALL["Statement"]]
    account.iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}), SetAsDefault=False
    )
    account.user("carol", attach=(arn,), password=True, device="virtual")
    assert _verdicts(audit(read_account(endpoint_url=account.url), catalog))["carol"].verdict == UNPROTECTED
    account.iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert _verdicts(audit(read_account(endpoint_url=account.url), catalog))["carol"].verdict == PROTECTED


def test_a_user_with_no_access_even_with_mfa_does_not_fail_the_run(account, catalog, capsys):
    account.user("idle", password=True)  # no policy at all
    report = audit(read_account(endpoint_url=account.url), catalog)
    assert _verdicts(report)["idle"].verdict == NO_ACCESS and not any(user.failing for user in report.users)
    # moto cannot tell whether its root user has a password (no <root_account> row in the
    # credential report), so the root user fails every audit against moto: the users do not.
    assert report.root is not None and report.root.failing
    assert main(["audit", "--endpoint-url", account.url]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^idle +no access +- +yes", out, re.MULTILINE)
    assert "FAIL: the root user" in out


# ---------------------------------------------------------------------------------------------
# Service control policies


@pytest.fixture
def organization(account) -> dict[str, str]:
    """An organization whose management account is moto's default account, the project's guardrail
    SCP at the root (next to FullAWSAccess), and a member account in an OU."""
    org = boto3.client("organizations", endpoint_url=account.url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    guardrail = org.create_policy(
        Content=json.dumps(build_scp_document()), Description="require MFA", Name="require-mfa",
        Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=guardrail, TargetId=root)
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    member = org.create_account(Email="member@example.com", AccountName="member")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
    return {"root": root, "ou": ou, "member": member}


def _member_profile(owner: Account, member: str, tmp_path: Any, monkeypatch: Any) -> None:
    """Profiles for the member account (an assumed role) and the management account (default)."""
    credentials = boto3.client("sts", endpoint_url=owner.url, region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="audit")["Credentials"]
    config = tmp_path / "config"
    config.write_text(
        "[profile member]\nregion = us-east-1\n"
        f"aws_access_key_id = {credentials['AccessKeyId']}\naws_secret_access_key = {credentials['SecretAccessKey']}\n"
        f"aws_session_token = {credentials['SessionToken']}\n"
        "[profile management]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


def test_scps_read_from_organizations_protect_a_member_account(account, organization, tmp_path, monkeypatch,
                                                               catalog, capsys):
    member = organization["member"]
    _member_profile(account, member, tmp_path, monkeypatch)
    iam = boto3.Session(profile_name="member").client("iam", endpoint_url=account.url)
    iam.create_user(UserName="dana")  # allow-all, no MFA policy of her own: only the SCP enforces MFA
    iam.attach_user_policy(UserName="dana", PolicyArn=iam.create_policy(
        PolicyName="allow-all", PolicyDocument=json.dumps(ALLOW_ALL))["Policy"]["Arn"])
    iam.create_login_profile(UserName="dana", Password="Correct-Horse-9")

    snapshot = read_account(profile="member", endpoint_url=account.url, organization_profile="management")
    assert snapshot.account_id == member and snapshot.scp_source == SCPS_FROM_ORGANIZATION
    assert [level.target for level in snapshot.scp_levels] == [organization["root"], organization["ou"], member]
    assert {p.name for p in snapshot.scp_levels[0].policies} == {"FullAWSAccess", "require-mfa"}
    assert snapshot.organization_paths[0].endswith(f"/{organization['root']}/{organization['ou']}/")
    (dana,) = audit(snapshot, catalog).users
    assert dana.verdict == MUST_ENROLL, dana  # not unprotected: the SCP denies her everything without MFA

    # The member's own credentials cannot read the organization (moto answers AccountNotFoundException
    # where AWS answers AccessDenied): SCPs are not applied, with a note, and dana is unprotected.
    alone = read_account(profile="member", endpoint_url=account.url)
    assert alone.scp_source == SCPS_NOT_APPLIED and "service control policies not applied" in alone.notes[0]
    assert audit(alone, catalog).users[0].verdict == UNPROTECTED

    # Exit 1 only for moto's root user, whose password moto cannot tell (see test_audit_moto.py).
    assert main(["audit", "--profile", "member", "--organization-profile", "management",
                 "--endpoint-url", account.url, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["root"]["failing"] and not any(user["findings"] for user in report["users"])
    assert report["serviceControlPolicies"] == {"source": SCPS_FROM_ORGANIZATION, "levels": 3}
    assert report["users"][0]["verdict"] == MUST_ENROLL


def test_the_management_account_is_never_restricted_by_scps(account, organization, catalog):
    account.user("mona", attach=(account.policy("allow-all", ALLOW_ALL),), password=True)
    snapshot = read_account(endpoint_url=account.url)
    assert snapshot.management_account and snapshot.scp_source == SCPS_NONE_APPLY and not snapshot.scp_levels
    report = audit(snapshot, catalog)
    assert report.users[0].verdict == UNPROTECTED
    assert any("management account" in note and "never restrict" in note for note in report.notes)


def test_scp_files_for_a_caller_who_cannot_read_them(account, tmp_path, capsys):
    account.user("erin", attach=(account.policy("allow-all", ALLOW_ALL),), password=True)
    root = tmp_path / "root.json"
    root.write_text(json.dumps([{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}, build_scp_document()]))
    account_level = tmp_path / "account.json"
    account_level.write_text(json.dumps(ALLOW_ALL))
    argv = ["audit", "--endpoint-url", account.url, "--json", "--scp", str(root), "--scp", str(account_level)]
    # Exit 1 only for moto's root user, whose password moto cannot tell (see test_audit_moto.py).
    assert main(argv) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["users"][0]["verdict"] == MUST_ENROLL
    assert report["serviceControlPolicies"] == {"source": "from --scp files", "levels": 2}

    # As in AWS, a level with no Allow allows nothing: erin has no access at all.
    account_level.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
    assert main(argv) == 1
    assert json.loads(capsys.readouterr().out)["users"][0]["verdict"] == NO_ACCESS

    account_level.write_text('{"Statement": [{"Effect": "Maybe"}]}')
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: --scp: {account_level} holds no policy document")


def test_organization_reads_refused_are_a_note_not_an_error(account, capsys):
    # moto enforces IAM policies after reset-auth: an auditor with the required IAM reads only.
    auditor = account.policy("auditor", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "iam:GetAccountAuthorizationDetails", "iam:GenerateCredentialReport", "iam:GetCredentialReport",
        "iam:ListMFADevices", "iam:GetAccountSummary", "sts:GetCallerIdentity"], "Resource": "*"}]})
    account.iam.create_user(UserName="auditor")
    account.iam.attach_user_policy(UserName="auditor", PolicyArn=auditor)
    key = account.iam.create_access_key(UserName="auditor")["AccessKey"]
    boto3.client("organizations", endpoint_url=account.url, region_name="us-east-1").create_organization(
        FeatureSet="ALL")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    _post(f"{account.url}/moto-api/reset-auth", b"0")
    try:
        code = main(["audit", "--endpoint-url", account.url, "--json"])
    finally:
        _post(f"{account.url}/moto-api/reset-auth", b"inf")
        monkeypatch.undo()
    captured = capsys.readouterr()
    assert code == 1 and captured.err == ""  # the auditor itself reads IAM without MFA: unprotected
    notes = json.loads(captured.out)["notes"]
    assert any(note.startswith("service control policies not applied: organizations:DescribeOrganization failed")
               for note in notes), notes
