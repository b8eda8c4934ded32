"""Family J: OpenID Connect — nonce and the id_token's own claims (OIDC Core §2, §3.1.2.1, §3.1.3.7).

id_tokens are decoded without verifying signatures and without network: the checks are the ones a client
makes on the claims. An encrypted id_token (JWE, five segments) cannot be read and is left alone.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

from oauthtrace.analysis.jwt import decode as decode_jwt
from oauthtrace.analysis.oauth import basic_credentials, body_params, param, request_params, shown, token_response
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.analysis.rules.issuer import authorization_response, how_differs, id_tokens
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.digests import half_hash
from oauthtrace.model import Exchange, Hit, Hop, Pairs, is_redacted

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")  # OIDC Core §2
CLOCK_LEEWAY = 60  # seconds: the recorder's clock and the provider's may differ a little
HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def authorize_params(exchange: Exchange, ctx: Context) -> Pairs | None:
    """The authorization request's parameters, with a pushed request's (RFC 9126) or a request object's added.

    None when they cannot be known (no authorize hop, or a request_uri whose pushed request was not recorded).
    Shared with the other rules: read-only.
    """
    return facts(exchange, ctx).sent


def is_openid(pairs: Pairs) -> bool:
    return "openid" in (param(pairs, "scope") or "").split()


@trait("openid")
def asks_openid(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request's scope holds openid."""
    known = facts(exchange, ctx)  # its parameters' first values: one lookup rather than a scan of the pairs
    return known.sent is not None and "openid" in (known.sent_param("scope") or "").split()


