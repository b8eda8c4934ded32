"""The database file and one connection to it: where it lives, how it is opened, transactions, copies.

Every query class of the store builds on StoreConnection, so `self.conn` and `self.transaction()` mean the same
thing wherever a query is written.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Self

from oauthtrace.errors import UserError

DEFAULT_DB = "oauthtrace.db"


def default_path() -> str:
    return os.environ.get("OAUTHTRACE_DB") or DEFAULT_DB


def connect(path: str, *, create: bool) -> sqlite3.Connection:
    """A connection in WAL mode (readers never wait for the recorder's writes), file created 0600 if allowed."""
    if path != ":memory:":
        ensure_file(path, create)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """All or nothing: the block's writes commit together or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")  # inside: a COMMIT that fails (disk full) must not leave it open
    except BaseException:
        # SQLite has already rolled back after some errors (disk full); a second ROLLBACK would hide them.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def ensure_file(path: str, create: bool) -> None:
    target = Path(path)
    if target.exists():
        if target.is_dir():
            raise UserError(f"cannot use database {path}: it is a directory")
        return
    if not create:
        raise UserError(f"no database at {path}")
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise UserError(f"cannot create database {path}: {exc.strerror}") from None
    os.close(fd)


class StoreConnection:
    """A connection to one oauthtrace database. Use one per thread."""

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        """`transaction` on this connection: `with store.transaction() as conn:`."""
        return transaction(self.conn)

    def copy_to(self, path: str) -> None:
        """Write the whole database, WAL included, into a new file at `path` (created 0600; never overwritten).

        The recorder uses it when its file was deleted under it: the open connection still reads the old one.
        """
        if os.path.exists(path):
            raise UserError(f"cannot copy database to {path}: a file is there")
        ensure_file(path, create=True)
        target = sqlite3.connect(path)
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def checkpoint(self) -> None:
        """Move the WAL into the main file and empty it, so that no stale WAL outlives this connection."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
