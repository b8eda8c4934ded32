"""People who already use mitmproxy record the same way: `mitmdump -s addons/oauthtrace.py`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from oauthtrace.store import Store
from oauthtrace.web import App, Response

ADDON = Path(__file__).resolve().parent.parent / "addons" / "oauthtrace.py"
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("mitmdump did not start")


def _stop(process: subprocess.Popen, upstream: App) -> str:
    """Ends the proxy as a user's Ctrl-C would (the addon closes its database), then the upstream; returns what
    the proxy printed."""
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=30)[0]
    upstream.stop()
    return output


def _only_hop(db_path, trace_name: str):
    with Store.open(db_path) as store:
        [hop] = store.hops(store.resolve_trace(trace_name).id)
    return hop

def test_mitmdump_with_the_addon_script_records_into_the_database(db_path, confdir):
    upstream = App()
    upstream.route("GET", "/cb", lambda request: Response.json({"ok": True}))
    upstream.start()
    port = _free_port()
    mitmdump = shutil.which("mitmdump") or os.path.join(os.path.dirname(sys.executable), "mitmdump")
    process = subprocess.Popen(
        [mitmdump, "-q", "-s", str(ADDON), "--listen-host", "127.0.0.1", "--listen-port", str(port),
         "--set", f"confdir={confdir}", "--set", f"oauthtrace_db={db_path}", "--set", "oauthtrace_name=via-mitmdump"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_port(port)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
        assert opener.open(f"{upstream.url}/cb?code=c1&state=s1", timeout=10).status == 200
    finally:
        output = _stop(process, upstream)
    assert "Error" not in output, output
    hop = _only_hop(db_path, "via-mitmdump")
    assert hop.query == [("code", "c1"), ("state", "s1")] and hop.status == 200


def test_mitmweb_with_the_addon_script_records_a_flow(db_path, confdir):
    """mitmweb users load the same script; its web UI must not stop the addon from recording."""
    upstream = App()
    upstream.route("GET", "/cb", lambda request: Response.json({"ok": True}))
    upstream.start()
    port, web_port = _free_port(), _free_port()
    mitmweb = shutil.which("mitmweb") or os.path.join(os.path.dirname(sys.executable), "mitmweb")
    process = subprocess.Popen(
        [mitmweb, "-q", "-s", str(ADDON), "--no-web-open-browser", "--web-host", "127.0.0.1", "--web-port",
         str(web_port), "--listen-host", "127.0.0.1", "--listen-port", str(port), "--set", f"confdir={confdir}",
         "--set", f"oauthtrace_db={db_path}", "--set", "oauthtrace_name=via-mitmweb"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_port(port)
        _wait_port(web_port)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{port}"}))
        assert opener.open(f"{upstream.url}/cb?code=c2&state=s2", timeout=10).status == 200
        # the web UI lists the flow too: the addon did not keep it from mitmweb's own view
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                f"http://127.0.0.1:{web_port}/flows", timeout=10) as listed:
            assert [flow["request"]["path"] for flow in json.load(listed)] == ["/cb?code=c2&state=s2"]
    finally:
        output = _stop(process, upstream)
    assert "Error" not in output, output
    hop = _only_hop(db_path, "via-mitmweb")
    assert hop.query == [("code", "c2"), ("state", "s2")] and hop.status == 200
