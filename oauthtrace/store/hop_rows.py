"""A Hop as a row of the hops table and back: what is written for each field, and how a trace's rows are read
fast (100k hops at a time) into Hops."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
from dataclasses import fields
from json.scanner import make_scanner
from typing import Iterable

from oauthtrace.model import Hop

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
SELECT_HOP = (
    "SELECT id, seq, started, ended, url, upstream_url,"
    " json_array(trace_id, method, listener, client_addr, http_version, req_truncated, status, resp_truncated,"
    " error, json(req_headers)),"
    " query, CAST(req_body AS BLOB), form, resp_headers, CAST(resp_body AS BLOB), location"
    " FROM hops"
)
INSERT_HOP = f"INSERT INTO hops ({', '.join(_HOP_COLUMNS)}) VALUES ({', '.join('?' * len(_HOP_COLUMNS))})"


# One INSERT of many rows is one sqlite3_step, where executemany steps once per row. As many rows as SQLite's
# limit on bound variables allows: 999 before SQLite 3.32, 32766 since.
_ROWS_PER_INSERT = 100


@functools.lru_cache(maxsize=_ROWS_PER_INSERT)
def insert_rows(count: int) -> str:
    one = f"({', '.join('?' * len(_HOP_COLUMNS))})"
    return f"INSERT INTO hops ({', '.join(_HOP_COLUMNS)}) VALUES {', '.join([one] * count)}"


def rows_per_insert(conn: sqlite3.Connection) -> int:
    return max(1, min(_ROWS_PER_INSERT, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(_HOP_COLUMNS)))


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


def hop_row(hop: Hop) -> tuple:
    return (
        hop.trace_id, hop.seq, _hop_name(hop), hop.started, hop.ended, hop.listener, hop.client_addr,
        hop.method, hop.url, hop.upstream_url, hop.http_version, _pairs_json(hop.query),
        _pairs_json(hop.req_headers), _body_value(hop.req_body), int(hop.req_truncated), _pairs_json(hop.form),
        hop.status, _pairs_json(hop.resp_headers), _body_value(hop.resp_body), int(hop.resp_truncated),
        hop.location, hop.error,
    )


# One encoder for every row: json.dumps(..., ensure_ascii=False) builds a new one per call, and the recorder's
# writer calls this four times per hop. Pairs are tuples or 2-lists, and JSON writes both as arrays.
encode_json = json.JSONEncoder(ensure_ascii=False).encode


def _pairs_json(pairs) -> str:
    if not pairs:
        return "[]"  # most hops have no query or no form: not worth the encoder's call
    return encode_json(pairs if isinstance(pairs, list) else list(pairs))


class _RowReader:
    """Turns rows selected by SELECT_HOP into Hops: each distinct shape and short pairs text decoded once.

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


def hops_from_rows(rows: Iterable[tuple]) -> list[Hop]:
    """The Hops of rows selected by SELECT_HOP, in their order."""
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
