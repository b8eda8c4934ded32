"""Stopping the recorder hard must not lose what it already saw; bad input gets one line and exit 2."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from oauthtrace.web import App, Response
from tests.support.processes import children, ended
from tests.support.recording import recording, start_record
from tests.support.upstreams import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def slow_server():
    """Answers /n/<id> after a short pause, so flows are in flight when the signal arrives."""
    app = App()

    def answer(request):
        time.sleep(0.02)
        return Response.json({"id": request.path.rsplit("/", 1)[1]})

    app.route("GET", "/n", answer)
    app.start()
    yield app
    app.stop()


def _get(proxy_url: str, url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    try:
        with opener.open(url, timeout=10) as reply:
            return reply.status == 200
    except OSError:
        return False


def _stored_paths(db_path: str) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {row[0].split("/n/", 1)[1] for row in conn.execute("SELECT url FROM hops WHERE url LIKE '%/n/%'")}


def test_sigterm_with_flows_in_flight_loses_no_completed_flow(slow_server, db_path, confdir):
    record = start_record(db_path, confdir=confdir)
    completed: list[str] = []
    lock = threading.Lock()

    def fetch(i: int):
        if _get(record.proxy_url, f"{slow_server.url}/n/{i}"):
            with lock:
                completed.append(str(i))

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(fetch, i) for i in range(1000)]
        assert wait_until(lambda: len(completed) >= 200, timeout=120, every=0.01), "200 flows through the proxy"
        output = record.stop(signal.SIGTERM)
        for future in futures:
            future.result()

    assert record.process.returncode == 0, output
    assert 200 <= len(completed) < 1000, "the signal should land while flows are still in flight"
    missing = set(completed) - _stored_paths(db_path)
    assert not missing, f"{len(missing)} completed flows were not stored"
    assert f"Stored {len(_stored_paths(db_path))} hop(s)" in output


def test_sigkill_keeps_the_database_sound_and_every_committed_flow(slow_server, db_path, confdir):
    record = start_record(db_path, confdir=confdir)
    for i in range(30):
        assert _get(record.proxy_url, f"{slow_server.url}/n/{i}")
    first = {str(i) for i in range(30)}
    assert wait_until(lambda: first <= _stored_paths(db_path)), "the 30 flows are committed before the kill"
    for i in range(30, 60):  # these may or may not make it; the database must stay sound either way
        _get(record.proxy_url, f"{slow_server.url}/n/{i}")
    record.stop(signal.SIGKILL)

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert first <= _stored_paths(db_path)


def test_sigkill_leaves_no_writer_behind_and_every_committed_flow_stays(slow_server, db_path, confdir):
    """Killed, the proxy still closes the pipe (the kernel does), so its writer process ends instead of waiting for
    flows forever, and what it committed stays. The kill comes once the 40 flows are committed — the observable
    that they went down the pipe — rather than after a pause that merely should have been long enough."""
    record = start_record(db_path, confdir=confdir)
    writers = children(record.process.pid)
    assert len(writers) == 1, "one writer process"
    for i in range(40):
        assert _get(record.proxy_url, f"{slow_server.url}/n/{i}")
    every = {str(i) for i in range(40)}
    assert wait_until(lambda: _stored_paths(db_path) == every), "the 40 flows reach the database"
    record.stop(signal.SIGKILL)

    assert wait_until(lambda: ended(writers[0]), timeout=10), "the writer process ends once the proxy is gone"
    assert _stored_paths(db_path) == every


def _run_record(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oauthtrace", "record", *args],
                          capture_output=True, text=True, timeout=60)


def _one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr + done.stdout
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def test_unwritable_database_path_is_one_line(tmp_path, confdir):
    line = _one_error_line(_run_record("--db", str(tmp_path / "missing-dir" / "x.db"), "--confdir", confdir))
    assert "cannot create database" in line


def test_port_in_use_is_one_line(db_path, confdir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = _one_error_line(_run_record("--db", db_path, "--port", str(port), "--confdir", confdir))
    assert f"127.0.0.1:{port}" in line and "in use" in line


@pytest.mark.parametrize("spec", ["not-a-url", "ftp://x.example", "https://x.example@notaport", "https://x.example/path"])
def test_bad_reverse_url_is_one_line(db_path, confdir, spec):
    line = _one_error_line(_run_record("--db", db_path, "--port", "0", "--reverse", spec, "--confdir", confdir))
    assert "bad --reverse" in line


def test_proxy_listens_on_loopback_by_default(db_path, confdir):
    with recording(db_path, confdir=confdir) as record:
        assert record.proxy_url.startswith("http://127.0.0.1:")
