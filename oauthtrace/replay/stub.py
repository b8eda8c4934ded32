"""`oauthtrace serve`: a stub provider that answers from a recording, so a client can be tested offline.

It answers as the recorded provider did, on the live request: /authorize redirects straight back to the client
with the recorded authorization response (the live `state` echoed, a fresh code, the recorded response mode); the
token endpoint checks the code (and PKCE) and answers in the recorded shape, quirks included (form-encoded,
`expires_in` as a string); metadata, userinfo and other recorded JSON endpoints answer as recorded, the recorded
provider origin rewritten to the stub's own. A recorded id_token (in the token response or, hybrid and implicit
flows, the authorization response) is issued afresh for each login (replay/idtoken.py)
and signed with the stub's own key, published at the recorded jwks_uri. Anything else is a 404 that lists what the
recording holds.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from oauthtrace.analysis.classify import classify
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.jwt import claims as jwt_claims
from oauthtrace.analysis.oauth import authz_response_params, param, request_params, token_fields
from oauthtrace.digests import s256
from oauthtrace.errors import UserError
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import basic_client_credentials, origin, path
from oauthtrace.replay.idtoken import IdTokenIssuer
from oauthtrace.replay.plan import target_url
from oauthtrace.web import App, Request, Response

KEPT_HEADERS = ("cache-control", "pragma", "www-authenticate")
WELL_KNOWN = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")


@dataclass
class Recorded:
    """What the stub answers with, read once from the recording."""

    provider: str  # the recorded provider origin
    authorize_path: str
    response: Pairs  # the recorded authorization response parameters
    mode: str  # query, fragment or form_post
    redirect_status: int
    redirect_uri: str | None
    token_path: str | None = None
    token: Hop | None = None
    refresh: Hop | None = None
    documents: dict[str, Hop] = field(default_factory=dict)  # path -> recorded GET answered with JSON
    resources: dict[str, Hop] = field(default_factory=dict)  # path -> recorded bearer call
    jwks_path: str | None = None  # where the stub publishes its own key, when it issues id_tokens
    issuer: str | None = None  # the recorded issuer (discovery document, else id_token iss, else response iss)


@dataclass
class Grant:
    redirect_uri: str | None
    challenge: str | None
    method: str | None
    client_id: str | None = None
    nonce: str | None = None


def read_recording(hops: list[Hop]) -> Recorded:
    hops = sorted(hops, key=lambda hop: hop.seq)
    roles = classify(hops)
    exchanges = [ex for ex in correlate(hops, roles) if ex.authorize is not None]
    if not exchanges:
        raise UserError("the recording has no authorization request to answer from")
    first = exchanges[0]
    provider = origin(target_url(first.authorize))
    response, mode = ([], "query")
    status = 302
    if first.authz_response is not None:
        response, mode = authz_response_params(first.authz_response)
        status = first.authz_response.status if first.authz_response.location else 200
    if mode == "none":
        response, mode = [], "query"
    recorded = Recorded(provider, path(target_url(first.authorize)), response, mode, status or 302,
                        param(request_params(first.authorize), "redirect_uri"))
    tokens = [hop for ex in exchanges for hop in ex.tokens]
    refreshes = [hop for ex in exchanges for hop in ex.refreshes]
    if tokens:
        recorded.token, recorded.token_path = tokens[0], path(target_url(tokens[0]))
    if refreshes:
        recorded.refresh = refreshes[0]
        recorded.token_path = recorded.token_path or path(target_url(refreshes[0]))
    for hop in hops:
        if origin(target_url(hop)) != provider and not hop.is_reverse:
            continue
        where = path(target_url(hop))
        if roles.get(hop.seq) == "resource" and hop.req_header("authorization"):
            recorded.resources.setdefault(where, hop)
        elif hop.method == "GET" and hop.status == 200 and hop.resp_json() is not None:
            recorded.documents.setdefault(where, hop)
    recorded.jwks_path = _jwks_path(recorded)
    recorded.issuer = _recorded_issuer(recorded)
    return recorded


def _jwks_path(recorded: Recorded) -> str | None:
    """The recorded jwks_uri's path (the stub's key goes there), "/jwks" when an id_token was recorded without one."""
    for hop in recorded.documents.values():
        document = hop.resp_json()
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if isinstance(jwks_uri, str) and origin(jwks_uri) == recorded.provider:
            return path(jwks_uri)
    return "/jwks" if _recorded_id_tokens(recorded) else None


def _recorded_issuer(recorded: Recorded) -> str | None:
    """The provider's issuer as recorded: its discovery document's, else a recorded id_token's iss, else the
    authorization response's iss (RFC 9207)."""
    for where, hop in recorded.documents.items():
        document = hop.resp_json()
        if where.startswith(WELL_KNOWN) and isinstance(document, dict) and isinstance(document.get("issuer"), str):
            return document["issuer"]
    for id_token in _recorded_id_tokens(recorded):
        iss = (jwt_claims(id_token) or {}).get("iss")
        if isinstance(iss, str):
            return iss
    iss = param(recorded.response, "iss")
    return iss if isinstance(iss, str) and iss else None


