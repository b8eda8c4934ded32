"""A recorded hop as a curl command that re-sends the same request."""

from __future__ import annotations

import shlex

from oauthtrace.model import Hop

# curl computes these itself; copying them would be wrong once the request is edited.
_SKIPPED = {"content-length", "host", "transfer-encoding", "connection", "accept-encoding"}


def curl_command(hop: Hop) -> str:
    """`curl -X POST 'https://…' -H 'Name: value' --data-raw '…'`, one option per line."""
    parts = ["curl"]
    if hop.method != "GET" or hop.req_body:
        parts.append(f"-X {shlex.quote(hop.method)}")
    parts.append(shlex.quote(hop.url))
    for name, value in hop.req_headers:
        if name.lower() not in _SKIPPED:
            parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
    if hop.req_body:
        body = hop.req_body.decode("utf-8", errors="replace")
        parts.append(f"--data-raw {shlex.quote(body)}")
    if hop.http_version.upper().startswith("HTTP/2"):
        parts.append("--http2")
    return " \\\n  ".join(parts)
