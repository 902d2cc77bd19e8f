"""Shared fixtures: a fresh event loop and Pulumi mocks per test; the request contexts."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import urllib.parse
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


@pytest.fixture
def credentials_env(monkeypatch, tmp_path) -> None:
    """Fake static keys only: no profile, config file or instance metadata from this machine."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


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


@contextmanager
def enforcing_iam(url: str) -> Iterator[None]:
    """moto (at ``url``) enforces IAM policies on the requests made inside: its reset-auth API
    (which reads the raw body, not a form)."""

    def reset_auth(body: bytes) -> None:
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth", data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request).read()

    reset_auth(b"0")
    try:
        yield
    finally:
        reset_auth(b"inf")


class StubEndpoint(http.server.BaseHTTPRequestHandler):
    """A stand-in AWS endpoint on 127.0.0.1: ``answer(params)`` gives the status and XML body."""

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        raise NotImplementedError

    def answer_json(self, target: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """A JSON-protocol call (AWS Organizations): by default, the account is in no organization."""
        return 400, json.dumps(
            {"__type": "AWSOrganizationsNotInUseException", "Message": "not in an organization"}
        ).encode()

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
        target = self.headers.get("X-Amz-Target")
        if target is not None:
            status, body = self.answer_json(target, json.loads(raw or "{}"))
            content_type = "application/x-amz-json-1.1"
        else:
            status, body = self.answer(dict(urllib.parse.parse_qsl(raw)))
            content_type = "text/xml"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[StubEndpoint]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1; yield its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def same_under_any_botocore(text: str) -> str:
    """A report with the one line that depends on botocore written as the docs show it: why
    centralized root access is unknown. A botocore that knows iam:ListOrganizationsFeatures gets
    an answer from moto it cannot parse; the lowest botocore allowed (make test-lowest) predates
    the call and says so instead."""
    return text.replace(
        "unknown: this botocore predates iam:ListOrganizationsFeatures)",
        "unknown: ListOrganizationsFeatures failed: an answer botocore cannot parse)",
    )
