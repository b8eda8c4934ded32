"""Family H: how the client authenticates at the token endpoint (RFC 6749 §2.3, §3.2.1; RFC 7591; RFC 8414).

Secrets never appear in messages or evidence: a finding says which method carried a secret and how long it
was, never the secret itself.
"""

from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import unquote_plus

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.jwt import decode as decode_jwt
from oauthtrace.analysis.oauth import (
    basic_credentials,
    body_params,
    param,
    raw_basic_credentials,
    request_params,
    token_response,
)
from oauthtrace.analysis.profiles import is_gpt_actions
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules.issuer import provider_metadata
from oauthtrace.model import Exchange, Hit, Hop, Pairs, is_redacted

# No table overrides: under chatgpt, client-auth-method-mismatch is information only while the flow worked (the
# provider cannot change how ChatGPT authenticates and must accept both client_secret_post and
# client_secret_basic) but stays an error when the provider answered invalid_client. A table entry would
# override both cases, so the rule decides from ctx.profile itself.
PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

DEFAULT_AUTH_METHOD = "client_secret_basic"  # RFC 7591 §2 and RFC 8414 §2
SECRET_METHODS = {"client_secret_basic", "client_secret_post", "client_secret_jwt"}
# application/x-www-form-urlencoded leaves only these unescaped (and turns space into '+').
FORM_SAFE = re.compile(r"[A-Za-z0-9*\-._~]")
PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def token_endpoint_requests(exchange: Exchange) -> list[Hop]:
    return list(exchange.tokens) + list(exchange.refreshes)


def _request_auth(hop: Hop) -> tuple[tuple[str, ...], str | None]:
    """(the client authentication methods the request used, in the order it shows them; the client_id the
    request itself names: body client_id, else the Basic user), read once per hop: four rules ask for every
    token request."""
    return derived(hop, "client_auth.request", lambda: _read_request_auth(hop), hop.req_headers, hop.form,
                   hop.req_body)


def _read_request_auth(hop: Hop) -> tuple[tuple[str, ...], str | None]:
    basic = basic_credentials(hop)
    body = body_params(hop)  # read once for the client_id and the methods
    from_body = param(body, "client_id")
    return tuple(_auth_methods(body, basic)), from_body or (basic[0] if basic and basic[0] else None)


def _auth_methods(body: Pairs, basic: tuple[str, str] | None) -> list[str]:
    """The methods a token request with these body parameters and Basic credentials used."""
    methods = []
    if basic is not None:
        methods.append("client_secret_basic")
    if param(body, "client_secret"):
        methods.append("client_secret_post")
    assertion = param(body, "client_assertion")
    if assertion:
        methods.append(_assertion_method(assertion))
    return methods


def _assertion_method(assertion: str) -> str:
    decoded = decode_jwt(assertion)
    alg = str((decoded.header if decoded else {}).get("alg", ""))
    return "client_secret_jwt" if alg.upper().startswith("HS") else "private_key_jwt"


def client_id_of(hop: Hop, exchange: Exchange) -> str | None:
    """Who the request claims to be: body client_id, Basic user, else the authorize request's client_id."""
    named = _request_auth(hop)[1]
    if named:
        return named
    if exchange.authorize is not None:
        return param(request_params(exchange.authorize), "client_id")
    return None


def registration_for(client_id: str | None, exchange: Exchange, ctx: Context) -> tuple[dict, dict] | None:
    """(request, response) of the dynamic registration that issued `client_id`, if it was recorded."""
    if not client_id:
        return None
    return _registration_index(ctx).get(client_id)


def _registration_index(ctx: Context) -> dict[str, tuple[dict, dict]]:
    """client_id -> (request, response) of the trace's dynamic registrations; empty in most traces."""
    return memo(ctx, "client_auth.registrations", lambda: _registrations(ctx))


def _registrations(ctx: Context) -> dict[str, tuple[dict, dict]]:
    """client_id -> (registration request, response) over the whole trace, built once."""
    hops = [hop for ex in ctx.exchanges for hop in ex.registrations]
    hops += ctx.hops_with_role("registration")
    found: dict[str, tuple[dict, dict]] = {}
    for hop in hops:
        response = hop.resp_json()
        if isinstance(response, dict) and isinstance(response.get("client_id"), str):
            request = hop.req_json()
            found.setdefault(response["client_id"], (request if isinstance(request, dict) else {}, response))
    return found


def registered_method(registration: tuple[dict, dict]) -> str:
    request, response = registration
    method = response.get("token_endpoint_auth_method") or request.get("token_endpoint_auth_method")
    return method if isinstance(method, str) and method else DEFAULT_AUTH_METHOD


def answered_invalid_client(hop: Hop) -> bool:
    body = token_response(hop)
    return bool(body) and body.get("error") == "invalid_client"


def _secret_note(secret: str) -> str:
    return "‹secret, redacted›" if is_redacted(secret) else f"‹secret, {len(secret)} chars›"


