"""A trace as rows a person can read: sequence, listener, method, host+path, status, where it redirected."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from oauthtrace.model import BROWSER_LISTENER, Hop, Trace, reverse_listener, upstream_tls_failed
from oauthtrace.params import fragment_pairs, host, path, query_pairs


def listener_label(listener: str) -> str:
    """`browser`, or `reverse→auth.example.com:443` for a reverse listener."""
    if listener == BROWSER_LISTENER:
        return BROWSER_LISTENER
    upstream = (reverse_listener(listener) or (listener, None))[0]
    return f"reverse→{upstream.split('://', 1)[-1]}"


def hop_row(hop: Hop, role: str | None = None) -> dict:
    return {
        "seq": hop.seq,
        "listener": listener_label(hop.listener),
        "method": hop.method,
        "target": f"{host(hop.url)}{_port(hop.url)}{path(hop.url)}",
        "url": hop.url,
        "status": hop.status if hop.error is None else f"error: {hop.error}",
        "location": hop.location,
        "redirect": redirect_summary(hop.location) if hop.location else "",
        "role": role,
    }


def status_word(status: int | None, error: str | None) -> str:
    """A hop's status in five characters for lists: the code, `error`, or `TLS` when the proxy's handshake with
    the upstream server failed (the fix is the recorder's options, not the provider's or client's code)."""
    if upstream_tls_failed(error):
        return "TLS"
    if error is not None:
        return "error"
    return str(status) if status is not None else "—"


def redirect_summary(location: str) -> str:
    """`127.0.0.1:8080/cb ?code,state`: where a redirect goes and which parameters it carries."""
    names = [k for k, _ in query_pairs(location)]
    fragment = [k for k, _ in fragment_pairs(location)]
    text = f"{host(location)}{_port(location)}{path(location)}"
    if names:
        text += " ?" + ",".join(names)
    if fragment:
        text += " #" + ",".join(fragment)
    return text


def trace_row(trace: Trace, severities: dict[str, int] | None = None) -> dict:
    return {
        "id": trace.id,
        "name": trace.name,
        "created": when(trace.created),
        "source": trace.source,
        "hops": trace.hop_count,
        "findings": severities or {},
    }


def when(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def _port(url: str) -> str:
    try:
        port = urlsplit(url).port
    except ValueError:
        return ""
    return f":{port}" if port else ""
