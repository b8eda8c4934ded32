"""The one module that knows SQL: one SQLite file in WAL mode holding traces, hops and findings.

Bodies are stored as TEXT when they are valid UTF-8 (so full-text search and Datasette show them) and as
BLOB otherwise (so binary bodies come back byte for byte).
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
import time
from contextlib import contextmanager
from dataclasses import fields
from json.scanner import make_scanner
from pathlib import Path
from typing import Callable, Iterable, Iterator

from oauthtrace.errors import UserError
from oauthtrace.model import Finding, Hop, Trace

# 2: hops_fts names its content table as content="hops", the spelling Datasette looks for to offer search.
# 3: traces.listeners, what the recording listened on, so a listener that saw nothing can be named.
# 4: findings.count and findings.hops: one finding per cause, with every hop it was seen at.
SCHEMA_VERSION = 4
DEFAULT_DB = "oauthtrace.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS traces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    source TEXT NOT NULL DEFAULT 'record',
    parent_id INTEGER REFERENCES traces(id),
    listeners TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS hops (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL REFERENCES traces(id),
    seq INTEGER NOT NULL,
    name TEXT,
    started REAL,
    ended REAL,
    listener TEXT NOT NULL DEFAULT 'browser',
    client_addr TEXT,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    upstream_url TEXT,
    http_version TEXT,
    query TEXT NOT NULL DEFAULT '[]',
    req_headers TEXT NOT NULL DEFAULT '[]',
    req_body,
    req_truncated INTEGER NOT NULL DEFAULT 0,
    form TEXT NOT NULL DEFAULT '[]',
    status INTEGER,
    resp_headers TEXT NOT NULL DEFAULT '[]',
    resp_body,
    resp_truncated INTEGER NOT NULL DEFAULT 0,
    location TEXT,
    error TEXT,
    UNIQUE (trace_id, seq)
);
CREATE TABLE IF NOT EXISTS findings (
    id INTEGER PRIMARY KEY,
    trace_id INTEGER NOT NULL REFERENCES traces(id),
    hop_id INTEGER REFERENCES hops(id),
    exchange INTEGER,
    hop_seq INTEGER,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    blame TEXT,
    message TEXT,
    spec TEXT,
    fix TEXT,
    evidence TEXT NOT NULL DEFAULT '{}',
    count INTEGER NOT NULL DEFAULT 1,
    hops TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS findings_trace ON findings (trace_id);
CREATE VIRTUAL TABLE IF NOT EXISTS hops_fts USING fts5 (
    url, location, req_body, resp_body, content="hops", content_rowid='id'
);
CREATE TRIGGER IF NOT EXISTS hops_ai AFTER INSERT ON hops BEGIN
    INSERT INTO hops_fts (rowid, url, location, req_body, resp_body)
    VALUES (new.id, new.url, new.location,
            CASE WHEN typeof(new.req_body) = 'text' THEN new.req_body END,
            CASE WHEN typeof(new.resp_body) = 'text' THEN new.resp_body END);
END;
CREATE TRIGGER IF NOT EXISTS hops_ad AFTER DELETE ON hops BEGIN
    INSERT INTO hops_fts (hops_fts, rowid, url, location, req_body, resp_body)
    VALUES ('delete', old.id, old.url, old.location,
            CASE WHEN typeof(old.req_body) = 'text' THEN old.req_body END,
            CASE WHEN typeof(old.resp_body) = 'text' THEN old.resp_body END);
END;
"""

_HOP_COLUMNS = (
    "trace_id seq name started ended listener client_addr method url upstream_url http_version query "
    "req_headers req_body req_truncated form status resp_headers resp_body resp_truncated location error"
).split()


