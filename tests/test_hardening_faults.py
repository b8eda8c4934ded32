"""Faults while `oauthtrace record` runs: a locked database, a full disk, a deleted database, failing upstreams.

In every case the proxy keeps forwarding traffic, the recorder says what happened in one line, and no flow that
completed is lost once the fault is gone. (SIGTERM, SIGKILL and bad arguments: tests/test_record_faults.py.)

A full disk is real: a 4 MiB tmpfs mounted for the test (CI runs as root), so SQLite gets ENOSPC as on a full
partition. Without the right to mount, the record process gets a file size limit instead (RLIMIT_FSIZE set from
outside with prlimit), so its writes fail with EFBIG: another errno, the same path through SQLite and the writer.
"""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from oauthtrace.web import App, Response
from tests.support.processes import descendants
from tests.support.recording import start_record
from tests.support.upstreams import (
    closed_port, fetch, never_answers, proxy_opener, raw_server, resets, speaks_garbage, stored_urls, wait_until,
)

pytestmark = pytest.mark.e2e

BIG = 100_000  # bytes per response in the disk tests: a few of them outgrow any free space left


@pytest.fixture(scope="module")
def upstream():
    """Answers /n/<anything> with a JSON body, or with BIG bytes under /big/."""
    app = App()
    app.route("GET", "/n", lambda request: Response.json({"path": request.path}))
    app.route("GET", "/big", lambda request: Response(200, b"x" * BIG, "application/octet-stream"))
    app.start()
    yield app
    app.stop()


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def _count(db_path: str, part: str) -> int:
    return sum(part in url for url in stored_urls(db_path))


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output, output


# -- the database locked by a reader or another writer ------------------------------------------------------------


def test_a_reader_holding_a_read_transaction_does_not_stop_recording(upstream, db_path, confdir):
    record = start_record(db_path, confdir=confdir)
    opener = proxy_opener(record.proxy_url)
    assert fetch(opener, f"{upstream.url}/n/first")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/first") == 1)

    reader = sqlite3.connect(db_path)  # like the UI or Datasette in the middle of a query
    reader.execute("BEGIN")
    seen_by_reader = reader.execute("SELECT count(*) FROM hops").fetchone()[0]
    for i in range(30):
        assert fetch(opener, f"{upstream.url}/n/read-{i}")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/read-") == 30)
    assert reader.execute("SELECT count(*) FROM hops").fetchone()[0] == seen_by_reader, "the snapshot stayed open"
    reader.rollback()
    reader.close()

    output = record.stop()
    assert record.process.returncode == 0 and not _errors(output), output
    assert "Stored 31 hop(s)" in output


def test_a_write_lock_held_past_the_busy_timeout_delays_the_hops_but_loses_none(upstream, db_path, confdir):
    """Another writer holds the write lock until every response is back and the recorder has said it could not
    store the hops. The responses arriving at all show the proxy does not wait for the database (the lock it would
    wait for is released only after them); the recorder's one error line shows its writer met the lock and held
    the hops; released, every hop lands. No clock: each step waits for what it needs to see."""
    record = start_record(db_path, confdir=confdir)
    opener = proxy_opener(record.proxy_url)
    assert fetch(opener, f"{upstream.url}/n/first")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/first") == 1)

    locker = sqlite3.connect(db_path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another writer (a UI saving findings, a script) holds the write lock
    for i in range(30):
        assert fetch(opener, f"{upstream.url}/n/locked-{i}", timeout=5)[0] == 200, "forwarded while locked"
    # the writer's commit waits out its busy timeout, then it says so once and keeps the hops for a retry
    assert wait_until(lambda: any("database is locked" in line for line in _errors("\n".join(record.lines))),
                      timeout=120), "\n".join(record.lines)
    assert _count(db_path, "/n/locked-") == 0, "nothing can be committed while the lock is held"
    locker.execute("ROLLBACK")
    locker.close()

    assert wait_until(lambda: _count(db_path, "/n/locked-") == 30, timeout=30), "\n".join(record.lines)
    output = record.stop()
    _no_traceback(output)
    assert record.process.returncode == 0, output
    assert len(_errors(output)) == 1, "one line for the lock, not one per retry"
    assert "Warning: stored the" in output and "Stored 31 hop(s)" in output


# -- a full disk ---------------------------------------------------------------------------------------------------


class TinyDisk:
    """A 4 MiB tmpfs: `fill()` takes every free block, `free()` gives them back."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(root)],
                       check=True, capture_output=True)
        self._filler = root / "filler"

    def attach(self, pid: int) -> None:
        pass

    def fill(self) -> None:
        with open(self._filler, "ab") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        assert os.statvfs(self.root).f_bavail == 0

    def free(self) -> None:
        self._filler.unlink()

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.root)], check=False)


class FileSizeLimit:
    """No mount allowed: limit the size of the files the record process and its writer process may write."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir()
        self._pids: list[int] = []

    def attach(self, pid: int) -> None:
        self._pids = [pid, *descendants(pid)]  # the writer process, started before the proxy listens

    def fill(self) -> None:
        for pid in self._pids:
            _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))  # the soft limit: no privilege needed

    def free(self) -> None:
        for pid in self._pids:
            try:
                _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
                resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
            except ProcessLookupError:  # the limit went with the process
                pass

    def close(self) -> None:
        pass


@pytest.fixture
def disk(tmp_path):
    try:
        small = TinyDisk(tmp_path / "disk")
    except (subprocess.CalledProcessError, FileNotFoundError):
        small = FileSizeLimit(tmp_path / "limited")
    yield small
    small.close()


