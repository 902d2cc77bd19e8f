"""Offline preview: run a Pulumi program under the SDK's mock engine and describe its resources.

No Pulumi CLI, no cloud: ``OfflineMocks`` answers the AWS invokes and fills in computed outputs
(ARNs, IDs), and ``RecordingMonitor`` records every resource the program registers with its parent
and inputs. ``preview_stack`` reads ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml`` the way the CLI
does (defaults applied, required keys enforced), runs the real ``__main__.py`` and returns what
``pulumi up`` would create.
"""

from __future__ import annotations

import asyncio
import runpy
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor
from pulumi.runtime.mocks import Mocks as SdkMocks
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import Stack

from mfa_policy.program.project import ProjectError, partition_for_region, stack_config
from mfa_policy.testing import (  # noqa: F401  (re-exported for the CLI and tests)
    CALLER_IDENTITY_TOKEN,
    GET_GROUP_TOKEN,
    PARTITION_TOKEN,
    PLACEHOLDER_ACCOUNT_ID,
    Mocks,
)

# One implementation of the mocks: the one consumers' tests use too (mfa_policy.testing).
OfflineMocks = Mocks


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

    def __init__(self, mocks: SdkMocks) -> None:
        super().__init__(mocks)
        self.registered: list[RegisteredResource] = []
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()

    def _own_thread_loop(self) -> None:
        # The SDK's monitor runs in worker threads and gives each an event loop it never closes;
        # one closed only at interpreter exit prints "Exception ignored ... Invalid file
        # descriptor". Set the thread's loop here (a fresh one if the last run closed it), so that
        # close_thread_loops can close them all when the run is over.
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        self.thread_loops.add(loop)

    def close_thread_loops(self) -> None:
        """Close the worker threads' event loops (idle once a run is over)."""
        for loop in self.thread_loops:
            if not loop.is_running() and not loop.is_closed():
                loop.close()
        self.thread_loops.clear()

    def Invoke(self, request):
        self._own_thread_loop()
        return super().Invoke(request)

    def RegisterResource(self, request):
        self._own_thread_loop()
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
    preview: bool = False,
    monitor: RecordingMonitor | None = None,
) -> ProgramRun:
    """Run ``program`` (a Pulumi ``__main__.py``) under ``mocks`` with ``config``; return what it did.

    Uses a fresh event loop and fresh runtime settings, so runs do not leak into each other.
    Exceptions from the program (a bad config value, say) propagate unchanged. ``preview`` runs it
    as ``pulumi preview`` does (dry run); ``monitor`` records more (a ``RecordingMonitor`` subclass).
    """
    monitor = monitor or RecordingMonitor(mocks)
    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def execute() -> pulumi.Output[Any]:
        # Set up inside the test wrapper, which first drops any pending RPCs: the new root stack's
        # own registration must come after that. A fresh root stack, or the last run's exports leak in.
        set_root_resource(None)  # type: ignore[arg-type]
        pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
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
        monitor.close_thread_loops()
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
    program = project_dir / "__main__.py"
    if not program.is_file():
        raise ProjectError(
            f"no __main__.py in {project_dir}: preview runs a Pulumi Python program's __main__.py "
            "(pass --cwd with the folder that holds it)"
        )
    mocks = OfflineMocks(account_id, partition)
    run = run_program(program, config, mocks, project=project, stack=stack)
    return StackPreview(stack, account_id, placeholder, partition, run)