# What a Hop is read from: every column but `name`, which only labels rows for Datasette. Bodies are stored as
# text when they are UTF-8; read as blobs, SQLite hands over their bytes instead of a str to encode back.
# The columns whose values repeat from hop to hop come as one JSON array, the hop's "shape" (its trace, how it was
# sent, its status or error, whether its bodies were cut, its request headers): Python's sqlite3 pays for each
# column of each row (it lets go of the GIL and takes it back around every value), and a shape seen before is one
# dict lookup. SQLite's json() hands the headers' JSON over as it is, only without spaces.
_SELECT_HOP = (
    "SELECT id, seq, started, ended, url, upstream_url,"
    " json_array(trace_id, method, listener, client_addr, http_version, req_truncated, status, resp_truncated,"
    " error, json(req_headers)),"
    " query, CAST(req_body AS BLOB), form, resp_headers, CAST(resp_body AS BLOB), location"
    " FROM hops"
)
_INSERT_HOP = f"INSERT INTO hops ({', '.join(_HOP_COLUMNS)}) VALUES ({', '.join('?' * len(_HOP_COLUMNS))})"


# One INSERT of many rows is one sqlite3_step, where executemany steps once per row. As many rows as SQLite's
# limit on bound variables allows: 999 before SQLite 3.32, 32766 since.
_ROWS_PER_INSERT = 100


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_rows(count: int) -> str:
    one = f"({', '.join('?' * len(_HOP_COLUMNS))})"
    return f"INSERT INTO hops ({', '.join(_HOP_COLUMNS)}) VALUES {', '.join([one] * count)}"


def _rows_per_insert(conn: sqlite3.Connection) -> int:
    return max(1, min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_HOP_COLUMNS)))


def default_path() -> str:
    return os.environ.get("OAUTHTRACE_DB") or DEFAULT_DB


