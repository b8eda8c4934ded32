"""The full-text index of hops (SQLite FTS5 over URL, Location and the text bodies) and the searches on it.

Bodies stored as BLOB (not UTF-8) are not indexed: the triggers index a body only when SQLite holds it as text.
"""

from __future__ import annotations

import sqlite3

from oauthtrace.store.connection import StoreConnection

# content="hops" is the spelling Datasette looks for to offer search on the hops table.
INDEX_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS hops_fts USING fts5 (
    url, location, req_body, resp_body, content="hops", content_rowid='id'
);
""".strip()

INSERT_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS hops_ai AFTER INSERT ON hops BEGIN
    INSERT INTO hops_fts (rowid, url, location, req_body, resp_body)
    VALUES (new.id, new.url, new.location,
            CASE WHEN typeof(new.req_body) = 'text' THEN new.req_body END,
            CASE WHEN typeof(new.resp_body) = 'text' THEN new.resp_body END);
END;
""".strip()

DELETE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS hops_ad AFTER DELETE ON hops BEGIN
    INSERT INTO hops_fts (hops_fts, rowid, url, location, req_body, resp_body)
    VALUES ('delete', old.id, old.url, old.location,
            CASE WHEN typeof(old.req_body) = 'text' THEN old.req_body END,
            CASE WHEN typeof(old.resp_body) = 'text' THEN old.resp_body END);
END;
""".strip()

INDEX_STATEMENTS = (INDEX_TABLE, INSERT_TRIGGER, DELETE_TRIGGER)

# Every hop into the index, text bodies only (what the insert trigger indexes).
FILL = (
    "INSERT INTO hops_fts (rowid, url, location, req_body, resp_body)"
    " SELECT id, url, location,"
    " CASE WHEN typeof(req_body) = 'text' THEN req_body END,"
    " CASE WHEN typeof(resp_body) = 'text' THEN resp_body END"
    " FROM hops"
)
FILL_TRACE = f"{FILL} WHERE trace_id = ?"


class HopSearch(StoreConnection):
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
