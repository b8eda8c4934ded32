"""The demo OAuth provider: a real authorization-code flow with a login form, and switchable bugs.

Each bug is one provider (or client) mistake seen in the wild, so the analysis has something true to find.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from oauthtrace.digests import s256
from oauthtrace.params import basic_client_credentials
from oauthtrace.web import App, Request, Response

BUGS = {
    "good": "a correct provider",
    "drop-state": "redirects to the callback with `code` but without `state` (the motivating case)",
    "mangle-state": "returns a truncated `state`",
    "error-without-state": "answers the login with `error=access_denied` and drops `state`",
    "token-form-encoded": "answers the token request form-encoded instead of JSON",
    "token-without-token_type": "leaves `token_type` out of the token response",
    "expires_in-as-string": 'sends `"expires_in": "3600"` as a string',
    "redirect-uri-mismatch": "the client sends another redirect_uri to /token (trailing slash); the provider refuses",
}

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password-7Qx"
DEMO_CLIENT_ID = "plugin-demo-client"
DEMO_CLIENT_SECRET = "demo-secret-Zr81kq0"
CODE_TTL = 600


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str | None
    issued: float = field(default_factory=time.time)


class DemoProvider:
    def __init__(self, bug: str = "good", *, redirect_uris: list[str] | None = None, autosubmit: bool = True,
                 host: str = "127.0.0.1", port: int = 0):
        if bug not in BUGS:
            raise ValueError(f"unknown bug {bug!r}; choose from {', '.join(BUGS)}")
        self.bug = bug
        self.autosubmit = autosubmit
        self.redirect_uris = list(redirect_uris or [])
        self.app = App(host, port)
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        for method, path, fn in (
            ("GET", "/.well-known/oauth-authorization-server", self.metadata),
            ("GET", "/.well-known/openid-configuration", self.metadata),
            ("GET", "/authorize", self.authorize),
            ("POST", "/login", self.login),
            ("POST", "/token", self.token),
            ("GET", "/userinfo", self.userinfo),
        ):
            self.app.route(method, path, fn)

    @property
    def url(self) -> str:
        return self.app.url

    def start(self) -> "DemoProvider":
        self.app.start()
        return self

    def stop(self) -> None:
        self.app.stop()

    # -- endpoints -----------------------------------------------------------------------------

    def metadata(self, request: Request) -> Response:
        return Response.json({
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        })

    def authorize(self, request: Request) -> Response:
        args = dict(request.query)
        refusal = self._authorize_refusal(args)
        if refusal is not None:
            return refusal
        return Response(200, self._login_page(args), "text/html; charset=utf-8",
                        {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def login(self, request: Request) -> Response:
        form = request.form
        if form.get("username") != DEMO_USER or form.get("password") != DEMO_PASSWORD:
            return _error_page("Wrong user name or password", 401)
        if self.bug == "error-without-state":
            return _redirect_error(form, "access_denied", keep_state=False)
        code = secrets.token_urlsafe(24)
        self._keep_grant(code, form)
        params = {"code": code}
        state = form.get("state")
        if state and self.bug != "drop-state":
            params["state"] = state[:-6] if self.bug == "mangle-state" else state
        # 303, not 307: the browser must not re-POST the password to the client (RFC 9700 §4.12).
        return Response.redirect(_append(form.get("redirect_uri", ""), params), 303)

    def _registered_redirect_uris(self, client_id: str) -> list[str] | None:
        """The redirect URIs registered for this client (none: any is accepted); None for an unknown client."""
        return self.redirect_uris if client_id == DEMO_CLIENT_ID else None

    def _authorize_refusal(self, args: dict) -> Response | None:
        """The error an authorization request gets before any login page, or None when it may go on."""
        registered = self._registered_redirect_uris(args.get("client_id", ""))
        if registered is None:
            return _error_page("Unknown client_id", 400)
        if registered and args.get("redirect_uri") not in registered:
            return _error_page("redirect_uri is not registered for this client", 400)
        if args.get("response_type") != "code":
            return _redirect_error(args, "unsupported_response_type", keep_state=True)
        return None

    def _keep_grant(self, code: str, form: dict) -> None:
        """Remember what the login granted under its code, for the token request."""
        with self._lock:
            self._codes[code] = Grant(form.get("client_id", ""), form.get("redirect_uri", ""),
                                      form.get("scope", ""), form.get("code_challenge") or None,
                                      form.get("code_challenge_method") or None)

    def token(self, request: Request) -> Response:
        form = request.form
        client_id, secret = _client_credentials(request, form)
        if client_id != DEMO_CLIENT_ID or secret != DEMO_CLIENT_SECRET:
            return _token_error("invalid_client", 401, {"WWW-Authenticate": 'Basic realm="demo"'})
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh(form)
        if grant_type != "authorization_code":
            return _token_error("unsupported_grant_type")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or time.time() - grant.issued > CODE_TTL:
            return _token_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _token_error("invalid_grant", description="redirect_uri does not match the authorization request")
        if grant.challenge and not _pkce_ok(form.get("code_verifier", ""), grant):
            return _token_error("invalid_grant", description="code_verifier does not match the challenge")
        return self._issue(grant.scope)

    def userinfo(self, request: Request) -> Response:
        auth = request.headers.get("authorization") or ""
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if token not in self._tokens:
            return Response.json({"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return Response.json({"sub": "user-1", "preferred_username": DEMO_USER})

    # -- helpers -------------------------------------------------------------------------------

    def _refresh(self, form: dict) -> Response:
        if form.get("refresh_token") not in self._tokens.values():
            return _token_error("invalid_grant")
        return self._issue(form.get("scope", ""))

    def _issue(self, scope: str) -> Response:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access] = refresh
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh}
        if scope:
            body["scope"] = scope
        if self.bug == "token-without-token_type":
            del body["token_type"]
        if self.bug == "expires_in-as-string":
            body["expires_in"] = "3600"
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if self.bug == "token-form-encoded":
            return Response(200, urlencode({k: str(v) for k, v in body.items()}),
                            "application/x-www-form-urlencoded", headers)
        return Response.json(body, 200, headers)

    def _login_page(self, args: dict) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in args.items()
        )
        submit = "<script>document.forms[0].submit()</script>" if self.autosubmit else ""
        return (
            "<!doctype html><html><head><title>Demo provider: sign in</title></head><body>"
            "<h1>Sign in to the demo provider</h1>"
            f'<form method="post" action="/login">{hidden}'
            f'<label>User <input name="username" value="{DEMO_USER}"></label>'
            f'<label>Password <input type="password" name="password" value="{DEMO_PASSWORD}"></label>'
            '<button type="submit">Sign in and allow</button></form>'
            f"{submit}</body></html>"
        )


def _client_credentials(request: Request, form: dict) -> tuple[str | None, str | None]:
    basic = basic_client_credentials(request.headers.get("authorization"))
    if basic:
        return basic
    return form.get("client_id"), form.get("client_secret")


def _pkce_ok(verifier: str, grant: Grant) -> bool:
    if grant.method == "S256":
        return s256(verifier) == grant.challenge
    return verifier == grant.challenge


def _append(url: str, params: dict) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}{urlencode(params)}"


def _redirect_error(args: dict, error: str, *, keep_state: bool) -> Response:
    params = {"error": error, "error_description": "The user did not allow access"}
    if keep_state and args.get("state"):
        params["state"] = args["state"]
    return Response.redirect(_append(args.get("redirect_uri", ""), params), 303)


def _token_error(error: str, status: int = 400, headers: dict | None = None, description: str = "") -> Response:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return Response.json(body, status, {"Cache-Control": "no-store", **(headers or {})})


def _error_page(message: str, status: int) -> Response:
    return Response(status, f"<!doctype html><h1>{html.escape(message)}</h1>", "text/html; charset=utf-8")
