"""A small MCP resource server (Streamable HTTP) speaking one revision of MCP, a 401 with
`WWW-Authenticate: Bearer resource_metadata=…` without a token, and its protected resource metadata (RFC 9728) under
the path-suffixed well-known URL. Tokens are checked with the provider in process (introspection without the HTTP),
audience included.

2025-11-25: POST /mcp for JSON-RPC after an `initialize` that mints an `Mcp-Session-Id`, a GET event stream held open
until the session's DELETE.
2026-07-28 (stateless; specification/2026-07-28/basic/transports/streamable-http): POST only (GET and DELETE
answered 405, as a modern-only server SHOULD), no session; each request's `MCP-Protocol-Version`, `Mcp-Method` and
`Mcp-Name` headers checked against its body (400 `HeaderMismatch` -32020 otherwise), the version in `_meta` checked
(400 `UnsupportedProtocolVersionError` -32022), `server/discover`, and `subscriptions/listen` answered with an
event stream that acknowledges the subscription and then stays open until the client leaves or the server stops."""

from __future__ import annotations

import json
import secrets
import threading
from typing import Callable

from oauthtrace.demo.mcp_revisions import MODERN_VERSION, PROTOCOL_VERSION, known_revision
from oauthtrace.web import App, Request, Response

MCP_PATH = "/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource" + MCP_PATH
STREAM_HOLD_SECONDS = 10  # a GET stream still open after this long is closed by the server
KEEPALIVE_SECONDS = 5  # "servers are encouraged to periodically emit an SSE comment line" on a listen stream
META = "io.modelcontextprotocol/"
HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION = -32020, -32022
NAMED_BY = {"tools/call": "name", "resources/read": "uri", "prompts/get": "name"}  # what Mcp-Name mirrors
SERVER_INFO = {"name": "oauthtrace demo MCP server", "version": "1"}
TOOLS = [{"name": "whoami", "description": "Who the token belongs to", "inputSchema": {"type": "object"}}]

BUGS = ("no-resource-metadata", "prm-resource-mismatch", "token-rejected")
ELSEWHERE = "https://mcp.example.com/mcp"  # the public URL a misconfigured server names in its metadata