class Store:
    """A connection to one oauthtrace database. Use one Store per thread."""

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, *, create: bool = True) -> "Store":
        path = str(path or default_path())
        if path != ":memory:":
            _ensure_file(path, create)
        try:
            conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"cannot use database {path}: {exc}") from None
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        found = self._schema_version()
        if found > SCHEMA_VERSION:
            raise UserError(
                f"database {self.path} has schema version {found}; this oauthtrace knows up to {SCHEMA_VERSION}"
            )
        if found == SCHEMA_VERSION:
            return
        with self.transaction():
            if found == 1:
                # Same index, declared the way Datasette detects it: dropped, made again, filled from hops.
                self.conn.execute("DROP TABLE IF EXISTS hops_fts")
            for statement in _statements(_SCHEMA):
                self.conn.execute(statement)
            if found == 1:
                self.conn.execute(_FTS_FILL)
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(traces)")}
            if "listeners" not in columns:  # CREATE TABLE IF NOT EXISTS left an older traces table as it was
                self.conn.execute("ALTER TABLE traces ADD COLUMN listeners TEXT NOT NULL DEFAULT '[]'")
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(findings)")}
            if "count" not in columns:  # each stored finding was one hop's: its count 1, its hops that hop
                self.conn.execute("ALTER TABLE findings ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
                self.conn.execute("ALTER TABLE findings ADD COLUMN hops TEXT NOT NULL DEFAULT '[]'")
                self.conn.execute("UPDATE findings SET hops = json_array(hop_seq) WHERE hop_seq IS NOT NULL")
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _schema_version(self) -> int:
        exists = self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
        if not exists:
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: the block's writes commit together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")  # inside: a COMMIT that fails (disk full) must not leave it open
        except BaseException:
            # SQLite has already rolled back after some errors (disk full); a second ROLLBACK would hide them.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    # -- traces --------------------------------------------------------------------------------

    def create_trace(self, name: str, source: str = "record", parent_id: int | None = None,
                     listeners: Iterable[str] = ()) -> int:
        """`listeners`: what a recording listened on, as hops name them (`browser`, `reverse:URL@PORT`)."""
        cur = self.conn.execute(
            "INSERT INTO traces (name, created, source, parent_id, listeners) VALUES (?, ?, ?, ?, ?)",
            (name, time.time(), source, parent_id, json.dumps(list(listeners))),
        )
        return cur.lastrowid

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

    def rename_trace(self, trace_id: int, name: str) -> None:
        self.conn.execute("UPDATE traces SET name = ? WHERE id = ?", (name, trace_id))

    # -- hops ----------------------------------------------------------------------------------

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
                    hop.id = conn.execute(_INSERT_HOP, _hop_row(hop)).lastrowid
            else:
                rows = _rows_per_insert(conn)
                for start in range(0, len(hops), rows):
                    chunk = hops[start:start + rows]
                    conn.execute(_insert_rows(len(chunk)), [value for hop in chunk for value in _hop_row(hop)])
        return len(hops)

    def import_trace(
        self, name: str, source: str, hops: list[Hop], *, on_progress: Callable[[int], None] | None = None
    ) -> int:
        """Create a trace and insert its hops in ONE transaction (an import is all or nothing); returns its id.

        Each hop's trace_id is set to the new trace; `on_progress(n)` is told how many hops each batch wrote.
        """
        batch = 2000
        with self.transaction() as conn:
            trace_id = self.create_trace(name, source)
            # One bulk insert into the full-text index instead of the per-row trigger halves the cost of a large
            # import. DDL is transactional in SQLite and this transaction holds the write lock, so no other
            # connection ever sees the trigger missing, and a failed import puts it back with the rollback.
            conn.execute("DROP TRIGGER IF EXISTS hops_ai")
            for start in range(0, len(hops), batch):
                chunk = hops[start:start + batch]
                for hop in chunk:
                    hop.trace_id = trace_id
                conn.executemany(_INSERT_HOP, [_hop_row(hop) for hop in chunk])
                if on_progress:
                    on_progress(len(chunk))
            conn.execute(_fts_insert_trigger())
            conn.execute(
                "INSERT INTO hops_fts (rowid, url, location, req_body, resp_body)"
                " SELECT id, url, location,"
                " CASE WHEN typeof(req_body) = 'text' THEN req_body END,"
                " CASE WHEN typeof(resp_body) = 'text' THEN resp_body END"
                " FROM hops WHERE trace_id = ?",
                (trace_id,),
            )
        return trace_id

    def hops(self, trace_id: int, *, after_seq: int | None = None, limit: int | None = None) -> list[Hop]:
        sql = f"{_SELECT_HOP} WHERE trace_id = ?"
        args: list = [trace_id]
        if after_seq is not None:
            sql += " AND seq > ?"
            args.append(after_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return _hops_from_rows(self.conn.execute(sql, args))

    def hop(self, hop_id: int) -> Hop | None:
        found = _hops_from_rows(self.conn.execute(f"{_SELECT_HOP} WHERE id = ?", (hop_id,)))
        return found[0] if found else None

    def hop_count(self, trace_id: int | None = None) -> int:
        if trace_id is None:
            return self.conn.execute("SELECT count(*) FROM hops").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]

    def hop_summaries(self, trace_id: int, offset: int = 0, limit: int = 100) -> list[tuple]:
        """Light rows for long lists: (id, seq, started, listener, method, url, status, location, error)."""
        return self.conn.execute(
            "SELECT id, seq, started, listener, method, url, status, location, error FROM hops"
            " WHERE trace_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (trace_id, limit, offset),
        ).fetchall()

    def search_hops(self, trace_id: int, text: str, limit: int = 1000) -> list[int]:
        """Sequence numbers of the trace's hops whose URL, Location or text bodies match `text`."""
        phrase = '"' + text.replace('"', '""') + '"'
        try:
            rows = self.conn.execute(
                "SELECT h.seq FROM hops_fts f JOIN hops h ON h.id = f.rowid"
                " WHERE hops_fts MATCH ? AND h.trace_id = ? ORDER BY h.seq LIMIT ?",
                (phrase, trace_id, limit),
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [row[0] for row in rows]

    def copy_to(self, path: str) -> None:
        """Write the whole database, WAL included, into a new file at `path` (created 0600; never overwritten).

        The recorder uses it when its file was deleted under it: the open connection still reads the old one.
        """
        if os.path.exists(path):
            raise UserError(f"cannot copy database to {path}: a file is there")
        _ensure_file(path, create=True)
        target = sqlite3.connect(path)
        try:
            self.conn.backup(target)
        finally:
            target.close()

    def checkpoint(self) -> None:
        """Move the WAL into the main file and empty it, so that no stale WAL outlives this connection."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def max_seq(self, trace_id: int) -> int:
        row = self.conn.execute("SELECT max(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()
        return row[0] or 0

    # -- reads for long, virtual lists (the terminal UI) -------------------------------------------

    _SUMMARY = "SELECT id, seq, started, listener, method, url, status, location, error FROM hops"

    def seq_span(self, trace_id: int) -> tuple[int, int, int]:
        """(lowest seq, highest seq, hop count) of a trace; (0, 0, 0) when it has no hops."""
        row = self.conn.execute(
            "SELECT min(seq), max(seq), count(*) FROM hops WHERE trace_id = ?", (trace_id,)
        ).fetchone()
        return (row[0] or 0, row[1] or 0, row[2] or 0)

    def seq_bounds(self, trace_id: int) -> tuple[int, int]:
        """(lowest seq, highest seq) from the (trace_id, seq) index alone: instant at any size, unlike a count."""
        low = self.conn.execute("SELECT min(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]
        high = self.conn.execute("SELECT max(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]
        return (low or 0, high or 0)

    def trace_header(self, trace_id: int) -> Trace | None:
        """A trace without counting its hops (hop_count stays 0): for callers that must answer at once."""
        row = self.conn.execute(
            "SELECT id, name, created, source, parent_id FROM traces WHERE id = ?", (trace_id,)
        ).fetchone()
        return Trace(*row) if row else None

    def hop_summaries_between(self, trace_id: int, first_seq: int, last_seq: int) -> list[tuple]:
        """hop_summaries rows with first_seq <= seq <= last_seq: an index range, fast at any depth (no OFFSET)."""
        return self.conn.execute(
            f"{self._SUMMARY} WHERE trace_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (trace_id, first_seq, last_seq),
        ).fetchall()

    def hop_summaries_for(self, trace_id: int, seqs: list[int]) -> list[tuple]:
        """hop_summaries rows for the given sequence numbers, in seq order."""
        rows: list[tuple] = []
        for start in range(0, len(seqs), 500):  # stay under SQLite's bound-parameter limit
            chunk = seqs[start:start + 500]
            rows += self.conn.execute(
                f"{self._SUMMARY} WHERE trace_id = ? AND seq IN ({', '.join('?' * len(chunk))})",
                (trace_id, *chunk),
            ).fetchall()
        return sorted(rows, key=lambda row: row[1])

    def hop_by_seq(self, trace_id: int, seq: int) -> Hop | None:
        found = _hops_from_rows(self.conn.execute(
            f"{_SELECT_HOP} WHERE trace_id = ? AND seq = ?", (trace_id, seq)
        ))
        return found[0] if found else None

    def filter_hop_seqs(
        self, trace_id: int, *, host: str | None = None, status: tuple[int, int] | None = None,
        limit: int = 1_000_000,
    ) -> list[int]:
        """Sequence numbers of hops whose URL host contains `host` and whose status is within `status`."""
        sql = "SELECT seq FROM hops WHERE trace_id = ?"
        args: list = [trace_id]
        if host:
            # the authority sits between '://' and the next '/': match it there, not anywhere in the URL
            sql += (" AND instr(lower(substr(url, instr(url, '://') + 3,"
                    " CASE WHEN instr(substr(url, instr(url, '://') + 3), '/') > 0"
                    " THEN instr(substr(url, instr(url, '://') + 3), '/') - 1 ELSE length(url) END)), lower(?)) > 0")
            args.append(host)
        if status:
            sql += " AND status BETWEEN ? AND ?"
            args += list(status)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        return [row[0] for row in self.conn.execute(sql, args)]

    def latest_trace_id(self) -> int:
        """The highest trace id, 0 when there is none."""
        return self.conn.execute("SELECT max(id) FROM traces").fetchone()[0] or 0

    # -- findings ------------------------------------------------------------------------------

    def replace_findings(self, trace_id: int, findings: Iterable[Finding]) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM findings WHERE trace_id = ?", (trace_id,))
            # the hop's id looked up by SQLite per finding (an index probe) rather than every hop's id read
            # into a dict first: a 100k-hop trace has a third as many findings as hops
            conn.executemany(
                "INSERT INTO findings (trace_id, hop_id, exchange, hop_seq, rule, severity, blame, message, spec,"
                " fix, evidence, count, hops)"
                " VALUES (?, (SELECT id FROM hops WHERE trace_id = ? AND seq = ?), ?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        trace_id, trace_id, f.hop, f.exchange, f.hop, f.rule, f.severity, f.blame, f.message,
                        f.spec, f.fix, _encode_evidence(f.evidence), f.count, _hops_json(f.hops),
                    )
                    for f in findings
                ],
            )

    def findings(self, trace_id: int) -> list[Finding]:
        rows = self.conn.execute(
            "SELECT rule, severity, blame, trace_id, exchange, hop_seq, message, spec, fix, evidence, count, hops"
            " FROM findings WHERE trace_id = ? ORDER BY id",
            (trace_id,),
        ).fetchall()
        return [Finding(*row[:9], evidence=json.loads(row[9] or "{}"), count=row[10], hops=json.loads(row[11]))
                for row in rows]

    def severity_counts(self) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        for trace_id, severity, n in self.conn.execute(
            "SELECT trace_id, severity, count(*) FROM findings GROUP BY trace_id, severity"
        ):
            counts.setdefault(trace_id, {})[severity] = n
        return counts


# Every hop into the full-text index, text bodies only (what the insert trigger indexes).
_FTS_FILL = (
    "INSERT INTO hops_fts (rowid, url, location, req_body, resp_body)"
    " SELECT id, url, location,"
    " CASE WHEN typeof(req_body) = 'text' THEN req_body END,"
    " CASE WHEN typeof(resp_body) = 'text' THEN resp_body END"
    " FROM hops"
)


def _fts_insert_trigger() -> str:
    """The schema's own `hops_ai` trigger statement (import_trace lifts it for a bulk load)."""
    return next(statement for statement in _statements(_SCHEMA) if "TRIGGER IF NOT EXISTS hops_ai " in statement)


def _statements(script: str) -> list[str]:
    """Split the schema into statements; triggers contain `;` inside BEGIN … END."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf)
        if sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    return out


def _ensure_file(path: str, create: bool) -> None:
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


def _body_value(body: bytes | None):
    if body is None:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body


def _hop_name(hop: Hop) -> str:
    """Datasette's label for a hop: `#3 POST as.example/token`."""
    rest = hop.url.split("://", 1)[-1]
    return f"#{hop.seq} {hop.method} {rest.split('?', 1)[0].split('#', 1)[0]}"


def _hop_row(hop: Hop) -> tuple:
    return (
        hop.trace_id, hop.seq, _hop_name(hop), hop.started, hop.ended, hop.listener, hop.client_addr,
        hop.method, hop.url, hop.upstream_url, hop.http_version, _pairs_json(hop.query),
        _pairs_json(hop.req_headers), _body_value(hop.req_body), int(hop.req_truncated), _pairs_json(hop.form),
        hop.status, _pairs_json(hop.resp_headers), _body_value(hop.resp_body), int(hop.resp_truncated),
        hop.location, hop.error,
    )


# One encoder for every row: json.dumps(..., ensure_ascii=False) builds a new one per call, and the recorder's
# writer calls this four times per hop. Pairs are tuples or 2-lists, and JSON writes both as arrays.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


# json.dumps with options builds an encoder per call: 34k findings on a 100k-hop trace
_encode_evidence = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _hops_json(hops: list[int]) -> str:
    if len(hops) == 1:
        return f"[{hops[0]}]"  # nearly every finding: one hop, no encoder call
    return _encode_json(hops)


def _pairs_json(pairs) -> str:
    if not pairs:
        return "[]"  # most hops have no query or no form: not worth the encoder's call
    return _encode_json(pairs if isinstance(pairs, list) else list(pairs))


class _RowReader:
    """Turns rows selected by _SELECT_HOP into Hops: each distinct shape and short pairs text decoded once.

    A trace repeats itself: the same `Content-Type` list, the same browser headers on every request. Decoding a
    text seen before is a dict lookup, and hops share the (immutable) pair tuples and their strings, which is
    most of what a 100k-hop trace weighs in memory. Every hop still gets a list of its own.
    """

    _SHORT = 512  # longer texts (cookies, long URLs) rarely repeat whole: only their pairs are shared
    _SHORT_SHAPE = 1024  # a shape holds the request headers: a little longer than a pairs text
    _MAX_PAIRS = 200_000  # bound the memos on traces where nothing repeats
    _MAX_TEXTS = 100_000

    def __init__(self):
        self.texts: dict[str, tuple] = {"[]": ()}
        self.shapes: dict[str, tuple] = {}
        self.shared: dict[tuple, tuple] = {}

    def pairs(self, text: str | None) -> list:
        found = self.texts.get(text)
        if found is not None:
            return list(found)
        decoded = self._shared(_json_loads(text or "[]"))
        if text is not None and len(text) <= self._SHORT and len(self.texts) < self._MAX_TEXTS:
            self.texts[text] = tuple(decoded)
        return decoded

    def shape(self, text: str) -> tuple:
        """(trace_id, method, listener, client_addr, http_version, req_truncated, status, resp_truncated, error,
        req_headers)."""
        found = self.shapes.get(text)
        if found is not None:
            return found
        trace_id, method, listener, client_addr, http_version, req_truncated, status, resp_truncated, error, headers = (
            _json_loads(text))
        # one string object for each distinct method, listener, HTTP version (SQLite makes one per row)
        found = (
            trace_id, _intern(method), _intern(listener), client_addr or "",
            _intern(http_version) if http_version else "", bool(req_truncated), status, bool(resp_truncated),
            error, tuple(self._shared(headers or ())),
        )
        if len(text) <= self._SHORT_SHAPE and len(self.shapes) < self._MAX_TEXTS:
            self.shapes[text] = found
        return found

    def _shared(self, decoded) -> list:
        """JSON's [name, value] lists as pairs, each the one object of pairs equal to it met before."""
        shared = self.shared
        pairs = []
        for name, value in decoded:
            pair = (name, value)
            pairs.append(shared.setdefault(pair, pair) if len(shared) < self._MAX_PAIRS else pair)
        return pairs


_intern = sys.intern
_scan_json = make_scanner(json.JSONDecoder())


def _json_loads(text: str):
    """json.loads(text), without its Python layers for the usual text (a JSON value and nothing around it): on
    the short texts of the pairs columns they cost as much as the parse. Anything else goes to json.loads, which
    accepts it (surrounding whitespace) or raises its own error."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


# Hop's leading fields in declaration order: a positional call is several times cheaper than 22 keywords,
# which counts at 100k hops. Checked against the dataclass so that a field added in between cannot shift values.
_HOP_POSITIONAL = (
    "trace_id seq method url id started ended listener client_addr upstream_url http_version query req_headers "
    "req_body req_truncated form status resp_headers resp_body resp_truncated location error"
).split()
_POSITIONAL_OK = [f.name for f in fields(Hop)][:len(_HOP_POSITIONAL)] == _HOP_POSITIONAL


def _hops_from_rows(rows: Iterable[tuple]) -> list[Hop]:
    """The Hops of rows selected by _SELECT_HOP, in their order."""
    reader = _RowReader()  # one per read: rows of a trace repeat the same shapes and header lists again and again
    # reader.shape and reader.pairs inlined for what was seen before (most of a trace): a lookup and a copy per
    # column, where at 100k hops the calls alone would cost a tenth of a second
    shape_seen, decode_shape = reader.shapes.get, reader.shape
    seen, decode = reader.texts.get, reader.pairs
    make = Hop if _POSITIONAL_OK else _hop_by_name
    hops = []
    for (hop_id, seq, started, ended, url, upstream_url, shape, query, req_body, form, resp_headers, resp_body,
         location) in rows:
        (trace_id, method, listener, client_addr, http_version, req_truncated, status, resp_truncated, error,
         req_headers) = shape_seen(shape) or decode_shape(shape)
        found = seen(query)
        query = list(found) if found is not None else decode(query)
        found = seen(form)
        form = list(found) if found is not None else decode(form)
        found = seen(resp_headers)
        resp_headers = list(found) if found is not None else decode(resp_headers)
        hops.append(make(
            trace_id, seq, method, url, hop_id, started, ended, listener, client_addr, upstream_url, http_version,
            query, list(req_headers), req_body, req_truncated, form, status, resp_headers, resp_body, resp_truncated,
            location, error,
        ))
    return hops


def _hop_by_name(*values) -> Hop:
    return Hop(**dict(zip(_HOP_POSITIONAL, values)))
