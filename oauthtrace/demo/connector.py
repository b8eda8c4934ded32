"""A client that logs in to an MCP server the way ChatGPT's connectors do (MCP authorization 2025-11-25):

    first MCP request without a token → 401 → protected resource metadata (from resource_metadata, else the
    well-known URLs) → authorization server metadata (RFC 8414 path-insert, OIDC path-insert, OIDC path-append)
    → dynamic registration of its callback /connector/oauth/<id> → /authorize with PKCE S256, resource and state
    → callback → token with code_verifier and resource → MCP calls with the token.

The MCP calls follow the revision it speaks. 2025-11-25: initialize, the initialized notification, the GET event
stream, tools/list, and the DELETE that ends the session. 2026-07-28 (stateless): `server/discover`, a
`subscriptions/listen` stream opened and left open (it ends when the server or the connector stops), tools/list and
tools/call — every POST with `MCP-Protocol-Version`, `Mcp-Method` (and `Mcp-Name` for tools/call) headers and the
version, client info and capabilities in its `_meta`.

Its server-to-server calls go through `back_channel_proxy` (what HTTP_PROXY would be for ChatGPT's backend).
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from oauthtrace.demo.mcp_revisions import MODERN_VERSION, PROTOCOL_VERSION, known_revision
from oauthtrace.digests import s256
from oauthtrace.web import App, Request, Response

CONNECTOR_ID = "demo-connector"
CLIENT_INFO = {"name": "ChatGPT", "version": "1"}
META = "io.modelcontextprotocol/"
LISTEN_ACK_SECONDS = 10
# client mistakes the demo can make (the server's and provider's are theirs)
BUGS = ("resource-missing", "token-never-used", "callback-not-exchanged")


@dataclass
class Pending:
    verifier: str
    client_id: str
    token_endpoint: str
    resource: str | None


class Failed(Exception):
    """The connection cannot go on; the message is what the connector shows the user."""


class ConnectorClient:
    def __init__(self, mcp_url: str, *, back_channel_proxy: str | None = None, bug: str = "good",
                 revision: str = PROTOCOL_VERSION, host: str = "127.0.0.1", port: int = 0):
        self.mcp_url = mcp_url
        self.bug = bug
        self.revision = known_revision(revision)
        self.listening = threading.Event()  # the listen stream was acknowledged
        self._rpc_id = 0
        self.app = App(host, port)
        self.outcome: dict | None = None
        self.done = threading.Event()
        self._pending: dict[str, Pending] = {}
        proxies = {"http": back_channel_proxy, "https": back_channel_proxy} if back_channel_proxy else {}
        self._http = urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirect())
        self.app.route("GET", "/start", self.start_flow)
        self.app.route("GET", f"/connector/oauth/{CONNECTOR_ID}", self.callback)
        self.app.route("GET", "/connector/status", self.status)

    @property
    def url(self) -> str:
        return self.app.url

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/connector/oauth/{CONNECTOR_ID}"

    def start(self) -> "ConnectorClient":
        self.app.start()
        return self

    def stop(self) -> None:
        self.app.stop()

    # -- the browser's side ----------------------------------------------------------------------

    def start_flow(self, request: Request) -> Response:
        try:
            return Response.redirect(self._discover_and_register())
        except Failed as exc:
            return self._finish({"message": str(exc)}, 502)

    def callback(self, request: Request) -> Response:
        state, code, error = request.arg("state"), request.arg("code"), request.arg("error")
        pending = self._pending.pop(state or "", None)
        if pending is None:
            return self._finish({"message": "OAuth state not found"}, 400)
        if error or not code:
            return self._finish({"message": f"Authorization failed: {error or 'no code'}"}, 400)
        if self.bug == "callback-not-exchanged":
            # the connector's backend loses the code here (the provider did its part)
            return self._finish({"message": "Connecting…"}, 200)
        try:
            token = self._exchange(code, pending)
            if self.bug != "token-never-used":
                self._use(token)
        except Failed as exc:
            return self._finish({"message": str(exc)}, 502)
        return self._finish({"message": "Connected"}, 200)

    def status(self, request: Request) -> Response:
        return Response.json(self.outcome or {"message": "not connected"})

    # -- discovery and registration --------------------------------------------------------------

    def _discover_and_register(self) -> str:
        status, headers, _ = self._first_request()
        if status != 401:
            raise Failed(f"Expected the MCP server to ask for authorization, got {status}")
        prm = self._resource_metadata(_auth_param(headers.get("www-authenticate") or "", "resource_metadata"))
        if prm.get("resource") != self.mcp_url:
            raise Failed(f"Protected resource metadata is for {prm.get('resource')}, not {self.mcp_url}")
        servers = prm.get("authorization_servers") or []
        metadata = self._as_metadata(servers[0])
        if "S256" not in (metadata.get("code_challenge_methods_supported") or []):
            raise Failed("The authorization server does not support PKCE S256")
        client_id = self._register(metadata)
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(24)
        resource = None if self.bug == "resource-missing" else prm["resource"]
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": self.redirect_uri,
                  "state": state, "code_challenge": s256(verifier), "code_challenge_method": "S256", "scope": "mcp"}
        if resource:
            params["resource"] = resource
        self._pending[state] = Pending(verifier, client_id, metadata["token_endpoint"], resource)
        return f"{metadata['authorization_endpoint']}?{urlencode(params)}"

    def _resource_metadata(self, advertised: str | None) -> dict:
        parts = urlsplit(self.mcp_url)
        origin = f"{parts.scheme}://{parts.netloc}"
        candidates = [advertised] if advertised else [
            f"{origin}/.well-known/oauth-protected-resource{parts.path}", f"{origin}/.well-known/oauth-protected-resource"]
        for url in candidates:
            document = self._get_json(url)
            if document is not None:
                return document
        raise Failed("Could not find the MCP server's protected resource metadata")

    def _as_metadata(self, issuer: str) -> dict:
        parts = urlsplit(issuer)
        origin, suffix = f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/")
        for url in (f"{origin}/.well-known/oauth-authorization-server{suffix}",
                    f"{origin}/.well-known/openid-configuration{suffix}",
                    f"{origin}{suffix}/.well-known/openid-configuration"):
            document = self._get_json(url)
            if document is not None and document.get("issuer") == issuer:
                return document
        raise Failed(f"Could not find authorization server metadata for {issuer}")

    def _register(self, metadata: dict) -> str:
        endpoint = metadata.get("registration_endpoint")
        if not endpoint:
            raise Failed("The authorization server offers no dynamic client registration")
        body = {"client_name": "ChatGPT", "redirect_uris": [self.redirect_uri], "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}
        if self.revision == MODERN_VERSION:
            # 2026-07-28 (SEP-837) MUST: "native" for a loopback redirect URI (this demo's), "web" for a hosted one
            loopback = urlsplit(self.redirect_uri).hostname in ("127.0.0.1", "localhost", "::1")
            body["application_type"] = "native" if loopback else "web"
        status, _, answer = self._send("POST", endpoint, body)
        document = _json(answer)
        if status not in (200, 201) or not isinstance(document, dict) or not document.get("client_id"):
            detail = document.get("error_description") or document.get("error") if isinstance(document, dict) else None
            raise Failed(f"Client registration failed ({status}): {detail or 'no client_id'}")
        return document["client_id"]

    # -- token and MCP calls ---------------------------------------------------------------------

    def _exchange(self, code: str, pending: Pending) -> str:
        fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                  "client_id": pending.client_id, "code_verifier": pending.verifier}
        if pending.resource:
            fields["resource"] = pending.resource
        status, _, body = self._send("POST", pending.token_endpoint, urlencode(fields).encode(),
                                     content_type="application/x-www-form-urlencoded")
        tokens = _json(body)
        if status != 200 or not isinstance(tokens, dict) or not tokens.get("access_token"):
            raise Failed(f"Token request failed ({status})")
        return tokens["access_token"]

    def _first_request(self, headers: dict | None = None) -> tuple[int, dict, bytes]:
        """What opens the conversation: the legacy handshake, or 2026-07-28's discovery ("Clients MAY call it
        before any other request for up-front version selection")."""
        if self.revision == MODERN_VERSION:
            return self._modern("server/discover", {}, headers)
        return self._send("POST", self.mcp_url, _rpc("initialize", 1, {
            "protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "ChatGPT"}}),
            headers=headers)

    def _use(self, token: str) -> None:
        if self.revision == MODERN_VERSION:
            self._use_stateless(token)
            return
        auth = {"Authorization": f"Bearer {token}"}
        status, headers, _ = self._send("POST", self.mcp_url, _rpc("initialize", 1, {
            "protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "ChatGPT"}}), headers=auth)
        if status != 200:
            raise Failed(f"The MCP server refused the token ({status})")
        session = {**auth, "Mcp-Session-Id": headers.get("mcp-session-id") or "",
                   "MCP-Protocol-Version": PROTOCOL_VERSION}
        self._send("POST", self.mcp_url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        stream = threading.Thread(target=self._send, args=("GET", self.mcp_url, None),
                                  kwargs={"headers": {**session, "Accept": "text/event-stream"}}, daemon=True)
        stream.start()
        status, _, _ = self._send("POST", self.mcp_url, _rpc("tools/list", 2, {}), headers=session)
        if status != 200:
            raise Failed(f"tools/list failed ({status})")
        self._send("DELETE", self.mcp_url, None, headers=session)
        stream.join(15)

    def _use_stateless(self, token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        status, _, body = self._first_request(auth)
        discovered = _json(body)
        if status != 200:
            raise Failed(f"The MCP server refused the token ({status})")
        supported = ((discovered or {}).get("result") or {}).get("supportedVersions") or []
        if MODERN_VERSION not in supported:
            raise Failed(f"The MCP server does not speak {MODERN_VERSION} (it offers {', '.join(supported) or 'none'})")
        threading.Thread(target=self._listen, args=(auth,), daemon=True).start()
        if not self.listening.wait(LISTEN_ACK_SECONDS):
            raise Failed("The MCP server did not acknowledge the subscription")
        status, _, _ = self._modern("tools/list", {}, auth)
        if status != 200:
            raise Failed(f"tools/list failed ({status})")
        status, _, _ = self._modern("tools/call", {"name": "whoami", "arguments": {}}, auth)
        if status != 200:
            raise Failed(f"tools/call failed ({status})")

    def _listen(self, auth: dict) -> None:
        """Open the change-notification stream and read it until it ends (the server stops, or the recording does)."""
        message, headers = self._modern_message("subscriptions/listen", {"notifications": {"toolsListChanged": True}},
                                                auth)
        request = urllib.request.Request(self.mcp_url, data=json.dumps(message).encode(), method="POST", headers={
            "Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers})
        try:
            with self._http.open(request, timeout=60) as stream:
                for line in stream:
                    if line.startswith(b"data:") and b"notifications/subscriptions/acknowledged" in line:
                        self.listening.set()
        except (urllib.error.URLError, OSError, ValueError):
            pass  # the stream is gone; nothing waits on it any more

    def _modern(self, method: str, params: dict, headers: dict | None = None) -> tuple[int, dict, bytes]:
        message, request_headers = self._modern_message(method, params, headers)
        return self._send("POST", self.mcp_url, message, headers=request_headers)

    def _modern_message(self, method: str, params: dict, headers: dict | None) -> tuple[dict, dict]:
        """A 2026-07-28 request: the version, client info and capabilities in `_meta`, mirrored into the
        standard request headers (streamable-http "Request Metadata")."""
        self._rpc_id += 1
        meta = {META + "protocolVersion": MODERN_VERSION, META + "clientInfo": CLIENT_INFO,
                META + "clientCapabilities": {}}
        message = _rpc(method, self._rpc_id, {**params, "_meta": meta})
        mirrored = {"MCP-Protocol-Version": MODERN_VERSION, "Mcp-Method": method}
        if method == "tools/call":
            mirrored["Mcp-Name"] = params["name"]
        return message, {**(headers or {}), **mirrored}

    # -- HTTP ------------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict | None:
        status, _, body = self._send("GET", url, None)
        document = _json(body) if status == 200 else None
        return document if isinstance(document, dict) else None

    def _send(self, method: str, url: str, body, *, headers: dict | None = None,
              content_type: str = "application/json") -> tuple[int, dict, bytes]:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Accept": "application/json, text/event-stream", **({"Content-Type": content_type} if data else {}),
            **(headers or {})})
        try:
            with self._http.open(request, timeout=20) as reply:
                return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise Failed(f"{method} {url} failed: {exc}") from None

    def _finish(self, outcome: dict, status: int) -> Response:
        self.outcome = {**outcome, "status": status}
        self.done.set()
        return Response.json(outcome, status)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _rpc(method: str, message_id: int, params: dict) -> dict:
    return {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}


def _json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


def _auth_param(header: str, name: str) -> str | None:
    """One auth-param of a Bearer challenge, enough for this client (the analysis has the full parser)."""
    marker = f"{name}="
    at = header.find(marker)
    if at < 0:
        return None
    value = header[at + len(marker):]
    if value.startswith('"'):
        return value[1:].split('"', 1)[0]
    return value.split(",", 1)[0].strip()
