"""mitmproxy flow files (`mitmdump -w`, any format version mitmproxy can still read) -> hops.

Flows become hops through oauthtrace.flows.hop_from_flow, the function the live recorder uses, so an imported flow
file lints exactly like the same traffic recorded live. Flows that are not HTTP (TCP, UDP, DNS) are skipped.
"""

from __future__ import annotations

import io
from typing import Callable

from oauthtrace.interchange.fields import BadInput
from oauthtrace.interchange.ordering import number_hops
from oauthtrace.model import Hop


def looks_like_flow_file(data: bytes) -> bool:
    """mitmproxy writes tnetstrings: a decimal length, a colon, then the payload."""
    head = data[:12]
    digits = len(head) - len(head.lstrip(b"0123456789"))
    return 0 < digits < 11 and head[digits:digits + 1] == b":"


def hops_from_flow_file(data: bytes, *, trace_id: int = 0, on_flow: Callable[[int], None] | None = None
                        ) -> tuple[list[Hop], int]:
    """(hops, number of non-HTTP flows skipped)."""
    # mitmproxy (and flows, which imports it) only when a flow file is read: HAR and JSON imports start faster
    from mitmproxy import http
    from mitmproxy.io import FlowReader

    from oauthtrace.flows import SEQ_KEY, hop_from_flow

    hops, recorded, skipped = [], [], 0
    reader = FlowReader(io.BytesIO(data))
    number = 0
    try:
        for number, flow in enumerate(reader.stream(), 1):
            if not isinstance(flow, http.HTTPFlow):
                skipped += 1
                continue
            hops.append(hop_from_flow(flow, trace_id=trace_id, seq=number))
            recorded.append(flow.metadata.get(SEQ_KEY))
            if on_flow and number % 500 == 0:
                on_flow(500)
    except Exception as exc:  # noqa: BLE001 - mitmproxy raises many kinds on corrupt input; all mean "bad file"
        raise BadInput(f"flow {number + 1}: cannot be read ({_reason(exc)})") from None
    if number == 0:
        raise BadInput("no flows in this mitmproxy flow file")
    return number_hops(hops, recorded), skipped


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:160] + "…"
