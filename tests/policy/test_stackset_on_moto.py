"""The StackSet template and the SCP against moto's emulation of Organizations and CloudFormation.

moto (in server mode on 127.0.0.1) runs a service-managed StackSet into the accounts of an OU and
resolves ``Fn::Sub`` itself: a second, independent implementation of what CloudFormation does with
our escaping. What moto does not emulate, and these tests therefore do not show: AWS::IAM::Group
in templates (so only existing groups here), the 5,120-character SCP quota (moto accepts longer
documents), SCP evaluation, and automatic deployment to accounts that join later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from conftest import moto_server
from mfa_policy import build_policy_document
from mfa_policy.policy.scp import build_scp_document, scp_json
from mfa_policy.policy.stackset_template import build_stackset_template
from mfa_policy.policy.validation import check_targets

OPTIONS = {"max_mfa_age_seconds": 900, "allow_list_users": True}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[dict[str, Any]]:
    with moto_server() as url:
        yield {"endpoint_url": url, "region_name": "us-east-1"}


def client(service: str, endpoint: dict[str, Any], credentials: dict[str, str] | None = None):
    keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, **endpoint, **keys)


@pytest.fixture(scope="module")
def organization(endpoint):
    """A management account with an OU holding one member account, which has the group admins."""
    org = client("organizations", endpoint)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    account = org.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    issued = client("sts", endpoint).assume_role(RoleArn=role, RoleSessionName="tests")["Credentials"]
    member = {
        "aws_access_key_id": issued["AccessKeyId"],
        "aws_secret_access_key": issued["SecretAccessKey"],
        "aws_session_token": issued["SessionToken"],
    }
    client("iam", endpoint, member).create_group(GroupName="admins")
    return {"root": root, "ou": ou, "account": account, "member": member}


def test_the_stack_set_puts_the_builders_policy_into_the_ous_accounts(endpoint, organization):
    cfn = client("cloudformation", endpoint)
    cfn.create_stack_set(
        StackSetName="require-mfa-organization",
        TemplateBody=json.dumps(build_stackset_template(["admins"], **OPTIONS)),
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_NAMED_IAM"],
        CallAs="SELF",
    )
    cfn.create_stack_instances(
        StackSetName="require-mfa-organization",
        DeploymentTargets={"OrganizationalUnitIds": [organization["ou"]]},
        Regions=["us-east-1"],
        CallAs="SELF",
    )
    (instance,) = cfn.list_stack_instances(StackSetName="require-mfa-organization")["Summaries"]
    assert instance["Account"] == organization["account"]
    assert instance["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED"

    iam = client("iam", endpoint, organization["member"])
    (policy,) = iam.list_policies(Scope="Local")["Policies"]
    assert policy["Arn"] == f"arn:aws:iam::{organization['account']}:policy/require-mfa"
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
    deployed = version["PolicyVersion"]["Document"]
    expected = build_policy_document(organization["account"], **OPTIONS)
    assert json.dumps(deployed) == json.dumps(expected)
    attached = iam.list_attached_group_policies(GroupName="admins")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in attached] == [policy["Arn"]]
    # Nothing in the management account: a service-managed StackSet deploys to the OU's accounts.
    assert client("iam", endpoint).list_policies(Scope="Local")["Policies"] == []


def test_the_ids_the_emulator_hands_out_pass_our_target_rules(organization):
    ids = [organization["root"], organization["ou"], organization["account"]]
    assert check_targets(ids) == tuple(ids)


def test_the_scp_is_accepted_and_attached(endpoint, organization):
    org = client("organizations", endpoint)
    created = org.create_policy(
        Content=scp_json(build_scp_document(**OPTIONS)),
        Description="require MFA",
        Name="require-mfa-organization",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]
    policy_id = created["PolicySummary"]["Id"]
    for target in (organization["ou"], organization["account"]):
        org.attach_policy(PolicyId=policy_id, TargetId=target)
    targets = org.list_targets_for_policy(PolicyId=policy_id)["Targets"]
    assert sorted(t["TargetId"] for t in targets) == sorted([organization["ou"], organization["account"]])
    stored = org.describe_policy(PolicyId=policy_id)["Policy"]["Content"]
    assert json.loads(stored) == build_scp_document(**OPTIONS)
