"""Store.import_trace: trace and hops in one transaction, the full-text index filled as the per-row trigger would."""

from __future__ import annotations

import pytest

from oauthtrace.model import Hop
from oauthtrace.store import Store


def hops(count: int, word: str) -> list[Hop]:
    return [
        Hop(trace_id=0, seq=i, method="GET", url=f"https://as.example/{word}/{i}", location=f"/next-{word}",
            status=302, req_body=b"\xff\xfebinary" if i % 2 else f"text {word}".encode(),
            resp_body=f"page about {word}".encode())
        for i in range(1, count + 1)
    ]


def fts_rows(store: Store, trace_id: int) -> list[tuple]:
    return store.conn.execute(
        "SELECT h.seq, f.url, f.location, f.req_body, f.resp_body FROM hops_fts f JOIN hops h ON h.id = f.rowid"
        " WHERE h.trace_id = ? ORDER BY h.seq", (trace_id,)).fetchall()


def test_imported_hops_are_indexed_like_recorded_ones(tmp_path):
    with Store.open(tmp_path / "t.db") as store:
        recorded = store.create_trace("recorded")
        batch = hops(5, "zebra")
        for hop in batch:
            hop.trace_id = recorded
        store.insert_hops(batch)
        imported = store.import_trace("imported", "import:har", hops(5, "zebra"))
        assert fts_rows(store, imported) == fts_rows(store, recorded)
        assert store.search_hops(imported, "zebra") == [1, 2, 3, 4, 5]
        # The trigger is back: hops recorded after an import are still found.
        later = hops(1, "okapi")
        later[0].trace_id = recorded
        later[0].seq = 6
        store.insert_hops(later)
        assert store.search_hops(recorded, "okapi") == [6]


def test_a_failed_import_leaves_no_trace_and_the_trigger_in_place(tmp_path):
    with Store.open(tmp_path / "t.db") as store:
        duplicated = hops(3, "lynx")
        duplicated[2].seq = 1  # violates UNIQUE (trace_id, seq) in the middle of the import
        with pytest.raises(Exception):
            store.import_trace("broken", "import:har", duplicated)
        assert store.traces() == []
        assert store.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'hops_ai'").fetchone()[0] == 1
        trace_id = store.import_trace("fine", "import:har", hops(2, "lynx"))
        assert store.search_hops(trace_id, "lynx") == [1, 2]
        assert store.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'hops_ai'").fetchone()[0] == 1