def _recorded_id_tokens(recorded: Recorded) -> list[str]:
    """The id_tokens of the recorded token answers and authorization response."""
    answers = [token_fields(hop) or {} for hop in (recorded.token, recorded.refresh) if hop is not None]
    answers.append(dict(recorded.response))
    return [fields["id_token"] for fields in answers if isinstance(fields.get("id_token"), str)]


class StubProvider:
    def __init__(self, recorded: Recorded, *, host: str = "127.0.0.1", port: int = 0):
        self.recorded = recorded
        self.app = App(host, port)
        self._grants: dict[str, Grant] = {}
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        self._id_tokens = IdTokenIssuer() if recorded.jwks_path else None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.app.route(method, "/", self.dispatch)

    @classmethod
    def from_hops(cls, hops: list[Hop], *, host: str = "127.0.0.1", port: int = 0) -> "StubProvider":
        return cls(read_recording(hops), host=host, port=port)

    @property
    def url(self) -> str:
        return self.app.url

    def start(self) -> "StubProvider":
        self.app.start()
        return self

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self.app.stop()

    def wait(self) -> None:
        while not self._stopped.wait(0.5):
            pass

    def describe(self) -> list[str]:
        r = self.recorded
        lines = [f"GET {r.authorize_path}  -> redirect to the client ({r.mode}, live state echoed, fresh code)"]
        if r.token_path:
            kind = r.token.resp_content_type if r.token is not None else "application/json"
            lines.append(f"POST {r.token_path}  -> tokens as recorded ({kind or 'no content type'})")
        if r.jwks_path:
            lines.append(f"GET {r.jwks_path}  -> the stub's own signing key (id_tokens are issued afresh, signed with it)")
        lines += [f"GET {where}  -> as recorded" for where in sorted(set(r.documents) - {r.jwks_path})]
        lines += [f"GET {where}  -> as recorded, for a token issued here" for where in sorted(r.resources)]
        return lines

    # -- requests --------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        r = self.recorded
        if request.path == r.authorize_path and request.method in ("GET", "POST"):
            return self.authorize(request)
        if request.path == (r.token_path or "/token") and request.method == "POST":
            return self.token(request)
        if request.method == "GET" and request.path == r.jwks_path:
            return Response.json(self._id_tokens.jwks())
        if request.method == "GET" and request.path in r.resources:
            return self.resource(request, r.resources[request.path])
        if request.method == "GET" and request.path in r.documents:
            return self.document(r.documents[request.path])
        if request.method == "GET" and request.path.startswith(WELL_KNOWN):
            return Response.json(self._metadata())
        return Response.json({
            "error": "not_found",
            "message": f"the recording has no answer for {request.method} {request.path}",
            "recorded": self.describe(),
        }, 404)

    def authorize(self, request: Request) -> Response:
        live = dict(request.query)
        if request.method == "POST":
            live.update(request.form)
        redirect_uri = live.get("redirect_uri") or self.recorded.redirect_uri
        if not redirect_uri:
            return Response(400, "<!doctype html><h1>No redirect_uri</h1>", "text/html; charset=utf-8")
        params = self._response(live, redirect_uri)
        if self.recorded.mode == "form_post":
            return Response(200, _form_post(redirect_uri, params), "text/html; charset=utf-8")
        if self.recorded.mode == "fragment":
            return Response.redirect(f"{redirect_uri}#{urlencode(params)}", self.recorded.redirect_status)
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        return Response.redirect(f"{redirect_uri}{joiner}{urlencode(params)}", self.recorded.redirect_status)

    def _response(self, live: dict, redirect_uri: str) -> Pairs:
        out: Pairs = []
        recorded = self.recorded.response or [("code", "")]
        for name, value in recorded:
            if name == "code":
                value = self._issue_code(live, redirect_uri)
            elif name == "state":
                if not live.get("state"):
                    continue
                value = live["state"]
            elif name == "iss":
                value = self._local(value)
            out.append((name, value))
        if live.get("state") and not any(name == "state" for name, _ in out):
            out.append(("state", live["state"]))
        return self._fresh_id_token(out, live)

    def _fresh_id_token(self, params: Pairs, live: dict) -> Pairs:
        """A hybrid or implicit response's id_token issued for this login, its c_hash/s_hash for the fresh code
        and the live state (OIDC Core §3.3.2.11) — replayed as recorded, a client would refuse it."""
        if self._id_tokens is None:
            return params
        values = dict(params)
        return [(name, self._id_tokens.reissue(
            value, issuer=self.issuer, client_id=live.get("client_id"), nonce=live.get("nonce"),
            access_token=values.get("access_token"), code=values.get("code"), state=values.get("state")))
            if name == "id_token" else (name, value) for name, value in params]

    def _issue_code(self, live: dict, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = Grant(live.get("redirect_uri"), live.get("code_challenge"),
                                       live.get("code_challenge_method"), live.get("client_id"), live.get("nonce"))
        return code

    def token(self, request: Request) -> Response:
        form = request.form
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self._lock:
                grant = self._grants.pop(form.get("code", ""), None)
            if grant is None:
                return _token_error("invalid_grant", "unknown or already used code")
            if grant.redirect_uri and form.get("redirect_uri") != grant.redirect_uri:
                return _token_error("invalid_grant", "redirect_uri does not match the authorization request")
            if grant.challenge and not _pkce_ok(form.get("code_verifier", ""), grant):
                return _token_error("invalid_grant", "code_verifier does not match the code_challenge")
            return self._tokens(self.recorded.token, grant.client_id, grant.nonce)
        if grant_type == "refresh_token":
            with self._lock:
                known = form.get("refresh_token") in self._refresh
            if not known:
                return _token_error("invalid_grant", "unknown refresh_token")
            return self._tokens(self.recorded.refresh or self.recorded.token, _client_id(request), None)
        return _token_error("unsupported_grant_type", "")

    def _tokens(self, recorded: Hop | None, client_id: str | None, nonce: str | None) -> Response:
        fields = dict(token_fields(recorded) or {}) if recorded is not None else {}
        if recorded is not None and (recorded.status or 200) >= 400:  # the provider failed here: so does the stub
            return Response(recorded.status, recorded.resp_body or b"", recorded.resp_header("content-type") or "",
                            _kept_headers(recorded))
        if not fields:
            fields = {"access_token": "", "token_type": "Bearer", "expires_in": 3600, "refresh_token": ""}
        with self._lock:
            for name in ("access_token", "refresh_token"):
                if name in fields:
                    fields[name] = secrets.token_urlsafe(32)
                    (self._access if name == "access_token" else self._refresh).add(fields[name])
        if isinstance(fields.get("id_token"), str) and self._id_tokens is not None:
            fields["id_token"] = self._id_tokens.reissue(
                fields["id_token"], issuer=self.issuer, client_id=client_id, nonce=nonce,
                access_token=fields.get("access_token"))
        headers = _kept_headers(recorded) if recorded is not None else {"Cache-Control": "no-store"}
        content_type = (recorded.resp_header("content-type") if recorded is not None else None) or "application/json"
        if recorded is not None and recorded.resp_json() is None:
            body = urlencode({k: str(v) for k, v in fields.items()})
        else:
            body = json.dumps(fields)
        return Response(200 if recorded is None else recorded.status or 200, body, content_type, headers)

    def resource(self, request: Request, recorded: Hop) -> Response:
        auth = request.headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        with self._lock:
            known = token in self._access
        if scheme.lower() not in ("bearer", "dpop") or not known:
            return Response.json({"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return self.document(recorded)

    def document(self, recorded: Hop) -> Response:
        # surrogateescape: any body (not only UTF-8 JSON) round-trips byte for byte around the rewrite
        body = self._local((recorded.resp_body or b"").decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape")
        if self.recorded.jwks_path:
            body = _keys_at(body, self.url + self.recorded.jwks_path)
        return Response(recorded.status or 200, body, recorded.resp_header("content-type") or "application/json",
                        _kept_headers(recorded))

    def _metadata(self) -> dict:
        r = self.recorded
        metadata = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url + r.authorize_path,
            "token_endpoint": self.url + (r.token_path or "/token"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        }
        if r.jwks_path:
            metadata["jwks_uri"] = self.url + r.jwks_path
        return metadata

    @property
    def issuer(self) -> str:
        """The issuer the stub's discovery document names, and so the iss of every id_token it issues: the recorded
        issuer with the provider's origin made the stub's (one on another host stays as recorded), the stub's own
        address where the recording names none."""
        return self._local(self.recorded.issuer) if self.recorded.issuer else self.url

    def _local(self, text: str) -> str:
        """The recorded provider's address in text made the stub's: the one rewrite of every answer."""
        return text.replace(self.recorded.provider, self.url)


def _keys_at(body: bytes, jwks_uri: str) -> bytes:
    """A discovery document whose jwks_uri is still not the stub's (a provider keeping its keys on another host,
    as Google does) pointed at the stub's keys: they sign the id_tokens the stub issues."""
    if b"jwks_uri" not in body:
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str) or \
            document["jwks_uri"] == jwks_uri:
        return body
    return json.dumps({**document, "jwks_uri": jwks_uri}).encode()


def _client_id(request: Request) -> str | None:
    """Who asks at the token endpoint: client_id in the form, else the Basic credentials' user."""
    credentials = basic_client_credentials(request.headers.get("authorization"))
    return request.form.get("client_id") or (credentials[0] if credentials else None)


def _kept_headers(hop: Hop | None) -> dict[str, str]:
    if hop is None:
        return {}
    return {name: value for name, value in hop.resp_headers if name.lower() in KEPT_HEADERS}


def _token_error(error: str, description: str) -> Response:
    body = {"error": error, **({"error_description": description} if description else {})}
    return Response.json(body, 400, {"Cache-Control": "no-store"})


def _pkce_ok(verifier: str, grant: Grant) -> bool:
    return (s256(verifier) if grant.method == "S256" else verifier) == grant.challenge


def _form_post(action: str, params: Pairs) -> str:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params)
    return (f'<!doctype html><html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{html.escape(action)}">{inputs}</form></body></html>')
