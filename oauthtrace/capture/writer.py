"""A thread that owns the database connection and commits captured hops in small batches.

It runs in the writer process (capture/writer_process.py), whose main thread converts what the proxy sends and
appends the hops to a deque; this thread wakes every BATCH_SECONDS (or when BATCH_ROWS hops wait) and commits them
in one transaction.

A failed commit (disk full, the database locked longer than the busy timeout) loses nothing at once: the hops
are held in memory, up to a bound, and retried with the next batches, so they land once the disk has room or
the lock is gone. A database file deleted under the recorder is written back from the open connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Sequence

from oauthtrace.capture.dbfile import DELETED, SAME, DbFile, restore
from oauthtrace.flows import DEFAULT_BODY_CAP, hop_from_parts
from oauthtrace.model import Hop
from oauthtrace.store import Store

log = logging.getLogger(__name__)

BATCH_ROWS = 100
BATCH_SECONDS = 0.25
RETRY_SECONDS = 1.0  # after a failed commit, wait this long before trying the database again
HELD_BYTES = 128 * 1024 * 1024  # hops waiting for a retry beyond this are dropped, oldest first


@dataclass
class WriterStats:
    stored: int = 0
    failed: int = 0  # lost for good: dropped from the held hops, or still held when the writer stopped
    last_error: str | None = None
    trace_id: int | None = None
    errors: list[str] = field(default_factory=list)
    held: int = 0  # waiting for a retry right now


class HopWriter:
    """Flows in (converted as they come), committed hops out; the trace is created with the first batch."""

    def __init__(self, db_path: str, trace_name: str, *, source: str = "record", body_cap: int = DEFAULT_BODY_CAP,
                 listeners: Sequence[str] = ()):
        self.db_path = db_path
        self.trace_name = trace_name
        self.source = source
        self.body_cap = body_cap
        self.listeners = listeners  # stored with the trace: `browser`, `reverse:URL@PORT`
        self.stats = WriterStats()
        self._incoming: deque = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="oauthtrace-writer", daemon=True)
        self._store: Store | None = None
        self._file: DbFile | None = None
        self._held: list[Hop] = []
        self._held_bytes = 0
        self._retry_at = 0.0
        self._last_said: str | None = None
        self._said_lost = False

    def start(self) -> None:
        # Open in the caller so a bad path fails loudly at start, not silently in the thread.
        self._store = Store.open(self.db_path)
        self._file = DbFile(self.db_path)
        self._thread.start()

    def put_parts(self, parts: tuple, seq: int) -> None:
        """Convert a flow's parts (flows.flow_parts, as the writer process receives them) on the caller's thread
        and queue the hop for this thread."""
        # A deque append takes no lock and wakes no one: waking the writer for every flow (a Queue) cost a
        # thread switch per flow.
        try:
            hop = hop_from_parts(parts, trace_id=0, seq=seq, body_cap=self.body_cap)
        except Exception as exc:  # one odd flow must not cost the batch; the message may quote captured data
            self.stats.failed += 1
            self.stats.last_error = f"could not convert flow #{seq}: {type(exc).__name__}"
            self._say(self.stats.last_error)
            return
        self._incoming.append(hop)
        if len(self._incoming) >= BATCH_ROWS:
            self._wake.set()

    def commit_soon(self) -> None:
        """Commit what waits now rather than at the next interval (the writer process got a whole batch)."""
        self._wake.set()

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flush everything put so far, then stop. Safe to call twice."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout)
        return self.stats

    def _run(self) -> None:
        while True:
            self._wake.wait(BATCH_SECONDS)
            self._wake.clear()
            stopping = self._stopping  # read before taking: every flow put before close() is in the deque now
            self._hold(self._take())
            if self._held and (stopping or time.monotonic() >= self._retry_at):
                self._commit()
            if stopping:
                break
        self._settle_file()
        if self._held:  # the last attempt failed too
            self._said_lost = True
            self._drop(len(self._held))
        if self._store is not None:
            self._store.close()

    def _take(self) -> list:
        incoming = self._incoming
        return [incoming.popleft() for _ in range(len(incoming))]

    def _hold(self, batch: list[Hop]) -> None:
        for hop in batch:
            self._held.append(hop)
            self._held_bytes += _size(hop)
        excess, freed = 0, 0
        while self._held_bytes - freed > HELD_BYTES and excess < len(self._held) - 1:
            freed += _size(self._held[excess])
            excess += 1
        if excess:
            self._drop(excess)
        self.stats.held = len(self._held)

    def _commit(self) -> None:
        recovering = self.stats.held and self._retry_at > 0
        try:
            self._follow_file()
            trace_id = self._trace_id()
            for hop in self._held:
                hop.trace_id = trace_id
            self._store.insert_hops(self._held, set_ids=False)
        except Exception as exc:  # disk full, database locked or gone: keep the proxy forwarding, say so
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self.stats.last_error = f"{_reason(exc)} ({self.db_path})"
            self._say(f"could not store hops in {self.db_path}: {_reason(exc)}; holding them in memory and retrying")
            return
        if recovering:
            self._say(f"stored the {len(self._held)} held hop(s) in {self.db_path}; recording goes on",
                      logging.WARNING)
        self.stats.stored += len(self._held)
        self._held, self._held_bytes, self._retry_at = [], 0, 0.0
        self._said_lost = False
        self.stats.held = 0

    def _follow_file(self) -> None:
        """Write a deleted database back, or move to a file that replaced it, before committing."""
        status = self._file.status()
        if status == SAME:
            return
        if status == DELETED:
            restore(self._store, self.db_path)
            self._say(f"database {self.db_path} was deleted while recording; wrote it back from the open copy")
        else:
            self._store.close()
            self.stats.trace_id = None  # the hops stored before stayed in the file that was replaced
            self._say(f"database {self.db_path} was replaced while recording; going on there in a new trace")
        self._store = Store.open(self.db_path)
        self._file.remember()

    def _settle_file(self) -> None:
        """A file deleted after the last commit would take the whole trace with it: check once more at the end."""
        if self._file is None or self._file.status() != DELETED:
            return
        try:
            self._follow_file()
        except Exception as exc:
            self._say(f"could not write {self.db_path} back: {_reason(exc)}")

    def _drop(self, count: int) -> None:
        for hop in self._held[:count]:
            self._held_bytes -= _size(hop)
        del self._held[:count]
        self.stats.failed += count
        self.stats.held = len(self._held)
        if not self._said_lost:  # once per spell of failures, not once per dropped hop
            self._said_lost = True
            self._say(f"dropping the oldest held hops (over {HELD_BYTES >> 20} MiB waiting): {self.stats.last_error}")

    def _say(self, message: str, level: int = logging.ERROR) -> None:
        """Log a line for the user, each distinct line once in a row (retries would repeat it every second)."""
        if message == self._last_said:
            return
        self._last_said = message
        log.log(level, message)
        self.stats.errors.append(message)
        del self.stats.errors[:-20]

    def _trace_id(self) -> int:
        if self.stats.trace_id is None:
            self.stats.trace_id = self._store.create_trace(self.trace_name, self.source, listeners=self.listeners)
        return self.stats.trace_id


def _size(hop: Hop) -> int:
    return len(hop.url) + len(hop.req_body or b"") + len(hop.resp_body or b"") + 512


def _reason(exc: Exception) -> str:
    text = str(exc)
    prefix = "cannot use database "  # a UserError from Store.open already names the file
    return text.split(": ", 1)[1] if text.startswith(prefix) and ": " in text else text