@trait("nonce")
def sends_nonce(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request sent a nonce."""
    return bool(facts(exchange, ctx).sent_param("nonce"))


@rule(
    "nonce-missing",
    family="J",
    severity="error",
    blame="C",
    needs="F",
    when=("openid",),
    spec="OIDC Core §3.1.2.1, §3.2.2.1, §3.3.2.11; RFC 9700 §2.1.1, §4.5.3.2",
    quote="nonce: REQUIRED for the implicit and hybrid flows; clients without PKCE MUST use nonce (or state) "
    "to bind the response to the user agent",
    fix="Client: send a fresh, unguessable nonce in every OpenID Connect authorization request and check it in "
    "the id_token (or use PKCE for the code flow).",
)
def nonce_missing(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An OpenID Connect request without nonce: error when an id_token comes from the front channel, warning for
    the code flow without PKCE."""
    pairs = authorize_params(exchange, ctx)
    if pairs is None or not is_openid(pairs) or param(pairs, "nonce"):
        return
    response_type = param(pairs, "response_type") or ""
    types = set(response_type.split())
    if "id_token" in types or {"code", "token"} <= types:
        yield Hit(
            hop=exchange.authorize,
            message=f"authorize.response_type = {response_type} → authorize.nonce = ∅",
            evidence={"param": "nonce", "sent": None, "response_type": response_type},
        )
    elif types == {"code"} and not param(pairs, "code_challenge"):
        yield Hit(
            hop=exchange.authorize,
            message="authorize.nonce = ∅ and authorize.code_challenge = ∅ (code flow, openid scope)",
            evidence={"param": "nonce", "sent": None, "response_type": response_type, "pkce": False},
            severity="warning",
        )


def _code_flow_id_tokens(exchange: Exchange, ctx: Context) -> Iterator[tuple[Hop, str]]:
    """id_tokens answering the authorization request (not refreshes, whose id_tokens carry no nonce)."""
    refreshes = {id(hop) for hop in exchange.refreshes}
    for hop, token in id_tokens(exchange, ctx):
        if id(hop) not in refreshes:
            yield hop, token


@rule(
    "nonce-mismatch",
    family="J",
    severity="error",
    blame="AS",
    needs="B",
    when=("id_token",),
    spec="OIDC Core §3.1.3.7 step 11, §3.1.2.1",
    quote="If a nonce value was sent in the Authentication Request, a nonce Claim MUST be present and its value "
    "checked to verify that it is the same value as the one that was sent",
    fix="Provider: copy the request's nonce unmodified into the id_token's nonce claim.",
)
def nonce_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The id_token's nonce is absent although one was sent, or differs from it."""
    pairs = authorize_params(exchange, ctx)
    sent = param(pairs or [], "nonce")
    if not sent:
        return
    for hop, token in _code_flow_id_tokens(exchange, ctx):
        decoded = decode_jwt(token)
        if decoded is None or not isinstance(decoded.claims, dict):
            continue  # id-token-invalid reports it
        got = decoded.claims.get("nonce")
        if got == sent:
            continue
        difference = "absent" if got is None else describe_difference(sent, str(got))
        yield Hit(
            hop=hop,
            message=f"authorize.nonce = {shown(sent)} → id_token.nonce = {shown(got)}"
            + ("" if got is None else how_differs(sent, str(got))),
            evidence={"param": "nonce", "sent": sent, "returned": got, "difference": difference},
        )


@rule(
    "nonce-reused",
    family="J",
    severity="warning",
    blame="C",
    needs="F",
    when=("nonce",),
    spec="RFC 9700 §2.1.1; OIDC Core §15.5.2",
    quote="the nonce value MUST be transaction-specific; it is a random value bound to one authentication request",
    fix="Client: generate a new random nonce for every authorization request and keep it with that request's "
    "session.",
)
def nonce_reused(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The same nonce was sent in another, earlier authorization request.

    The very same request sent again (a reload: identical URL) is left to the state rules.
    """
    pairs = authorize_params(exchange, ctx)
    nonce = param(pairs or [], "nonce")
    if not nonce:
        return
    sent_before = memo(ctx, "oidc.nonces", lambda: _nonce_index(ctx)).get(nonce, [])
    for index, seq, url in sent_before:
        if index >= exchange.index:
            break
        if seq == exchange.authorize.seq or url == exchange.authorize.url:
            continue
        yield Hit(
            hop=exchange.authorize,
            message=f"authorize.nonce = {shown(nonce)} = nonce of exchange {index} (hop {seq})",
            evidence={"param": "nonce", "sent": nonce, "earlier_exchange": index, "earlier_hop": seq},
        )
        return


def _nonce_index(ctx: Context) -> dict[str, list[tuple[int, int, str]]]:
    """nonce -> (exchange index, authorize seq, authorize URL) in exchange order, built once per trace."""
    index: dict[str, list[tuple[int, int, str]]] = {}
    for exchange in sorted(ctx.exchanges, key=lambda ex: ex.index):
        nonce = param(authorize_params(exchange, ctx) or [], "nonce")
        if nonce:
            index.setdefault(nonce, []).append((exchange.index, exchange.authorize.seq, exchange.authorize.url))
    return index


def client_id_of(exchange: Exchange) -> str | None:
    if exchange.authorize is not None and (value := param(request_params(exchange.authorize), "client_id")):
        return value
    for hop in exchange.tokens + exchange.refreshes:
        if value := param(body_params(hop), "client_id"):
            return value
        if (basic := basic_credentials(hop)) and basic[0]:
            return basic[0]
    return None


def token_hash(value: str, alg: str) -> str | None:
    """at_hash / c_hash: the left half of the hash (the one of the JWS alg) of the value, base64url."""
    hasher = HASHES.get(alg[-3:]) if alg[:2] in ("HS", "RS", "ES", "PS") else None
    if hasher is None:
        return None
    return half_hash(value, hasher)


def id_token_problems(token: str, *, client_id: str | None, received: float, access_token: str | None,
                      code: str | None) -> list[tuple[str, dict]]:
    """(message, evidence) for each thing wrong with one id_token's header and claims."""
    if token.count(".") == 4:
        return []  # encrypted (JWE): nothing readable without the client's key
    decoded = decode_jwt(token)
    if decoded is None or not isinstance(decoded.claims, dict) or not isinstance(decoded.header, dict):
        return [("id_token does not decode as a JWT (header.payload.signature, base64url JSON)",
                 {"problem": "undecodable"})]
    header, claims = decoded.header, decoded.claims
    problems = []
    alg = str(header.get("alg", ""))
    if alg.lower() == "none":
        problems.append(("id_token header.alg = none (unsigned)", {"problem": "alg-none", "alg": alg}))
    missing = [name for name in REQUIRED_CLAIMS if name not in claims]
    if missing:
        problems.append((f"id_token lacks required claims: {', '.join(missing)}",
                         {"problem": "missing-claims", "missing": missing}))
    problems += _audience_problems(claims, client_id)
    problems += _time_problems(claims, received)
    for claim, value, name in (("at_hash", access_token, "access_token"), ("c_hash", code, "code")):
        # A redacted export replaced the token or code by a fingerprint: its hash says nothing.
        readable = value and not is_redacted(value)
        expected = token_hash(value, alg) if readable and isinstance(claims.get(claim), str) else None
        if expected is not None and claims[claim] != expected:
            problems.append((f"id_token.{claim} = {claims[claim]} ≠ hash of the {name} = {expected}",
                             {"problem": claim, "returned": claims[claim], "expected": expected}))
    return problems


def _audience_problems(claims: dict, client_id: str | None) -> list[tuple[str, dict]]:
    aud = claims.get("aud")
    if aud is None or client_id is None:
        return []
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id in audiences:
        return []
    return [(f"id_token.aud = {shown(aud)} ∌ client_id = {client_id}",
             {"problem": "aud", "returned": aud, "expected": client_id})]


def _time_problems(claims: dict, received: float) -> list[tuple[str, dict]]:
    problems = []
    for name in ("exp", "iat"):
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], (int, float))):
            problems.append((f"id_token.{name} = {shown(claims[name])} is not a number (seconds since the epoch)",
                             {"problem": f"{name}-type", "returned": claims[name]}))
    exp = claims.get("exp")
    if received and isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp + CLOCK_LEEWAY < received:
        problems.append((f"id_token.exp = {exp} < received at {int(received)} (expired {int(received - exp)} s "
                         "before it arrived)", {"problem": "expired", "exp": exp, "received": received}))
    return problems


@rule(
    "id-token-invalid",
    family="J",
    severity="error",
    blame="AS",
    needs="B",
    when=("id_token",),
    spec="OIDC Core §2, §3.1.3.7, §3.2.2.9, §3.3.2.10",
    quote="The Client MUST validate that the aud (audience) Claim contains its client_id value ... The current "
    "time MUST be before the time represented by the exp Claim",
    fix="Provider: issue signed id_tokens with iss, sub, aud (containing the client_id), exp in the future, iat, "
    "and at_hash/c_hash computed with the hash of the signing algorithm.",
)
def id_token_invalid(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The id_token does not decode, is unsigned, lacks required claims, has the wrong audience, arrives
    expired, or carries a wrong at_hash / c_hash."""
    client_id = client_id_of(exchange)
    _, response = authorization_response(exchange, ctx)
    for hop, token in id_tokens(exchange, ctx):
        body = token_response(hop) or {}
        access_token = body.get("access_token") if isinstance(body.get("access_token"), str) else None
        front_channel = hop is exchange.authz_response or hop is exchange.callback
        if front_channel:
            access_token = param(response, "access_token")
        code = param(response, "code") if front_channel else None
        for message, evidence in id_token_problems(token, client_id=client_id, received=hop.ended or hop.started,
                                                   access_token=access_token, code=code):
            yield Hit(hop=hop, message=message, evidence=evidence)
