"""The demo provider as an MCP connector meets it: dynamic client registration (RFC 7591), PKCE S256 required,
resource indicators (RFC 8707) bound into the tokens it issues."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from oauthtrace.demo.provider import CODE_TTL, DemoProvider, _pkce_ok, _redirect_error, _token_error
from oauthtrace.web import Request, Response

SCOPE = "mcp"


@dataclass
class Client:
    client_id: str
    redirect_uris: list[str]
    auth_method: str


@dataclass
class McpGrant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    method: str
    resource: str | None
    issued: float = field(default_factory=time.time)


@dataclass
class TokenInfo:
    client_id: str
    scope: str
    resource: str | None  # the audience the token is bound to (RFC 8707); None when the client named none


class McpProvider(DemoProvider):
    """`reject_connector_redirects`: registration refuses `/connector/oauth/<id>` redirect URIs, as an allowlist
    written before ChatGPT's per-connector callbacks does."""

    def __init__(self, *, reject_connector_redirects: bool = False, host: str = "127.0.0.1", port: int = 0):
        super().__init__("good", host=host, port=port)
        self.reject_connector_redirects = reject_connector_redirects
        self.clients: dict[str, Client] = {}
        self._grants: dict[str, McpGrant] = {}
        self._issued: dict[str, TokenInfo] = {}
        self._mcp_lock = threading.Lock()
        self.app.route("POST", "/register", self.register)

    def token_info(self, access_token: str) -> TokenInfo | None:
        """What the resource server learns by introspecting a token (done in process, not over HTTP)."""
        with self._mcp_lock:
            return self._issued.get(access_token)

    # -- endpoints -----------------------------------------------------------------------------

    def metadata(self, request: Request) -> Response:
        return Response.json({
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "registration_endpoint": f"{self.url}/register",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": [SCOPE],
        })

    def register(self, request: Request) -> Response:
        try:
            document = json.loads(request.body or b"{}")
        except ValueError:
            document = None
        uris = document.get("redirect_uris") if isinstance(document, dict) else None
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
            return _registration_error("invalid_client_metadata", "redirect_uris must be a non-empty list")
        for uri in uris:
            if self.reject_connector_redirects and "/connector/oauth/" in urlsplit(uri).path:
                return _registration_error("invalid_redirect_uri",
                                           f"Redirect URI '{uri}' does not match allowed patterns")
            if not _https_or_loopback(uri):
                return _registration_error("invalid_redirect_uri", f"Redirect URI '{uri}' must use https")
        method = document.get("token_endpoint_auth_method", "none")
        if method != "none":
            return _registration_error("invalid_client_metadata", "only public clients (none) are supported")
        client = Client(f"mcp-{secrets.token_urlsafe(12)}", list(uris), method)
        with self._mcp_lock:
            self.clients[client.client_id] = client
        answer = {**{k: v for k, v in document.items() if k != "client_secret"}, "client_id": client.client_id,
                  "client_id_issued_at": int(time.time()), "token_endpoint_auth_method": method}
        return Response.json(answer, 201, {"Cache-Control": "no-store"})

    def _registered_redirect_uris(self, client_id: str) -> list[str] | None:
        client = self.clients.get(client_id)  # registration refuses an empty list
        return None if client is None else client.redirect_uris

    def _authorize_refusal(self, args: dict) -> Response | None:
        refusal = super()._authorize_refusal(args)
        if refusal is None and (not args.get("code_challenge") or args.get("code_challenge_method") != "S256"):
            return _redirect_error(args, "invalid_request", keep_state=True)
        return refusal

    def _keep_grant(self, code: str, form: dict) -> None:
        with self._mcp_lock:
            self._grants[code] = McpGrant(form.get("client_id", ""), form.get("redirect_uri", ""),
                                          form.get("scope") or SCOPE, form.get("code_challenge", ""),
                                          form.get("code_challenge_method", ""), form.get("resource") or None)

    def token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") not in self.clients:
            return _token_error("invalid_client", 401, {"WWW-Authenticate": 'Basic realm="demo"'})
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        with self._mcp_lock:
            grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or time.time() - grant.issued > CODE_TTL or grant.client_id != form.get("client_id"):
            return _token_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant", description="redirect_uri does not match the authorization request")
        if not _pkce_ok(form.get("code_verifier", ""), grant):
            return _token_error("invalid_grant", description="code_verifier does not match the challenge")
        resource = form.get("resource") or grant.resource
        if grant.resource and resource != grant.resource:
            return _token_error("invalid_target", description="resource differs from the authorization request")
        access = secrets.token_urlsafe(32)
        with self._mcp_lock:
            self._issued[access] = TokenInfo(grant.client_id, grant.scope, resource)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": grant.scope}
        return Response.json(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _https_or_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))


def _registration_error(error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, 400, {"Cache-Control": "no-store"})
