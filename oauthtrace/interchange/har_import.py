"""HAR 1.2 (Chrome, Firefox, Safari, Charles, Fiddler, Insomnia, mitmproxy, oauthtrace itself) -> hops.

Pure: takes the parsed document, returns hops ordered by start time with seq from 1, or raises BadInput naming the
entry and the problem. Parameters are parsed from the URL and the body exactly as the recorder parses live traffic,
so an imported HAR lints like a recording.

HAR 1.2 requires startedDateTime, time, timings and httpVersion, but hand-made HARs and some exporters leave them
out; only a request's method and URL are needed to lint it. A file in which some entry has no startedDateTime is
ordered by position (the one order all its entries share), with one note saying so.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlencode

from oauthtrace.interchange.fields import BadInput, clean, field, kind_name, name_value_pairs
from oauthtrace.interchange.ordering import number_hops
from oauthtrace.model import BROWSER_LISTENER, Hop, first
from oauthtrace.params import parse_pairs, query_pairs

# Same cap as the live recorder (oauthtrace.flows.DEFAULT_BODY_CAP), without importing mitmproxy for a HAR.
BODY_CAP = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
# Where oauthtrace's own HAR export keeps what HAR has no field for (listener, upstream URL, truncation).
EXTENSION_KEY = "_oauthtrace"

_HTTP_VERSIONS = {"h2": "HTTP/2.0", "http/2": "HTTP/2.0", "http/2.0": "HTTP/2.0", "h3": "HTTP/3", "http/3": "HTTP/3"}


def har_entries(document) -> list:
    """The entries list of a HAR document, checked to be one."""
    if not isinstance(document, dict):
        raise BadInput(f"not a HAR file: the top level is {kind_name(document)}, expected an object")
    log = document.get("log")
    if not isinstance(log, dict):
        if log is None:
            raise BadInput('not a HAR file: no "log" object')
        raise BadInput(f"log is {kind_name(log)}, expected an object")
    return field(log, "entries", list, "log")


@dataclass
class HarRead:
    hops: list[Hop]
    notes: list[str] = dataclass_field(default_factory=list)  # said once per file, e.g. how it was ordered


def hops_from_har(document, *, trace_id: int = 0, on_entry: Callable[[int], None] | None = None) -> list[Hop]:
    return read_har(document, trace_id=trace_id, on_entry=on_entry).hops


def read_har(document, *, trace_id: int = 0, on_entry: Callable[[int], None] | None = None) -> HarRead:
    hops, recorded, undated = [], [], 0
    for number, entry in enumerate(har_entries(document), 1):
        hops.append(hop_from_entry(entry, f"entry {number}", trace_id=trace_id))
        if hops[-1].started is None:
            undated += 1
        extension = entry.get(EXTENSION_KEY)
        recorded.append(extension.get("seq") if isinstance(extension, dict) else None)
        if on_entry and number % 500 == 0:
            on_entry(500)
    if on_entry and len(hops) % 500:
        on_entry(len(hops) % 500)
    if not undated:
        return HarRead(number_hops(hops, recorded))
    _date_by_neighbours(hops, har_entries(document))
    if not _all_distinct_ints(recorded):  # an oauthtrace export keeps its own order whatever its dates
        recorded = list(range(1, len(hops) + 1))
    return HarRead(number_hops(hops, recorded), [_undated_note(undated, len(hops))])


def _date_by_neighbours(hops: list[Hop], entries: list) -> None:
    """An undated hop takes the start of the dated one before it in the file (or after it, at the start; 0 when no
    entry is dated): times stay in file order and no gap is invented for the timeline rules to read as a stall.
    Its `time`, when given, ends it relative to that start, as for any entry."""
    known = next((hop.started for hop in hops if hop.started is not None), 0.0)
    for number, (hop, entry) in enumerate(zip(hops, entries), 1):
        if hop.started is not None:
            known = hop.started
            continue
        hop.started = known
        if not _unfinished(entry):
            hop.ended = _ended(entry, known, f"entry {number}")


def _all_distinct_ints(values: list) -> bool:
    return all(isinstance(v, int) for v in values) and len(set(values)) == len(values)


def _undated_note(undated: int, total: int) -> str:
    if undated == total:
        return "no entry has a startedDateTime: the hops keep the order the file lists them in (times unknown)"
    return (f"{undated} of {total} entries have no startedDateTime: the hops keep the order the file lists them in "
            f"(those entries' times unknown)")


def hop_from_entry(entry, where: str, *, trace_id: int = 0) -> Hop:
    if not isinstance(entry, dict):
        raise BadInput(f"{where}: is {kind_name(entry)}, expected an object")
    request = field(entry, "request", dict, f"{where}:")
    response = field(entry, "response", dict, f"{where}:", default={})
    started = _started(entry, where)  # None: undated, placed by read_har
    url = clean(field(request, "url", str, f"{where}: request"))
    if not url:
        raise BadInput(f"{where}: request.url is empty")
    req_headers = name_value_pairs(request.get("headers", []), f"{where}: request.headers")
    req_body, req_cut = _capped(_post_data(request, req_headers, where))
    extension = entry.get(EXTENSION_KEY) if isinstance(entry.get(EXTENSION_KEY), dict) else {}
    hop = Hop(
        trace_id=trace_id,
        seq=0,
        method=clean(field(request, "method", str, f"{where}: request")),
        url=url,
        started=started,
        ended=None if started is None or _unfinished(entry) else _ended(entry, started, where),
        listener=_text(extension, "listener", BROWSER_LISTENER),
        client_addr=_text(extension, "client_addr", ""),
        upstream_url=_text(extension, "upstream_url", None),
        http_version=_http_version(request.get("httpVersion")),
        query=query_pairs(url),
        req_headers=req_headers,
        req_body=req_body,
        req_truncated=req_cut or extension.get("req_truncated") is True,
        form=_form(req_headers, req_body),
    )
    _read_response(hop, response, extension, where)
    return hop


def _read_response(hop: Hop, response: dict, extension: dict, where: str) -> None:
    status = field(response, "status", int, f"{where}: response", default=0)
    if not 0 <= status <= 999:
        raise BadInput(f"{where}: response.status {status} is not an HTTP status")
    error = response.get("_error") or extension.get("error")
    hop.error = clean(error) if isinstance(error, str) and error else None
    if status == 0:
        # HAR's way of saying "no response": a failed, blocked or unfinished request.
        return
    hop.status = status
    hop.resp_headers = name_value_pairs(response.get("headers", []), f"{where}: response.headers")
    content = field(response, "content", dict, f"{where}: response", default={})
    hop.resp_body, hop.resp_truncated = _capped(_content_body(content, f"{where}: response.content"))
    hop.resp_truncated = hop.resp_truncated or extension.get("resp_truncated") is True
    redirect = field(response, "redirectURL", str, f"{where}: response", default="")
    location = first(hop.resp_headers, "location", case=False) or redirect or None
    hop.location = clean(location) if location is not None else None


def _started(entry: dict, where: str) -> float | None:
    text = field(entry, "startedDateTime", str, f"{where}:", default=None)
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{where}: startedDateTime {text[:40]!r} is not an ISO 8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _unfinished(entry: dict) -> bool:
    extension = entry.get(EXTENSION_KEY)
    return isinstance(extension, dict) and extension.get("unfinished") is True


def _ended(entry: dict, started: float, where: str) -> float | None:
    elapsed = field(entry, "time", (int, float), f"{where}:", default=-1)
    return started + elapsed / 1000 if elapsed >= 0 else None


def _post_data(request: dict, headers, where: str) -> bytes | None:
    post = field(request, "postData", dict, f"{where}: request", default=None)
    if post is None:
        return None
    text = field(post, "text", str, f"{where}: request.postData", default=None)
    if text is None:
        params = name_value_pairs(post.get("params", []), f"{where}: request.postData.params")
        return urlencode(params).encode("utf-8") if params else None
    if post.get("encoding") == "base64":
        return _base64(text, f"{where}: request.postData.text")
    return clean(text).encode("utf-8")


def _content_body(content: dict, where: str) -> bytes | None:
    text = field(content, "text", str, where, default=None)
    if text is None:
        return None
    if field(content, "encoding", str, where, default="") == "base64":
        return _base64(text, f"{where}.text")
    return clean(text).encode("utf-8")


def _base64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{where} is not valid base64") from None


def _form(headers, body: bytes | None):
    content_type = first(headers, "content-type", case=False) or ""
    if not body or not content_type.lower().startswith(FORM_TYPE):
        return []
    return parse_pairs(body.decode("utf-8", errors="replace"))


def _capped(body: bytes | None) -> tuple[bytes | None, bool]:
    if body is None or len(body) <= BODY_CAP:
        return body, False
    return body[:BODY_CAP], True


def _http_version(value) -> str:
    if not isinstance(value, str) or not value.strip():
        return "HTTP/1.1"
    return _HTTP_VERSIONS.get(value.strip().lower(), clean(value.strip().upper()))


def _text(extension: dict, key: str, default):
    value = extension.get(key)
    return clean(value) if isinstance(value, str) else default
