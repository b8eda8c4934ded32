"""Hops -> HAR 1.2, readable by browsers' DevTools, Charles, Fiddler, mitmproxy and `oauthtrace import`.

Pure: takes hops that are already redacted (or not, when the user asked). What HAR has no field for (listener,
upstream URL, the recorder's sequence, truncation) goes into an `_oauthtrace` object per entry, which `import` reads
back so a round trip keeps front and back channel apart.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from http import HTTPStatus

from oauthtrace import __version__
from oauthtrace.interchange.har_import import EXTENSION_KEY
from oauthtrace.model import Hop, Trace


def har_document(trace: Trace, hops: list[Hop], *, redacted: bool) -> dict:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "oauthtrace", "version": __version__},
            "comment": f"trace {trace.name!r}" + (" (secrets redacted)" if redacted else " (NOT redacted)"),
            "pages": [],
            "entries": [har_entry(hop) for hop in hops],
        }
    }


def har_entry(hop: Hop) -> dict:
    elapsed = (hop.ended - hop.started) * 1000 if hop.ended is not None and hop.ended >= hop.started else -1
    extension = {"seq": hop.seq, "listener": hop.listener, "client_addr": hop.client_addr}
    if hop.upstream_url is not None:
        extension["upstream_url"] = hop.upstream_url
    if hop.req_truncated:
        extension["req_truncated"] = True
    if hop.resp_truncated:
        extension["resp_truncated"] = True
    if hop.error is not None:
        extension["error"] = hop.error
    if hop.ended is None:
        extension["unfinished"] = True  # HAR's `time` cannot say "never ended"
    return {
        "startedDateTime": _iso(hop.started),
        "time": max(elapsed, 0),
        "request": _request(hop),
        "response": _response(hop),
        "cache": {},
        "timings": {"send": 0, "wait": max(elapsed, 0), "receive": 0},
        EXTENSION_KEY: extension,
    }


def _request(hop: Hop) -> dict:
    request = {
        "method": hop.method,
        "url": hop.url,
        "httpVersion": hop.http_version or "HTTP/1.1",
        "cookies": _request_cookies(hop),
        "headers": _name_values(hop.req_headers),
        "queryString": _name_values(hop.query),
        "headersSize": -1,
        "bodySize": len(hop.req_body) if hop.req_body is not None else 0,
    }
    if hop.req_body is not None:
        post = {"mimeType": hop.req_header("content-type") or ""}
        post.update(_body_text(hop.req_body))
        if hop.form:
            post["params"] = _name_values(hop.form)
        request["postData"] = post
    return request


def _response(hop: Hop) -> dict:
    response = {
        "status": hop.status or 0,
        "statusText": _reason(hop.status),
        "httpVersion": hop.http_version or "HTTP/1.1",
        "cookies": _response_cookies(hop),
        "headers": _name_values(hop.resp_headers),
        "content": {"size": len(hop.resp_body or b""), "mimeType": hop.resp_header("content-type") or ""},
        "redirectURL": hop.location or "",
        "headersSize": -1,
        "bodySize": len(hop.resp_body) if hop.resp_body is not None else -1,
    }
    if hop.resp_body is not None:
        response["content"].update(_body_text(hop.resp_body))
    if hop.error is not None:
        response["_error"] = hop.error
    return response


def _body_text(body: bytes) -> dict:
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _name_values(pairs) -> list[dict]:
    return [{"name": name, "value": value} for name, value in pairs]


def _request_cookies(hop: Hop) -> list[dict]:
    cookies = []
    for name, value in hop.req_headers:
        if name.lower() == "cookie":
            for part in value.split(";"):
                cookie_name, equals, cookie_value = part.strip().partition("=")
                if equals:
                    cookies.append({"name": cookie_name, "value": cookie_value})
    return cookies


def _response_cookies(hop: Hop) -> list[dict]:
    cookies = []
    for name, value in hop.resp_headers:
        if name.lower() != "set-cookie":
            continue
        cookie_name, equals, rest = value.partition("=")
        if not equals:
            continue
        cookie_value, _, attributes = rest.partition(";")
        entry = {"name": cookie_name.strip(), "value": cookie_value.strip()}
        entry.update(_cookie_attributes(attributes))
        cookies.append(entry)
    return cookies


def _cookie_attributes(text: str) -> dict:
    attributes = {}
    for part in text.split(";"):
        key, _, value = part.strip().partition("=")
        lowered = key.lower()
        if lowered in ("path", "domain", "expires"):
            attributes[lowered] = value
        elif lowered == "httponly":
            attributes["httpOnly"] = True
        elif lowered == "secure":
            attributes["secure"] = True
        elif lowered == "samesite":
            attributes["sameSite"] = value
    return attributes


def _reason(status: int | None) -> str:
    if not status:
        return ""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp or 0.0, tz=timezone.utc).isoformat()