def _start_on(disk, confdir):
    db_path = str(disk.root / "oauthtrace.db")
    record = start_record(db_path, confdir=confdir)
    disk.attach(record.process.pid)
    return db_path, record


def test_full_disk_keeps_forwarding_says_so_and_stores_everything_once_there_is_room(upstream, disk, confdir):
    db_path, record = _start_on(disk, confdir)
    opener = proxy_opener(record.proxy_url)
    for i in range(5):
        assert fetch(opener, f"{upstream.url}/n/before-{i}")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/before-") == 5)

    disk.fill()
    for i in range(20):
        status, body = fetch(opener, f"{upstream.url}/big/{i}")
        assert status == 200 and len(body) == BIG, "the proxy keeps forwarding on a full disk"
    assert wait_until(lambda: any("disk is full" in line or "disk I/O" in line for line in _errors(
        "\n".join(record.lines)))), "\n".join(record.lines)
    assert _count(db_path, "/big/") == 0

    disk.free()
    assert wait_until(lambda: _count(db_path, "/big/") == 20, timeout=15), "held hops stored once there is room"
    output = record.stop()
    _no_traceback(output)
    assert record.process.returncode == 0, output
    assert "Stored 25 hop(s)" in output
    assert "Warning: stored the 20 held hop(s)" in output
    assert len(_errors(output)) == 1, "one line for the fault, not one per retry"


def test_disk_still_full_at_the_end_is_one_error_line_and_a_sound_database(upstream, disk, confdir):
    db_path, record = _start_on(disk, confdir)
    opener = proxy_opener(record.proxy_url)
    assert fetch(opener, f"{upstream.url}/n/kept")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/kept") == 1)
    disk.fill()
    for i in range(10):
        assert fetch(opener, f"{upstream.url}/big/{i}")[0] == 200
    output = record.stop()
    _no_traceback(output)
    assert record.process.returncode == 1, output
    assert "Stored 1 hop(s)" in output
    assert "Error: 10 hop(s) could not be stored" in output
    disk.free()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stored_urls(db_path) == [f"{upstream.url}/n/kept"]


# -- the database deleted under the recorder -----------------------------------------------------------------------


@pytest.mark.parametrize("files", [("",), ("", "-wal", "-shm")], ids=["main-file", "with-wal-and-shm"])
def test_database_deleted_while_recording_is_written_back_with_every_hop(upstream, db_path, confdir, files):
    record = start_record(db_path, confdir=confdir)
    opener = proxy_opener(record.proxy_url)
    for i in range(5):
        assert fetch(opener, f"{upstream.url}/n/before-{i}")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/before-") == 5)

    for suffix in files:
        os.remove(db_path + suffix)
    for i in range(5):
        assert fetch(opener, f"{upstream.url}/n/after-{i}")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/after-") == 5), "\n".join(record.lines)

    output = record.stop()
    _no_traceback(output)
    assert record.process.returncode == 0, output
    assert _errors(output) == [f"Error: database {db_path} was deleted while recording; wrote it back from the open copy"]
    assert _count(db_path, "/n/") == 10
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_database_deleted_after_the_last_commit_is_written_back_at_the_end(upstream, db_path, confdir):
    record = start_record(db_path, confdir=confdir)
    opener = proxy_opener(record.proxy_url)
    for i in range(3):
        assert fetch(opener, f"{upstream.url}/n/{i}")[0] == 200
    assert wait_until(lambda: _count(db_path, "/n/") == 3)
    os.remove(db_path)
    output = record.stop()
    assert record.process.returncode == 0, output
    assert _count(db_path, "/n/") == 3


# -- upstream failures are stored as error hops --------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_record(tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream-faults")
    (root / "conf").mkdir()
    db_path = str(root / "oauthtrace.db")
    record = start_record(db_path, confdir=str(root / "conf"))
    record.db_path = db_path
    record.ca_cert = str(root / "conf" / "mitmproxy-ca-cert.pem")
    yield record
    record.stop()


def _failing(kind: str):
    """(a server context, the scheme, how long the client waits) for each kind of upstream failure."""
    if kind == "refused":
        return _no_server(), "http", 10
    handler = {"tls-garbage": speaks_garbage, "timeout": never_answers, "reset": resets}[kind]
    return raw_server(handler), "https" if kind == "tls-garbage" else "http", 2 if kind == "timeout" else 10


class _no_server:
    def __enter__(self):
        return closed_port()

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("kind, expected", [
    ("refused", "connect call failed"),
    ("tls-garbage", "does not speak tls"),
    ("timeout", "the server had not answered after"),
    ("reset", "server closed connection"),
])
def test_upstream_failure_is_stored_as_an_error_hop_with_its_text(shared_record, upstream, kind, expected):
    opener = proxy_opener(shared_record.proxy_url, shared_record.ca_cert)
    server, scheme, wait = _failing(kind)
    with server as port:
        url = f"{scheme}://127.0.0.1:{port}/fail/{kind}"
        try:
            status, _ = fetch(opener, url, timeout=wait)
        except OSError:  # the client gave up first (timeout)
            status = None
        assert status in (502, None)
        assert wait_until(lambda: _count(shared_record.db_path, f"/fail/{kind}") == 1)
    with sqlite3.connect(shared_record.db_path) as conn:
        hop_status, error = conn.execute("SELECT status, error FROM hops WHERE url = ?", (url,)).fetchone()
    assert hop_status is None
    assert expected in error.lower()
    assert fetch(opener, f"{upstream.url}/n/after-{kind}")[0] == 200, "the proxy still forwards"
