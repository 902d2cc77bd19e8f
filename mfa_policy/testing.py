"""Ready Pulumi mocks for testing programs that use the mfa-policy components.

``RequireMfaPolicy`` reads the account, the partition and (for the deployer lockout check) the
deployer and the target groups' members through AWS invokes. Under Pulumi's mock engine a test
must answer them; ``Mocks`` does, like AWS would for one account::

    import pulumi
    from mfa_policy.testing import Mocks

    pulumi.runtime.set_mocks(Mocks("111122223333"), preview=False)

Subclass it to answer your own invokes: override ``call`` and fall back to ``super().call(args)``.
The invokes it answers, and what the component reads from each, are in ``INVOKES``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mfa_policy.policy.partitions import dns_suffix
from mfa_policy.policy.validation import PLACEHOLDER_ACCOUNT_ID

__all__ = ["CALLER_IDENTITY_TOKEN", "GET_GROUP_TOKEN", "INVOKES", "PARTITION_TOKEN", "Mocks"]


CALLER_IDENTITY_TOKEN = "aws:index/getCallerIdentity:getCallerIdentity"
PARTITION_TOKEN = "aws:index/getPartition:getPartition"
GET_GROUP_TOKEN = "aws:iam/getGroup:getGroup"

INVOKES: dict[str, str] = {
    CALLER_IDENTITY_TOKEN: "accountId (unless account_id is given) and arn (for the deployer lockout check)",
    PARTITION_TOKEN: "partition",
    GET_GROUP_TOKEN: "users[].arn, once per existing target group (the deployer lockout check)",
}
"""The invokes a test of a program using RequireMfaPolicy must answer, and the fields it reads."""



class Mocks(pulumi.runtime.Mocks):
    """Pulumi mocks that answer like AWS for one account, or one account per provider.

    Use them, or a subclass, in ``pulumi.runtime.set_mocks`` for tests of programs that use the
    mfa-policy components. They answer every invoke the components make (``INVOKES``) and fill
    in the outputs AWS computes for the resources they create (a policy's ``arn``, a group's
    ``arn``); any other invoke answers ``{}`` and any other resource echoes its inputs.

    ``provider_accounts`` maps a provider's logical name to the account its credentials reach; an
    AWS provider that assumes a role reaches the role's account; any other provider (and the
    default one) answers ``account_id``. ``caller_arn`` is who the
    deployer is (default: an assumed role in the account); ``group_members`` maps a group name to
    the user ARNs ``aws.iam.get_group`` reports. Every invoke is recorded in ``calls``, every
    registration in ``created``.
    """

    def __init__(
        self,
        account_id: str = PLACEHOLDER_ACCOUNT_ID,
        partition: str = "aws",
        *,
        provider_accounts: Mapping[str, str] | None = None,
        caller_arn: str | None = None,
        group_members: Mapping[str, list[str]] | None = None,
    ) -> None:
        self.account_id = account_id
        self.partition = partition
        self.provider_accounts = dict(provider_accounts or {})
        self.caller_arn = caller_arn
        self.group_members = dict(group_members or {})
        self.calls: list[MockCallArgs] = []
        self.created: list[tuple[str, str]] = []  # (type, logical name) of every registration
        self.events: list[str] = []  # invoke tokens and registered names, in the order they came

    def account_for(self, provider_reference: str | None) -> str:
        """The account a provider reference (``<urn>::<id>``) reaches."""
        if provider_reference:
            urn = provider_reference.rpartition("::")[0]
            logical_name = urn.rpartition("::")[2]
            if logical_name in self.provider_accounts:
                return self.provider_accounts[logical_name]
        return self.account_id

    def _learn_provider_account(self, name: str, inputs: Mapping[str, Any]) -> None:
        # An AWS provider that assumes a role reaches the role's account, as the real one would.
        roles = inputs.get("assumeRoles")
        if isinstance(roles, str):
            roles = json.loads(roles)
        if roles and isinstance(roles[0], dict) and str(roles[0].get("roleArn", "")).count(":") >= 5:
            self.provider_accounts.setdefault(name, roles[0]["roleArn"].split(":")[4])

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        self.events.append(args.token)
        account = self.account_for(args.provider)
        if args.token == CALLER_IDENTITY_TOKEN:
            arn = self.caller_arn or f"arn:{self.partition}:sts::{account}:assumed-role/deployer/offline-preview"
            return {"accountId": account, "arn": arn, "userId": "AROAEXAMPLEOFFLINE:offline-preview", "id": account}, []
        if args.token == PARTITION_TOKEN:
            suffix = dns_suffix(self.partition)
            return {
                "partition": self.partition,
                "dnsSuffix": suffix,
                "reverseDnsPrefix": "com.amazonaws",
                "id": self.partition,
            }, []
        if args.token == GET_GROUP_TOKEN:
            name = args.args.get("groupName", "")
            users = [
                {"arn": arn, "userName": arn.rsplit("/", 1)[-1], "path": "/", "userId": f"AIDA{index:016d}"}
                for index, arn in enumerate(self.group_members.get(name, []))
            ]
            arn = f"arn:{self.partition}:iam::{account}:group/{name}"
            return {
                "groupName": name,
                "arn": arn,
                "groupId": f"AGPA{name.upper()}",
                "path": "/",
                "users": users,
                "id": name,
            }, []
        return {}, []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.created.append((args.typ, args.name))
        self.events.append(args.name)
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            self._learn_provider_account(args.name, state)
        account = self.account_for(args.provider)
        if args.typ == "aws:iam/policy:Policy":
            arn = f"arn:{self.partition}:iam::{account}:policy{state.get('path', '/')}{state.get('name', args.name)}"
            state.update(arn=arn, policyId=f"ANPA{args.name.upper()}", attachmentCount=0)
            return arn, state
        if args.typ == "aws:iam/group:Group":
            name = state.get("name", args.name)
            state.update(
                arn=f"arn:{self.partition}:iam::{account}:group{state.get('path', '/')}{name}",
                uniqueId=f"AGPA{name.upper()}",
            )
            return name, state
        return f"{args.name}-id", state
