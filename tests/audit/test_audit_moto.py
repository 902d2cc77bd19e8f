"""``audit`` against moto in server mode: ordinary boto3 clients on 127.0.0.1, no patching.

One moto server per module, reset between tests through moto's reset API. Every scenario is
built through the IAM API. What moto does not do (and where each test says so):

* ``GetAccountAuthorizationDetails`` and ``ListMFADevices`` ignore ``MaxItems`` and always answer
  in one page: following ``Marker`` over several pages (and the ``PermissionsBoundary`` field) is
  checked against a stub endpoint answering in AWS's XML (test_pages_are_followed).
* Permission boundaries on users: moto's CreateUser ignores ``PermissionsBoundary`` and has no
  ``PutUserPermissionsBoundary``, so boundaries are tested on hand-built snapshots (pure tests).
* ``GetAccountAuthorizationDetails`` leaves out ``PolicyName``: the reader takes it from the ARN.
* FIDO security keys cannot be registered through the API (in AWS either): see the pure tests.
* The credential report leaves ``password_last_used`` as ``no_information``.
* AWS never throttles on demand, nor expires a token: a stub endpoint throttles; the expired
  token's message is checked on botocore's own error type in the pure tests.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

import boto3
import pytest

from conftest import ROOT, enforcing_iam, moto_server
from conftest import StubEndpoint as _StubEndpoint
from conftest import serving as _serving
from mfa_policy.audit.aws import HARDWARE_TOTP, SECURITY_KEY, VIRTUAL, AuditError, read_account
from mfa_policy.audit.verdicts import (
    LOCKED_OUT,
    MUST_ENROLL,
    NO_CREDENTIALS,
    PROTECTED,
    UNPROTECTED,
    PlannedPolicy,
    audit,
)
from mfa_policy.cli import main
from mfa_policy.extras import install_command
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog

ACCOUNT = "123456789012"  # moto's default account
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _post(url: str, body: bytes = b"") -> None:
    # Not form-encoded: moto's reset-auth reads the raw body.
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request).read()


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    with moto_server() as url:
        yield url


@dataclass
class Account:
    url: str
    iam: Any

    def policy(self, name: str, document: dict[str, Any]) -> str:
        return self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]

    def user(
        self,
        name: str,
        *,
        path: str = "/",
        groups: tuple[str, ...] = (),
        attach: tuple[str, ...] = (),
        inline: dict[str, dict[str, Any]] | None = None,
        password: bool = False,
        key: bool = False,
        use_key: bool = False,
        device: str | None = None,
    ) -> None:
        """A user built through the IAM API; ``device`` is ``virtual`` or a hardware serial number."""
        self.iam.create_user(UserName=name, Path=path)
        for group in groups:
            self.iam.add_user_to_group(GroupName=group, UserName=name)
        for arn in attach:
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        for policy_name, document in (inline or {}).items():
            self.iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        if password:
            self.iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
        if key or use_key:
            created = self.iam.create_access_key(UserName=name)["AccessKey"]
            if use_key:
                # A signed call with the user's key: moto records the key's last use, as AWS does.
                boto3.client(
                    "sts",
                    endpoint_url=self.url,
                    region_name="us-east-1",
                    aws_access_key_id=created["AccessKeyId"],
                    aws_secret_access_key=created["SecretAccessKey"],
                ).get_caller_identity()
        if device == "virtual":
            serial = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{name}-phone")["VirtualMFADevice"][
                "SerialNumber"
            ]
            self.iam.enable_mfa_device(
                UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
            )
        elif device:
            self.iam.enable_mfa_device(
                UserName=name, SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
            )


@pytest.fixture
def account(moto_url, credentials_env) -> Account:
    _post(f"{moto_url}/moto-api/reset")
    return Account(moto_url, boto3.client("iam", endpoint_url=moto_url, region_name="us-east-1"))


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _enforced_group(account: Account, name: str = "developers") -> None:
    """A group with the project's policy and allow-all: enforced MFA next to broad permissions."""
    account.iam.create_group(GroupName=name)
    for policy in (account.policy(f"{name}-require-mfa", build_policy_document(ACCOUNT)),
                   account.policy(f"{name}-allow-all", ALLOW_ALL)):
        account.iam.attach_group_policy(GroupName=name, PolicyArn=policy)


