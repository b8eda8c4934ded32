"""`oauthtrace import`: recognise a file by its content, turn it into hops, store it as one trace in one transaction.

A file is read and checked completely before the database is touched, and its trace and hops are written in a
single transaction, so a bad file leaves the database byte for byte as it was. Several files: each is its own
transaction; the first bad one stops the run, the ones before it stay imported.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import zlib
from dataclasses import dataclass, field
from typing import Callable, Protocol

from oauthtrace.errors import UserError
from oauthtrace.gc_pause import gc_paused
from oauthtrace.interchange.fields import BadInput
from oauthtrace.interchange.flow_import import hops_from_flow_file, looks_like_flow_file
from oauthtrace.interchange.har_import import har_entries, read_har
from oauthtrace.interchange.json_import import hops_from_json, is_oauthtrace_json
from oauthtrace.model import Hop
from oauthtrace.store import Store

# A compressed HAR may not expand beyond this (a zip bomb is a malformed file, not a reason to run out of memory).
MAX_EXPANDED = 1 << 30

_ZLIB_HEADERS = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class Progress(Protocol):
    def begin(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, label: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def end(self) -> None:
        pass


@dataclass
class ParsedFile:
    path: str
    kind: str  # "har", "mitmproxy", "json"
    hops: list[Hop]
    skipped: int = 0  # flows that are not HTTP
    notes: list[str] = field(default_factory=list)  # what the user should know about how the file was read


@dataclass
class Imported:
    path: str
    kind: str
    trace_id: int
    name: str
    hop_count: int
    skipped: int = 0
    notes: list[str] = field(default_factory=list)


def import_files(
    paths: list[str],
    *,
    open_store: Callable[[], Store],
    name: str | None = None,
    progress: Progress | None = None,
    on_imported: Callable[[Imported], None] | None = None,
) -> list[Imported]:
    """Import each file as one trace. Raises UserError at the first bad file, saying which were imported before;
    `on_imported` hears of each file as soon as it is stored."""
    progress = progress or NoProgress()
    done: list[Imported] = []
    store: Store | None = None
    try:
        for path in paths:
            try:
                parsed = read_file(path, progress=progress)
            except UserError as exc:
                raise UserError(_with_earlier(str(exc), done)) from None
            # Opened only once a file has proved good, so a run that fails on its first file creates nothing.
            store = store or open_store()
            trace_name = _trace_name(name, path, several=len(paths) > 1)
            progress.begin(f"storing {os.path.basename(path)}", len(parsed.hops))
            try:
                with gc_paused():
                    trace_id = store.import_trace(
                        trace_name, f"import:{parsed.kind}", parsed.hops, on_progress=progress.advance
                    )
            except sqlite3.Error as exc:  # locked, disk full, read-only: the transaction was rolled back
                message = f"{os.path.basename(path)}: cannot store in {store.path}: {exc}"
                raise UserError(_with_earlier(message, done)) from None
            finally:
                progress.end()
            done.append(Imported(path, parsed.kind, trace_id, trace_name, len(parsed.hops), parsed.skipped,
                                 parsed.notes))
            if on_imported:
                on_imported(done[-1])
    finally:
        if store is not None:
            store.close()
    return done


def read_file(path: str, *, progress: Progress | None = None) -> ParsedFile:
    """Parse one file completely; a problem is a UserError "FILE: where: what"."""
    progress = progress or NoProgress()
    label = os.path.basename(path) or path
    try:
        with gc_paused():
            data = _read_bytes(path)
            return _parse(path, label, data, progress)
    except BadInput as exc:
        raise UserError(f"{label}: {exc}") from None


def _parse(path: str, label: str, data: bytes, progress: Progress) -> ParsedFile:
    data = _expand(data)
    if looks_like_flow_file(data):
        hops, skipped = hops_from_flow_file(data)
        return ParsedFile(path, "mitmproxy", hops, skipped)
    document = _load_json(data)
    if is_oauthtrace_json(document):
        return ParsedFile(path, "json", hops_from_json(document))
    entries = har_entries(document)
    progress.begin(f"reading {label}", len(entries))
    try:
        read = read_har(document, on_entry=progress.advance)
    finally:
        progress.end()
    return ParsedFile(path, "har", read.hops, notes=read.notes)


def _read_bytes(path: str) -> bytes:
    if os.path.isdir(path):
        raise BadInput("is a directory")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise BadInput(f"cannot read ({exc.strerror or exc})") from None


def _expand(data: bytes) -> bytes:
    """Undo gzip (`.har.gz`) or zlib (mitmproxy's `.zhar`) compression, within MAX_EXPANDED."""
    if data[:2] == b"\x1f\x8b":
        decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    elif data[:2] in _ZLIB_HEADERS:
        decompressor = zlib.decompressobj()
    else:
        return data
    try:
        expanded = decompressor.decompress(data, MAX_EXPANDED)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BadInput(f"compressed data is corrupt ({exc})") from None
    if decompressor.unconsumed_tail:
        raise BadInput(f"expands to more than {MAX_EXPANDED >> 20} MiB")
    if not decompressor.eof:
        raise BadInput("compressed data is truncated")
    return expanded


def _load_json(data: bytes):
    text = _decode(data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise BadInput("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise BadInput(f"not valid JSON ({str(exc)[:120]})") from None


def _decode(data: bytes) -> str:
    """UTF-8, with or without the BOM Fiddler writes; UTF-16 when a BOM says so. Anything that does not start
    like JSON is refused before decoding, so garbage gets the same clear message whatever its bytes."""
    if data[:2] in _UTF16_BOMS:
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadInput("not valid UTF-16 text") from None
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if body.lstrip()[:1] not in (b"{", b"["):
        raise BadInput("not a HAR file, an oauthtrace JSON export or a mitmproxy flow file")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8 text (byte {exc.start})") from None


def _trace_name(name: str | None, path: str, *, several: bool) -> str:
    base = os.path.basename(path) or path
    if not name:
        return base
    return f"{name} ({base})" if several else name


def _with_earlier(message: str, done: list[Imported]) -> str:
    if not done:
        return message
    earlier = ", ".join(f"{os.path.basename(item.path)} as trace {item.trace_id}" for item in done)
    return f"{message} (stopped here; already imported: {earlier})"
