"""A ChatGPT-plugin-like OAuth client: it starts the flow, checks `state` at its callback, and exchanges the
code server to server, the way ChatGPT's plugin and GPT Action backend does."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from oauthtrace.demo.provider import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from oauthtrace.digests import s256
from oauthtrace.web import App, Request, Response

PLUGIN_ID = "plugin-demo"
MISSING_STATE = {"message": "Missing `state` param in response from OAuth provider"}


@dataclass
class Pending:
    verifier: str | None


class DemoClient:
    """Server-to-server calls go to `back_channel_url` (a reverse proxy in front of the provider, as when the
    token URL is pointed at `oauthtrace record --reverse`), or through `back_channel_proxy` (what HTTP_PROXY
    would be for a real client's server)."""

    def __init__(self, provider_url: str, *, back_channel_url: str | None = None,
                 back_channel_proxy: str | None = None,
                 pkce: bool = False, scope: str = "profile", redirect_suffix: str = "",
                 host: str = "127.0.0.1", port: int = 0):
        self.provider_url = provider_url
        self.back_channel_url = back_channel_url or provider_url
        self.pkce = pkce
        self.scope = scope
        self.redirect_suffix = redirect_suffix  # "/" reproduces the redirect-uri-mismatch client bug
        self.app = App(host, port)
        self.outcome: dict | None = None
        self.done = threading.Event()
        self._pending: dict[str, Pending] = {}
        proxies = {"http": back_channel_proxy, "https": back_channel_proxy} if back_channel_proxy else {}
        self._http = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))
        self.app.route("GET", "/start", self.start_flow)
        self.app.route("GET", f"/aip/{PLUGIN_ID}/oauth/callback", self.callback)

    @property
    def url(self) -> str:
        return self.app.url

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/aip/{PLUGIN_ID}/oauth/callback"

    def start(self) -> "DemoClient":
        self.app.start()
        return self

    def stop(self) -> None:
        self.app.stop()

    def start_flow(self, request: Request) -> Response:
        state = secrets.token_urlsafe(24)
        params = {"response_type": "code", "client_id": DEMO_CLIENT_ID, "scope": self.scope,
                  "redirect_uri": self.redirect_uri, "state": state}
        verifier = None
        if self.pkce:
            verifier = secrets.token_urlsafe(48)
            params["code_challenge"] = s256(verifier)
            params["code_challenge_method"] = "S256"
        self._pending[state] = Pending(verifier)
        return Response.redirect(f"{self.provider_url}/authorize?{urlencode(params)}")

    def callback(self, request: Request) -> Response:
        state, code, error = request.arg("state"), request.arg("code"), request.arg("error")
        if not state:
            return self._finish(MISSING_STATE, 400)
        pending = self._pending.pop(state, None)
        if pending is None:
            return self._finish({"message": "Invalid `state` param in response from OAuth provider"}, 400)
        if error:
            return self._finish({"message": f"OAuth provider returned error: {error}"}, 400)
        if not code:
            return self._finish({"message": "Missing `code` param in response from OAuth provider"}, 400)
        return self._exchange(code, pending)

    def _exchange(self, code: str, pending: Pending) -> Response:
        fields = {"grant_type": "authorization_code", "code": code,
                  "redirect_uri": self.redirect_uri + self.redirect_suffix,
                  "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
        if pending.verifier:
            fields["code_verifier"] = pending.verifier
        status, content_type, body = self._post(f"{self.back_channel_url}/token", urlencode(fields).encode())
        try:
            tokens = json.loads(body)
        except ValueError:
            return self._finish({"message": f"Token response is not JSON ({content_type or 'no content type'})"}, 502)
        if status != 200 or "access_token" not in tokens:
            return self._finish({"message": f"Token request failed: {tokens.get('error', status)}"}, 502)
        if str(tokens.get("token_type", "")).lower() != "bearer":
            return self._finish({"message": "Token response has no token_type Bearer"}, 502)
        if not isinstance(tokens.get("expires_in", 0), int):
            return self._finish({"message": "expires_in must be a number"}, 502)
        profile = self._userinfo(tokens["access_token"])
        return self._finish({"message": "Connected", "user": profile.get("preferred_username")}, 200)

    def _post(self, url: str, data: bytes) -> tuple[int, str, bytes]:
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Accept": "application/json"})
        try:
            with self._http.open(request, timeout=15) as reply:
                return reply.status, reply.headers.get("content-type", ""), reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("content-type", ""), exc.read()

    def _userinfo(self, access_token: str) -> dict:
        request = urllib.request.Request(f"{self.back_channel_url}/userinfo",
                                         headers={"Authorization": f"Bearer {access_token}"})
        try:
            with self._http.open(request, timeout=15) as reply:
                return json.loads(reply.read())
        except (urllib.error.URLError, ValueError):
            return {}

    def _finish(self, outcome: dict, status: int) -> Response:
        self.outcome = {**outcome, "status": status}
        self.done.set()
        return Response.json(outcome, status)