class McpServer:
    """`introspect(token)` returns an object with `resource` (the token's audience), or None for a bad token."""

    def __init__(self, authorization_server: str, introspect: Callable[[str], object | None], *, bug: str = "good",
                 revision: str = PROTOCOL_VERSION, host: str = "127.0.0.1", port: int = 0):
        self.authorization_server = authorization_server
        self.introspect = introspect
        self.bug = bug
        self.revision = known_revision(revision)
        self.app = App(host, port)
        self.sessions: dict[str, threading.Event] = {}
        self.stopped = threading.Event()  # ends the listen streams still open
        self._lock = threading.Lock()
        if revision == MODERN_VERSION:
            self.app.route("POST", MCP_PATH, self.modern_post)
            self.app.route("GET", MCP_PATH, self.not_allowed)
            self.app.route("DELETE", MCP_PATH, self.not_allowed)
        else:
            self.app.route("POST", MCP_PATH, self.post)
            self.app.route("GET", MCP_PATH, self.stream)
            self.app.route("DELETE", MCP_PATH, self.end_session)
        if bug != "no-resource-metadata":
            self.app.route("GET", PRM_PATH, self.resource_metadata)

    @property
    def url(self) -> str:
        return self.app.url

    @property
    def mcp_url(self) -> str:
        return self.url + MCP_PATH

    def start(self) -> "McpServer":
        self.app.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            for ended in self.sessions.values():
                ended.set()
        self.app.stop()

    # -- endpoints -----------------------------------------------------------------------------

    def resource_metadata(self, request: Request) -> Response:
        resource = ELSEWHERE if self.bug == "prm-resource-mismatch" else self.mcp_url
        return Response.json({"resource": resource, "authorization_servers": [self.authorization_server],
                              "scopes_supported": ["mcp"], "bearer_methods_supported": ["header"],
                              "resource_name": "oauthtrace demo MCP server"})

    def post(self, request: Request) -> Response:
        message = self._admit(request, method_required=False)
        if isinstance(message, Response):
            return message
        method = message.get("method")
        if method == "initialize":
            session = secrets.token_urlsafe(16)
            with self._lock:
                self.sessions[session] = threading.Event()
            result = {"protocolVersion": PROTOCOL_VERSION, "capabilities": {"tools": {}},
                      "serverInfo": {"name": "oauthtrace demo MCP server", "version": "1"}}
            event = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result})
            return Response(200, f"event: message\ndata: {event}\n\n", "text/event-stream",
                            {"Mcp-Session-Id": session, "Cache-Control": "no-cache"})
        if method == "tools/list":
            return Response.json({"jsonrpc": "2.0", "id": message["id"], "result": {"tools": TOOLS}})
        if method == "tools/call":
            content = [{"type": "text", "text": "demo"}]
            return Response.json({"jsonrpc": "2.0", "id": message["id"], "result": {"content": content}})
        return _rpc_error(message.get("id"), -32601, "Method not found")

    def stream(self, request: Request) -> Response:
        """The server-to-client event stream: held open until the session ends (DELETE) or a while passes."""
        refused = self._refuse(request)
        if refused is not None:
            return refused
        with self._lock:
            ended = self.sessions.get(request.headers.get("mcp-session-id") or "")
        if ended is None:
            return Response(404, b"", "text/plain")
        ended.wait(STREAM_HOLD_SECONDS)
        return Response(200, ": stream open\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                        "\"notifications/tools/list_changed\"}\n\n", "text/event-stream", {"Cache-Control": "no-cache"})

    def end_session(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        with self._lock:
            ended = self.sessions.pop(request.headers.get("mcp-session-id") or "", None)
        if ended is None:
            return Response(404, b"", "text/plain")
        ended.set()
        return Response(200, b"", "text/plain")

    # -- 2026-07-28: stateless ----------------------------------------------------------------------

    def modern_post(self, request: Request) -> Response:
        message = self._admit(request, method_required=True)
        if isinstance(message, Response):
            return message
        invalid = _invalid_modern_request(request, message)
        if invalid is not None:
            return invalid
        method, message_id = message["method"], message["id"]
        if method == "server/discover":
            return _result(message_id, {"supportedVersions": [MODERN_VERSION],
                                        "capabilities": {"tools": {"listChanged": True}},
                                        "ttlMs": 60000, "cacheScope": "private"})
        if method == "subscriptions/listen":
            return self._listen(message)
        if method == "tools/list":
            return _result(message_id, {"tools": TOOLS, "ttlMs": 60000, "cacheScope": "private"})
        if method == "tools/call":
            return _result(message_id, {"content": [{"type": "text", "text": "demo"}]})
        # "If the server does not implement the requested RPC method, it MUST respond with 404 Not Found"
        return _rpc_error(message_id, -32601, "Method not found", 404)

    def _listen(self, message: dict) -> Response:
        """The notification stream: the acknowledgment first ("MUST be the first message the server sends"), then
        keep-alive comments until the client leaves or the server stops, which ends it gracefully."""
        wanted = message.get("params", {}).get("notifications")
        honored = {"toolsListChanged": True} if isinstance(wanted, dict) and wanted.get("toolsListChanged") else {}
        subscription = {META + "subscriptionId": message["id"]}
        acknowledged = {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                        "params": {"notifications": honored, "_meta": subscription}}
        closed = {"jsonrpc": "2.0", "id": message["id"],
                  "result": {"resultType": "complete", "_meta": {**subscription, META + "serverInfo": SERVER_INFO}}}

        def stream(write) -> None:
            write(_event(acknowledged))
            while not self.stopped.wait(KEEPALIVE_SECONDS):
                write(b":\n\n")
            write(_event(closed))

        return Response(200, b"", "text/event-stream", {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                        stream=stream)

    def not_allowed(self, request: Request) -> Response:
        # "HTTP GET or DELETE to the MCP endpoint: respond with 405 Method Not Allowed" (no GET stream, no session)
        return Response(405, b"", "text/plain", {"Allow": "POST"})

    # -- authorization -------------------------------------------------------------------------

    def _refuse(self, request: Request) -> Response | None:
        """401 unless the request carries a token the provider issued for this server (RFC 6750 §3, RFC 8707)."""
        auth = request.headers.get("authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            return self._challenge(None)
        info = self.introspect(token)
        if info is None:
            return self._challenge("invalid_token", "unknown or expired token")
        audience = getattr(info, "resource", None)
        expected = ELSEWHERE if self.bug == "token-rejected" else self.mcp_url
        if audience is not None and audience != expected:
            return self._challenge("invalid_token", "the token was issued for another resource")
        return None

    def _admit(self, request: Request, *, method_required: bool) -> dict | Response:
        """What every POST to the MCP endpoint passes in either revision: a token for this server, then a JSON-RPC
        2.0 object (with a `method` where the revision requires one). Returns the request message, or the response
        that ends the exchange here: the refusal, the JSON-RPC error, or 202 for a notification ("If the server
        accepts it … 202 Accepted with no body")."""
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            message = json.loads(request.body or b"null")
        except ValueError:
            return _rpc_error(None, -32700, "Parse error", 400)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or \
                (method_required and "method" not in message):
            return _rpc_error(None, -32600, "Invalid Request", 400)
        if "id" not in message:
            return Response(202, b"", "text/plain")
        return message

    def _challenge(self, error: str | None, description: str = "") -> Response:
        if self.bug == "no-resource-metadata":
            parts = ['realm="mcp"']
        else:
            parts = [f'resource_metadata="{self.url}{PRM_PATH}"']
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        return Response.json({"error": error or "unauthorized"}, 401,
                             {"WWW-Authenticate": "Bearer " + ", ".join(parts)})


def _rpc_error(message_id, code: int, text: str, status: int = 200, data: dict | None = None) -> Response:
    error = {"code": code, "message": text, **({"data": data} if data is not None else {})}
    return Response.json({"jsonrpc": "2.0", "id": message_id, "error": error}, status)


def _result(message_id, result: dict) -> Response:
    """A 2026-07-28 result: `resultType` required, the server named in `_meta` (SHOULD)."""
    return Response.json({"jsonrpc": "2.0", "id": message_id, "result": {
        **result, "resultType": "complete", "_meta": {META + "serverInfo": SERVER_INFO}}})


def _event(message: dict) -> bytes:
    return f"event: message\ndata: {json.dumps(message)}\n\n".encode()


def _invalid_modern_request(request: Request, message: dict) -> Response | None:
    """Server validation (streamable-http "Server Validation"): the headers must be there and match the body,
    and the version in `_meta` must be one this server speaks."""
    message_id, method = message.get("id"), message["method"]
    params = message.get("params") if isinstance(message.get("params"), dict) else {}
    meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
    version = meta.get(META + "protocolVersion")
    header = request.headers.get("mcp-protocol-version")
    if request.headers.get("mcp-method") != method or not header or header != version:
        return _rpc_error(message_id, HEADER_MISMATCH, f"Header mismatch: MCP-Protocol-Version and Mcp-Method must "
                          f"match the body (this server speaks {MODERN_VERSION})", 400)
    named_by = NAMED_BY.get(method)
    if named_by and request.headers.get("mcp-name") != params.get(named_by):
        return _rpc_error(message_id, HEADER_MISMATCH, f"Header mismatch: Mcp-Name must match params.{named_by}", 400)
    if version != MODERN_VERSION:
        return _rpc_error(message_id, UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version", 400,
                          {"supported": [MODERN_VERSION], "requested": version})
    return None
