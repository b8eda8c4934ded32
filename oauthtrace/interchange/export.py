"""`oauthtrace export`: one trace out of the database as HAR or JSON, redacted unless the user says otherwise (the
Markdown report is an exporter of the analysis: oauthtrace.exporters.markdown)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Iterable, Iterator

from oauthtrace.errors import UserError
from oauthtrace.interchange.har_export import har_document, har_entry
from oauthtrace.interchange.json_export import hop_dict, json_document
from oauthtrace.interchange.redact import Redactor
from oauthtrace.model import Hop, Trace
from oauthtrace.store import Store

FORMATS = ("har", "json")


def export_trace(
    store: Store,
    ref: str | None,
    *,
    fmt: str,
    redact: bool = True,
    extra: Iterable[str] = (),
    key: bytes | None = None,
) -> Iterator[bytes]:
    """The trace `ref` (latest when None) serialised as `fmt`, in chunks. `key` fixes the fingerprint key (tests)."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    trace = store.resolve_trace(ref)
    hops = store.hops(trace.id)
    return render_chunks(trace, hops, fmt=fmt, redact=redact, extra=extra, key=key)


def render(
    trace: Trace, hops: list[Hop], *, fmt: str, redact: bool = True, extra: Iterable[str] = (),
    key: bytes | None = None,
) -> bytes:
    return b"".join(render_chunks(trace, hops, fmt=fmt, redact=redact, extra=extra, key=key))


def render_chunks(
    trace: Trace, hops: list[Hop], *, fmt: str, redact: bool = True, extra: Iterable[str] = (),
    key: bytes | None = None,
) -> Iterator[bytes]:
    """The document one hop at a time, so a trace of 50k hops is never a single string in memory."""
    redactor = Redactor(hops, key=key, extra=extra) if redact else None
    shown = (redactor.hop(hop) for hop in hops) if redactor else iter(hops)
    if fmt == "har":
        document = har_document(trace, [], redacted=redact)
        document["log"]["entries"] = [_ITEMS]
        items = (har_entry(hop) for hop in shown)
    elif fmt == "json":
        document = json_document(trace, [], redacted=redact)
        document["trace"]["hop_count"] = len(hops)
        document["hops"] = [_ITEMS]
        items = (hop_dict(hop) for hop in shown)
    else:
        raise UserError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    for text in _stream(document, items):
        yield text.encode("utf-8")


# Stands in for the list of entries while the rest of the document is formatted around it.
_ITEMS = "\u0000oauthtrace items\u0000"


def _stream(document: dict, items: Iterator[dict]) -> Iterator[str]:
    """json.dumps(document, indent=2) with the `_ITEMS` list filled from `items`, produced piece by piece."""
    text = json.dumps(document, ensure_ascii=False, indent=2)
    marker = json.dumps(_ITEMS, ensure_ascii=False)
    head, _, tail = text.partition(marker)
    indent = head[head.rfind("\n") + 1:]
    yield head
    separator = ""
    for item in items:
        yield separator + json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n" + indent)
        separator = ",\n" + indent
    yield tail + "\n"


def write_atomically(path: str, chunks: Iterable[bytes], *, private: bool) -> None:
    """Write through a temporary file in the same directory and rename it into place, so a reader never sees half
    an export and an interrupted run leaves the old file. An unredacted export stays readable by its owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a directory")
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if not private:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except OSError as exc:
        _remove_quietly(temp)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        _remove_quietly(temp)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
