"""A small MCP resource server (Streamable HTTP): POST /mcp for JSON-RPC, a GET event stream held open until the
session's DELETE, a 401 with `WWW-Authenticate: Bearer resource_metadata=…` without a token, and its protected
resource metadata (RFC 9728) under the path-suffixed well-known URL. Tokens are checked with the provider in
process (introspection without the HTTP), audience included."""

from __future__ import annotations

import json
import secrets
import threading
from typing import Callable

from oauthtrace.demo.web import App, Request, Response

MCP_PATH = "/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource" + MCP_PATH
PROTOCOL_VERSION = "2025-11-25"
STREAM_HOLD_SECONDS = 10  # a GET stream still open after this long is closed by the server

BUGS = ("no-resource-metadata", "prm-resource-mismatch", "token-rejected")
ELSEWHERE = "https://mcp.example.com/mcp"  # the public URL a misconfigured server names in its metadata


class McpServer:
    """`introspect(token)` returns an object with `resource` (the token's audience), or None for a bad token."""

    def __init__(self, authorization_server: str, introspect: Callable[[str], object | None], *, bug: str = "good",
                 host: str = "127.0.0.1", port: int = 0):
        self.authorization_server = authorization_server
        self.introspect = introspect
        self.bug = bug
        self.app = App(host, port)
        self.sessions: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
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
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            message = json.loads(request.body or b"null")
        except ValueError:
            return _rpc_error(None, -32700, "Parse error", 400)
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return _rpc_error(None, -32600, "Invalid Request", 400)
        if "id" not in message:
            return Response(202, b"", "text/plain")  # a notification: accepted, no body
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
            tools = [{"name": "whoami", "description": "Who the token belongs to", "inputSchema": {"type": "object"}}]
            return Response.json({"jsonrpc": "2.0", "id": message["id"], "result": {"tools": tools}})
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

    def _challenge(self, error: str | None, description: str = "") -> Response:
        if self.bug == "no-resource-metadata":
            parts = ['realm="mcp"']
        else:
            parts = [f'resource_metadata="{self.url}{PRM_PATH}"']
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        return Response.json({"error": error or "unauthorized"}, 401,
                             {"WWW-Authenticate": "Bearer " + ", ".join(parts)})


def _rpc_error(message_id, code: int, text: str, status: int = 200) -> Response:
    return Response.json({"jsonrpc": "2.0", "id": message_id, "error": {"code": code, "message": text}}, status)
