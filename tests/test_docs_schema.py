"""The database as docs/schema.md describes it, and as Datasette sees it: full-text search it detects, a label
column on every table a foreign key points to. Checked with plain sqlite3, the way Datasette inspects a file."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from hops import flow

from oauthtrace.analysis.engine import check_trace
from oauthtrace.store import Store

ROOT = Path(__file__).resolve().parent.parent

# Datasette's criterion for "this table has full-text search": a virtual FTS table declaring it as its content
# (written content="hops" or content=[hops]), or an FTS table of that very name.
DATASETTE_FTS = """
    SELECT name FROM sqlite_master
    WHERE rootpage = 0 AND (
        sql LIKE '%VIRTUAL TABLE%USING FTS%content="' || :table || '"%'
        OR sql LIKE '%VIRTUAL TABLE%USING FTS%content=[' || :table || ']%'
        OR (tbl_name = :table AND sql LIKE '%VIRTUAL TABLE%USING FTS%'))
"""


def recorded_db(path: str) -> int:
    with Store.open(path) as store:
        trace_id = store.import_trace("seed case", "test", list(flow(returned_state=None)))
        check_trace(store, store.resolve_trace(trace_id))
    return trace_id


def test_datasette_finds_full_text_search_on_hops(db_path):
    recorded_db(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute(DATASETTE_FTS, {"table": "hops"}).fetchall() == [("hops_fts",)]
        # what Datasette runs for ?_search=: the content table's rows whose rowid the FTS table matches
        found = conn.execute("SELECT seq FROM hops WHERE rowid IN (SELECT rowid FROM hops_fts WHERE hops_fts "
                             "MATCH ?) ORDER BY seq", ('"oauth/callback"',)).fetchall()
    assert found and all(isinstance(seq, int) for (seq,) in found)


def test_every_referenced_table_has_a_name_label(db_path):
    recorded_db(db_path)
    with sqlite3.connect(db_path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        referenced = {fk[2] for table in tables for fk in conn.execute(f"PRAGMA foreign_key_list({table})")}
        assert referenced == {"traces", "hops"}
        for table in referenced:
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
            assert "name" in columns
            unique_single = [row for row in conn.execute(f"PRAGMA index_list({table})") if row[2]
                             and len(list(conn.execute(f"PRAGMA index_info({row[1]})"))) == 1]
            assert not unique_single  # no unique text column Datasette would prefer over `name`
        labels = conn.execute("SELECT h.name FROM findings f JOIN hops h ON h.id = f.hop_id "
                              "WHERE f.rule = 'state-dropped'").fetchall()
    assert labels == [("#3 POST auth.example.com/login",)]


def test_a_database_made_before_the_change_is_upgraded_and_searchable(db_path):
    recorded_db(db_path)
    with sqlite3.connect(db_path) as conn:  # put it back the way schema version 1 declared the index
        conn.execute("DROP TABLE hops_fts")
        conn.execute("CREATE VIRTUAL TABLE hops_fts USING fts5 (url, location, req_body, resp_body, "
                     "content='hops', content_rowid='id')")
        conn.execute("INSERT INTO hops_fts (hops_fts) VALUES ('rebuild')")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        assert conn.execute(DATASETTE_FTS, {"table": "hops"}).fetchall() == []
    with Store.open(db_path) as store:
        trace = store.resolve_trace(None)
        assert store.search_hops(trace.id, "oauth/callback")
        store.insert_hops([flow(seq=20, state="later-state-value")[0]])
        assert store.search_hops(trace.id, "later-state-value") == [20]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute(DATASETTE_FTS, {"table": "hops"}).fetchall() == [("hops_fts",)]


def test_schema_doc_names_every_table_and_column(db_path):
    recorded_db(db_path)
    doc = (ROOT / "docs" / "schema.md").read_text()
    with sqlite3.connect(db_path) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'hops_fts_%'")]
        for table in tables:
            assert re.search(rf"^### `{table}`", doc, flags=re.M), f"table {table} undocumented"
            if table == "hops_fts":
                continue
            section = doc.split(f"### `{table}`", 1)[1].split("\n### ", 1)[0]
            for (column,) in conn.execute(f"SELECT name FROM pragma_table_info('{table}')"):
                assert f"`{column}`" in section, f"{table}.{column} undocumented"
