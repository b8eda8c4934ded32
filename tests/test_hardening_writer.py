"""The writer's bookkeeping when the database fails (hold, retry, bound, say it once) and its process. No proxy."""

from __future__ import annotations

import logging
import os
import signal

import pytest
from mitmproxy.test import tflow

from oauthtrace.capture import writer as writer_module
from oauthtrace.capture.writer import HopWriter
from oauthtrace.capture.writer_process import ProcessWriter
from oauthtrace.errors import UserError
from oauthtrace.flows import flow_parts
from oauthtrace.store import Store
from tests.support.processes import ended
from tests.support.upstreams import wait_until


def _flow(n: int, body: bytes = b"ok"):
    flow = tflow.tflow(resp=True)
    flow.request.url = f"http://as.test/n/{n}"
    flow.response.content = body
    return flow


def _stored_paths(db_path: str) -> list[str]:
    with Store.open(db_path) as store:
        return [hop.url.rsplit("/", 1)[1] for trace in store.traces() for hop in store.hops(trace.id)]


@pytest.fixture
def failing_inserts(monkeypatch):
    """While `broken[0]` is true, every insert fails as on a full disk; `broken[1]` counts the failed inserts."""
    broken = [True, 0]
    real = Store.insert_hops

    def insert(self, hops, **kwargs):
        if broken[0]:
            import sqlite3
            broken[1] += 1
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, hops, **kwargs)

    monkeypatch.setattr(Store, "insert_hops", insert)
    monkeypatch.setattr(writer_module, "RETRY_SECONDS", 0.2)
    return broken


def test_hops_held_during_a_failure_are_stored_when_it_ends_and_said_once(db_path, failing_inserts, caplog):
    writer = HopWriter(db_path, "unit")
    writer.start()
    with caplog.at_level(logging.WARNING, logger="oauthtrace.capture.writer"):
        for n in range(5):
            writer.put_parts(flow_parts(_flow(n)), n + 1)
        assert wait_until(lambda: failing_inserts[1] >= 1, timeout=5)  # the first batch failed
        for n in range(5, 10):
            writer.put_parts(flow_parts(_flow(n)), n + 1)
        assert wait_until(lambda: writer.stats.held == 10, timeout=5)
        retries = failing_inserts[1]
        assert wait_until(lambda: failing_inserts[1] >= retries + 2, timeout=5)  # several retries while broken
        failing_inserts[0] = False
        assert wait_until(lambda: writer.stats.stored == 10, timeout=5), "stored on the next retry, no new flow needed"
        stats = writer.close()
    assert stats.failed == 0 and _stored_paths(db_path) == [str(n) for n in range(10)]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"could not store hops in {db_path}: database or disk is full; holding them in memory and retrying"]
    assert any("stored the 10 held hop(s)" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_held_hops_are_bounded_by_dropping_the_oldest(db_path, failing_inserts, monkeypatch):
    body = b"x" * 1000
    monkeypatch.setattr(writer_module, "HELD_BYTES", 5 * (1000 + 512 + 40))  # room for about five such hops
    writer = HopWriter(db_path, "unit")
    writer.start()
    for n in range(12):
        writer.put_parts(flow_parts(_flow(n, body)), n + 1)
    assert wait_until(lambda: writer.stats.failed > 0, timeout=5)
    failing_inserts[0] = False
    stats = writer.close()
    stored = _stored_paths(db_path)
    assert stats.failed + stats.stored == 12
    assert 1 <= len(stored) <= 5 and stored == [str(n) for n in range(12 - len(stored), 12)], "the newest are kept"


def test_still_failing_at_close_counts_every_held_hop_as_lost(db_path, failing_inserts):
    writer = HopWriter(db_path, "unit")
    writer.start()
    for n in range(3):
        writer.put_parts(flow_parts(_flow(n)), n + 1)
    stats = writer.close()
    assert (stats.stored, stats.failed, stats.held) == (0, 3, 0)
    assert stats.last_error == f"database or disk is full ({db_path})"


def test_a_flow_that_cannot_be_converted_costs_only_itself(db_path, monkeypatch):
    real = writer_module.hop_from_parts

    def convert(parts, **kwargs):
        if kwargs["seq"] == 2:
            raise ValueError("secret-looking text that must not be logged")
        return real(parts, **kwargs)

    monkeypatch.setattr(writer_module, "hop_from_parts", convert)
    writer = HopWriter(db_path, "unit")
    writer.start()
    for n in range(3):
        writer.put_parts(flow_parts(_flow(n)), n + 1)
    stats = writer.close()
    assert (stats.stored, stats.failed) == (2, 1)
    assert _stored_paths(db_path) == ["0", "2"]
    assert stats.last_error == "could not convert flow #2: ValueError"


# -- the writer process (what the recorder uses) -------------------------------------------------------------------


def test_writer_process_stores_what_it_was_sent_and_reports_it(db_path):
    writer = ProcessWriter(db_path, "unit")
    writer.start()
    for n in range(250):  # more than one batch
        writer.put(_flow(n), n + 1)
    stats = writer.close()
    assert (stats.stored, stats.failed) == (250, 0)
    assert _stored_paths(db_path) == [str(n) for n in range(250)]
    assert writer.close() is stats, "closing twice is harmless"


def test_writer_process_that_cannot_open_the_database_fails_at_start_in_one_line(tmp_path):
    writer = ProcessWriter(str(tmp_path / "missing-dir" / "x.db"), "unit")
    with pytest.raises(UserError, match="cannot create database") as failure:
        writer.start()
    assert "\n" not in str(failure.value)


def test_a_writer_process_that_dies_is_said_once_and_every_later_flow_counted(db_path, caplog):
    writer = ProcessWriter(db_path, "unit")
    writer.start()
    writer.put(_flow(0), 1)  # outside an event loop each put is sent at once
    os.kill(writer.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    assert wait_until(lambda: ended(writer.pid), timeout=5)
    with caplog.at_level(logging.ERROR, logger="oauthtrace.capture"):
        for n in range(1, 4):
            writer.put(_flow(n), n + 1)
        stats = writer.close()
    assert stats.failed == 4, "three refused by the pipe, one sent but never confirmed"
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, said
    assert said[0] == "the writer process has stopped (Broken pipe): 1 hop(s) not stored"
    assert said[1] == "the writer process ended without a report (exit -9); 1 hop(s) sent to it are unconfirmed"


def test_closed_on_a_running_event_loop_as_mitmdump_s_done_hook_does_it_stores_every_flow(db_path):
    import asyncio
    import threading

    writer = ProcessWriter(db_path, "unit")
    writer.start()
    os.kill(writer.pid, signal.SIGSTOP)  # a busy child: what the pipe cannot take stays queued in the outbox
    threading.Timer(0.5, os.kill, (writer.pid, signal.SIGCONT)).start()

    async def record_then_close():
        for n in range(300):
            writer.put(_flow(n, bytes([n % 256]) * 100_000), n + 1)  # 30 MB of bodies: far more than the pipe holds
        return writer.close()

    stats = asyncio.run(record_then_close())
    assert (stats.stored, stats.failed) == (300, 0), stats.errors
    assert _stored_paths(db_path) == [str(n) for n in range(300)]
