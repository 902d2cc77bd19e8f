"""Shared fixtures: a fresh event loop and Pulumi mocks per test; the request contexts."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime.settings import set_root_resource

from mfa_policy.program.preview import OfflineMocks, RecordingMonitor, RegisteredResource

ROOT = Path(__file__).resolve().parent.parent
# Copies of shared/reference/: the Pulumi project schema and the policies we compare against.
REFERENCE = ROOT / "tests" / "data"
ACCOUNT_ID = "111122223333"
# What `verify` prints when every guarantee of a policy holds, without the enrollment option (G10
# comes with --organization, between G9 and G11).
PASS_LINES = [
    "G1 lockdown ... pass",
    "G2 enrollment works ... pass",
    "G3 others are out of reach ... pass",
    "G4 removing MFA needs MFA ... pass",
    "G5 no collateral damage ... pass",
    "G6 self-service is self-only and MFA-only ... pass",
    "G7 options do exactly what they say ... pass",
    "G8 valid and small ... pass",
    "G9 only the allowed device types enroll ... pass",
    "G11 enrollment needs the ticket ... pass (vacuously: the enrollment option is off)",
]


class PulumiMocks:
    """The mocks and monitor of one test; ``install`` swaps in mocks with other answers."""

    def __init__(self) -> None:
        self.mocks = self.install()

    def install(self, account_id: str = ACCOUNT_ID, **options: Any) -> OfflineMocks:
        mocks = OfflineMocks(account_id, **options)
        self.monitor = RecordingMonitor(mocks)
        set_root_resource(None)  # type: ignore[arg-type]  # a fresh root stack per test
        pulumi.runtime.set_mocks(mocks, project="mfa-policy", stack="test", preview=False, monitor=self.monitor)
        self.mocks = mocks
        return mocks

    def registered(self, type_: str | None = None) -> list[RegisteredResource]:
        return [r for r in self.monitor.registered if type_ is None or r.type == type_]

    def calls(self, token: str) -> list[Any]:
        return [call for call in self.mocks.calls if call.token == token]


def _quiet_about_expected_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A test that expects a user's error (the lockout check, an unanswered invoke: RunErrors) leaves
    # other outputs holding the same exception; asyncio would print each as "never retrieved".
    # Anything else is reported as usual.
    if not isinstance(context.get("exception"), pulumi.RunError):
        loop.default_exception_handler(context)


@pytest.fixture
def pulumi_mocks() -> Iterator[PulumiMocks]:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_about_expected_errors)
    asyncio.set_event_loop(loop)
    try:
        yield PulumiMocks()
    finally:
        # Let registrations a failed test left pending (the root stack's) finish against the mocks.
        pending = asyncio.all_tasks(loop)
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        asyncio.set_event_loop(None)
        loop.close()


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a real HTTP endpoint): yields its URL, with empty state.

    moto keeps its state per process, shared by every server, so it is reset on the way in and
    out. The port is picked here: ``ThreadedMotoServer.get_host_and_port`` is newer than the
    lowest moto our ranges allow.
    """
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    try:
        urllib.request.urlopen(reset).read()
        yield url
        urllib.request.urlopen(reset).read()
    finally:
        server.stop()