def _verdicts(report) -> dict[str, Any]:
    return {user.user: user for user in report.users}


def test_verdicts_for_a_mixed_account(account, catalog):
    _enforced_group(account)
    allow_all = account.policy("allow-all", ALLOW_ALL)
    account.user("alice", groups=("developers",), password=True, device="virtual")
    account.user("bob", groups=("developers",), use_key=True)
    account.user("carol", groups=("developers",), password=True, key=True)
    account.user("dave", path="/contractors/", attach=(allow_all,), password=True)
    account.user(
        "erin",
        inline={"require-mfa": build_policy_document(ACCOUNT), "everything": ALLOW_ALL},
        key=True,
        device="GAHT12345678",
    )
    account.user("frank", groups=("developers",), inline={"everything": ALLOW_ALL}, password=True)
    account.user("ivan", groups=("developers",))
    account.user("judy", path="/team/a/", groups=("developers",), password=True, device="virtual")

    # moto answers in one page whatever MaxItems says: pages of one show the reader asks for
    # small pages and still gets everyone, not that it follows Marker (botocore's paginator does).
    snapshot = read_account(endpoint_url=account.url, page_size=1)
    assert snapshot.account_id == ACCOUNT and snapshot.partition == "aws"
    report = audit(snapshot, catalog)
    users = _verdicts(report)

    assert {name: user.verdict for name, user in users.items()} == {
        "alice": PROTECTED,
        "bob": LOCKED_OUT,  # enforced, no device, key used just now
        "carol": MUST_ENROLL,  # key never used
        "dave": UNPROTECTED,
        "erin": PROTECTED,  # enforced through inline policies only
        "frank": MUST_ENROLL,  # allow-all inline next to the group's policy: the deny still wins
        "ivan": NO_CREDENTIALS,
        "judy": PROTECTED,  # at a nested IAM path
    }
    assert [user.user for user in report.users][:2] == ["dave", "bob"]  # worst first
    assert users["alice"].mfa_devices == (VIRTUAL,)
    assert users["erin"].mfa_devices == (HARDWARE_TOTP,)
    assert users["dave"].path == "/contractors/"
    assert users["dave"].exposures[0].policies == ("allow-all",)
    assert users["dave"].exposures[0].action == "iam:CreateAccessKey"  # privilege escalation first
    assert users["bob"].keys_last_used is not None and users["carol"].keys_last_used is None
    assert report.failing
    # Eight users, two distinct policy sets: identical documents share one evaluation, whether
    # inline (erin, frank), attached or through a group.
    assert report.policy_sets == 2

    # bob's key use a month later is no longer automation that breaks (--key-age-days 30).
    (used,) = next(u for u in snapshot.users if u.name == "bob").credentials.access_keys
    later = used.last_used + timedelta(days=31)
    assert _verdicts(audit(snapshot, catalog, now=later))["bob"].verdict == MUST_ENROLL
    assert _verdicts(audit(snapshot, catalog, now=later, key_age_days=40))["bob"].verdict == LOCKED_OUT


def test_planned_policy_previews_the_impact(account, catalog):
    account.iam.create_group(GroupName="developers")
    account.iam.attach_group_policy(GroupName="developers", PolicyArn=account.policy("allow-all", ALLOW_ALL))
    account.user("bob", groups=("developers",), use_key=True)
    account.user("carol", groups=("developers",), password=True, device="virtual")
    snapshot = read_account(endpoint_url=account.url)

    assert {u.verdict for u in audit(snapshot, catalog).users} == {UNPROTECTED}
    planned = PlannedPolicy("require-mfa", build_policy_document(ACCOUNT), ("developers", "missing"))
    report = audit(snapshot, catalog, planned=planned)
    assert {u.user: u.verdict for u in report.users} == {"bob": LOCKED_OUT, "carol": PROTECTED}
    assert any("missing" in note for note in report.notes)


# ---------------------------------------------------------------------------------------------
# The command line


