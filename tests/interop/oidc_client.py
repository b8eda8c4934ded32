"""A small OpenID Connect relying party on loopback, written with urllib only: code flow with PKCE S256 and nonce.

The browser opens `/start` and lands on `/cb` (a GET, or a POST with response_mode=form_post). The server-side calls
(discovery, token, userinfo, an optional refresh) go through the recorder: via its explicit proxy, as a client
server run with HTTP_PROXY would send them, or to a reverse listener in front of the provider.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from oauthtrace.web import ServedInThread
from tests.interop.relying_party import PageHandler, jwt_claims

CALLBACK_PATH = "/cb"


class OidcClient(ServedInThread):
    def __init__(self, *, client_id: str, client_secret: str = "", response_mode: str = "query",
                 refresh: bool = False, par: bool = False):
        self.client_id = client_id
        self.client_secret = client_secret  # "" for a public client
        self.response_mode = response_mode
        self.refresh = refresh  # ask for offline_access and use the refresh token once
        self.par = par  # push the authorization request first (RFC 9126), send only its request_uri
        self.issuer = ""  # set once the provider is up
        self.back_channel_url = ""  # a reverse listener in front of the issuer, if any
        self.outcome: dict | None = None
        self.done = threading.Event()
        self._pending: dict[str, tuple[str, str]] = {}  # state -> (code_verifier, nonce)
        self._http = urllib.request.build_opener()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.redirect_uri = self.url + CALLBACK_PATH

    def use(self, *, proxy_url: str | None = None, back_channel_url: str | None = None) -> None:
        """Where the server-side calls go: through an explicit proxy, or straight to a reverse listener."""
        # urllib still honours NO_PROXY with an explicit proxy; the tests clear it so loopback is not bypassed.
        handlers = [urllib.request.ProxyHandler({"http": proxy_url} if proxy_url else {})]
        self._http = urllib.request.build_opener(*handlers)
        self.back_channel_url = back_channel_url or ""

    # -- the relying party -----------------------------------------------------------------------

    def _back(self, url: str) -> str:
        if self.back_channel_url and url.startswith(self.issuer):
            return self.back_channel_url + url[len(self.issuer):]
        return url

    def discovery(self) -> dict:
        return self._json(urllib.request.Request(self._back(f"{self.issuer}/.well-known/openid-configuration")))

    def authorization_url(self, prompt: str | None = None) -> str:
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        self._pending[state] = (verifier, nonce)
        params = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
            "scope": "openid profile offline_access" if self.refresh else "openid profile",
            "state": state, "nonce": nonce, "code_challenge": _s256(verifier), "code_challenge_method": "S256",
        }
        if self.refresh:
            prompt = "consent"  # OpenID Connect Core §11: offline_access needs prompt=consent
        if prompt:
            params["prompt"] = prompt
        if self.response_mode != "query":
            params["response_mode"] = self.response_mode
        metadata = self.discovery()
        if self.par:
            pushed = self._post(metadata["pushed_authorization_request_endpoint"], params)
            # OpenID Connect Core §6.2 wants response_type and scope in the URL too; the pushed request governs.
            params = {"client_id": self.client_id, "request_uri": pushed["request_uri"],
                      "response_type": params["response_type"], "scope": params["scope"]}
        return f"{metadata['authorization_endpoint']}?{urlencode(params, quote_via=quote)}"

    def finish(self, params: dict[str, str]) -> dict:
        if "error" in params:
            return {"error": params["error"]}
        pending = self._pending.pop(params.get("state", ""), None)
        if pending is None:
            return {"error": "unknown state"}
        verifier, nonce = pending
        metadata = self.discovery()
        if params.get("iss") != metadata["issuer"]:  # RFC 9207 §2.4
            return {"error": f"iss {params.get('iss')!r} is not {metadata['issuer']!r}"}
        token = self._token(metadata, {"grant_type": "authorization_code", "code": params["code"],
                                       "redirect_uri": self.redirect_uri, "code_verifier": verifier})
        claims = jwt_claims(token["id_token"])
        if claims.get("nonce") != nonce or claims.get("aud") != self.client_id:
            return {"error": "id_token does not belong to this login"}
        if self.refresh:
            token = self._token(metadata, {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
        me = self._json(urllib.request.Request(self._back(metadata["userinfo_endpoint"]),
                                               headers={"Authorization": f"Bearer {token['access_token']}"}))
        return {"message": "Connected", "sub": me["sub"]}

    def _token(self, metadata: dict, form: dict[str, str]) -> dict:
        return self._post(metadata["token_endpoint"], form)

    def _post(self, url: str, form: dict[str, str]) -> dict:
        """A form POST to the provider, with this client's authentication."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.client_secret:  # client_secret_basic, each part form-encoded first (RFC 6749 §2.3.1)
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form = {**form, "client_id": self.client_id}
        return self._json(urllib.request.Request(self._back(url), method="POST",
                                                 data=urlencode(form).encode(), headers=headers))

    def _json(self, request: urllib.request.Request) -> dict:
        request.add_header("Accept", "application/json")
        with self._http.open(request, timeout=10) as reply:
            return json.loads(reply.read())


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _handler(client: OidcClient):
    class Handler(PageHandler):
        def do_GET(self):
            if urlsplit(self.path).path == "/start":  # /start?prompt=none tries a silent login first
                prompt = dict(parse_qsl(urlsplit(self.path).query)).get("prompt")
                self._send(302, b"", location=client.authorization_url(prompt))
            elif urlsplit(self.path).path == CALLBACK_PATH:
                self._callback(urlsplit(self.path).query)
            else:
                self._send(404, b"not found")

        def do_POST(self):  # response_mode=form_post
            length = int(self.headers.get("Content-Length") or 0)
            if urlsplit(self.path).path == CALLBACK_PATH:
                self._callback(self.rfile.read(length).decode())
            else:
                self._send(404, b"not found")

        def _callback(self, encoded: str):
            try:
                client.outcome = client.finish(dict(parse_qsl(encoded)))
            except (urllib.error.URLError, KeyError, ValueError) as exc:
                client.outcome = {"error": f"{type(exc).__name__}: {exc}"}
            client.done.set()
            ok = "message" in client.outcome
            page = f"<!doctype html><title>Result</title><h1 id=result>{html.escape(json.dumps(client.outcome))}</h1>"
            self._send(200 if ok else 400, page.encode(), content_type="text/html; charset=utf-8")

    return Handler
