"""Writing hops: the recorder's batches, and an import (a trace and all its hops, or nothing)."""

from __future__ import annotations

from typing import Callable, Iterable

from oauthtrace.model import Hop
from oauthtrace.store import fts
from oauthtrace.store.connection import StoreConnection
from oauthtrace.store.hop_rows import INSERT_HOP, hop_row, insert_rows, rows_per_insert
from oauthtrace.store.traces import insert_trace


class HopWrites(StoreConnection):
    def insert_hops(self, hops: Iterable[Hop], *, set_ids: bool = True) -> int:
        """Insert hops in one transaction. Returns how many were written.

        `set_ids=False` skips reading back each row id, which the recorder's writer does not need.
        """
        hops = list(hops)
        if not hops:
            return 0
        with self.transaction() as conn:
            if set_ids:
                for hop in hops:
                    hop.id = conn.execute(INSERT_HOP, hop_row(hop)).lastrowid
            else:
                rows = rows_per_insert(conn)
                for start in range(0, len(hops), rows):
                    chunk = hops[start:start + rows]
                    conn.execute(insert_rows(len(chunk)), [value for hop in chunk for value in hop_row(hop)])
        return len(hops)

    def import_trace(
        self, name: str, source: str, hops: list[Hop], *, on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Create a trace and insert its hops in ONE transaction (an import is all or nothing); returns its id.

        Each hop's trace_id is set to the new trace; `on_progress(n)` is told how many hops each batch wrote.
        """
        batch = 2000
        with self.transaction() as conn:
            trace_id = insert_trace(conn, name, source)
            # One bulk insert into the full-text index instead of the per-row trigger halves the cost of a large
            # import. DDL is transactional in SQLite and this transaction holds the write lock, so no other
            # connection ever sees the trigger missing, and a failed import puts it back with the rollback.
            conn.execute("DROP TRIGGER IF EXISTS hops_ai")
            for start in range(0, len(hops), batch):
                chunk = hops[start:start + batch]
                for hop in chunk:
                    hop.trace_id = trace_id
                conn.executemany(INSERT_HOP, [hop_row(hop) for hop in chunk])
                if on_progress:
                    on_progress(len(chunk))
            conn.execute(fts.INSERT_TRIGGER)
            conn.execute(fts.FILL_TRACE, (trace_id,))
        return trace_id
