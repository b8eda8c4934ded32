"""Traces: one recording, import or replay each, found by id or name."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Iterable

from oauthtrace.errors import UserError
from oauthtrace.model import Trace
from oauthtrace.store.connection import StoreConnection


def insert_trace(conn: sqlite3.Connection, name: str, source: str = "record", parent_id: int | None = None,
                 listeners: Iterable[str] = ()) -> int:
    """Store.create_trace on a bare connection: import_trace makes its trace inside its own transaction."""
    cur = conn.execute(
        "INSERT INTO traces (name, created, source, parent_id, listeners) VALUES (?, ?, ?, ?, ?)",
        (name, time.time(), source, parent_id, json.dumps(list(listeners))),
    )
    return cur.lastrowid


class TraceQueries(StoreConnection):
    def create_trace(self, name: str, source: str = "record", parent_id: int | None = None,
                     listeners: Iterable[str] = ()) -> int:
        """`listeners`: what a recording listened on, as hops name them (`browser`, `reverse:URL@PORT`)."""
        return insert_trace(self.conn, name, source, parent_id, listeners)

    def trace_listeners(self, trace_id: int) -> list[str]:
        """What the trace's recording listened on; empty when not known (an import, an older database)."""
        row = self.conn.execute("SELECT listeners FROM traces WHERE id = ?", (trace_id,)).fetchone()
        try:
            listeners = json.loads(row[0]) if row else []
        except (TypeError, ValueError):
            return []
        return [item for item in listeners if isinstance(item, str)] if isinstance(listeners, list) else []

    def traces(self) -> list[Trace]:
        rows = self.conn.execute(
            "SELECT t.id, t.name, t.created, t.source, t.parent_id,"
            " (SELECT count(*) FROM hops h WHERE h.trace_id = t.id)"
            " FROM traces t ORDER BY t.id"
        ).fetchall()
        return [Trace(*row[:5], hop_count=row[5]) for row in rows]

    def trace(self, trace_id: int) -> Trace | None:
        row = self.conn.execute(
            "SELECT t.id, t.name, t.created, t.source, t.parent_id,"
            " (SELECT count(*) FROM hops h WHERE h.trace_id = t.id) FROM traces t WHERE t.id = ?",
            (trace_id,),
        ).fetchone()
        return Trace(*row[:5], hop_count=row[5]) if row else None

    def trace_header(self, trace_id: int) -> Trace | None:
        """A trace without counting its hops (hop_count stays 0): for callers that must answer at once."""
        row = self.conn.execute(
            "SELECT id, name, created, source, parent_id FROM traces WHERE id = ?", (trace_id,)
        ).fetchone()
        return Trace(*row) if row else None

    def resolve_trace(self, ref: str | int | None) -> Trace:
        """A trace by id or name; the latest one when `ref` is None."""
        return self.trace(self.resolve_trace_id(ref))

    def resolve_trace_id(self, ref: str | int | None) -> int:
        """resolve_trace without counting the trace's hops (instant on a million-hop trace)."""
        if ref is None:
            row = self.conn.execute("SELECT id FROM traces ORDER BY id DESC LIMIT 1").fetchone()
            if not row:
                raise UserError(f"no traces in {self.path}; record one with `oauthtrace record`")
            return row[0]
        text = str(ref)
        row = self.conn.execute("SELECT id FROM traces WHERE name = ? ORDER BY id DESC LIMIT 1", (text,)).fetchone()
        if row is None and text.isdigit():
            row = self.conn.execute("SELECT id FROM traces WHERE id = ?", (int(text),)).fetchone()
        if row is None:
            raise UserError(f"no trace {text!r} in {self.path} (see `oauthtrace list`)")
        return row[0]

    def latest_trace_id(self) -> int:
        """The highest trace id, 0 when there is none."""
        return self.conn.execute("SELECT max(id) FROM traces").fetchone()[0] or 0

    def rename_trace(self, trace_id: int, name: str) -> None:
        self.conn.execute("UPDATE traces SET name = ? WHERE id = ?", (name, trace_id))
