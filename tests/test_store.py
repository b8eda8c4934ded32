"""The database: file mode, schema version, round trips, full-text search, all-or-nothing writes."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from hops import flow

from oauthtrace.analysis.engine import check_trace
from oauthtrace.errors import UserError
from oauthtrace.model import Finding, Hop
from oauthtrace.store import SCHEMA_VERSION, Store


def _hop(trace_id, seq, **kw):
    return Hop(trace_id=trace_id, seq=seq, method=kw.pop("method", "GET"), url=kw.pop("url", f"http://as.test/{seq}"), **kw)


def test_new_database_is_private_and_versioned(db_path):
    Store.open(db_path).close()
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_hop_round_trip_keeps_order_duplicates_and_bytes(db_path):
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        hop = _hop(trace, 1, query=[("a", "1"), ("a", "2")], req_headers=[("X", "1"), ("x", "2")],
                   req_body=b"\xff\xfe binary", resp_body="héllo".encode(), status=302, location="http://c/cb?code=1",
                   form=[("k", "")], resp_truncated=True, error=None, started=1.5, ended=2.5,
                   listener="reverse:https://as.example@8081", upstream_url="https://as.example/1")
        store.insert_hops([hop])
        [back] = store.hops(trace)
    assert back == hop


def test_full_text_search_finds_urls_locations_and_bodies(db_path):
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        store.insert_hops([
            _hop(trace, 1, url="http://as.test/authorize?state=needle1"),
            _hop(trace, 2, location="http://client.test/cb?code=needle2"),
            _hop(trace, 3, resp_body=b'{"error": "needle3"}'),
            _hop(trace, 4, resp_body=b"\xff\xfe"),
        ])
        assert store.search_hops(trace, "needle1") == [1]
        assert store.search_hops(trace, "needle2") == [2]
        assert store.search_hops(trace, "needle3") == [3]
        assert store.search_hops(trace, 'quote " inside') == []


def test_a_failed_batch_writes_nothing(db_path):
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        with pytest.raises(sqlite3.IntegrityError):
            store.insert_hops([_hop(trace, 1), _hop(trace, 1)])  # same seq twice
        assert store.hops(trace) == []


def test_the_recorders_batches_fit_an_sqlite_older_than_3_32_with_its_999_variables(db_path):
    with Store.open(db_path) as store:
        store.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        trace = store.create_trace("t")
        assert store.insert_hops([_hop(trace, n) for n in range(1, 251)], set_ids=False) == 250
        assert [hop.seq for hop in store.hops(trace)] == list(range(1, 251))


def test_resolve_trace_by_id_name_or_latest(db_path):
    with Store.open(db_path) as store:
        first, second = store.create_trace("first"), store.create_trace("second")
        assert store.resolve_trace(None).id == second
        assert store.resolve_trace("first").id == first
        assert store.resolve_trace(str(first)).id == first
        with pytest.raises(UserError, match="no trace 'nope'"):
            store.resolve_trace("nope")


def test_findings_are_replaced_per_trace(db_path):
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        store.insert_hops([_hop(trace, 1)])
        finding = Finding("state-dropped", "error", "provider", trace, 1, 1, "m", "RFC 6749 §4.1.2", "fix", {"a": 1})
        store.replace_findings(trace, [finding, finding])
        store.replace_findings(trace, [finding])
        assert store.findings(trace) == [finding]
        assert store.severity_counts() == {trace: {"error": 1}}


def test_hops_read_back_as_written_whatever_repeats_between_them(db_path):
    # hops differing from a common one in a single field each: the reader shares what repeats between hops
    # (a request's method, listener, client, HTTP version, status, error, truncation, headers) and must not mix up
    # what differs
    variants = [
        {}, {"method": "POST"}, {"listener": "reverse:https://as.example@8081"}, {"client_addr": "127.0.0.1:5"},
        {"http_version": ""}, {"http_version": "HTTP/2.0"}, {"status": None}, {"status": 404}, {"error": "reset"},
        {"req_truncated": True}, {"resp_truncated": True}, {"req_headers": []},
        {"req_headers": [("A", "1"), ("a", "2"), ("X", "\x1f\u2028 é \"q\" [1]")]}, {"resp_headers": [("B", "")]},
        {"query": [("state", "s")]}, {"form": [("code", "c"), ("code", "d")]}, {"started": 1.000000000001},
    ]
    common = dict(req_headers=[("Accept", "*/*")], resp_headers=[("Content-Type", "text/html")], status=200)
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        other = store.create_trace("other")
        written = [_hop(trace, n, **{**common, **variant}) for n, variant in enumerate(variants, 1)]
        store.insert_hops(written + [_hop(other, 1, **common)])
        assert store.hops(trace) == written
        assert store.hops(other)[0].trace_id == other
        assert store.hop(written[3].id) == written[3]
        assert store.hop_by_seq(trace, 5) == written[4]
        assert store.hop(10_000) is None and store.hop_by_seq(trace, 10_000) is None
        assert store.hops(trace, after_seq=15) == written[15:]


def test_a_hop_is_built_by_field_name_as_by_position():
    # the fallback for a Hop whose fields no longer start in the order the reader passes them
    from oauthtrace.store.hop_rows import _HOP_POSITIONAL, _hop_by_name

    hop = _hop(1, 2, status=302, location="/cb", query=[("a", "b")], started=3.5, error="e")
    assert _hop_by_name(*(getattr(hop, name) for name in _HOP_POSITIONAL)) == hop


def test_evidence_is_stored_as_json_dumps_writes_it(db_path):
    import datetime
    import json

    evidence = [
        {"a": 1, "b": [1.5, None, True], "c": {"d": "é ‹redacted:1›"}}, {}, {"when": datetime.date(2020, 1, 2)},
        {"nan": float("nan"), "big": 10**30, "quote": '"\n\x1f'},
    ]
    circular: dict = {}
    circular["self"] = circular
    with Store.open(db_path) as store:
        trace = store.create_trace("t")
        store.insert_hops([_hop(trace, 1)])
        store.replace_findings(trace, [
            Finding("r", "info", "client", trace, 1, 1, "m", "s", "f", value) for value in evidence])
        stored = [row[0] for row in store.conn.execute("SELECT evidence FROM findings ORDER BY id")]
        assert stored == [json.dumps(value, ensure_ascii=False, default=str) for value in evidence]
        with pytest.raises(ValueError, match="Circular reference"):
            store.replace_findings(trace, [Finding("r", "info", "client", trace, 1, 1, "m", "s", "f", circular)])
        assert len(store.findings(trace)) == len(evidence)  # nothing half-written
        store.replace_findings(trace, [Finding("r", "info", "client", trace, 1, 1, "m", "s", "f", {"x": [1]})])
        assert [f.evidence for f in store.findings(trace)] == [{"x": [1]}]


def test_newer_schema_is_refused(db_path):
    Store.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(UserError, match="schema version 999"):
        Store.open(db_path)


def test_not_a_database_is_a_user_error(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="cannot use database"):
        Store.open(str(junk))


def test_listeners_are_kept_with_the_trace_and_an_older_database_gains_the_column(db_path):
    with Store.open(db_path) as store:
        recorded = store.create_trace("r", listeners=["browser", "reverse:https://auth.example.com@8081"])
        imported = store.create_trace("i", source="import:har")
        assert store.trace_listeners(recorded) == ["browser", "reverse:https://auth.example.com@8081"]
        assert store.trace_listeners(imported) == []
    with sqlite3.connect(db_path) as conn:  # as schema version 2 made it
        conn.execute("ALTER TABLE traces DROP COLUMN listeners")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    with Store.open(db_path) as store:
        assert store.trace_listeners(recorded) == [] and store.create_trace("new", listeners=["browser"])
        assert [t.name for t in store.traces()] == ["r", "i", "new"]


def test_an_older_database_gains_finding_counts_and_keeps_each_findings_hop(db_path):
    with Store.open(db_path) as store:
        trace_id = store.import_trace("dropped", "test", list(flow(returned_state=None)))
        check_trace(store, trace_id)
        before = store.findings(trace_id)
    with sqlite3.connect(db_path) as conn:  # as schema version 3 made it: no count, no hops
        conn.execute("ALTER TABLE findings DROP COLUMN count")
        conn.execute("ALTER TABLE findings DROP COLUMN hops")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with Store.open(db_path) as store:
        after = store.findings(trace_id)
        version = store.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert version == str(SCHEMA_VERSION) == "4"
    assert [(f.rule, f.hop, f.count, f.hops) for f in after] == [
        (f.rule, f.hop, 1, [f.hop] if f.hop is not None else []) for f in before]
    assert any(f.rule == "state-dropped" and f.hops == [3] for f in after)