def test_cli_json_and_exit_codes(account, capsys):
    _enforced_group(account)
    account.user("alice", groups=("developers",), password=True, device="virtual")
    # moto's credential report has no <root_account> row and its GetAccountSummary no
    # AccountPasswordPresent: the root user may have a password, has no MFA device, and fails the
    # audit (the exit code with a known root user: test_audit_reads.py). The users pass.
    assert main(["audit", "--endpoint-url", account.url, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["protected"] == 1 and report["failing"] is True
    assert report["root"]["failing"] and report["root"]["password"] is None
    assert report["users"][0]["mfaDevices"] == [VIRTUAL]

    account.user("dave", attach=(account.policy("allow-all", ALLOW_ALL),), password=True)
    assert main(["audit", "--endpoint-url", account.url]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"MFA audit of account {ACCOUNT} (aws), as the account stands: 2 users")
    assert "dave   UNPROTECTED" in out and "without MFA: iam:CreateAccessKey" in out
    assert out.splitlines()[-1].startswith("Summary: 1 unprotected, 0 will be locked out, 0 must enroll, 1 protected")
    assert "FAIL: someone is unprotected or will be locked out; the root user (" in out.splitlines()[-1]


def test_cli_stack_and_groups_preview(account, capsys):
    # The dev stack (Pulumi.dev.yaml) enforces MFA on developers and dev-admins.
    account.iam.create_group(GroupName="developers")
    account.iam.attach_group_policy(GroupName="developers", PolicyArn=account.policy("allow-all", ALLOW_ALL))
    account.user("bob", groups=("developers",), use_key=True)
    assert main(["audit", "--endpoint-url", account.url, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["users"][0]["verdict"] == UNPROTECTED

    assert main(["audit", "--endpoint-url", account.url, "--stack", "dev", "--cwd", str(ROOT), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["users"][0]["verdict"] == LOCKED_OUT
    assert "require-mfa-dev" in report["scenario"] and any("dev-admins do not exist" in n for n in report["notes"])

    account.user("carol", path="/team/", groups=("developers",), password=True)
    assert main(["audit", "--endpoint-url", account.url, "--groups", "developers", "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    # Users are shown as in the text table: the name alone at /, with the path elsewhere.
    assert "| bob | WILL BE LOCKED OUT |" in out and "| /team/carol | must enroll |" in out
    assert main(["audit", "--endpoint-url", account.url, "--groups", "developers"]) == 1
    lines = capsys.readouterr().out.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("USER "))
    rows = [line.split()[0] for line in lines[header + 1 : header + 3]]
    assert rows == ["bob", "/team/carol"]


def test_a_security_keys_stack_says_which_devices_users_can_enroll(account, tmp_path, capsys):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.keys.yaml").write_text(
        "config:\n  mfa-policy:groups: [developers]\n  mfa-policy:mfaDevices: security_keys\n"
    )
    account.iam.create_group(GroupName="developers")
    account.iam.attach_group_policy(GroupName="developers", PolicyArn=account.policy("allow-all", ALLOW_ALL))
    account.user("carol", groups=("developers",), password=True)
    # Exit 1 for moto's root user alone (see test_cli_json_and_exit_codes).
    assert main(["audit", "--endpoint-url", account.url, "--stack", "keys", "--cwd", str(tmp_path), "--json"]) == 1
    (carol,) = json.loads(capsys.readouterr().out)["users"]
    assert carol["verdict"] == MUST_ENROLL
    assert carol["notes"] == ["can enroll alone only: security key (not virtual, hardware TOTP)"]


def test_an_organization_stack_is_refused(account, capsys):
    # Pulumi.org.yaml sets mfa-policy:organization: an SCP the audit does not evaluate.
    assert main(["audit", "--endpoint-url", account.url, "--stack", "org", "--cwd", str(ROOT)]) == 2
    assert capsys.readouterr().err == (
        "error: stack 'org' sets mfa-policy:organization (a service control policy over many accounts), but the "
        "audit evaluates one account's identity policies: add --organization to preview it over the organization, "
        "or use --groups g1,g2, or a per-account stack\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--groups", "a b,"], "argument --groups: got 'a b,'; expected a comma-separated list of distinct IAM "
         "group names"),
        (["--groups", "ops,Ops"], "argument --groups: got 'ops,Ops'; expected"),
        (["--key-age-days", "-3"], "argument --key-age-days: got '-3'; expected a whole number of days (0 or more)."),
    ],
)
def test_flag_errors_name_the_flag_once(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", *argv])
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert message in last and last.count(argv[0]) == 1, last


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--endpoint-url", "notaurl"], "error: Invalid endpoint: notaurl: check --endpoint-url\n"),
        (["--region", "bad_region!"], "error: AWS SDK error: Provided region_name 'bad_region!' doesn't match a "
         "supported format.\n"),
    ],
)
def test_a_bad_endpoint_or_region_is_one_line(argv, expected, credentials_env, capsys):
    assert main(["audit", *argv]) == 2
    assert capsys.readouterr().err == expected


def test_cli_bad_input_exits_2(account, capsys):
    assert main(["audit", "--endpoint-url", account.url, "--stack", "nope", "--cwd", str(ROOT)]) == 2
    assert "stack 'nope' has no config file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "--groups", "bad name!"])
    assert exit_info.value.code == 2


def test_a_stack_for_another_account_is_refused(account, tmp_path, capsys):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.other.yaml").write_text(
        "config:\n  mfa-policy:groups: [developers]\n  mfa-policy:accountId: '999999999999'\n"
    )
    assert main(["audit", "--endpoint-url", account.url, "--stack", "other", "--cwd", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: stack 'other' targets account 999999999999, but the credentials are for account "
        f"{ACCOUNT}: pass the --profile of that account\n"
    )


def test_progress_goes_to_stderr_for_many_users(account, capsys):
    for index in range(26):
        account.iam.create_user(UserName=f"user{index:02d}")
    assert main(["audit", "--endpoint-url", account.url, "--json"]) == 1  # moto's root user alone
    captured = capsys.readouterr()
    # Not a terminal here: one line per phase (on a terminal, a counter rewritten in place).
    assert captured.err == "reading MFA devices for 26 users...\nevaluating policies for 26 users...\n"
    assert json.loads(captured.out)["summary"]["no credentials"] == 26


# ---------------------------------------------------------------------------------------------
# Errors: one line, exit 2


def test_no_credentials(moto_url, credentials_env, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["audit", "--endpoint-url", moto_url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found") and err.count("\n") == 1


def test_unknown_profile(moto_url, credentials_env, capsys):
    assert main(["audit", "--endpoint-url", moto_url, "--profile", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_access_denied_names_the_missing_permission(account, monkeypatch, capsys):
    # moto enforces IAM policies once its reset-auth API says so: an auditor allowed only
    # GetAccountAuthorizationDetails is refused the credential report. (moto also wants
    # sts:GetCallerIdentity allowed, which AWS never requires.)
    auditor = account.policy("partial", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
        "iam:GetAccountAuthorizationDetails", "sts:GetCallerIdentity"], "Resource": "*"}]})
    account.iam.create_user(UserName="auditor")
    account.iam.attach_user_policy(UserName="auditor", PolicyArn=auditor)
    key = account.iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with enforcing_iam(account.url):
        assert main(["audit", "--endpoint-url", account.url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: access denied: the credentials lack iam:GenerateCredentialReport.")
    assert '"iam:ListMFADevices"' in err and err.count("\n") == 1


class _Throttling(_StubEndpoint):
    """An endpoint that answers every request with AWS's Throttling error."""

    requests = 0

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        type(self).requests += 1
        return 400, (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
            b"</Message></Error><RequestId>1</RequestId></ErrorResponse>"
        )


def test_throttling_retries_then_says_so(credentials_env):
    with _serving(_Throttling) as url, pytest.raises(AuditError) as error:
        read_account(endpoint_url=url, max_attempts=2)
    assert _Throttling.requests == 2  # botocore's standard mode retried once
    assert str(error.value).startswith("AWS throttled GetCallerIdentity after 2 attempts")


def test_without_boto3_one_line_says_what_to_install():
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['boto3'] = None\n"
         "from mfa_policy.cli import main; sys.exit(main(['audit']))"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        "error: the audit of a live account needs the 'audit' extra (boto3 is not installed): "
        f"{install_command('audit')}\n"
    )


# ---------------------------------------------------------------------------------------------
# Several pages: moto always answers in one, so a stub endpoint on 127.0.0.1 answers in AWS's
# XML, two pages at a time, as AWS does when IsTruncated is true. It also carries the
# PermissionsBoundary field that moto leaves out. The reader under test is unchanged.

_IAM = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
_STUB_ACCOUNT = "111122223333"


def _quoted(document: dict[str, Any]) -> str:
    return urllib.parse.quote(json.dumps(document))


def _stub_answer(action: str, params: dict[str, str]) -> str:
    allow_all = _quoted(ALLOW_ALL)
    pages = {
        ("GetAccountAuthorizationDetails", ""): (
            "<IsTruncated>true</IsTruncated><Marker>page-2</Marker><UserDetailList><member><Path>/team/</Path>"
            f"<UserName>ann</UserName><UserId>AIDAANN</UserId><Arn>arn:aws:iam::{_STUB_ACCOUNT}:user/team/ann</Arn>"
            "<CreateDate>2024-01-01T00:00:00Z</CreateDate><GroupList><member>admins</member></GroupList>"
            "<UserPolicyList/><AttachedManagedPolicies/><PermissionsBoundary><PermissionsBoundaryType>"
            "PermissionsBoundaryPolicy</PermissionsBoundaryType><PermissionsBoundaryArn>"
            f"arn:aws:iam::{_STUB_ACCOUNT}:policy/boundary</PermissionsBoundaryArn></PermissionsBoundary>"
            "</member></UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>"
        ),
        ("GetAccountAuthorizationDetails", "page-2"): (
            "<IsTruncated>false</IsTruncated><UserDetailList/><GroupDetailList><member><Path>/</Path>"
            f"<GroupName>admins</GroupName><GroupId>AGPA1</GroupId><Arn>arn:aws:iam::{_STUB_ACCOUNT}:group/admins"
            "</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><GroupPolicyList><member><PolicyName>everything"
            f"</PolicyName><PolicyDocument>{allow_all}</PolicyDocument></member></GroupPolicyList>"
            "<AttachedManagedPolicies/></member></GroupDetailList><RoleDetailList/><Policies><member>"
            f"<PolicyName>boundary</PolicyName><PolicyId>ANPA1</PolicyId><Arn>arn:aws:iam::{_STUB_ACCOUNT}:"
            "policy/boundary</Arn><Path>/</Path><DefaultVersionId>v2</DefaultVersionId><AttachmentCount>0"
            "</AttachmentCount><IsAttachable>true</IsAttachable><CreateDate>2024-01-01T00:00:00Z</CreateDate>"
            "<UpdateDate>2024-01-01T00:00:00Z</UpdateDate><PolicyVersionList>"
            f"<member><Document>{_quoted({'Statement': []})}</Document><VersionId>v1</VersionId>"
            "<IsDefaultVersion>false</IsDefaultVersion><CreateDate>2024-01-01T00:00:00Z</CreateDate></member>"
            f"<member><Document>{allow_all}</Document><VersionId>v2</VersionId><IsDefaultVersion>true"
            "</IsDefaultVersion><CreateDate>2024-01-01T00:00:00Z</CreateDate></member>"
            "</PolicyVersionList></member></Policies>"
        ),
        ("ListMFADevices", ""): (
            "<IsTruncated>true</IsTruncated><Marker>device-2</Marker><MFADevices><member><UserName>ann</UserName>"
            f"<SerialNumber>arn:aws:iam::{_STUB_ACCOUNT}:mfa/ann</SerialNumber>"
            "<EnableDate>2024-01-01T00:00:00Z</EnableDate></member></MFADevices>"
        ),
        ("ListMFADevices", "device-2"): (
            "<IsTruncated>false</IsTruncated><MFADevices><member><UserName>ann</UserName>"
            f"<SerialNumber>arn:aws:iam::{_STUB_ACCOUNT}:u2f/user/ann/key-1</SerialNumber>"
            "<EnableDate>2024-01-01T00:00:00Z</EnableDate></member></MFADevices>"
        ),
    }
    report = base64.b64encode(
        b"user,arn,password_enabled,mfa_active,access_key_1_active,access_key_2_active\n"
        b"ann,arn:aws:iam::111122223333:user/team/ann,true,true,false,false\n"
    ).decode()
    if action == "GetCallerIdentity":
        return (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
            f"<Arn>arn:aws:iam::{_STUB_ACCOUNT}:user/auditor</Arn><UserId>AIDA</UserId>"
            f"<Account>{_STUB_ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
        )
    if action == "GenerateCredentialReport":
        result = "<State>COMPLETE</State>"
    elif action == "GetAccountSummary":  # the root user: test_audit_reads.py reads it in full
        result = "<SummaryMap><entry><key>AccountMFAEnabled</key><value>1</value></entry></SummaryMap>"
    elif action == "ListOrganizationsFeatures":
        result = "<EnabledFeatures/>"
    elif action == "GetCredentialReport":
        result = f"<Content>{report}</Content><ReportFormat>text/csv</ReportFormat>"
    else:
        result = pages[(action, params.get("Marker", ""))]
    return f"<{action}Response {_IAM}><{action}Result>{result}</{action}Result></{action}Response>"


class _Paging(_StubEndpoint):
    seen: ClassVar[list[tuple[str, str, str]]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        type(self).seen.append((params["Action"], params.get("Marker", ""), params.get("MaxItems", "")))
        return 200, _stub_answer(params["Action"], params).encode()


def test_pages_are_followed(credentials_env):
    with _serving(_Paging) as url:
        snapshot = read_account(endpoint_url=url, page_size=1, resource_policies=False)
    assert ("GetAccountAuthorizationDetails", "page-2", "1") in _Paging.seen
    assert ("ListMFADevices", "device-2", "1") in _Paging.seen
    (ann,) = snapshot.users
    boundary = f"arn:aws:iam::{_STUB_ACCOUNT}:policy/boundary"
    assert (ann.path, ann.groups, ann.boundary) == ("/team/", ("admins",), boundary)
    assert [device.kind for device in ann.mfa_devices] == [VIRTUAL, SECURITY_KEY]
    assert snapshot.groups["admins"].inline[0].document == ALLOW_ALL
    assert snapshot.policies[ann.boundary].document == ALLOW_ALL  # the default version, not v1
    assert ann.credentials is not None and ann.credentials.password_enabled


def test_enrollment_tickets(account, catalog, capsys):
    """Issue 18: users with and without the ticket tag, enrolled and not, tags read by the reader."""
    gates = {"require_tag": {"key": "mfa-enrollment", "value": "allowed"}}
    account.iam.create_group(GroupName="ticketed")
    for policy in (account.policy("ticketed-require-mfa", build_policy_document(ACCOUNT, enrollment=gates)),
                   account.policy("ticketed-allow-all", ALLOW_ALL)):
        account.iam.attach_group_policy(GroupName="ticketed", PolicyArn=policy)
    ticket = [{"Key": "mfa-enrollment", "Value": "allowed"}]
    account.user("newcomer", groups=("ticketed",), password=True)
    account.user("opened", groups=("ticketed",), password=True)
    account.iam.tag_user(UserName="opened", Tags=ticket)
    account.user("forgot", groups=("ticketed",), password=True, device="virtual")
    account.iam.tag_user(UserName="forgot", Tags=ticket)
    account.user("tidy", groups=("ticketed",), password=True, device="virtual")

    users = _verdicts(audit(read_account(endpoint_url=account.url, resource_policies=False), catalog))
    assert users["newcomer"].verdict == MUST_ENROLL and users["newcomer"].enrollment.state == "closed"
    assert users["opened"].verdict == MUST_ENROLL and users["opened"].enrollment.state == "open"
    assert users["forgot"].verdict == PROTECTED and [f.kind for f in users["forgot"].findings] == [
        "open enrollment ticket"
    ]
    assert users["tidy"].verdict == PROTECTED and not users["tidy"].findings

    # The finding fails the audit (test_audit_tickets.py shows it alone does; moto's unknown root
    # user fails every moto audit too), and the report prints the commands to run.
    code = main(["audit", "--endpoint-url", account.url, "--no-resource-policies"])
    out = capsys.readouterr().out
    assert code == 1
    assert "aws iam tag-user --user-name newcomer --tags Key=mfa-enrollment,Value=allowed" in out
    assert "finding: open enrollment ticket: forgot has an MFA device" in out
    assert "aws iam untag-user --user-name forgot --tag-keys mfa-enrollment" in out
    assert "enrollment open: the user carries the enrollment ticket" in out
