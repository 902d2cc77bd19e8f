"""Offline preview: run a Pulumi program under the SDK's mock engine and describe its resources.

No Pulumi CLI, no cloud: ``OfflineMocks`` answers the AWS invokes and fills in computed outputs
(ARNs, IDs), and ``RecordingMonitor`` records every resource the program registers with its parent
and inputs. ``preview_stack`` reads ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the CLI
does (defaults applied, required keys enforced), runs the real ``__main__.py`` and returns what
``pulumi up`` would create.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import Stack

from mfa_policy.program.project import partition_for_region, stack_config

PLACEHOLDER_ACCOUNT_ID = "123456789012"

CALLER_IDENTITY_TOKEN = "aws:index/getCallerIdentity:getCallerIdentity"
PARTITION_TOKEN = "aws:index/getPartition:getPartition"
GET_GROUP_TOKEN = "aws:iam/getGroup:getGroup"

_DNS_SUFFIX = {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}


class OfflineMocks(Mocks):
    """Mocks that answer like AWS for one account, or one account per provider.

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

    def call(self, args: MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        self.calls.append(args)
        self.events.append(args.token)
        account = self.account_for(args.provider)
        if args.token == CALLER_IDENTITY_TOKEN:
            arn = self.caller_arn or f"arn:{self.partition}:sts::{account}:assumed-role/deployer/offline-preview"
            return {"accountId": account, "arn": arn, "userId": "AROAEXAMPLEOFFLINE:offline-preview", "id": account}, []
        if args.token == PARTITION_TOKEN:
            suffix = _DNS_SUFFIX[self.partition]
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

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
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


@dataclass
class RegisteredResource:
    """One resource a program registered: what ``pulumi up`` would create."""

    type: str
    name: str
    urn: str
    parent_urn: str
    custom: bool
    provider: str
    inputs: dict[str, Any]


class RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, also keeping each registration's parent, inputs and provider."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.registered.append(
                RegisteredResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent_urn=request.parent,
                    custom=request.custom,
                    provider=request.provider,
                    inputs=inputs,
                )
            )
        return response


@dataclass
class ProgramRun:
    """What one run of a program under mocks registered and exported."""

    resources: list[RegisteredResource]
    outputs: dict[str, Any]
    calls: list[MockCallArgs] = field(default_factory=list)

    def in_tree_order(self) -> list[RegisteredResource]:
        """The resources parent first, siblings by type then name: a stable order to print."""
        children: dict[str, list[RegisteredResource]] = {}
        urns = {resource.urn for resource in self.resources}
        for resource in self.resources:
            parent = resource.parent_urn if resource.parent_urn in urns else ""
            children.setdefault(parent, []).append(resource)
        ordered: list[RegisteredResource] = []

        def visit(parent: str) -> None:
            for resource in sorted(children.get(parent, []), key=lambda r: (r.type, r.name)):
                ordered.append(resource)
                visit(resource.urn)

        visit("")
        return ordered

    def parent_name(self, resource: RegisteredResource) -> str | None:
        for candidate in self.resources:
            if candidate.urn == resource.parent_urn:
                return candidate.name
        return None


def run_program(
    program: Path,
    config: Mapping[str, str],
    mocks: OfflineMocks,
    *,
    project: str,
    stack: str,
) -> ProgramRun:
    """Run ``program`` (a Pulumi ``__main__.py``) under ``mocks`` with ``config``; return what it did.

    Uses a fresh event loop and fresh runtime settings, so runs do not leak into each other.
    Exceptions from the program (a bad config value, say) propagate unchanged.
    """
    monitor = RecordingMonitor(mocks)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def execute() -> pulumi.Output[Any]:
        # Set up inside the test wrapper, which first drops any pending RPCs: the new root stack's
        # own registration must come after that. A fresh root stack, or the last run's exports leak in.
        set_root_resource(None)  # type: ignore[arg-type]
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(dict(config))
        sys.path.insert(0, str(program.parent))
        try:
            runpy.run_path(str(program), run_name="__main__")
        finally:
            sys.path.remove(str(program.parent))
        root = cast("Stack", pulumi.runtime.get_root_resource())
        return pulumi.Output.all(**root.outputs).apply(outputs.update)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        execute()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return ProgramRun(resources=monitor.registered, outputs=outputs, calls=list(mocks.calls))


@dataclass
class StackPreview:
    """The result of ``preview_stack``."""

    stack: str
    account_id: str
    account_is_placeholder: bool
    partition: str
    run: ProgramRun


def preview_stack(project_dir: Path, stack: str, account_id: str | None = None) -> StackPreview:
    """Run the project's program for ``stack`` offline and return what it would create.

    The caller's account is ``account_id``, else the stack's ``<project>:accountId``, else a
    placeholder (``account_is_placeholder`` says so). The partition follows ``aws:region``.
    """
    project, config = stack_config(project_dir, stack)
    placeholder = False
    if account_id is None:
        account_id = config.get(f"{project}:accountId") or None
    if account_id is None:
        account_id, placeholder = PLACEHOLDER_ACCOUNT_ID, True
    partition = partition_for_region(config.get("aws:region"))
    mocks = OfflineMocks(account_id, partition)
    run = run_program(project_dir / "__main__.py", config, mocks, project=project, stack=stack)
    return StackPreview(stack, account_id, placeholder, partition, run)
