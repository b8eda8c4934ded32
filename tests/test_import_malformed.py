"""Malformed input: one line naming the file, the entry and the problem; exit 2; the database unchanged to the byte."""

from __future__ import annotations

import json
import os
import random
import zlib

import pytest

from tests.interchange_support import file_hash, hops_of, run_cli, sample, traces

CHROME = sample("har_files/chrome.har").read_bytes()
_RANDOM = random.Random(6)
GARBAGE = bytes(_RANDOM.randrange(256) for _ in range(4096))


def har(*entries) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": list(entries)}}).encode()


def entry(url="https://as.example/authorize?state=abc", **changes) -> dict:
    good = {
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "time": 12.5,
        "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "headers": [], "queryString": []},
        "response": {"status": 302, "statusText": "Found", "headers": [{"name": "Location", "value": "/x"}],
                     "content": {"size": 0, "mimeType": ""}, "redirectURL": ""},
    }
    for path, value in changes.items():
        target = good
        *parents, last = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return good


_DELETE = object()

# name -> (file bytes, what the one-line error must say)
CORPUS = {
    "brokenfile.har": (sample("corrupted_har/brokenfile.har").read_bytes(), "not valid JSON"),
    "broken_headers.json": (sample("corrupted_har/broken_headers.json").read_bytes(), 'no "log" object'),
    "truncated.har": (CHROME[: len(CHROME) // 2], "not valid JSON"),
    "truncated.mitm": (sample("flows/successful_log.mitm").read_bytes()[:9000], "flow 2: cannot be read"),
    "truncated.zhar": (sample("flows/compressed.zhar").read_bytes()[:900], "compressed data is truncated"),
    "garbage.bin": (GARBAGE, "not a HAR file, an oauthtrace JSON export or a mitmproxy flow file"),
    "garbage-after-brace.har": (b'{"log": ' + GARBAGE, "not UTF-8 text"),
    "empty.har": (b"", "not a HAR file"),
    "text.har": (b"hello, this is not a capture\n", "not a HAR file"),
    "list.har": (b"[1, 2, 3]", "top level is a list"),
    "entries-not-objects.har": (b'{"log": {"entries": [1, 2, 3]}}', "entry 1: is a whole number, expected an object"),
    "entries-not-list.har": (b'{"log": {"entries": {"a": 1}}}', "log.entries is an object, expected a list"),
    "no-entries.har": (b'{"log": {"version": "1.2"}}', "log.entries missing"),
    "url-missing.har": (har(entry(), entry(), entry(request__url=_DELETE)), "entry 3: request.url missing"),
    "url-number.har": (har(entry(request__url=5)), "entry 1: request.url is a whole number, expected a string"),
    "method-null.har": (har(entry(request__method=None)), "entry 1: request.method is null"),
    "request-missing.har": (har(entry(), entry(request=_DELETE)), "entry 2: request missing"),
    "headers-dict.har": (har(entry(request__headers={"a": "b"})), "entry 1: request.headers is an object"),
    "header-not-object.har": (har(entry(response__headers=["Location: /x"])),
                              "entry 1: response.headers[1] is a string, expected an object"),
    "header-name-missing.har": (har(entry(response__headers=[{"value": "x"}])),
                                "entry 1: response.headers[1].name missing"),
    "status-string.har": (har(entry(response__status="200")), "entry 1: response.status is a string"),
    "status-huge.har": (har(entry(response__status=10**30)), "entry 1: response.status is too large"),
    "status-out-of-range.har": (har(entry(response__status=70000)), "entry 1: response.status 70000 is not"),
    "status-infinite.har": (har(entry()).replace(b'"status": 302', b'"status": 1e999'),
                            "response.status is a number, expected a whole number"),
    "time-infinite.har": (har(entry()).replace(b'"time": 12.5', b'"time": 1e999'),
                          "entry 1: time is not a finite number"),
    "thousands-of-digits.har": (har(entry()).replace(b'"time": 12.5', b'"time": ' + b"9" * 5000),
                                "not valid JSON"),
    "date-bad.har": (har(entry(startedDateTime="yesterday")), "entry 1: startedDateTime 'yesterday' is not"),
    # a missing startedDateTime is no longer malformed (issue 14: hand-made HARs); a wrong type still is
    "date-number.har": (har(entry(startedDateTime=5)), "entry 1: startedDateTime is a whole number, expected a string"),
    "base64-bad.har": (har(entry(response__content={"text": "%%%not base64", "encoding": "base64"})),
                       "entry 1: response.content.text is not valid base64"),
    "deeply-nested.har": (b'{"log": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested too deeply"),
    "oauthtrace-bad-version.json": (b'{"oauthtrace": 99, "hops": []}', "version '99'"),
    "oauthtrace-hop-url.json": (b'{"oauthtrace": 1, "hops": [{"method": "GET", "url": "https://a/"}, '
                                b'{"method": "GET"}]}', "hop 2: url missing"),
    "oauthtrace-body.json": (b'{"oauthtrace": 1, "hops": [{"method": "GET", "url": "https://a/", '
                             b'"resp_body": "plain"}]}', "hop 1: resp_body is a string"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_file_is_one_line_exit_2_and_db_unchanged(capsys, tmp_path, populated_db, name):
    content, expected = CORPUS[name]
    bad = tmp_path / name
    bad.write_bytes(content)
    before = file_hash(populated_db)
    code, out, err = run_cli(capsys, "import", bad, "--db", populated_db)
    assert code == 2
    assert err.startswith(f"Error: {name}: ")
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert len(err) < 400
    assert file_hash(populated_db) == before
    assert not os.path.exists(populated_db + "-wal") or os.path.getsize(populated_db + "-wal") == 0


def test_bad_first_file_creates_no_database(capsys, tmp_path):
    db_path = tmp_path / "new.db"
    code, _, err = run_cli(capsys, "import", sample("corrupted_har/brokenfile.har"), "--db", db_path)
    assert code == 2
    assert not db_path.exists()


def test_missing_file_and_directory(capsys, tmp_path, populated_db):
    code, _, err = run_cli(capsys, "import", tmp_path / "nope.har", "--db", populated_db)
    assert (code, err) == (2, "Error: nope.har: cannot read (No such file or directory)\n")
    code, _, err = run_cli(capsys, "import", tmp_path, "--db", populated_db)
    assert code == 2 and "is a directory" in err


def test_several_files_stop_at_the_first_bad_one_and_keep_the_earlier(capsys, tmp_path, db_path):
    code, out, err = run_cli(
        capsys, "import", sample("har_files/chrome.har"), sample("corrupted_har/brokenfile.har"),
        sample("har_files/firefox.har"), "--db", db_path,
    )
    assert code == 2
    assert "Imported" in out and "chrome.har" in out
    assert err.startswith("Error: brokenfile.har: not valid JSON")
    assert "already imported: chrome.har as trace 1" in err
    assert [t.name for t in traces(db_path)] == ["chrome.har"]
    assert len(hops_of(db_path)) == 3


def test_a_failure_while_storing_rolls_back_the_trace_too(capsys, db_path, monkeypatch):
    """The trace row and its hops are one transaction: if inserting hops fails, no empty trace is left behind."""
    from oauthtrace.store import Store

    run_cli(capsys, "import", sample("har_files/insomnia.har"), "--db", db_path)
    before = file_hash(db_path)

    def failing_progress(self, count):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("oauthtrace.interchange.importer.NoProgress.advance", failing_progress)
    from oauthtrace.interchange.importer import import_files

    with pytest.raises(RuntimeError):
        import_files([str(sample("har_files/chrome.har"))], open_store=lambda: Store.open(db_path))
    assert [t.name for t in traces(db_path)] == ["insomnia.har"]
    assert file_hash(db_path) == before


def test_zip_bomb_is_refused(capsys, tmp_path, populated_db, monkeypatch):
    monkeypatch.setattr("oauthtrace.interchange.importer.MAX_EXPANDED", 1 << 20)
    bomb = tmp_path / "bomb.zhar"
    bomb.write_bytes(zlib.compress(b'{"log": {"entries": [' + b" " * (4 << 20) + b"]}}"))
    before = file_hash(populated_db)
    code, _, err = run_cli(capsys, "import", bomb, "--db", populated_db)
    assert code == 2 and "expands to more than 1 MiB" in err
    assert file_hash(populated_db) == before


WEIRD_VALUES = [None, True, 0, -1, 1e308, 2**70, "", "x" * 10, [], {}, [1], {"a": 1}, "\ud800", "1e999",
                "2023-13-45T99:99:99Z"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _import_or_refuse(path):
    """Either the file is stored, or it is refused with a one-line UserError; nothing else may escape."""
    from oauthtrace.errors import UserError
    from oauthtrace.interchange.importer import read_file
    from oauthtrace.store import Store

    try:
        parsed = read_file(str(path))
    except UserError as exc:
        assert "\n" not in str(exc)
        return False
    with Store.open(":memory:") as store:
        store.import_trace("fuzz", parsed.kind, parsed.hops)
    return True


def test_hars_with_values_of_every_wrong_type_never_crash(tmp_path):
    rng = random.Random(3)
    base = json.loads(CHROME)
    places = list(_paths(base))
    outcomes = set()
    for number in range(300):
        document = json.loads(CHROME)
        for _ in range(rng.randint(1, 3)):
            place = rng.choice(places)
            target = document
            try:
                for key in place[:-1]:
                    target = target[key]
                if place:
                    target[place[-1]] = rng.choice(WEIRD_VALUES)
            except (KeyError, IndexError, TypeError):
                pass
        path = tmp_path / f"mutant-{number}.har"
        path.write_text(json.dumps(document))
        outcomes.add(_import_or_refuse(path))
    assert outcomes == {True, False}


def test_flow_files_and_hars_with_flipped_bytes_never_crash(tmp_path):
    rng = random.Random(4)
    originals = [sample(name).read_bytes() for name in
                 ("flows/successful_log.mitm", "dumpfile-7-websocket.mitm", "flows/compressed.zhar",
                  "har_files/insomnia.har")]
    for number in range(300):
        data = bytearray(rng.choice(originals))
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"flipped-{number}"
        path.write_bytes(bytes(data))
        _import_or_refuse(path)


def test_a_database_failure_while_storing_is_a_one_line_error(capsys, populated_db, monkeypatch):
    import sqlite3

    def full_disk(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("oauthtrace.store.Store.import_trace", full_disk)
    code, _, err = run_cli(capsys, "import", sample("har_files/insomnia.har"), "--db", populated_db)
    assert code == 2
    assert err == f"Error: insomnia.har: cannot store in {populated_db}: database or disk is full\n"
