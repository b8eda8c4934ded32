"""Turning a mitmproxy HTTPFlow into a Hop: shared by the live recorder and the flow-file importer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mitmproxy.net import encoding

from oauthtrace.model import BROWSER_LISTENER, UPSTREAM_TLS_FAILED, Hop, Pairs, first
from oauthtrace.params import parse_pairs, query_pairs

if TYPE_CHECKING:  # the writer process converts parts without mitmproxy's flow classes: it starts faster
    from mitmproxy import http

DEFAULT_BODY_CAP = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

# Streamed responses (event streams) keep what passed through here, since flow.response.content stays empty.
STREAMED_BODY_KEY = "oauthtrace_streamed_body"
SEQ_KEY = "oauthtrace_seq"
# flow.metadata key: the handshake error of the flow's server, set by the Recorder when the flow fails with it.
UPSTREAM_TLS_KEY = "oauthtrace_upstream_tls_error"


def hop_from_flow(flow: http.HTTPFlow, *, trace_id: int, seq: int, body_cap: int = DEFAULT_BODY_CAP) -> Hop:
    return hop_from_parts(flow_parts(flow), trace_id=trace_id, seq=seq, body_cap=body_cap)


def flow_parts(flow: http.HTTPFlow) -> tuple:
    """What a hop is made of, read off the flow as plain values that marshal can send to another process.

    Runs on mitmproxy's event loop for every recorded flow, so it reads and decodes nothing it can leave to
    hop_from_parts; only the URL is built here, as mitmproxy builds it.
    """
    request, response = flow.request, flow.response
    listener = listener_name(getattr(flow.client_conn, "proxy_mode", None))
    reverse = listener != BROWSER_LISTENER
    streamed = flow.metadata.get(STREAMED_BODY_KEY)
    return (
        request.method,
        client_url(flow, reverse),
        request.pretty_url if reverse else None,
        listener,
        flow.client_conn.peername,
        request.http_version,
        request.timestamp_start,
        _ended(flow),
        request.headers.fields,
        request.raw_content,
        None if response is None else (
            response.status_code,
            response.headers.fields,
            bytes(streamed) if streamed is not None else response.raw_content,
            streamed is not None,
        ),
        None if flow.error is None else error_text(flow),
    )


def hop_from_parts(parts: tuple, *, trace_id: int, seq: int, body_cap: int = DEFAULT_BODY_CAP) -> Hop:
    (method, url, upstream_url, listener, peername, http_version, started, ended, req_fields, req_raw, response,
     error) = parts
    req_headers = _header_pairs(req_fields)
    req_body, req_cut = _capped(_decoded(req_raw, req_headers), body_cap)
    url = _clean(url)
    hop = Hop(
        trace_id=trace_id,
        seq=seq,
        method=method,
        url=url,
        upstream_url=_clean(upstream_url) if upstream_url is not None else None,
        started=started,
        ended=ended,
        listener=listener,
        client_addr=_address(peername),
        http_version=http_version,
        query=query_pairs(url),
        req_headers=req_headers,
        req_body=req_body,
        req_truncated=req_cut,
        form=form_pairs(first(req_headers, "content-type", case=False) or "", req_body),
        error=error,
    )
    if response is not None:
        status, resp_fields, resp_raw, streamed = response
        hop.resp_headers = _header_pairs(resp_fields)
        hop.status = status
        # a streamed body is kept as it passed through: mitmproxy did not decode it, and neither do we
        body = resp_raw if streamed else _decoded(resp_raw, hop.resp_headers)
        hop.resp_body, hop.resp_truncated = _capped(body, body_cap)
        if streamed and resp_raw is not None and len(resp_raw) >= body_cap:
            hop.resp_truncated = True
        hop.location = first(hop.resp_headers, "location", case=False)
    return hop


def error_text(flow: http.HTTPFlow) -> str:
    """mitmproxy's error message, saying so when the client gave up waiting for a server that never answered.

    mitmproxy has no upstream read timeout: a silent server shows up as the client's own timeout, whose message
    alone ("Client disconnected.") would blame the client.
    """
    text = flow.error.msg
    request, server = flow.request, flow.server_conn
    if flow.metadata.get(UPSTREAM_TLS_KEY) == text:
        return UPSTREAM_TLS_FAILED + text
    waiting = flow.response is None and request.timestamp_end and server is not None and server.timestamp_tcp_setup
    if waiting and text.startswith("Client disconnected"):
        waited = max(0.0, flow.error.timestamp - request.timestamp_end)
        text = f"{text} The server had not answered after {waited:.1f} s."
    return text


def client_url(flow: http.HTTPFlow, reverse: bool) -> str:
    """The URL as the client used it.

    Reverse mode rewrites host and Host header to the upstream before any addon runs; the analysis must see what
    the client saw (its issuer, its resource), so rebuild the URL from the listener address it connected to.
    """
    request = flow.request
    if not reverse:
        return request.pretty_url
    sockname = flow.client_conn.sockname
    scheme = "https" if flow.client_conn.tls_established else "http"
    if not sockname:
        return request.pretty_url
    host, port = sockname[0], sockname[1]
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    authority = host if port == default else f"{host}:{port}"
    return f"{scheme}://{authority}{request.path}"


def _header_pairs(fields) -> Pairs:
    """Ordered header pairs; bytes that are not UTF-8 are kept visible as escapes instead of failing."""
    return [(_decode(k), _decode(v)) for k, v in fields]


def form_pairs(content_type: str, body: bytes | None) -> Pairs:
    if not body or not content_type.lower().startswith(FORM_TYPE):
        return []
    return parse_pairs(body.decode("utf-8", errors="replace"))


def listener_name(mode) -> str:
    """How hops and traces name the listener of a mitmproxy ProxyMode: `reverse:URL@PORT`, else `browser`."""
    return mode.full_spec if mode is not None and mode.type_name == "reverse" else BROWSER_LISTENER


def _decoded(raw: bytes | None, headers: Pairs) -> bytes | None:
    """The body with gzip/br/deflate/zstd undone, as mitmproxy's get_content(strict=False); raw when that fails."""
    content_encoding = first(headers, "content-encoding", case=False)
    if raw is None or not content_encoding:
        return raw
    try:
        content = encoding.decode(raw, content_encoding)
    except ValueError:
        return raw
    return content if isinstance(content, bytes) else raw  # a charset named as an encoding decodes to str


def _capped(body: bytes | None, cap: int) -> tuple[bytes | None, bool]:
    if body is None or len(body) <= cap:
        return body, False
    return body[:cap], True


def _ended(flow: http.HTTPFlow) -> float | None:
    if flow.response is not None and flow.response.timestamp_end:
        return flow.response.timestamp_end
    if flow.error is not None:
        return flow.error.timestamp
    return None


def _address(address) -> str:
    if not address:
        return ""
    return f"{address[0]}:{address[1]}"


def _decode(value: bytes | str) -> str:
    if isinstance(value, str):
        return _clean(value)
    return value.decode("utf-8", errors="backslashreplace")


def _clean(text: str) -> str:
    """mitmproxy keeps undecodable URL bytes as lone surrogates, which SQLite and JSON cannot store: escape them."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
