"""No false alarms on the MCP Python SDK: its server (auth routes, protected resource metadata under
/.well-known/oauth-protected-resource/mcp, bearer middleware, Streamable HTTP) and its client (OAuthClientProvider
with discovery, dynamic registration, PKCE S256 and resource; the Streamable HTTP transport), both in the SDK's own
virtual environment, recorded through the real proxy, the authorize step walked by a real browser or by urllib.

The shapes a naive linter misreads are all there: PRM under a path, /authorize redirecting to /login without
state, event-stream responses, a 202 for a notification, a GET stream left open until the session's DELETE.

The SDK (2.3.0) also speaks MCP 2026-07-28, the stateless revision (mcp_types.version: MODERN_PROTOCOL_VERSIONS =
("2026-07-28",); its client's `auto` mode probes with `server/discover`; Client.listen() opens `subscriptions/listen`;
every request carries `Mcp-Method`, and `Mcp-Name` for tools/call), and its server serves it beside 2025-11-25: the
second test records such a session, its listen stream still open when the recording stops.

The SDK lives in its own venv (`OAUTHTRACE_MCP_VENV`, default ~/.cache/oauthtrace/mcp-venv; .ci/run creates it).
Locally the test skips without it; in CI it must run.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from oauthtrace.analysis.mcp import MODERN, exchange_era, rpc_method
from oauthtrace.capture.recorder import STOPPED_WHILE_STREAMING
from oauthtrace.demo.agent import BuiltinAgent, run_chromium
from oauthtrace.params import path
from tests.interop.harness import PROXY_ENV, recording

pytestmark = pytest.mark.e2e

SDK_VERSION = "2.3.0"
HERE = Path(__file__).resolve().parent / "interop"
VENV = Path(os.environ.get("OAUTHTRACE_MCP_VENV", "~/.cache/oauthtrace/mcp-venv")).expanduser()

# the SDK client's way to a token in either revision, as (role, path) of each hop: the first call to /mcp is
# answered 401 with resource_metadata; the login form is shown, then posted
SDK_LOGIN = [
    ("resource", "/mcp"),
    ("metadata", "/.well-known/oauth-protected-resource/mcp"),
    ("metadata", "/.well-known/oauth-authorization-server"),
    ("registration", "/register"),
    ("authorize", "/authorize"),
    ("login", "/login"),
    ("login", "/login"),
    ("callback", "/callback"),
    ("token", "/token"),
]


@pytest.fixture(scope="module")
def sdk_python() -> str:
    python = VENV / "bin" / "python"
    found = None
    if python.exists():
        probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
                               capture_output=True, text=True, timeout=60)
        found = probe.stdout.strip() if probe.returncode == 0 else None
    if found != SDK_VERSION:
        reason = (f"the MCP Python SDK {SDK_VERSION} is not installed in {VENV} (found: {found or 'nothing'}); "
                  f"create it with: python3 -m venv {VENV} && {VENV}/bin/pip install mcp=={SDK_VERSION}")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(python)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


class Lines:
    """A child process's stdout, line by line, with a timeout."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.seen: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next_starting(self, prefix: str, timeout: float = 60) -> str:
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {prefix!r} line after {timeout} s: {self.seen}") from None
            if line is None:
                raise AssertionError(f"process ended before {prefix!r}: {self.seen}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line[len(prefix):].strip()


@pytest.fixture
def sdk_server(sdk_python):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sdk_python, str(HERE / "mcp_sdk_server.py"), str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        yield Lines(process).next_starting("READY", timeout=60)
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("agent", ["urllib", "chromium"])
def test_mcp_sdk_login_has_no_error_or_warning(request, agent, sdk_python, sdk_server, db_path, confdir):
    chromium = request.getfixturevalue("chromium") if agent == "chromium" else None
    with recording(db_path, confdir, name=f"mcp sdk {agent}") as (listening, recorded):
        client = subprocess.Popen([sdk_python, str(HERE / "mcp_sdk_client.py"), sdk_server, listening.proxy_url],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            lines = Lines(client)
            authorize_url = lines.next_starting("AUTHORIZE")
            if chromium:
                run_chromium(authorize_url, listening.proxy_url, Path(listening.ca_cert), binary=chromium)
            else:
                BuiltinAgent(listening.proxy_url).run(authorize_url)
            result = json.loads(lines.next_starting("RESULT"))
            client.wait(30)
        finally:
            if client.poll() is None:
                client.kill()
    assert result == {"tools": ["whoami"], "whoami": ["alice"]}

    hops = recorded.hops
    roles = recorded.roles()
    assert roles[:9] == SDK_LOGIN, roles  # initialize without a token → 401 with resource_metadata
    assert {role for role, _ in roles[9:]} <= {"resource", "other"}
    authorize = hops[4]
    assert authorize.status == 302 and "/login?" in authorize.location and "state=" not in authorize.location
    calls = [hop for hop in hops[9:] if path(hop.url) == "/mcp"]
    assert 202 in [hop.status for hop in calls], "the initialized notification"
    stream = next(hop for hop in calls if hop.method == "GET")
    delete = next(hop for hop in calls if hop.method == "DELETE")
    assert stream.resp_content_type == "text/event-stream" and stream.ended >= delete.started, \
        "the GET stream stays open until the DELETE ends the session"
    assert any(hop.method == "POST" and hop.resp_content_type == "text/event-stream" for hop in calls)

    report = recorded.report
    assert len(report.exchanges) == 1 and report.profiles == {1: "mcp"}
    assert report.sides == {"F", "B", "M"}
    assert report.not_evaluated == [], "every rule ran"
    assert recorded.loud() == []


def test_mcp_sdk_stateless_session_is_recognised_and_clean(sdk_python, sdk_server, db_path, confdir):
    """MCP 2026-07-28 through the real proxy: server/discover (401, then with the token), no initialize and no
    session, Mcp-Method on every POST, and a subscriptions/listen stream the client holds open while the recording
    runs and stops — no stall, no unused token, nothing loud."""
    with recording(db_path, confdir, name="mcp sdk 2026-07-28") as (listening, recorded):
        client = subprocess.Popen([sdk_python, str(HERE / "mcp_sdk_client.py"), sdk_server, listening.proxy_url,
                                   "2026-07-28"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            lines = Lines(client)
            BuiltinAgent(listening.proxy_url).run(lines.next_starting("AUTHORIZE"))
            result = json.loads(lines.next_starting("RESULT"))  # printed with the listen stream open
        except BaseException:
            client.kill()
            raise
    try:
        client.stdin.close()  # the recording has stopped: now the client may close its stream and leave
        client.wait(30)
    finally:
        if client.poll() is None:
            client.kill()
    assert result == {"tools": ["whoami"], "whoami": ["alice"], "version": "2026-07-28", "listening": True}

    hops, roles = recorded.hops, recorded.roles()
    assert roles[:9] == SDK_LOGIN, roles  # server/discover without a token → 401 with resource_metadata
    calls = [hop for hop in hops if path(hop.url) == "/mcp"]
    assert [(rpc_method(hop), hop.status) for hop in calls] == [
        ("server/discover", 401), ("server/discover", 200), ("subscriptions/listen", 200), ("tools/list", 200),
        ("tools/call", 200)], [(rpc_method(hop), hop.status) for hop in calls]
    for hop in calls:
        assert hop.method == "POST" and hop.req_header("mcp-method") == hop.req_json()["method"]
        assert hop.req_header("mcp-session-id") is None
    assert calls[-1].req_header("mcp-name") == "whoami"
    listen = calls[2]
    assert listen.resp_content_type == "text/event-stream" and b"notifications/subscriptions/acknowledged" in \
        listen.resp_body
    assert listen.error == STOPPED_WHILE_STREAMING and listen.ended >= calls[-1].ended, \
        "the listen stream was open after the other calls, until the recording stopped"

    report = recorded.report
    assert len(report.exchanges) == 1 and report.profiles == {1: "mcp"}
    assert exchange_era(report.exchanges[0]) == MODERN
    assert report.sides == {"F", "B", "M"} and report.not_evaluated == []
    assert recorded.loud() == []
