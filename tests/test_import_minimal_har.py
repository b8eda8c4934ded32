"""Hand-made and minimal HARs: entries with only a request and a response — no startedDateTime, time, timings,
httpVersion or creator, all of which HAR 1.2 requires and some exporters and most hand-written files leave out.

Such a file imports (ordered as it lists its entries, with one note per file) and lints like a recording; a file
that is not HAR at all is still refused with exit 2 and nothing stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oauthtrace.interchange.har_import import read_har
from tests.interchange_support import file_hash, hops_of, run_cli, traces

MINIMAL = Path(__file__).parent / "fixtures" / "minimal-har"
NOTE = "note: no entry has a startedDateTime: the hops keep the order the file lists them in (times unknown)"
HAR_1_2_REQUIRED = ("startedDateTime", "time", "timings", "httpVersion", "creator")


def _keys(node) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keys(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keys(value)}
    return set()


@pytest.mark.parametrize("name", ["login-state-dropped.har", "login-expires-in-string.har"])
def test_the_fixtures_are_minimal(name):
    assert not _keys(json.loads((MINIMAL / name).read_text())) & set(HAR_1_2_REQUIRED)


def check_findings(capsys, db) -> list[tuple[str, str, int]]:
    code, out, err = run_cli(capsys, "check", "--db", db, "--format", "json")
    assert code in (0, 1), err
    return [(f["rule"], f["severity"], f["hop"]) for f in json.loads(out)["findings"] if f["severity"] != "info"]


def test_a_minimal_har_of_a_login_whose_callback_lacks_state_imports_and_names_state_dropped(capsys, tmp_path):
    db = tmp_path / "o.db"
    code, out, err = run_cli(capsys, "import", MINIMAL / "login-state-dropped.har", "--db", db)
    assert (code, err) == (0, "")
    assert out.splitlines()[1:] == [f"  {NOTE}"]
    hops = hops_of(db)
    assert [(hop.seq, hop.method, hop.url.split("?")[0]) for hop in hops] == [
        (1, "GET", "https://auth.example.com/authorize"),
        (2, "POST", "https://auth.example.com/login"),
        (3, "GET", "https://chat.openai.com/aip/p-1/oauth/callback"),
    ]
    assert hops[0].http_version == "HTTP/1.1" and hops[1].form[1:] == [("username", "demo"), ("password", "hunter2")]
    # the provider's redirect (hop 2) is where `state` went missing
    assert check_findings(capsys, db) == [("state-dropped", "error", 2)]


def test_a_minimal_har_with_the_token_request_lints_the_back_channel_too(capsys, tmp_path):
    db = tmp_path / "o.db"
    code, out, _ = run_cli(capsys, "import", MINIMAL / "login-expires-in-string.har", "--db", db)
    assert code == 0 and out.count("note:") == 1
    assert check_findings(capsys, db) == [("expires-in-not-number", "error", 3)]


def test_the_note_is_said_once_per_file_not_per_entry(capsys, tmp_path):
    login = json.loads((MINIMAL / "login-state-dropped.har").read_text())
    many = tmp_path / "many.har"
    many.write_text(json.dumps({"log": {"entries": login["log"]["entries"] * 40}}))
    code, out, _ = run_cli(capsys, "import", many, MINIMAL / "login-state-dropped.har", "--db", tmp_path / "o.db")
    assert code == 0
    assert out.count("note:") == 2 and out.count(NOTE) == 2  # one per file: 120 entries, one note
    assert [t.name for t in traces(tmp_path / "o.db")] == ["many.har", "login-state-dropped.har"]


def test_where_some_entries_are_dated_the_file_order_wins_and_undated_ones_take_their_neighbour_s_time():
    def entry(path: str, started: str | None = None, time: float | None = None) -> dict:
        item = {"request": {"method": "GET", "url": f"https://as.example{path}"}, "response": {"status": 200}}
        if started:
            item["startedDateTime"] = started
        if time is not None:
            item["time"] = time
        return item

    read = read_har({"log": {"entries": [
        entry("/undated-first", time=250),
        entry("/a", "2024-01-01T10:00:05Z"),
        entry("/undated"),
        entry("/b", "2024-01-01T10:00:01Z"),  # dated earlier than /a, listed later: the list decides
    ]}})
    assert [hop.url.removeprefix("https://as.example") for hop in read.hops] == ["/undated-first", "/a", "/undated",
                                                                                 "/b"]
    a, b = read.hops[1].started, read.hops[3].started
    assert a - b == 4.0
    assert read.hops[0].started == a and read.hops[0].ended == a + 0.25  # before any dated entry: the first one's
    assert read.hops[2].started == a and read.hops[2].ended is None  # no `time`: the end is unknown
    assert read.notes == ["2 of 4 entries have no startedDateTime: the hops keep the order the file lists them in "
                          "(those entries' times unknown)"]


def test_a_fully_dated_har_is_ordered_by_time_without_a_note():
    read = read_har({"log": {"entries": [
        {"startedDateTime": "2024-01-01T10:00:05Z", "request": {"method": "GET", "url": "https://as.example/later"}},
        {"startedDateTime": "2024-01-01T10:00:01Z", "request": {"method": "GET", "url": "https://as.example/first"}},
    ]}})
    assert [hop.url for hop in read.hops] == ["https://as.example/first", "https://as.example/later"]
    assert read.notes == []


@pytest.mark.parametrize("content, expected", [
    (b'{"entries": []}', 'not a HAR file: no "log" object'),
    (b'{"log": {"version": "1.2"}}', "log.entries missing"),
    (b'{"log": {"entries": [{"startedDateTime": 5, "request": {"method": "GET", "url": "https://a/"}}]}}',
     "entry 1: startedDateTime is a whole number, expected a string"),
])
def test_a_file_that_is_not_har_is_still_refused_and_nothing_is_stored(capsys, tmp_path, content, expected):
    db = tmp_path / "o.db"
    run_cli(capsys, "import", MINIMAL / "login-state-dropped.har", "--db", db)
    before = file_hash(db)
    bad = tmp_path / "bad.har"
    bad.write_bytes(content)
    code, out, err = run_cli(capsys, "import", bad, "--db", db)
    assert code == 2 and out == ""
    assert err == f"Error: bad.har: {expected}\n"
    assert file_hash(db) == before
