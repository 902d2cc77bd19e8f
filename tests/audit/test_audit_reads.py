"""Resource policies, the root user, security keys' certifications, and reaching the endpoint:
read through real boto3 clients, from moto in server mode (one server for this module) or, for
what moto lacks, from a stub endpoint on 127.0.0.1 answering in AWS's documented XML.

What moto 5.2 lacks, and what the tests do instead:

* the credential report's ``<root_account>`` row, ``GetAccountSummary``'s
  ``AccountPasswordPresent``, ``ListOrganizationsFeatures`` (HTTP 500): the root user is read
  from a stub endpoint (``_Account``), and moto's root user is "unknown" (it fails the audit);
* ``GetMFADevice`` (HTTP 500), and security keys (nor does AWS's API register one): a stub
  endpoint lists a ``u2f`` device and answers ``GetMFADevice`` with ``Certifications``;
* a Lambda function policy's principal comes back as a bare string, not ``{"AWS": ...}`` (the
  audit reads both).

moto creates Lambda functions without Docker (only invoking one needs it).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any, ClassVar

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from conftest import StubEndpoint, enforcing_iam, moto_server, serving
from mfa_policy.audit.aws import OPTIONAL_READ_POLICY, REQUIRED_ACTIONS, audit_client, read_account
from mfa_policy.audit.verdicts import MUST_ENROLL, NO_ACCESS, PROTECTED, UNPROTECTED, audit
from mfa_policy.cli import main
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog

ACCOUNT = "123456789012"  # moto's default account
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # moto logs its 500 for unimplemented calls
    with moto_server() as url:
        yield url


class Moto:
    """Clients on the moto server, and helpers that build an account through AWS's API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=region)

    def user(self, name: str, *, enforced: bool = False) -> None:
        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
        if enforced:
            for policy_name, document in (("require-mfa", build_policy_document(ACCOUNT)), ("all", ALLOW_ALL)):
                iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))

    def bucket(self, name: str, policy: str | None = None) -> None:
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name)
        if policy:
            s3.put_bucket_policy(Bucket=name, Policy=policy)

    def queue(self, name: str, policy: str, region: str = "us-east-1") -> None:
        sqs = self.client("sqs", region)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})


@pytest.fixture
def moto(moto_url, credentials_env) -> Moto:
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).read()
    return Moto(moto_url)


def _grant(user: str, action: str, resource: str, sid: str = "Grant") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": _arn(user)}, "Action": action, "Resource": resource}


