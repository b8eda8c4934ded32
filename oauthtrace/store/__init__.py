"""The one package that knows SQL: one SQLite file in WAL mode holding traces, hops and findings.

`Store` is everything a caller needs; its queries are written by behaviour, one module each:
connection (the file, transactions), schema (tables, migrations), traces, hop_writes, hop_reads, hop_rows (a Hop
as a row and back), fts (the full-text index) and findings.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Self

from oauthtrace.errors import UserError
from oauthtrace.store.connection import DEFAULT_DB, connect, default_path
from oauthtrace.store.findings import FindingQueries
from oauthtrace.store.fts import HopSearch
from oauthtrace.store.hop_reads import HopReads
from oauthtrace.store.hop_writes import HopWrites
from oauthtrace.store.schema import SCHEMA_VERSION, migrate
from oauthtrace.store.traces import TraceQueries

__all__ = ["DEFAULT_DB", "SCHEMA_VERSION", "Store", "default_path"]


class Store(TraceQueries, HopWrites, HopReads, HopSearch, FindingQueries):
    """A connection to one oauthtrace database. Use one Store per thread."""

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True) -> Self:
        path = str(path or default_path())
        try:
            store = cls(connect(path, create=create), path)
            migrate(store.conn, path)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"cannot use database {path}: {exc}") from None
        return store
