"""Same-account resource policies in the verdicts, on hand-built snapshots (the moto tests read
the same policies from AWS's API in test_audit_reads.py).

AWS's rules, each case below (IAM User Guide, "Policy evaluation logic"): a resource policy
that grants an IAM user's ARN (or ``*``) needs nothing from the user's identity policies or its
permission boundary; an explicit Deny anywhere wins; a grant to the account only delegates.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mfa_policy.audit.aws import (
    AccessKey,
    AccountSnapshot,
    Credentials,
    ManagedPolicy,
    ResourcePolicy,
    UnreadPolicy,
    User,
)
from mfa_policy.audit.resource_policies import Guards, resolve_absent_keys
from mfa_policy.audit.verdicts import MUST_ENROLL, NO_ACCESS, NO_CREDENTIALS, PROTECTED, UNPROTECTED, audit
from mfa_policy.cli.audit import _summary
from mfa_policy.policy.document import build_policy_document
from mfa_policy.verifier.catalog import load_catalog
from mfa_policy.verifier.evaluation import PolicySet

ACCOUNT = "111122223333"
KEYS = Credentials(access_keys=(AccessKey(active=True),))
PASSWORD = Credentials(password_enabled=True)


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def _user(name: str, credentials: Credentials | None = KEYS, **fields: Any) -> User:
    return User(name, "/", _arn(name), f"AIDA{name.upper()}", credentials=credentials, **fields)


def _bucket(name: str, *statements: dict[str, Any]) -> ResourcePolicy:
    return ResourcePolicy("s3", name, f"arn:aws:s3:::{name}", None, _doc(*statements))


def _grant(principal: Any, action: str = "s3:GetObject", resource: str = "arn:aws:s3:::reports/*",
           sid: str = "Grant", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


REQUIRE_MFA = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/require-mfa", "require-mfa", build_policy_document(ACCOUNT))
ALLOW_ALL = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/allow-all", "allow-all",
                          _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
NOTHING = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/nothing", "nothing",
                        _doc({"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}))
DENY_S3 = ManagedPolicy(f"arn:aws:iam::{ACCOUNT}:policy/deny-s3", "deny-s3",
                        _doc({"Effect": "Allow", "Action": "*", "Resource": "*"},
                             {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}))
POLICIES = {p.arn: p for p in (REQUIRE_MFA, ALLOW_ALL, NOTHING, DENY_S3)}


def _audit(users: tuple[User, ...], policies: tuple[ResourcePolicy, ...], **snapshot: Any):
    built = AccountSnapshot(ACCOUNT, "aws", _arn("auditor"), users, {}, POLICIES,
                            resource_policies=policies, regions=("us-east-1",), **snapshot)
    return {user.user: user for user in audit(built, load_catalog()).users}


def test_a_grant_to_the_user_arn_makes_an_unenforced_user_unprotected():
    # alice has no identity policy: without the bucket policy she could do nothing. bob is not named.
    reports = _bucket("reports", _grant({"AWS": _arn("alice")}, sid="AllowAlice"))
    users = _audit((_user("alice"), _user("bob")), (reports,))
    alice = users["alice"]
    assert alice.verdict == UNPROTECTED and not alice.enforced and not alice.exposures
    (exposure,) = alice.resource_exposures
    assert str(exposure) == (
        "s3:GetObject on arn:aws:s3:::reports/example (access keys; granted by the bucket policy of reports, "
        "statement AllowAlice)"
    )
    assert alice.as_dict()["grantedByResourcePolicies"] == [{
        "action": "s3:GetObject", "resource": "arn:aws:s3:::reports/example", "context": "access keys",
        "policy": "the bucket policy of reports", "statement": "AllowAlice", "resourceArn": "arn:aws:s3:::reports"}]
    assert users["bob"].verdict == NO_ACCESS and not users["bob"].resource_exposures


def test_the_permission_boundary_does_not_cap_the_grant():
    # A boundary that allows nothing caps identity policies, not a grant to the user's ARN.
    users = _audit((_user("alice", attached=(ALLOW_ALL.arn,), boundary=NOTHING.arn),),
                   (_bucket("reports", _grant({"AWS": _arn("alice")})),))
    assert users["alice"].verdict == UNPROTECTED
    assert [e.action for e in users["alice"].resource_exposures] == ["s3:GetObject"]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"attached": (REQUIRE_MFA.arn, ALLOW_ALL.arn)}, "the require-MFA Deny of the identity policies"),
        ({"attached": (ALLOW_ALL.arn,), "boundary": DENY_S3.arn}, "an explicit Deny in the boundary"),
    ],
)
def test_an_explicit_deny_stops_the_grant(fields, why):
    users = _audit((_user("alice", **fields),), (_bucket("reports", _grant({"AWS": _arn("alice")})),))
    assert not users["alice"].resource_exposures, why


def test_the_resource_policy_own_conditions_and_denies_count():
    grants = (
        # Its own MFA condition: no exposure without MFA.
        _bucket("with-mfa", _grant("*", resource="arn:aws:s3:::with-mfa/*",
                                   Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
        # Its own Deny without MFA wins over its Allow.
        _bucket("denied", _grant("*", resource="arn:aws:s3:::denied/*"),
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::denied/*",
                 "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}),
        # "Bool false" does not match a request signed with access keys (the key is absent): only
        # the console without MFA gets it.
        _bucket("console", _grant("*", resource="arn:aws:s3:::console/*",
                                  Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
    )
    users = _audit((_user("alice", credentials=Credentials(password_enabled=True, access_keys=KEYS.access_keys)),),
                   grants)
    (exposure,) = users["alice"].resource_exposures
    assert (exposure.resource_arn, exposure.context) == ("arn:aws:s3:::console", "console without MFA")


def test_a_grant_to_the_account_only_delegates():
    kms = ResourcePolicy("kms", "k1", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1", "us-east-1", _doc(
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"}))
    assert _audit((_user("alice"),), (kms,))["alice"].verdict == NO_ACCESS


def test_everyone_means_every_user_with_credentials():
    public = _bucket("public", _grant("*", resource="arn:aws:s3:::public/*"))
    users = _audit((_user("alice"), _user("bob", credentials=PASSWORD), _user("ghost", credentials=Credentials()),
                    _user("carol", attached=(REQUIRE_MFA.arn, ALLOW_ALL.arn))), (public,))
    assert {name: user.verdict for name, user in users.items()} == {
        "alice": UNPROTECTED, "bob": UNPROTECTED, "ghost": NO_CREDENTIALS, "carol": MUST_ENROLL}
    assert users["bob"].resource_exposures[0].context == "console without MFA"  # a password alone


def test_service_to_service_keys_are_absent_from_a_users_own_call():
    # SNS's default topic policy (AWS:SourceOwner) and an AWS managed key's policy (kms:ViaService,
    # kms:CallerAccount) grant "*" only when a service calls: never to the user directly.
    topic = ResourcePolicy("sns", "alerts", f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts", "us-east-1", {
        "Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
            "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:Publish", "SNS:Subscribe", "SNS:DeleteTopic"],
            "Resource": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts",
            "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}}}]})
    managed_key = ResourcePolicy("kms", "aws-ebs", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/ebs", "us-east-1", _doc({
        "Sid": "Allow access through EBS for all principals in the account that are authorized to use EBS",
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT,
                                       "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}}))
    assert _audit((_user("alice"),), (topic, managed_key))["alice"].verdict == NO_ACCESS


def test_every_kind_names_its_resource_and_its_most_telling_action():
    region = f"us-east-1:{ACCOUNT}"
    me = {"AWS": _arn("alice")}
    policies = (
        ResourcePolicy("kms", "k1", f"arn:aws:kms:{region}:key/k1", "us-east-1", _doc(_grant(me, "kms:*", "*"))),
        ResourcePolicy("sqs", "jobs", f"arn:aws:sqs:{region}:jobs", "us-east-1",
                       _doc(_grant(me, "sqs:*", f"arn:aws:sqs:{region}:jobs"))),
        ResourcePolicy("sns", "alerts", f"arn:aws:sns:{region}:alerts", "us-east-1",
                       _doc(_grant(me, "sns:Publish", f"arn:aws:sns:{region}:alerts"))),
        ResourcePolicy("secretsmanager", "db", f"arn:aws:secretsmanager:{region}:secret:db-AbCdEf", "us-east-1",
                       _doc(_grant(me, "secretsmanager:*", "*"))),
        # moto's shape for a Lambda permission: the principal as a bare string.
        ResourcePolicy("lambda", "fn", f"arn:aws:lambda:{region}:function:fn", "us-east-1", _doc(
            _grant(_arn("alice"), "lambda:InvokeFunction", f"arn:aws:lambda:{region}:function:fn"))),
        ResourcePolicy("ecr", "app", f"arn:aws:ecr:{region}:repository/app", "us-east-1",
                       _doc(_grant(me, "ecr:*", "*"))),
        ResourcePolicy("efs", "fs-1", f"arn:aws:elasticfilesystem:{region}:file-system/fs-1", "us-east-1",
                       _doc(_grant(me, ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"], "*"))),
    )
    alice = _audit((_user("alice"),), policies)["alice"]
    assert [(e.policy, e.action) for e in alice.resource_exposures] == [
        ("the key policy of k1", "kms:Decrypt"),
        ("the queue policy of jobs", "sqs:ReceiveMessage"),
        ("the topic policy of alerts", "sns:Publish"),
        ("the resource policy of db", "secretsmanager:GetSecretValue"),
        ("the function policy of fn", "lambda:InvokeFunction"),
        ("the repository policy of app", "ecr:BatchGetImage"),
        ("the file system policy of fs-1", "elasticfilesystem:ClientMount"),
    ]
    assert alice.resource_exposures[0].resource == f"arn:aws:kms:{region}:key/k1"


def test_conditions_on_who_asks_are_decided_per_user():
    # "Principal *" narrowed by aws:PrincipalArn (IAM's advice instead of NotPrincipal), and a
    # home folder per user with a policy variable.
    shared = _bucket("shared", _grant("*", resource="arn:aws:s3:::shared/*",
                                      Condition={"ArnEquals": {"aws:PrincipalArn": _arn("alice")}}))
    homes = _bucket("homes", _grant("*", resource="arn:aws:s3:::homes/${aws:username}/*", sid="Home"))
    users = _audit((_user("alice"), _user("bob")), (shared, homes))
    assert [e.resource for e in users["alice"].resource_exposures] == [
        "arn:aws:s3:::shared/example", "arn:aws:s3:::homes/alice/example"]
    assert [e.resource for e in users["bob"].resource_exposures] == ["arn:aws:s3:::homes/bob/example"]


def test_a_condition_the_audit_does_not_model_counts_in_the_users_favour_with_a_note():
    office = _bucket("office", _grant({"AWS": _arn("alice")}, resource="arn:aws:s3:::office/*", sid="Office",
                                      Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    alice = _audit((_user("alice"),), (office,))["alice"]
    assert alice.verdict == UNPROTECTED
    assert ("the bucket policy of office, statement Office: an Allow conditioned on aws:SourceIp, which the audit "
            "does not model: counted as met") in alice.notes


def test_not_principal_allow_grants_everyone_else():
    others = _bucket("others", {"Sid": "AllButBob", "Effect": "Allow", "NotPrincipal": {"AWS": _arn("bob")},
                                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::others/*"})
    users = _audit((_user("alice"), _user("bob")), (others,))
    assert (users["alice"].verdict, users["bob"].verdict) == (UNPROTECTED, NO_ACCESS)


def test_what_was_not_read_or_cannot_be_evaluated_is_said_and_never_ok():
    odd = _bucket("odd", _grant("*", resource="arn:aws:s3:::odd/*", Condition={"StringEqualz": {"a:b": "c"}}))
    built = AccountSnapshot(
        ACCOUNT, "aws", _arn("auditor"), (_user("alice", attached=(REQUIRE_MFA.arn,)),), {}, POLICIES,
        resource_policies=(odd,), regions=("us-east-1",),
        unread_policies=(UnreadPolicy("the bucket policy of secret", "AccessDenied: the credentials lack "
                                      "s3:GetBucketPolicy"),))
    report = audit(built, load_catalog())
    assert report.resource_policies.gaps == (
        "could not read the bucket policy of secret (AccessDenied: the credentials lack s3:GetBucketPolicy): grants "
        "there are not seen",
        "could not evaluate the bucket policy of odd (unknown condition operator 'StringEqualz'): grants there are "
        "not seen",
    )
    assert not report.failing
    assert _summary(report).endswith(
        "OK: nobody is unprotected or about to be locked out (but 2 resource policies could not be read: grants "
        "there are not seen)")
    unread = AccountSnapshot(ACCOUNT, "aws", _arn("auditor"), built.users, {}, POLICIES)  # resource_policies=None
    assert _summary(audit(unread, load_catalog())).endswith(
        "(resource policies were not read: grants there are not seen)")
    assert json.loads(json.dumps(report.resource_policies.as_dict()))["policies"]["s3"] == 1


def test_a_user_already_protected_stays_protected_when_denies_stop_every_grant():
    from mfa_policy.audit.aws import HARDWARE_TOTP, MfaDevice

    device = (MfaDevice("GAHT1", HARDWARE_TOTP),)
    users = _audit((_user("alice", attached=(REQUIRE_MFA.arn, ALLOW_ALL.arn), mfa_devices=device),),
                   (_bucket("reports", _grant("*")),))
    assert users["alice"].verdict == PROTECTED and not users["alice"].resource_exposures


def test_guards_an_scp_level_must_allow():
    # SCP levels (after the merge with the SCP reads) are layers that must allow.
    ec2_only = PolicySet([_doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})])
    guards = Guards(allow_layers=[ec2_only])
    assert guards.stop("s3:GetObject", "arn:aws:s3:::reports/x", {})
    assert not guards.stop("ec2:DescribeInstances", "*", {})


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        # A service's keys are absent from a user's own call: each entry decided as the evaluator
        # decides an absent key. None: the statement never applies; {}: the entry always holds.
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, None),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, None),
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}),
        ({"StringEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}, {}),
        ({"Null": {"aws:SourceArn": "true"}}, {}),
        ({"Null": {"aws:SourceArn": "false"}}, None),
        ({"ForAnyValue:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, None),
        # Other keys stay (the relaxation decides them).
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceIp": "10.0.0.1"}}, None),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    ],
)
def test_resolve_absent_keys(condition, kept):
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": condition}
    resolved = resolve_absent_keys([statement])
    if kept is None:
        assert resolved == []
    else:
        (only,) = resolved
        assert only.get("Condition", {}) == kept


def test_identical_grants_are_decided_once_for_users_with_the_same_policies():
    # 40 users with the same (compiled) identity policies and a public bucket: one decision, reused;
    # a user whose policies differ gets its own.
    from mfa_policy.audit.model import AccountModel
    from mfa_policy.audit.resource_policies import ResourcePolicies
    from mfa_policy.audit.verdicts import _named_contexts
    from mfa_policy.verifier.requests import NO_MFA_SCENARIOS, KeyModel, relax_document

    view = ResourcePolicies((_bucket("public", _grant("*", resource="arn:aws:s3:::public/*")),), load_catalog(),
                            lambda document, label: relax_document(document, label, KeyModel()))

    def contexts(user: User) -> list[Any]:
        model = AccountModel(AccountSnapshot(ACCOUNT, "aws", _arn("auditor"), (user,), {}, POLICIES))
        return list(_named_contexts(model.principal(user), NO_MFA_SCENARIOS))

    shared = Guards([PolicySet([ALLOW_ALL.document])])
    for index in range(40):
        user = _user(f"user{index}")
        found, _ = view.exposures(user, ACCOUNT, "aws", contexts(user), shared)
        assert [e.resource for e in found] == ["arn:aws:s3:::public/example"]
    denied = Guards([PolicySet([DENY_S3.document])])
    user = _user("other")
    assert view.exposures(user, ACCOUNT, "aws", contexts(user), denied) == ([], [])
    assert len(view._shared) == 2
