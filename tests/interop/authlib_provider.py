"""An authorization server built the way Authlib's Flask documentation builds one, in memory, on loopback.

It is someone else's implementation of RFC 6749 / 7636 / 8414 / 9207 / 6750 and, when `openid` is asked for, of
OpenID Connect's id_token: oauthtrace must find nothing wrong with a login through it. Only the storage (dicts instead of SQLAlchemy) and the one-click consent page are ours.
"""

from __future__ import annotations

import html
import secrets
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector, current_token
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from oauthtrace.web import ServedInThread

SCOPES = ["openid", "profile", "email"]


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str  # "" for a public client
    redirect_uris: list[str]
    auth_method: str  # client_secret_basic, client_secret_post or none
    id_token_signed_response_alg = None  # the provider's default, RS256

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return bool(self.client_secret) and secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == self.auth_method if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None = None
    issued_at: float = field(default_factory=time.time)

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return int(self.issued_at)

    def get_acr(self):
        return None

    def get_amr(self):
        return None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def is_expired(self):
        return time.time() - self.issued_at > 300


@dataclass
class Token(TokenMixin):
    client_id: str
    user: str
    scope: str
    access_token: str
    expires_in: int
    issued_at: float = field(default_factory=time.time)

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self):
        return False


class _Issuer(IssuerParameter):
    def __init__(self, issuer: str):
        self.issuer = issuer

    def get_issuer(self):
        return self.issuer


class AuthlibProvider(ServedInThread):
    """`start()` serves the AS on 127.0.0.1 with an OS-chosen port; `register()` adds a client."""

    def __init__(self):
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.app = Flask(__name__)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._build()

    def register(self, client_id: str, redirect_uri: str, auth_method: str) -> Client:
        secret = "" if auth_method == "none" else secrets.token_urlsafe(24)
        client = self.clients[client_id] = Client(client_id, secret, [redirect_uri], auth_method)
        return client

    # -- the Authlib wiring ---------------------------------------------------------------------

    def _build(self) -> None:
        provider = self
        self.app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600}

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

            def save_authorization_code(self, code, req):
                provider.codes[code] = AuthorizationCode(
                    code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope, user=req.user,
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                    nonce=req.payload.data.get("nonce"))

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                if found and found.client_id == client.client_id and not found.is_expired():
                    return found
                return None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class PKCE(CodeChallenge):
            DEFAULT_CODE_CHALLENGE_METHOD = "S256"
            SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

            def get_authorization_code_challenge(self, authorization_code):
                return authorization_code.code_challenge

            def get_authorization_code_challenge_method(self, authorization_code):
                return authorization_code.code_challenge_method

        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

        class OpenID(OpenIDCode):
            def get_jwt_config(self, grant, client):
                return {"key": signing_key, "alg": "RS256", "iss": provider.url, "exp": 3600}

            def exists_nonce(self, nonce, req):
                return any(code.nonce == nonce for code in provider.codes.values())

            def generate_user_info(self, user, scope):
                return UserInfo(sub=user, name="Alice Example")

        def save_token(token, req):
            provider.tokens[token["access_token"]] = Token(
                client_id=req.client.client_id, user=req.user, scope=token.get("scope", ""),
                access_token=token["access_token"], expires_in=token["expires_in"])

        server = AuthorizationServer(self.app, query_client=self.clients.get, save_token=save_token)
        server.register_grant(CodeGrant, [PKCE(required=True), OpenID(require_nonce=False)])
        server.register_extension(_Issuer(self.url))

        class Validator(BearerTokenValidator):
            def authenticate_token(self, token_string):
                return provider.tokens.get(token_string)

        require_oauth = ResourceProtector()
        require_oauth.register_token_validator(Validator())
        self._routes(server, require_oauth)

    def _routes(self, server: AuthorizationServer, require_oauth: ResourceProtector) -> None:
        app = self.app

        @app.get("/.well-known/oauth-authorization-server")
        def metadata():
            return jsonify(self.metadata())

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            user = "alice"
            grant = server.get_consent_grant(end_user=user)
            if request.method == "GET":
                return _consent_page(grant.client.client_id, grant.request.payload.scope)
            consented = request.form.get("confirm") == "yes"
            return server.create_authorization_response(grant=grant, grant_user=user if consented else None)

        @app.post("/token")
        def token():
            return server.create_token_response()

        @app.get("/userinfo")
        @require_oauth("profile")
        def userinfo():
            return jsonify(sub=current_token.user, scope=current_token.scope)

    def metadata(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }


def _consent_page(client_id: str, scope: str) -> str:
    # The form posts back to the same URL (query kept), as Authlib's example consent page does.
    return (
        "<!doctype html><title>Authorize</title>"
        f"<p>{html.escape(client_id)} asks for {html.escape(scope or '')}</p>"
        f'<form method="post" action="{html.escape(request.full_path)}">'
        '<input type="hidden" name="confirm" value="yes">'
        "<button>Allow</button></form>"
    )
