"""A flow file written by real `mitmdump -w` (with the oauthtrace addon recording live beside it) imports as the same
hops and lints like the live recording."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.interchange_support import run_cli
from oauthtrace.demo.agent import BuiltinAgent
from oauthtrace.demo.client import DemoClient
from oauthtrace.demo.provider import DemoProvider
from oauthtrace.store import Store

pytestmark = pytest.mark.e2e

# The recorder as a mitmdump script. Not addons/oauthtrace.py itself: a script named `oauthtrace` is loaded by
# mitmproxy as the module `oauthtrace` and hides the package it imports from.
ADDON_SCRIPT = "from oauthtrace.capture.recorder import Recorder\n\naddons = [Recorder()]\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"mitmdump exited: {process.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("mitmdump did not start listening")


def mitmdump_command() -> list[str]:
    binary = shutil.which("mitmdump")
    if binary:
        return [binary]
    return [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()"]


def lint(db_path):
    from oauthtrace.analysis.engine import analyze

    with Store.open(db_path) as store:
        trace = store.resolve_trace(None)
        hops = store.hops(trace.id)
    return hops, sorted((f.rule, f.hop, f.severity, f.blame) for f in analyze(hops, trace_id=trace.id).findings)


def shape(hop):
    return (hop.seq, hop.method, hop.url, hop.status, hop.query, hop.form, hop.location, hop.listener,
            hop.req_body, hop.resp_body, hop.error)


@pytest.mark.parametrize("bug", ["drop-state", "good"])
def test_mitmdump_flow_file_imports_like_the_live_recording(capsys, tmp_path, confdir, bug):
    provider = DemoProvider(bug).start()
    proxy_port, reverse_port = free_port(), free_port()
    live_db, flow_file, imported_db = tmp_path / "live.db", tmp_path / "flows.mitm", tmp_path / "imported.db"
    addon = tmp_path / "record_addon.py"
    addon.write_text(ADDON_SCRIPT)
    process = subprocess.Popen(
        [*mitmdump_command(), "-q", "-s", str(addon), "-w", str(flow_file),
         "--listen-host", "127.0.0.1", "--mode", f"regular@{proxy_port}",
         "--mode", f"reverse:{provider.url}@{reverse_port}",
         "--set", f"confdir={confdir}", "--set", "connection_strategy=lazy",
         "--set", f"oauthtrace_db={live_db}", "--set", "oauthtrace_name=live"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    client = None
    try:
        wait_listening(proxy_port, process)
        wait_listening(reverse_port, process)
        client = DemoClient(provider.url, back_channel_url=f"http://127.0.0.1:{reverse_port}").start()
        provider.redirect_uris.append(client.redirect_uri)
        BuiltinAgent(f"http://127.0.0.1:{proxy_port}").run(f"{client.url}/start")
        assert client.done.wait(10), "the client's callback was never reached"
    finally:
        if client:
            client.stop()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        provider.stop()
    assert flow_file.exists(), output

    code, out, err = run_cli(capsys, "import", flow_file, "--db", imported_db)
    assert code == 0, err
    live_hops, live_findings = lint(live_db)
    imported_hops, imported_findings = lint(imported_db)
    assert len(live_hops) >= 4
    if bug == "good":  # with drop-state the client gives up at the callback: no back channel
        assert any(hop.is_reverse for hop in imported_hops), "the back channel must keep its reverse listener"
    assert [shape(h) for h in imported_hops] == [shape(h) for h in live_hops]
    assert imported_findings == live_findings