def test_every_kind_of_resource_policy_is_read_and_judged(moto):
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "gus", "ida", "hal"):
        moto.user(name)
    moto.user("grace", enforced=True)
    # S3: alice by name; grace by name, but her require-MFA Deny stops it; an MFA-only public
    # bucket; a delegation to the account.
    moto.bucket("reports", _doc(_grant("alice", "s3:GetObject", "arn:aws:s3:::reports/*", "AllowAlice"),
                                _grant("grace", "s3:GetObject", "arn:aws:s3:::reports/*", "AllowGrace")))
    moto.bucket("mfa-only", _doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                  "Resource": "arn:aws:s3:::mfa-only/*",
                                  "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}))
    moto.bucket("delegated", _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                   "Action": "s3:*", "Resource": "arn:aws:s3:::delegated/*"}))
    moto.bucket("no-policy")
    # KMS: the default key policy (the account) and a key policy naming bob.
    kms = moto.client("kms")
    kms.create_key()
    kms.create_key(Policy=_doc({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                "Action": "kms:*", "Resource": "*"}, _grant("bob", "kms:Decrypt", "*", "BobDecrypts")))
    # SQS, SNS (the default topic policy, and one naming dave), Secrets Manager, Lambda, ECR.
    moto.queue("jobs", _doc(_grant("carol", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")))
    sns = moto.client("sns")
    sns.create_topic(Name="default")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=_doc(
        _grant("dave", "sns:Publish", topic)))
    secrets = moto.client("secretsmanager")
    secret = secrets.create_secret(Name="db", SecretString="x")["ARN"]
    secrets.put_resource_policy(SecretId=secret, ResourcePolicy=_doc(_grant("erin", "secretsmanager:GetSecretValue",
                                                                            "*")))
    moto.client("iam").create_role(RoleName="runner", AssumeRolePolicyDocument="{}")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as built:
        built.writestr("handler.py", "def handler(event, context):\n    return None\n")
    functions = moto.client("lambda")
    functions.create_function(FunctionName="fn", Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/runner",
                              Handler="handler.handler", Code={"ZipFile": archive.getvalue()})
    functions.add_permission(FunctionName="fn", StatementId="FrankInvokes", Action="lambda:InvokeFunction",
                             Principal=_arn("frank"))
    ecr = moto.client("ecr")
    ecr.create_repository(repositoryName="app")
    ecr.set_repository_policy(repositoryName="app", policyText=_doc(
        _grant("gus", ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "*", "GusPulls")))
    efs = moto.client("efs")
    system = efs.create_file_system(CreationToken="shared")
    efs.put_file_system_policy(FileSystemId=system["FileSystemId"], Policy=_doc(
        _grant("ida", "elasticfilesystem:ClientMount", system["FileSystemArn"], "IdaMounts")))
    efs.create_file_system(CreationToken="no-policy")

    snapshot = read_account(endpoint_url=moto.url)
    assert sorted((policy.kind, policy.name) for policy in snapshot.resource_policies if policy.kind != "kms") == [
        ("ecr", "app"), ("efs", system["FileSystemId"]), ("lambda", "fn"), ("s3", "delegated"), ("s3", "mfa-only"),
        ("s3", "reports"), ("secretsmanager", "db"), ("sns", "alerts"), ("sns", "default"), ("sqs", "jobs")]
    assert [policy.kind for policy in snapshot.resource_policies].count("kms") == 2
    assert snapshot.unread_policies == () and snapshot.regions == ("us-east-1",)

    users = {user.user: user for user in audit(snapshot, load_catalog()).users}
    granted = {name: [(e.action, e.policy, e.statement) for e in user.resource_exposures]
               for name, user in users.items()}
    assert granted["alice"] == [("s3:GetObject", "the bucket policy of reports", "AllowAlice")]
    assert granted["bob"][0][::2] == ("kms:Decrypt", "BobDecrypts")
    assert granted["carol"] == [("sqs:SendMessage", "the queue policy of jobs", "Grant")]
    assert granted["dave"] == [("sns:Publish", "the topic policy of alerts", "Grant")]
    assert granted["erin"] == [("secretsmanager:GetSecretValue", "the resource policy of db", "Grant")]
    assert granted["frank"] == [("lambda:InvokeFunction", "the function policy of fn", "FrankInvokes")]
    assert granted["gus"] == [("ecr:BatchGetImage", "the repository policy of app", "GusPulls")]
    assert granted["ida"] == [("elasticfilesystem:ClientMount", f"the file system policy of {system['FileSystemId']}",
                               "IdaMounts")]
    assert granted["grace"] == granted["hal"] == []
    assert {name: user.verdict for name, user in users.items() if not granted[name]} == {
        "grace": MUST_ENROLL, "hal": MUST_ENROLL}
    assert all(users[name].verdict == UNPROTECTED for name in ("alice", "bob", "carol", "dave", "erin", "frank", "gus",
                                                               "ida"))


def test_the_report_names_the_grant_the_resource_and_the_policy(moto, capsys):
    moto.user("alice")
    moto.bucket("reports", _doc(_grant("alice", "s3:GetObject", "arn:aws:s3:::reports/*", "AllowAlice")))
    assert main(["audit", "--endpoint-url", moto.url]) == 1
    out = capsys.readouterr().out
    assert ("    without MFA: s3:GetObject on arn:aws:s3:::reports/example (access keys; granted by the bucket "
            "policy of reports, statement AllowAlice)\n") in out
    assert "Resource policies: 1 bucket policy (read in us-east-1; S3 buckets in every region)\n" in out

    # Without the reads the grant is not seen, and the report says so.
    assert main(["audit", "--endpoint-url", moto.url, "--no-resource-policies", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["users"][0]["verdict"] == NO_ACCESS and report["resourcePolicies"]["read"] is False
    assert main(["audit", "--endpoint-url", moto.url, "--no-resource-policies"]) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("(resource policies were not read: grants there are not seen)")


def test_regions_the_session_region_by_default_a_list_or_all(moto, capsys):
    moto.user("alice")
    moto.queue("far", _doc(_grant("alice", "sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:far")), "eu-west-1")

    def seen(*flags: str) -> tuple[list[str], list[str]]:
        main(["audit", "--endpoint-url", moto.url, "--json", *flags])
        report = json.loads(capsys.readouterr().out)
        exposures = report["users"][0]["grantedByResourcePolicies"]
        return [e["resourceArn"] for e in exposures], report["resourcePolicies"]["regions"]

    assert seen() == ([], ["us-east-1"])
    far = [f"arn:aws:sqs:eu-west-1:{ACCOUNT}:far"]
    assert seen("--regions", "us-east-1,eu-west-1") == (far, ["us-east-1", "eu-west-1"])


class _Regions(StubEndpoint):
    """EC2's DescribeRegions as AWS answers it without AllRegions: the regions enabled for the
    account (an opt-in region that is not enabled is not listed). moto lists its 38 regions, whose
    reads make a slow test: the list is checked here, the reads of a second region above."""

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        assert params["Action"] == "DescribeRegions" and "AllRegions" not in params
        regions = "".join(
            f"<item><regionName>{name}</regionName><regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint>"
            "<optInStatus>opt-in-not-required</optInStatus></item>"
            for name in ("us-east-1", "eu-west-1")
        )
        return 200, ('<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1'
                     f"</requestId><regionInfo>{regions}</regionInfo></DescribeRegionsResponse>").encode()


def test_all_regions_are_the_regions_ec2_lists(credentials_env):
    from mfa_policy.audit.aws_resources import _regions

    session = boto3.Session()
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with serving(_Regions) as url:
        regions, unread = _regions(lambda service, where: audit_client(session, service, where, url, config),
                                   "us-east-1", "all")
    assert (regions, unread) == (("eu-west-1", "us-east-1"), [])
    refused = f"http://127.0.0.1:{_closed_port()}"
    regions, unread = _regions(lambda service, where: audit_client(session, service, where, refused, config),
                               "us-east-1", "all")
    assert regions == ("us-east-1",) and unread[0].what == "the list of regions (read us-east-1 only)"


def test_a_policy_the_credentials_may_not_read_is_a_note_not_a_failure(moto, monkeypatch, capsys):
    moto.user("alice")
    moto.bucket("reports", _doc(_grant("alice", "s3:GetObject", "arn:aws:s3:::reports/*")))
    moto.bucket("open", _doc(_grant("alice", "s3:GetObject", "arn:aws:s3:::open/*")))
    # An auditor with every read but s3:GetBucketPolicy on reports (moto enforces IAM policies
    # after its reset-auth API; it also wants sts:GetCallerIdentity allowed, which AWS does not).
    iam = moto.client("iam")
    optional = OPTIONAL_READ_POLICY["Statement"][0]["Action"]
    auditor = iam.create_policy(PolicyName="auditor", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": [*REQUIRED_ACTIONS, *optional, "sts:GetCallerIdentity"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::reports"}))["Policy"]["Arn"]
    iam.create_user(UserName="auditor")
    iam.attach_user_policy(UserName="auditor", PolicyArn=auditor)
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    with enforcing_iam(moto.url):
        assert main(["audit", "--endpoint-url", moto.url, "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert main(["audit", "--endpoint-url", moto.url]) == 1
        out = capsys.readouterr().out
    assert ("could not read the bucket policy of reports (AccessDenied: the credentials lack s3:GetBucketPolicy): "
            "grants there are not seen") in report["resourcePolicies"]["gaps"]
    assert ("note: could not read the bucket policy of reports (AccessDenied: the credentials lack "
            "s3:GetBucketPolicy): grants there are not seen\n") in out
    assert "note: the optional read policy in docs/audit.md" in out
    alice = next(user for user in report["users"] if user["user"] == "alice")
    assert [e["resourceArn"] for e in alice["grantedByResourcePolicies"]] == ["arn:aws:s3:::open"]


def test_markdown_shows_every_users_notes(moto, capsys):
    # Issue 20: a user marked UNPROTECTED because of a note must show the note in Markdown too.
    moto.user("mia")
    office = json.loads(json.dumps(build_policy_document(ACCOUNT)))
    for statement in office["Statement"]:
        if statement["Sid"] == "DenyAllExceptMfaBootstrapWithoutMfa":
            statement["Condition"]["NotIpAddress"] = {"aws:SourceIp": "203.0.113.0/24"}
    iam = moto.client("iam")
    iam.put_user_policy(UserName="mia", PolicyName="office", PolicyDocument=json.dumps(office))
    iam.put_user_policy(UserName="mia", PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    assert main(["audit", "--endpoint-url", moto.url, "--format", "markdown"]) == 1
    out = capsys.readouterr().out
    assert "| mia | UNPROTECTED |" in out
    assert ("- **mia**: note: inline office, statement DenyAllExceptMfaBootstrapWithoutMfa: a Deny conditioned on "
            "aws:SourceIp, which the audit does not model: counted as not applying\n") in out


# ---------------------------------------------------------------------------------------------
# Reaching the endpoint: a refused connection is final


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


def test_a_refused_connection_is_not_retried_but_throttling_is(credentials_env):
    # Counted, not timed: botocore emits before-send once per attempt.
    session = boto3.Session()
    attempts: list[str] = []
    session.events.register("before-send", lambda **kwargs: attempts.append("sent"))
    config = Config(retries={"mode": "standard", "total_max_attempts": 10})
    sts = audit_client(session, "sts", "us-east-1", f"http://127.0.0.1:{_closed_port()}", config)
    with pytest.raises(EndpointConnectionError):
        sts.get_caller_identity()
    assert attempts == ["sent"]

    class Throttling(StubEndpoint):
        def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
            return 400, b"<ErrorResponse><Error><Code>Throttling</Code><Message>slow</Message></Error></ErrorResponse>"

    attempts.clear()
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    with serving(Throttling) as url, pytest.raises(Exception, match="Throttling"):
        audit_client(session, "sts", "us-east-1", url, config).get_caller_identity()
    assert attempts == ["sent"] * 2


def test_audit_to_a_refused_port_is_one_line(credentials_env, capsys):
    assert main(["audit", "--endpoint-url", f"http://127.0.0.1:{_closed_port()}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach AWS: Could not connect to the endpoint URL:") and err.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# What moto lacks: a stub endpoint answering STS and IAM in AWS's XML (one page each): one user,
# ann, enforced by the project's policy, with a security key; the root user; the organization's
# centralized root access; GetMFADevice's Certifications.

_IAM = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
_STUB = "111122223333"
_KEY = f"arn:aws:iam::{_STUB}:u2f/user/ann/yubikey-1"


def _entries(values: dict[str, Any]) -> str:
    return "".join(f"<entry><key>{key}</key><value>{value}</value></entry>" for key, value in values.items())


class _Account(StubEndpoint):
    """The account's answers; tests change the class attributes of a subclass."""

    summary: ClassVar[dict[str, int]] = {"AccountMFAEnabled": 1, "AccountPasswordPresent": 1,
                                         "AccountAccessKeysPresent": 0}
    root_mfa = "true"
    root_key = "false"
    features: ClassVar[tuple[str, ...] | str] = ("RootCredentialsManagement", "RootSessions")
    certifications: ClassVar[dict[str, str] | str] = {"FIDO": "L2"}
    calls: ClassVar[list[str]] = []

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        action = params["Action"]
        type(self).calls.append(action)
        if action == "GetCallerIdentity":
            return 200, (
                '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
                f"<Arn>arn:aws:iam::{_STUB}:user/auditor</Arn><UserId>AIDA</UserId><Account>{_STUB}</Account>"
                "</GetCallerIdentityResult></GetCallerIdentityResponse>"
            ).encode()
        result = self.result(action, params)
        if isinstance(result, tuple):
            code, message = result
            return 400, (f"<ErrorResponse {_IAM}><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                         "</Message></Error><RequestId>1</RequestId></ErrorResponse>").encode()
        return 200, f"<{action}Response {_IAM}><{action}Result>{result}</{action}Result></{action}Response>".encode()

    def result(self, action: str, params: dict[str, str]) -> str | tuple[str, str]:
        if action == "GetAccountAuthorizationDetails":
            inline = "".join(
                f"<member><PolicyName>{name}</PolicyName><PolicyDocument>{urllib.parse.quote(json.dumps(doc))}"
                "</PolicyDocument></member>"
                for name, doc in (("require-mfa", build_policy_document(_STUB)), ("all", ALLOW_ALL))
            )
            return (
                "<IsTruncated>false</IsTruncated><UserDetailList><member><Path>/</Path><UserName>ann</UserName>"
                f"<UserId>AIDAANN</UserId><Arn>arn:aws:iam::{_STUB}:user/ann</Arn><CreateDate>2024-01-01T00:00:00Z"
                f"</CreateDate><GroupList/><UserPolicyList>{inline}</UserPolicyList><AttachedManagedPolicies/>"
                "</member></UserDetailList><GroupDetailList/><RoleDetailList/><Policies/>"
            )
        if action == "GenerateCredentialReport":
            return "<State>COMPLETE</State>"
        if action == "GetCredentialReport":
            report = (
                "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
                "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
                "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
                "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
                "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,"
                "cert_2_active,cert_2_last_rotated\n"
                f"<root_account>,arn:aws:iam::{_STUB}:root,2020-01-01T00:00:00+00:00,not_supported,"
                f"2026-10-01T00:00:00+00:00,not_supported,not_supported,{self.root_mfa},{self.root_key},"
                "2021-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
                f"ann,arn:aws:iam::{_STUB}:user/ann,2024-01-01T00:00:00+00:00,true,N/A,N/A,N/A,true,false,N/A,N/A,"
                "N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
            )
            content = base64.b64encode(report.encode()).decode()
            return f"<Content>{content}</Content><ReportFormat>text/csv</ReportFormat>"
        if action == "ListMFADevices":
            return (
                "<IsTruncated>false</IsTruncated><MFADevices><member><UserName>ann</UserName>"
                f"<SerialNumber>{_KEY}</SerialNumber><EnableDate>2024-01-01T00:00:00Z</EnableDate></member>"
                "</MFADevices>"
            )
        if action == "GetAccountSummary":
            return f"<SummaryMap>{_entries(self.summary)}</SummaryMap>"
        if action == "ListOrganizationsFeatures":
            if isinstance(self.features, str):
                return self.features, "refused"
            members = "".join(f"<member>{feature}</member>" for feature in self.features)
            return f"<OrganizationId>o-aa111bb222</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"
        if action == "GetMFADevice":
            assert (params["SerialNumber"], params["UserName"]) == (_KEY, "ann")
            if isinstance(self.certifications, str):
                return self.certifications, "refused"
            return (
                f"<UserName>ann</UserName><SerialNumber>{_KEY}</SerialNumber><EnableDate>2024-01-01T00:00:00Z"
                f"</EnableDate><Certifications>{_entries(self.certifications)}</Certifications>"
            )
        return "Unsupported", action


def _stub(**attributes: Any) -> type[_Account]:
    return type("Account", (_Account,), {"calls": [], **attributes})


# botocore added ListOrganizationsFeatures in late 2024; the lowest botocore we allow (1.34) cannot
# call it, and the audit then says central root access is unknown.
ORGANIZATION_FEATURES = "ListOrganizationsFeatures" in botocore.session.get_session().get_service_model(
    "iam").operation_names
CENTRAL = (
    "managed centrally in organization o-aa111bb222 (RootCredentialsManagement, RootSessions): applies to member "
    "accounts, not to the management account"
    if ORGANIZATION_FEATURES
    else "unknown: this botocore predates iam:ListOrganizationsFeatures"
)


def test_the_root_user_and_key_certifications_are_read_in_awss_format(credentials_env):
    account = _stub()
    with serving(account) as url:
        snapshot = read_account(endpoint_url=url, resource_policies=False, key_certifications=True)
    root = snapshot.root
    assert (root.in_report, root.password, root.access_keys, root.mfa) == (True, True, 0, True)
    if ORGANIZATION_FEATURES:
        assert (root.central_features, root.organization_id) == (("RootCredentialsManagement", "RootSessions"),
                                                                  "o-aa111bb222")
    else:
        assert (root.central_features, root.central_note) == (None, CENTRAL)
    (key,) = snapshot.users[0].mfa_devices
    assert key.certifications == (("FIDO", "L2"),)
    assert snapshot.resource_policies is None
    # Without --security-key-certification the certifications are not read (nor needed).
    plain = _stub()
    with serving(plain) as url:
        assert read_account(endpoint_url=url, resource_policies=False).users[0].mfa_devices[0].certifications is None
    assert "GetMFADevice" not in plain.calls


def test_a_clean_account_exits_0_and_findings_exit_1(credentials_env, capsys):
    with serving(_stub()) as url:
        base = ["audit", "--endpoint-url", url, "--no-resource-policies", "--mfa-devices", "security_keys"]
        assert main([*base, "--security-key-certification", "fido=L2,L3"]) == 0
        out = capsys.readouterr().out
        assert next(line for line in out.splitlines() if line.startswith("ann ")).split()[:4] == [
            "ann", "protected", "security", "key"]
        assert f"Root user: ok: MFA device enabled, no access key (centralized root access: {CENTRAL})" in out
        assert out.splitlines()[-1].endswith(
            "OK: nobody is unprotected or about to be locked out (resource policies were not read: grants there are "
            "not seen)")
        assert main([*base, "--security-key-certification", "fips-140-3=L2", "--json"]) == 1
        (ann,) = json.loads(capsys.readouterr().out)["users"]
        assert ann["verdict"] == PROTECTED and ann["findings"] == [{
            "kind": "security key lacks certification", "device": _KEY,
            "message": f"security key {_KEY}: fips-140-3 L2 required, it has no fips-140-3 certification "
                       "(--mfa-devices security_keys --security-key-certification)"}]


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"root_mfa": "false", "summary": {"AccountMFAEnabled": 0, "AccountPasswordPresent": 1}},
         "the root user (a password and no MFA device)"),
        ({"root_key": "true"}, "the root user (1 active access key (requests signed with it need no MFA))"),
    ],
)
def test_the_root_user_fails_the_audit(attributes, reason, credentials_env, capsys):
    with serving(_stub(**attributes)) as url:
        assert main(["audit", "--endpoint-url", url, "--no-resource-policies"]) == 1
    assert f"FAIL: {reason}" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize(
    ("features", "central"),
    [
        ("AccountNotManagementOrDelegatedAdministrator",
         "unknown: only the management account or IAM's delegated administrator may call "
         "iam:ListOrganizationsFeatures"),
        ("AccessDenied", "unknown: the credentials lack iam:ListOrganizationsFeatures"),
        ("OrganizationNotFound", "the account is in no organization: root credentials are not managed centrally"),
        ((), "not managed centrally"),
    ],
)
@pytest.mark.skipif(not ORGANIZATION_FEATURES, reason="this botocore cannot call ListOrganizationsFeatures")
def test_central_root_access_as_far_as_the_caller_may_know(features, central, credentials_env, capsys):
    with serving(_stub(features=features)) as url:
        assert main(["audit", "--endpoint-url", url, "--no-resource-policies", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["root"]["centralRootAccess"] == central


def test_get_mfa_device_refused_is_one_line(credentials_env, capsys):
    with serving(_stub(certifications="AccessDenied")) as url:
        argv = ["audit", "--endpoint-url", url, "--no-resource-policies", "--mfa-devices", "security_keys",
                "--security-key-certification", "fido=L2"]
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: access denied: the credentials lack iam:GetMFADevice, which "
                          "--security-key-certification needs") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--regions", "us-east-1,mars"], "argument --regions: got 'us-east-1,mars'; expected 'all' or a "
         "comma-separated list of AWS region names"),
        (["--mfa-devices", "keys"], "argument --mfa-devices: invalid choice: 'keys'"),
    ],
)
def test_flag_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_regions_without_resource_policies_is_refused(credentials_env, capsys):
    assert main(["audit", "--no-resource-policies", "--regions", "eu-west-1"]) == 2
    assert capsys.readouterr().err == (
        "error: --regions names where to read resource policies: it has no effect with --no-resource-policies\n")


def test_a_certification_needs_security_keys(credentials_env, capsys):
    assert main(["audit", "--security-key-certification", "fido=L2"]) == 2
    assert capsys.readouterr().err == (
        "error: --security-key-certification: got 'fido=L2'; expected no value unless --mfa-devices is "
        "'security_keys'.\n")
    assert main(["audit", "--mfa-devices", "security_keys", "--security-key-certification", "fido=L9"]) == 2
    assert "--security-key-certification: got {'fido': ['L9']}" in capsys.readouterr().err


def test_the_docs_show_the_policies_the_code_asks_for():
    # docs/audit.md's two policies are the ones the AccessDenied error prints and the reads need.
    import re

    from conftest import ROOT
    from mfa_policy.audit.aws import READ_ONLY_POLICY

    blocks = re.findall(r"```json\n(.*?)```", (ROOT / "docs" / "audit.md").read_text(), re.DOTALL)
    assert [json.loads(block) for block in blocks[:2]] == [READ_ONLY_POLICY, OPTIONAL_READ_POLICY]


def test_a_security_keys_stack_requires_them_of_its_groups(moto, tmp_path, capsys):
    import shutil

    from conftest import ROOT

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.keys.yaml").write_text(
        "config:\n  mfa-policy:groups: [developers]\n  mfa-policy:mfaDevices: security_keys\n")
    iam = moto.client("iam")
    iam.create_group(GroupName="developers")
    for name, groups in (("dev", ("developers",)), ("ops", ())):
        moto.user(name)
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    assert main(["audit", "--endpoint-url", moto.url, "--stack", "keys", "--cwd", str(tmp_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["mfaDevicesRequired"] == "stack keys sets mfa-policy:mfaDevices security_keys"
    findings = {user["user"]: [f["kind"] for f in user["findings"]] for user in report["users"]}
    assert findings == {"dev": ["not phishing-resistant"], "ops": []}  # ops is in none of the stack's groups
    # The flag overrides the stack: any device.
    argv = ["audit", "--endpoint-url", moto.url, "--stack", "keys", "--cwd", str(tmp_path), "--mfa-devices", "any"]
    main([*argv, "--json"])
    assert json.loads(capsys.readouterr().out)["findings"] == 0
