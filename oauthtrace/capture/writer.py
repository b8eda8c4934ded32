"""A thread that owns the database connection and commits captured flows in small batches.

mitmproxy's event loop must never wait for SQLite: one synchronous insert per flow was measured at about a third
of the proxy's throughput. The addon only puts flows on a queue; this thread converts and commits them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from oauthtrace.flows import DEFAULT_BODY_CAP, hop_from_flow
from oauthtrace.store import Store

log = logging.getLogger(__name__)

BATCH_ROWS = 100
BATCH_SECONDS = 0.25
_STOP = object()


@dataclass
class WriterStats:
    stored: int = 0
    failed: int = 0
    last_error: str | None = None
    trace_id: int | None = None
    errors: list[str] = field(default_factory=list)


class HopWriter:
    """Queue of (flow, seq) in, committed hops out; the trace is created with the first batch."""

    def __init__(self, db_path: str, trace_name: str, *, source: str = "record", body_cap: int = DEFAULT_BODY_CAP):
        self.db_path = db_path
        self.trace_name = trace_name
        self.source = source
        self.body_cap = body_cap
        self.stats = WriterStats()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="oauthtrace-writer", daemon=True)
        self._store: Store | None = None

    def start(self) -> None:
        # Open in the caller so a bad path fails loudly at start, not silently in the thread.
        self._store = Store.open(self.db_path)
        self._thread.start()

    def put(self, flow, seq: int) -> None:
        self._queue.put((flow, seq))

    def close(self, timeout: float = 30.0) -> WriterStats:
        """Flush everything queued, then stop. Safe to call twice."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        return self.stats

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                self._commit(batch)
        if self._store is not None:
            self._store.close()

    def _next_batch(self) -> tuple[list, bool]:
        batch: list = []
        item = self._queue.get()
        deadline = time.monotonic() + BATCH_SECONDS
        while True:
            if item is _STOP:
                return batch, True
            batch.append(item)
            if len(batch) >= BATCH_ROWS:
                return batch, False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return batch, False
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return batch, False

    def _commit(self, batch: list) -> None:
        try:
            trace_id = self._trace_id()
            hops = [hop_from_flow(flow, trace_id=trace_id, seq=seq, body_cap=self.body_cap) for flow, seq in batch]
            self._store.insert_hops(hops, set_ids=False)
        except Exception as exc:  # disk full, database gone: keep the proxy forwarding, say what happened
            self.stats.failed += len(batch)
            message = f"could not store {len(batch)} flow(s) in {self.db_path}: {exc}"
            if message != self.stats.last_error:
                log.error(message)
            self.stats.last_error = message
            return
        self.stats.stored += len(batch)

    def _trace_id(self) -> int:
        if self.stats.trace_id is None:
            self.stats.trace_id = self._store.create_trace(self.trace_name, self.source)
        return self.stats.trace_id
