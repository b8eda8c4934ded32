"""The project's own lossless JSON: `{"oauthtrace": 1, "trace": {...}, "hops": [...]}`.

Every Hop field survives; a body is `{"text": …}` when it is UTF-8 and `{"base64": …}` otherwise, so binary bodies
come back byte for byte. Pure: takes hops that are already redacted (or not, when the user asked).
"""

from __future__ import annotations

import base64

from oauthtrace.model import Hop, Trace

FORMAT_KEY = "oauthtrace"
FORMAT_VERSION = 1


def json_document(trace: Trace, hops: list[Hop], *, redacted: bool) -> dict:
    return {
        FORMAT_KEY: FORMAT_VERSION,
        "trace": {
            "name": trace.name,
            "created": trace.created,
            "source": trace.source,
            "hop_count": len(hops),
            "redacted": redacted,
        },
        "hops": [hop_dict(hop) for hop in hops],
    }


def hop_dict(hop: Hop) -> dict:
    return {
        "seq": hop.seq,
        "method": hop.method,
        "url": hop.url,
        "started": hop.started,
        "ended": hop.ended,
        "listener": hop.listener,
        "client_addr": hop.client_addr,
        "upstream_url": hop.upstream_url,
        "http_version": hop.http_version,
        "query": [[name, value] for name, value in hop.query],
        "req_headers": [[name, value] for name, value in hop.req_headers],
        "req_body": body_dict(hop.req_body),
        "req_truncated": hop.req_truncated,
        "form": [[name, value] for name, value in hop.form],
        "status": hop.status,
        "resp_headers": [[name, value] for name, value in hop.resp_headers],
        "resp_body": body_dict(hop.resp_body),
        "resp_truncated": hop.resp_truncated,
        "location": hop.location,
        "error": hop.error,
    }


def body_dict(body: bytes | None) -> dict | None:
    if body is None:
        return None
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}
