"""Turning a mitmproxy HTTPFlow into a Hop: shared by the live recorder and the flow-file importer."""

from __future__ import annotations

from mitmproxy import http

from oauthtrace.model import BROWSER_LISTENER, Hop, Pairs, first
from oauthtrace.params import parse_pairs, query_pairs

DEFAULT_BODY_CAP = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"

# Streamed responses (event streams) keep what passed through here, since flow.response.content stays empty.
STREAMED_BODY_KEY = "oauthtrace_streamed_body"
SEQ_KEY = "oauthtrace_seq"


def hop_from_flow(flow: http.HTTPFlow, *, trace_id: int, seq: int, body_cap: int = DEFAULT_BODY_CAP) -> Hop:
    # Runs once per recorded flow, holding the GIL the proxy needs: headers are converted once and looked up in
    # those pairs, which costs a fraction of mitmproxy's case-insensitive Headers lookups.
    request = flow.request
    req_headers = header_pairs(request.headers)
    req_body, req_cut = _capped(_content(request, req_headers), body_cap)
    url = _clean(client_url(flow))
    hop = Hop(
        trace_id=trace_id,
        seq=seq,
        method=request.method,
        url=url,
        upstream_url=_clean(request.pretty_url) if _is_reverse(flow) else None,
        started=request.timestamp_start,
        ended=_ended(flow),
        listener=listener_name(flow),
        client_addr=_address(flow.client_conn.peername),
        http_version=request.http_version,
        query=query_pairs(url),
        req_headers=req_headers,
        req_body=req_body,
        req_truncated=req_cut,
        form=form_pairs(first(req_headers, "content-type", case=False) or "", req_body),
    )
    if flow.response is not None:
        response = flow.response
        hop.resp_headers = header_pairs(response.headers)
        streamed = flow.metadata.get(STREAMED_BODY_KEY)
        body = bytes(streamed) if streamed is not None else _content(response, hop.resp_headers)
        hop.status = response.status_code
        hop.resp_body, hop.resp_truncated = _capped(body, body_cap)
        if streamed is not None and len(streamed) >= body_cap:
            hop.resp_truncated = True
        hop.location = first(hop.resp_headers, "location", case=False)
    if flow.error is not None:
        hop.error = error_text(flow)
    return hop


def error_text(flow: http.HTTPFlow) -> str:
    """mitmproxy's error message, saying so when the client gave up waiting for a server that never answered.

    mitmproxy has no upstream read timeout: a silent server shows up as the client's own timeout, whose message
    alone ("Client disconnected.") would blame the client.
    """
    text = flow.error.msg
    request, server = flow.request, flow.server_conn
    waiting = flow.response is None and request.timestamp_end and server is not None and server.timestamp_tcp_setup
    if waiting and text.startswith("Client disconnected"):
        waited = max(0.0, flow.error.timestamp - request.timestamp_end)
        text = f"{text} The server had not answered after {waited:.1f} s."
    return text


def client_url(flow: http.HTTPFlow) -> str:
    """The URL as the client used it.

    Reverse mode rewrites host and Host header to the upstream before any addon runs; the analysis must see what
    the client saw (its issuer, its resource), so rebuild the URL from the listener address it connected to.
    """
    request = flow.request
    if not _is_reverse(flow):
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


def listener_name(flow: http.HTTPFlow) -> str:
    """`browser` for the explicit proxy; the mode spec (`reverse:https://auth.example@8081`) for reverse ones."""
    mode = getattr(flow.client_conn, "proxy_mode", None)
    if mode is None or not _is_reverse(flow):
        return BROWSER_LISTENER
    return mode.full_spec


def header_pairs(headers) -> Pairs:
    """Ordered header pairs; bytes that are not UTF-8 are kept visible as escapes instead of failing."""
    return [(_decode(k), _decode(v)) for k, v in headers.fields]


def form_pairs(content_type: str, body: bytes | None) -> Pairs:
    if not body or not content_type.lower().startswith(FORM_TYPE):
        return []
    return parse_pairs(body.decode("utf-8", errors="replace"))


def _is_reverse(flow: http.HTTPFlow) -> bool:
    mode = getattr(flow.client_conn, "proxy_mode", None)
    return mode is not None and mode.type_name == "reverse"


def _content(message, headers: Pairs) -> bytes | None:
    """The decoded body (gzip/br/deflate/zstd undone); the raw bytes when decoding fails."""
    if message.raw_content is None or first(headers, "content-encoding", case=False) is None:
        return message.raw_content
    try:
        return message.get_content(strict=False)
    except ValueError:
        return message.raw_content


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
