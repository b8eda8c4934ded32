"""An MCP server built with the MCP Python SDK (`mcp`), auth included: the SDK's authorization server routes
(RFC 8414 metadata, /authorize, /token, /register), its protected resource metadata under
/.well-known/oauth-protected-resource/mcp, and its bearer middleware in front of Streamable HTTP.

Run in the SDK's own virtual environment (it does not import oauthtrace):

    python mcp_sdk_server.py PORT        # prints "READY http://127.0.0.1:PORT/mcp", serves until killed

The only code of ours is the provider's storage and its login page: /authorize answers with a redirect to
/login?request_id=… (no state: the SDK keeps it server-side), the login form posts back, and the provider then
redirects to the client with code and state.
"""

from __future__ import annotations

import secrets
import sys
import time

import uvicorn
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from mcp.server.auth.provider import (
    AccessToken, AuthorizationCode, AuthorizationParams, RefreshToken, TokenError, construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

USER, PASSWORD = "alice", "wonderland-42"
SCOPE = "mcp"


class Provider:
    """In-memory OAuthAuthorizationServerProvider for one test run."""

    def __init__(self, base: str, resource: str):
        self.base, self.resource = base, resource
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, tuple[str, AuthorizationParams]] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}

    async def get_client(self, client_id):
        return self.clients.get(client_id)

    async def register_client(self, client_info):
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client, params):
        request_id = secrets.token_urlsafe(16)
        self.pending[request_id] = (client.client_id, params)
        return f"{self.base}/login?request_id={request_id}"

    def complete(self, request_id: str) -> str | None:
        found = self.pending.pop(request_id, None)
        if found is None:
            return None
        client_id, params = found
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code, scopes=params.scopes or [SCOPE], expires_at=time.time() + 300, client_id=client_id,
            code_challenge=params.code_challenge, redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly, resource=params.resource,
            subject=USER)
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client, authorization_code):
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(self, client, authorization_code):
        self.codes.pop(authorization_code.code, None)
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client, refresh_token):
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(self, client, refresh_token, scopes):
        self.refresh.pop(refresh_token.token, None)
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token):
        found = self.tokens.get(token)
        if found is None or (found.expires_at and found.expires_at < time.time()):
            return None
        return found

    async def revoke_token(self, token):
        self.tokens.pop(token.token, None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        if resource is not None and resource != self.resource:
            raise TokenError("invalid_target", f"unknown resource {resource}")
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = int(time.time()) + 3600
        self.tokens[access] = AccessToken(token=access, client_id=client_id, scopes=scopes, expires_at=expires,
                                          resource=resource, subject=USER)
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes, resource=resource,
                                             subject=USER)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=3600, scope=" ".join(scopes),
                          refresh_token=refresh)


LOGIN_PAGE = """<!doctype html><html><head><title>Sign in</title></head><body>
<form method="post" action="/login"><input type="hidden" name="request_id" value="{request_id}">
<label>User <input name="username" value="{user}"></label>
<label>Password <input type="password" name="password" value="{password}"></label>
<button type="submit">Sign in</button></form>
<script>document.forms[0].submit()</script></body></html>"""


def build(port: int):
    base = f"http://127.0.0.1:{port}"
    resource = f"{base}/mcp"
    provider = Provider(base, resource)
    server = MCPServer(
        "oauthtrace interop", auth_server_provider=provider,
        auth=AuthSettings(
            # strings, not AnyHttpUrl: a path-less issuer keeps its canonical form (no trailing slash)
            issuer_url=base, resource_server_url=resource, validate_token_resource=True,
            required_scopes=[SCOPE],
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE],
                                                                  default_scopes=[SCOPE]),
        ),
    )

    @server.tool()
    def whoami() -> str:
        """The signed-in user."""
        return USER

    @server.custom_route("/login", methods=["GET"])
    async def login_page(request: Request) -> Response:
        return HTMLResponse(LOGIN_PAGE.format(request_id=request.query_params.get("request_id", ""), user=USER,
                                              password=PASSWORD))

    @server.custom_route("/login", methods=["POST"])
    async def login(request: Request) -> Response:
        form = await request.form()
        if form.get("username") != USER or form.get("password") != PASSWORD:
            return HTMLResponse("<h1>Wrong user name or password</h1>", 401)
        target = provider.complete(str(form.get("request_id", "")))
        if target is None:
            return HTMLResponse("<h1>Unknown or expired sign-in request</h1>", 400)
        return RedirectResponse(target, 302)

    return server.streamable_http_app(host="127.0.0.1")


def main() -> None:
    port = int(sys.argv[1])
    app = build(port)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    original = server.startup

    async def startup(*args, **kwargs):
        await original(*args, **kwargs)
        print(f"READY http://127.0.0.1:{port}/mcp", flush=True)

    server.startup = startup
    server.run()


if __name__ == "__main__":
    main()
