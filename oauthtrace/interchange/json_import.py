"""The project's own JSON export (json_export.py) -> hops, checked field by field ("hop 3: url missing")."""

from __future__ import annotations

import base64
import binascii

from oauthtrace.interchange.fields import BadInput, clean, field, kind_name, pair_list
from oauthtrace.interchange.json_export import FORMAT_KEY, FORMAT_VERSION
from oauthtrace.interchange.ordering import number_hops
from oauthtrace.model import BROWSER_LISTENER, Hop


def is_oauthtrace_json(document) -> bool:
    return isinstance(document, dict) and FORMAT_KEY in document


def hops_from_json(document, *, trace_id: int = 0) -> list[Hop]:
    version = document.get(FORMAT_KEY)
    if version != FORMAT_VERSION:
        raise BadInput(f"oauthtrace JSON version {str(version)[:20]!r}; this oauthtrace reads version {FORMAT_VERSION}")
    items = field(document, "hops", list, "oauthtrace JSON:")
    hops = [_hop(item, f"hop {number}", trace_id) for number, item in enumerate(items, 1)]
    return number_hops(hops, [item.get("seq") for item in items])


def _hop(item, where: str, trace_id: int) -> Hop:
    if not isinstance(item, dict):
        raise BadInput(f"{where}: is {kind_name(item)}, expected an object")
    at = f"{where}:"
    status = field(item, "status", int, at, default=None)
    if status is not None and not 0 < status <= 999:
        raise BadInput(f"{where}: status {status} is not an HTTP status")
    return Hop(
        trace_id=trace_id,
        seq=0,
        method=clean(field(item, "method", str, at)),
        url=clean(field(item, "url", str, at)),
        started=float(field(item, "started", (int, float), at, default=0.0)),
        ended=_optional_float(field(item, "ended", (int, float), at, default=None)),
        listener=clean(field(item, "listener", str, at, default=BROWSER_LISTENER)),
        client_addr=clean(field(item, "client_addr", str, at, default="")),
        upstream_url=_optional_text(field(item, "upstream_url", str, at, default=None)),
        http_version=clean(field(item, "http_version", str, at, default="HTTP/1.1")),
        query=pair_list(item.get("query") or [], f"{where}: query"),
        req_headers=pair_list(item.get("req_headers") or [], f"{where}: req_headers"),
        req_body=_body(item.get("req_body"), f"{where}: req_body"),
        req_truncated=field(item, "req_truncated", bool, at, default=False),
        form=pair_list(item.get("form") or [], f"{where}: form"),
        status=status,
        resp_headers=pair_list(item.get("resp_headers") or [], f"{where}: resp_headers"),
        resp_body=_body(item.get("resp_body"), f"{where}: resp_body"),
        resp_truncated=field(item, "resp_truncated", bool, at, default=False),
        location=_optional_text(field(item, "location", str, at, default=None)),
        error=_optional_text(field(item, "error", str, at, default=None)),
    )


def _body(value, where: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput(f"{where} is {kind_name(value)}, expected {{\"text\": …}} or {{\"base64\": …}}")
    if isinstance(value.get("text"), str):
        return clean(value["text"]).encode("utf-8")
    if isinstance(value.get("base64"), str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"{where}.base64 is not valid base64") from None
    raise BadInput(f"{where} has neither a \"text\" nor a \"base64\" string")


def _optional_text(value: str | None) -> str | None:
    return clean(value) if value is not None else None


def _optional_float(value) -> float | None:
    return float(value) if value is not None else None
