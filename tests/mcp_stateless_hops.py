"""Hand-made hops of an MCP 2026-07-28 (stateless) connector session, shaped as the revision's Streamable HTTP page
shows its requests (specification/2026-07-28/basic/transports/streamable-http, "Request Metadata"): every POST with
`MCP-Protocol-Version` and `Mcp-Method` (and `Mcp-Name` for tools/call), the version, client info and capabilities in
the body's `_meta`, no `initialize`, no `Mcp-Session-Id`, no GET stream.

    stateless_flow()                                    # the good session
    stateless_flow(calls=[("server/discover", 401)])    # the RS refuses the fresh token
    stateless_flow(calls=[legacy_call(400, HEADER_MISMATCH)])   # a 2025-11-25 client at a 2026-07-28-only server

The OAuth chain is tests.mcp_hops' (its first MCP request made a `server/discover`); after the token: server/discover,
a subscriptions/listen stream held open until the recording stopped (recorded as the recorder stores it: 200, the
acknowledgment, and the recorder's own note that it stopped), tools/list and tools/call.
"""

from __future__ import annotations

import json

from tests.hops import ECHO, Flow, _pick, make_hop, renumber
from tests.mcp_hops import ACCESS_TOKEN, BACK, INITIALIZE, MCP_URL, mcp_flow, registration_request

VERSION = "2026-07-28"
META = "io.modelcontextprotocol/"
HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION = -32020, -32022
STOPPED = "The recording stopped while the event stream was still open."  # capture.recorder.STOPPED_WHILE_STREAMING
SERVER_INFO = {META + "serverInfo": {"name": "demo", "version": "1"}}
GOOD_CALLS = [("server/discover", 200), ("subscriptions/listen", 200), ("tools/list", 200), ("tools/call", 200)]


def modern_request(method: str, params: dict | None = None, *, message_id: int = 1,
                   version: str = VERSION) -> tuple[dict, list[tuple[str, str]]]:
    """(JSON-RPC body, request headers) of one 2026-07-28 request, the headers mirroring the body."""
    params = dict(params or {})
    if method == "tools/call":
        params.setdefault("name", "whoami")
        params.setdefault("arguments", {})
    params["_meta"] = {META + "protocolVersion": version, META + "clientInfo": {"name": "Connector", "version": "1"},
                       META + "clientCapabilities": {}}
    headers = [("MCP-Protocol-Version", version), ("Mcp-Method", method)]
    if method == "tools/call":
        headers.append(("Mcp-Name", params["name"]))
    return {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}, headers


def legacy_call(status: int, code: int | None = None):
    """A 2025-11-25 `initialize` with the token (no MCP headers), answered `status`, with a 2026-07-28 error."""
    return ("initialize", status, code)


def stateless_flow(*, calls=ECHO, call_delay: float = 0.3, **knobs) -> Flow:
    """The whole session as the recorder stores it. `calls`: (method, status) or (method, status, error code),
    after the token; a ("initialize", …) call is made the legacy way."""
    # a 2026-07-28 client registers with an application_type (SEP-837); ChatGPT and Claude are web clients
    knobs.setdefault("register", registration_request(application_type="web"))
    chain = mcp_flow(calls=[], call_delay=call_delay, **knobs)
    hops = list(chain)
    challenge = hops[0]
    if challenge.method == "POST" and challenge.req_json() == INITIALIZE:
        body, headers = modern_request("server/discover")
        challenge.req_body = json.dumps(body).encode()
        challenge.req_headers = [*challenge.req_headers, *headers]
        challenge.derived = None  # its old body was parsed above
    if chain.token is not None and knobs.get("back_channel", True):
        t = max(hop.ended or hop.started for hop in hops) + call_delay
        made = [_call(t + 0.1 * number, number + 1, *call) for number, call in enumerate(_pick(calls, GOOD_CALLS))]
        end = max((hop.started for hop in made), default=t) + 0.5
        for hop in made:
            if hop.resp_content_type == "text/event-stream" and hop.error == STOPPED:
                hop.ended = end  # still open after the calls that followed it, cut when the recording stopped
        hops += made
    result = Flow(renumber(hops))
    for name in ("authorize", "login_page", "login_post", "authz_response", "callback", "token"):
        setattr(result, name, getattr(chain, name, None))
    return result


def _call(started: float, message_id: int, method: str, status: int, code: int | None = None):
    auth = [("Authorization", f"Bearer {ACCESS_TOKEN}")]
    if method == "initialize":
        body, headers = {**INITIALIZE, "id": message_id}, []
    else:
        body, headers = modern_request(method, {"notifications": {"toolsListChanged": True}}
                                       if method == "subscriptions/listen" else None, message_id=message_id)
    hop = make_hop(0, "POST", MCP_URL, started=started, ended=started + 0.05, listener=BACK, json_body=body,
                   req_headers=auth + headers, status=status)
    if code is not None:
        error = {"code": code, "message": "Header mismatch" if code == HEADER_MISMATCH else "Unsupported protocol"}
        if code == UNSUPPORTED_PROTOCOL_VERSION:
            error["data"] = {"supported": [VERSION], "requested": "2025-11-25"}
        _answer(hop, {"jsonrpc": "2.0", "id": message_id, "error": error}, "application/json")
    elif status >= 400:
        hop.resp_headers = [("WWW-Authenticate", 'Bearer error="invalid_token"')]
        _answer(hop, {"error": "invalid_token"}, "application/json")
    elif method == "subscriptions/listen":
        ack = {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
               "params": {"notifications": {"toolsListChanged": True}, "_meta": {META + "subscriptionId": message_id}}}
        hop.resp_headers = [("Content-Type", "text/event-stream")]
        hop.resp_body = f"event: message\ndata: {json.dumps(ack)}\n\n".encode()
        hop.error = STOPPED
    else:
        result = {"supportedVersions": [VERSION], "capabilities": {"tools": {}}} if method == "server/discover" else {}
        _answer(hop, {"jsonrpc": "2.0", "id": message_id,
                      "result": {**result, "resultType": "complete", "_meta": SERVER_INFO}}, "application/json")
    return hop


def _answer(hop, document: dict, content_type: str) -> None:
    hop.resp_headers = [*hop.resp_headers, ("Content-Type", content_type)]
    hop.resp_body = json.dumps(document).encode()
