"""A web application that logs in with Authlib's requests `OAuth2Session`: authorization code + PKCE S256.

Its server-side calls (discovery, token, userinfo) go through the recorder either as an explicit proxy
(HTTP_PROXY style) or through a reverse listener in front of the provider; the browser side is whatever user agent
opens `/start`.
"""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from oauthtrace.web import ServedInThread
from tests.interop.relying_party import PageHandler, jwt_claims

CALLBACK_PATH = "/auth/callback"


class AuthlibClient(ServedInThread):
    def __init__(self, provider_url: str, *, client_id: str, proxy_url: str | None = None,
                 back_channel_url: str | None = None, scope: str = "profile email"):
        self.provider_url = provider_url
        self.client_id = client_id
        self.client_secret = ""
        self.scope = scope  # with "openid", the provider adds an id_token and the client sends a nonce
        self.auth_method = "client_secret_basic"
        # Reverse mode: the server-side calls go to the listener instead of the provider's own origin.
        self.back_channel_url = back_channel_url or provider_url
        self.proxies = {"http": proxy_url, "https": proxy_url} if proxy_url else {}
        self.outcome: dict | None = None
        self.done = threading.Event()
        self._pending: dict[str, tuple[str, str]] = {}  # state -> (code_verifier, nonce)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.redirect_uri = self.url + CALLBACK_PATH

    # -- the OAuth client -----------------------------------------------------------------------

    def _session(self, **kwargs) -> OAuth2Session:
        session = OAuth2Session(self.client_id, self.client_secret or None, scope=self.scope,
                                redirect_uri=self.redirect_uri, code_challenge_method="S256",
                                token_endpoint_auth_method=self.auth_method, **kwargs)
        session.trust_env = False  # the proxy is the one given here, whatever NO_PROXY says
        session.proxies.update(self.proxies)
        return session

    def _back(self, url: str) -> str:
        return self.back_channel_url + url[len(self.provider_url):] if url.startswith(self.provider_url) else url

    def metadata(self) -> dict:
        with self._session() as session:
            reply = session.get(self._back(f"{self.provider_url}/.well-known/oauth-authorization-server"),
                                timeout=10, withhold_token=True)
            reply.raise_for_status()
            return reply.json()

    def authorization_url(self) -> str:
        verifier, nonce = generate_token(48), generate_token(24)
        extra = {"nonce": nonce} if "openid" in self.scope.split() else {}
        with self._session() as session:
            url, state = session.create_authorization_url(self.metadata()["authorization_endpoint"],
                                                          code_verifier=verifier, **extra)
        self._pending[state] = (verifier, nonce)
        return url

    def finish(self, callback_url: str) -> dict:
        state = parse_qs(urlsplit(callback_url).query).get("state", [""])[0]
        pending = self._pending.pop(state, None)
        if pending is None:
            return {"error": "unknown state"}
        verifier, nonce = pending
        metadata = self.metadata()
        with self._session(state=state) as session:
            # fetch_token refuses a callback whose state is not this session's.
            token = session.fetch_token(self._back(metadata["token_endpoint"]), authorization_response=callback_url,
                                        code_verifier=verifier)
            me = session.get(self._back(f"{self.provider_url}/userinfo"), timeout=10)
            me.raise_for_status()
        if "id_token" in token and jwt_claims(token["id_token"]).get("nonce") != nonce:
            return {"error": "the id_token's nonce is not this login's"}
        return {"message": "Connected", "sub": me.json()["sub"], "token_type": token["token_type"]}


def _handler(client: AuthlibClient):
    class Handler(PageHandler):
        def do_GET(self):
            if self.path == "/start":
                self._send(302, b"", location=client.authorization_url())
            elif self.path.startswith(CALLBACK_PATH):
                try:
                    client.outcome = client.finish(client.url + self.path)
                except Exception as exc:  # the test reads the outcome; the page says what failed
                    client.outcome = {"error": f"{type(exc).__name__}: {exc}"}
                client.done.set()
                body = json.dumps(client.outcome).encode()
                self._send(200 if "message" in client.outcome else 400, body, content_type="application/json")
            else:
                self._send(404, b"not found")

    return Handler
