"""The tables (docs/schema.md describes them for readers of the file) and the migrations from older versions.

Bodies are stored as TEXT when they are valid UTF-8 (so full-text search and Datasette show them) and as
BLOB otherwise (so binary bodies come back byte for byte).
"""

from __future__ import annotations

import sqlite3

from oauthtrace.errors import UserError
from oauthtrace.store import fts
from oauthtrace.store.connection import transaction

# 2: hops_fts names its content table as content="hops", the spelling Datasette looks for to offer search.
# 3: traces.listeners, what the recording listened on, so a listener that saw nothing can be named.
# 4: findings.count and findings.hops: one finding per cause, with every hop it was seen at.
SCHEMA_VERSION = 4

_TABLES = """
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
"""


def statements() -> list[str]:
    """Every statement that makes the schema, the full-text index last."""
    return _split(_TABLES) + list(fts.INDEX_STATEMENTS)


def _split(script: str) -> list[str]:
    """Split a script into statements; triggers contain `;` inside BEGIN … END."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        joined = "\n".join(buf)
        if sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    return out


def migrate(conn: sqlite3.Connection, path: str) -> None:
    """Bring the database at `path` to SCHEMA_VERSION (creating it when empty); refuse a newer one."""
    found = _schema_version(conn)
    if found > SCHEMA_VERSION:
        raise UserError(f"database {path} has schema version {found}; this oauthtrace knows up to {SCHEMA_VERSION}")
    if found == SCHEMA_VERSION:
        return
    with transaction(conn):
        if found == 1:
            # Same index, declared the way Datasette detects it: dropped, made again, filled from hops.
            conn.execute("DROP TABLE IF EXISTS hops_fts")
        for statement in statements():
            conn.execute(statement)
        if found == 1:
            conn.execute(fts.FILL)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(traces)")}
        if "listeners" not in columns:  # CREATE TABLE IF NOT EXISTS left an older traces table as it was
            conn.execute("ALTER TABLE traces ADD COLUMN listeners TEXT NOT NULL DEFAULT '[]'")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(findings)")}
        if "count" not in columns:  # each stored finding was one hop's: its count 1, its hops that hop
            conn.execute("ALTER TABLE findings ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
            conn.execute("ALTER TABLE findings ADD COLUMN hops TEXT NOT NULL DEFAULT '[]'")
            conn.execute("UPDATE findings SET hops = json_array(hop_seq) WHERE hop_seq IS NOT NULL")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def _schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0