@trait("basic_auth")
def sends_basic_auth(exchange: Exchange, ctx: Context) -> bool:
    """A token-endpoint request of the exchange carries an `Authorization: Basic` header."""
    return any(raw_basic_credentials(hop) is not None for hop in token_endpoint_requests(exchange))


@rule(
    "client-auth-multiple",
    family="H",
    severity="error",
    blame="C",
    needs="B",
    reads=("authorization",),
    when=("tokens", "refreshes"),
    spec="RFC 6749 §2.3, §5.2",
    quote="The client MUST NOT use more than one authentication method in each request",
    fix="Client: authenticate once per request — either the Authorization: Basic header or client_secret in "
    "the body (or a client_assertion), never several.",
)
def client_auth_multiple(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A token request authenticates the client in more than one way."""
    for hop in token_endpoint_requests(exchange):
        methods = _request_auth(hop)[0]
        if len(methods) < 2:
            continue
        yield Hit(
            hop=hop,
            message=f"token request authenticates {len(methods)} ways: {' + '.join(methods)}",
            evidence={"methods": list(methods), "client_id": client_id_of(hop, exchange)},
        )


@rule(
    "client-auth-method-mismatch",
    family="H",
    severity="warning",
    blame="C",
    needs="B+M",
    reads=("authorization",),
    when=("tokens", "refreshes"),
    spec="RFC 6749 §2.3.1; RFC 7591 §2; RFC 8414 §2",
    quote="token_endpoint_auth_method / token_endpoint_auth_methods_supported: if omitted, the default is "
    "client_secret_basic",
    fix="Client: authenticate with the method you registered and the provider advertises. Provider: publish "
    "token_endpoint_auth_methods_supported listing every method you accept (ChatGPT needs client_secret_post "
    "and client_secret_basic).",
)
def client_auth_method_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The token request's authentication method is not the registered or advertised one.

    Warning; error when the provider then answered invalid_client. Under the chatgpt profile a mismatch that
    did not break the flow is information, and one that did is the provider's (it must accept ChatGPT's
    method). A public registration, or a request without authentication, is left to public-client-secret, so
    one mistake is reported once.
    """
    registrations = _registration_index(ctx)
    metadata = provider_metadata(exchange, ctx)
    if not registrations and metadata is None:
        return  # nothing recorded to compare the method with
    supported = None
    if metadata is not None:
        supported = metadata.get("token_endpoint_auth_methods_supported") or [DEFAULT_AUTH_METHOD]
    for hop in token_endpoint_requests(exchange):
        methods = _request_auth(hop)[0]
        if len(methods) > 1:
            continue  # client-auth-multiple
        used = methods[0] if methods else "none"
        registration = registration_for(client_id_of(hop, exchange), exchange, ctx)
        if registration is not None:
            registered = registered_method(registration)
            if registered != used and "none" not in (registered, used):
                yield _mismatch_hit(
                    hop, ctx, used,
                    message=f"registration.token_endpoint_auth_method = {registered} ≠ token request uses {used}",
                    evidence={"used": used, "registered": registered})
                continue
        if not isinstance(supported, list) or used in supported or used == "none":
            continue  # the usual case: the method the provider advertises
        yield _mismatch_hit(
            hop, ctx, used,
            message=f"metadata.token_endpoint_auth_methods_supported = {', '.join(map(str, supported))} "
            f"∌ token request uses {used}",
            evidence={"used": used, "supported": supported})


def _mismatch_hit(hop: Hop, ctx: Context, used: str, *, message: str, evidence: dict) -> Hit:
    """A method mismatch, graded by its outcome: an error when the provider answered invalid_client; under the
    chatgpt profile information while the flow worked, the provider's fault when it did not."""
    rejected = answered_invalid_client(hop)
    return Hit(
        hop=hop,
        message=message,
        evidence={**evidence, "invalid_client": rejected},
        severity="error" if rejected else ("info" if is_gpt_actions(ctx.profile) else None),
        blame="AS" if rejected and is_gpt_actions(ctx.profile) else None,
    )


@rule(
    "client-secret-in-url",
    family="H",
    severity="error",
    blame="C",
    needs="F/B",
    spec="RFC 6749 §2.3.1",
    quote="The parameters can only be transmitted in the request-body and MUST NOT be included in the request URI",
    fix="Client: send client_secret in the POST body or the Authorization header, never in a URL — and rotate "
    "the secret, since URLs end up in logs and histories.",
)
def client_secret_in_url(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A request URL carries client_secret."""
    seen: set[int] = set()
    for hop in _all_hops(exchange):
        secret = param(hop.query, "client_secret") if hop.query else None
        if not secret or hop.seq in seen:
            continue  # nearly every hop: no client_secret in its URL
        seen.add(hop.seq)
        yield Hit(
            hop=hop,
            message=f"{hop.method} {_without_query(hop.url)}?client_secret={_secret_note(secret)}",
            evidence={"param": "client_secret", "in": "query",
                      "length": None if is_redacted(secret) else len(secret)},
        )


def _all_hops(exchange: Exchange) -> Iterator[Hop]:
    """The exchange's hops and the hops it names by role (a hop may come twice)."""
    for hops in (exchange.hops, [exchange.authorize], exchange.tokens, exchange.refreshes, exchange.registrations):
        for hop in hops:
            if hop is not None:
                yield hop


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


@rule(
    "public-client-secret",
    family="H",
    severity="error",
    blame="C",
    needs="B+M",
    reads=("authorization",),
    when=("tokens", "refreshes"),
    spec="RFC 6749 §3.2.1, §4.1.3; RFC 7591 §2",
    quote="A client MAY use the client_id request parameter to identify itself ... an unauthenticated client "
    "MUST send its client_id to prevent itself from inadvertently accepting a code intended for another client",
    fix="Client: authenticate exactly as registered — a public client (token_endpoint_auth_method=none) sends "
    "client_id and no secret; a confidential client always authenticates.",
)
def public_client_secret(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A public client sends a secret, a confidential one none, or an unauthenticated request has no client_id."""
    for hop in token_endpoint_requests(exchange):
        methods = _request_auth(hop)[0]
        if not methods and hop in exchange.tokens and not param(body_params(hop), "client_id"):
            yield Hit(
                hop=hop,
                message="unauthenticated token request: client_id = ∅",
                evidence={"param": "client_id", "returned": None, "methods": []},
            )
            continue
        client_id = client_id_of(hop, exchange)
        registration = registration_for(client_id, exchange, ctx)
        if registration is None:
            continue  # the usual trace: no dynamic registration to hold the request to
        methods = list(methods)
        registered = registered_method(registration)
        sends_secret = any(method in SECRET_METHODS for method in methods)
        if registered == "none" and sends_secret:
            yield Hit(
                hop=hop,
                message=f"registration.token_endpoint_auth_method = none → token request sends a secret "
                f"({', '.join(methods)})",
                evidence={"registered": "none", "methods": methods, "client_id": client_id},
            )
        elif registered != "none" and not methods and registration[1].get("client_secret"):
            yield Hit(
                hop=hop,
                message=f"registration.token_endpoint_auth_method = {registered} (secret issued) → token request "
                "sends no client authentication",
                evidence={"registered": registered, "methods": [], "client_id": client_id},
            )


@rule(
    "basic-auth-encoding",
    family="H",
    severity="warning",
    blame="C",
    needs="B",
    reads=("authorization",),
    when=("basic_auth",),
    spec="RFC 6749 §2.3.1",
    quote="The client identifier is encoded using the application/x-www-form-urlencoded encoding algorithm ... "
    "and the encoded value is used as the username; the client password is encoded using the same algorithm",
    fix="Client: form-urlencode client_id and client_secret before joining them with ':' and base64-encoding "
    "(a '+', '%', ':' or '/' sent raw decodes differently on a compliant provider).",
)
def basic_auth_encoding(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Basic credentials carry characters that form-urlencoding would have escaped."""
    for hop in token_endpoint_requests(exchange):
        raw = raw_basic_credentials(hop)
        if raw is None or "\ufffd" in raw[0] + raw[1]:
            continue  # no Basic header, or one that is not text at all: nothing to say about its encoding
        raw_user, raw_secret = raw
        known_id = _known_client_id(hop, exchange)
        if known_id and known_id != raw_user and f"{raw_user}:{raw_secret}".startswith(known_id + ":"):
            # A raw ':' inside the client_id moves the user/password split.
            yield _encoding_hit(hop, "client_id", known_id, _unescaped(known_id) or [":"])
            continue
        if known_id and raw_user == known_id and unquote_plus(known_id) != known_id:
            yield _encoding_hit(hop, "client_id", known_id, sorted({c for c in known_id if c in "%+"}))
        elif chars := _unescaped(raw_user):
            yield _encoding_hit(hop, "client_id", raw_user, chars)
        if chars := _unescaped(raw_secret):
            yield _encoding_hit(hop, "client_secret", None, chars)


def _encoding_hit(hop: Hop, field: str, shown: str | None, chars: list[str]) -> Hit:
    value = f" = {shown}" if shown is not None else ""
    return Hit(
        hop=hop,
        message=f"Basic {field}{value} sent with {' '.join(_char_name(c) for c in chars)} unescaped "
        "(expected form-urlencoded)",
        evidence={"field": field, "unescaped": chars},
    )


def _char_name(char: str) -> str:
    return repr(char) if " " <= char <= "~" else f"U+{ord(char):04X}"


def _known_client_id(hop: Hop, exchange: Exchange) -> str | None:
    """The client_id as the client states it elsewhere (authorize request or body), to recognise a raw ':'."""
    from_body = param(body_params(hop), "client_id")
    if from_body:
        return from_body
    if exchange.authorize is not None:
        return param(request_params(exchange.authorize), "client_id")
    return None


def _unescaped(raw: str) -> list[str]:
    """Characters form-urlencoding would have escaped; '+' and valid %XX escapes count as already encoded."""
    text = PERCENT_ESCAPE.sub("", raw)
    return sorted({char for char in text if char != "+" and not FORM_SAFE.fullmatch(char)})
