"""`oauthtrace export`: one trace out of the database as HAR or JSON, redacted unless the user says otherwise."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Iterable

from oauthtrace.errors import UserError
from oauthtrace.interchange.har_export import har_document
from oauthtrace.interchange.json_export import json_document
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
) -> bytes:
    """The trace `ref` (latest when None) serialised as `fmt`. `key` fixes the fingerprint key (tests only)."""
    trace = store.resolve_trace(ref)
    hops = store.hops(trace.id)
    return render(trace, hops, fmt=fmt, redact=redact, extra=extra, key=key)


def render(
    trace: Trace, hops: list[Hop], *, fmt: str, redact: bool = True, extra: Iterable[str] = (),
    key: bytes | None = None,
) -> bytes:
    if redact:
        hops = Redactor(hops, key=key, extra=extra).hops(hops)
    if fmt == "har":
        document = har_document(trace, hops, redacted=redact)
    elif fmt == "json":
        document = json_document(trace, hops, redacted=redact)
    else:
        raise UserError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_atomically(path: str, data: bytes, *, private: bool) -> None:
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
            handle.write(data)
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
