"""Family D: PKCE (RFC 7636) — challenge sent, verifier checked, S256 used and advertised."""

from __future__ import annotations

import re
from typing import Iterable

from oauthtrace.analysis.oauth import body_param, client_auth_used, request_param, shown, token_fields
from oauthtrace.analysis.providers import named, provider_of, provider_of_issuer
from oauthtrace.analysis.profiles import MCP_BASED, canonical
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.analysis.rules.issuer import _metadata_hops
from oauthtrace.digests import s256
from oauthtrace.model import Exchange, Hit, Hop, Pairs, is_redacted

# Severities the profiles give these rules ({profile: {rule_id: severity}}); read by analysis/profiles.py.
PROFILE_SEVERITIES = {
    "oauth21": {"pkce-missing": "error"},
    "mcp": {"pkce-missing": "error", "pkce-plain": "error", "pkce-not-advertised": "error"},
    # A GPT Action cannot send PKCE and the provider cannot change that: tell, do not fail (RULES.md Profiles).
    "gpt-actions": {"pkce-missing": "info", "pkce-plain": "error", "pkce-not-advertised": "error"},
}

# RFC 7636 §4.1: code-verifier = 43*128unreserved; unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]*")
S256_CHALLENGE_LENGTH = 43  # BASE64URL of a 32-byte SHA-256 digest, without padding


def authorize_params(exchange: Exchange, ctx: Context) -> Pairs | None:
    """The authorization request's parameters, with those pushed (RFC 9126) or in a request object (RFC 9101).

    None when they cannot be known (no authorize hop, or a request_uri whose PAR request was not recorded):
    the PKCE rules then say nothing rather than guess.
    Shared with the other rules: read-only.
    """
    return facts(exchange, ctx).sent


def _is_code_flow(response_type: str | None) -> bool:
    return response_type is None or "code" in response_type.split()


def _token_requests(exchange: Exchange) -> list[Hop]:
    return list(exchange.tokens)


def _issued_tokens(hop: Hop) -> bool:
    fields = token_fields(hop) or {}
    return hop.status == 200 and bool(fields.get("access_token"))


def _client_type(exchange: Exchange) -> str:
    """public / confidential / unknown, from how the token request authenticated (or the registration)."""
    for hop in exchange.registrations:
        registered = hop.resp_json()
        if isinstance(registered, dict) and registered.get("token_endpoint_auth_method") == "none":
            return "public"
    methods = {client_auth_used(hop) for hop in _token_requests(exchange)}
    if not methods:
        return "unknown"
    return "public" if methods == {"none"} else "confidential"


_CLIENT_TYPE_WORDS = {
    "public": "public client: no client authentication at the token endpoint",
    "confidential": "confidential client",
    "unknown": "client type unknown: no token request recorded",
}



@trait("code_challenge")
def sends_code_challenge(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request (with its pushed request or request object) sent a code_challenge."""
    return bool(facts(exchange, ctx).sent_param("code_challenge"))


@trait("code_verifier")
def sends_code_verifier(exchange: Exchange, ctx: Context) -> bool:
    """A token request of the exchange sent a code_verifier."""
    for hop in exchange.tokens:
        if body_param(hop, "code_verifier"):
            return True
    return False


@rule(
    "pkce-missing",
    family="D",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 7636 §4.3; RFC 9700 §2.1.1; OAuth 2.1 §4.1.1; MCP authorization",
    quote="Public clients MUST use PKCE … For confidential clients, the use of PKCE is RECOMMENDED … confidential "
    "OpenID Connect clients MAY use the nonce parameter and the respective Claim in the ID Token instead (RFC 9700 "
    "§2.1.1); MCP clients MUST implement PKCE",
    fix="Client: send code_challenge=BASE64URL(SHA256(code_verifier)) with code_challenge_method=S256 on "
    "/authorize and code_verifier on the token request. Provider serving a client that cannot (a GPT Action): "
    "accept the code exchange without PKCE for that confidential client only.",
)
def pkce_missing(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The authorization request carries no code_challenge."""
    known = facts(exchange, ctx)
    if known.sent is None or not _is_code_flow(known.sent_param("response_type")) or known.sent_param(
            "code_challenge"):
        return ()
    client_type = _client_type(exchange)
    if _nonce_instead(exchange, ctx):
        return [Hit(
            hop=exchange.authorize,
            message=f"authorize.code_challenge = ∅ ({_CLIENT_TYPE_WORDS[client_type]}, OpenID Connect with "
            f"nonce: {NONCE_INSTEAD})",
            evidence={"param": "code_challenge", "sent": None, "client_type": client_type, "nonce": True,
                      "basis": "RFC 9700 §2.1.1"},
            severity="info",
        )]
    return [Hit(
        hop=exchange.authorize,
        message=f"authorize.code_challenge = ∅ ({_CLIENT_TYPE_WORDS[client_type]})",
        evidence={"param": "code_challenge", "sent": None, "client_type": client_type},
        severity="error" if client_type == "public" else None,
    )]


# RFC 9700 §2.1.1's own sentence: what lets a confidential OpenID Connect client go without PKCE. Its 4.5.3.2
# precautions (a transaction-specific nonce bound to the user agent, checked in the ID token) are the client's to
# keep; the profiles that require PKCE outright (oauth21, mcp) still say error.
NONCE_INSTEAD = ("RFC 9700 §2.1.1: \"With additional precautions, described in Section 4.5.3.2, confidential "
                 "OpenID Connect [OpenID.Core] clients MAY use the nonce parameter and the respective Claim in the "
                 "ID Token instead\"")


# the profiles under which a missing code_challenge is an error whatever the client (OAuth 2.1, MCP)
_PKCE_REQUIRED = frozenset(name for name, table in PROFILE_SEVERITIES.items() if table.get("pkce-missing") == "error"
                           ) | frozenset(MCP_BASED)


def _nonce_instead(exchange: Exchange, ctx: Context) -> bool:
    """A confidential OpenID Connect client that sent nonce and no code_challenge, under a profile that does not
    require PKCE outright: RFC 9700 §2.1.1 lets it go without PKCE."""
    known = facts(exchange, ctx)
    if known.sent is None or known.sent_param("code_challenge") or canonical(ctx.profile) in _PKCE_REQUIRED:
        return False
    return _relies_on_nonce(known) and _client_type(exchange) == "confidential"


def _relies_on_nonce(known) -> bool:
    """An OpenID Connect authentication request that sends a nonce: scope holds openid, or the response type asks
    for an ID token (only OpenID Connect defines it; Sign in with Apple asks `code id_token` with scope
    `name email`)."""
    if not known.sent_param("nonce"):
        return False
    return "openid" in (known.sent_param("scope") or "").split() or "id_token" in (
        known.sent_param("response_type") or "").split()


@rule(
    "pkce-plain",
    family="D",
    severity="warning",
    blame="C",
    needs="F",
    when=("code_challenge",),
    spec="RFC 7636 §4.2, §4.3; RFC 9700 §2.1.1; MCP authorization",
    quote="If the client is capable of using S256, it MUST use S256 … if code_challenge_method is not present, "
    "the server MUST use plain",
    fix="Client: send code_challenge_method=S256 with code_challenge=BASE64URL(SHA256(code_verifier)); without "
    "the method the provider treats the challenge as the verifier itself.",
)
def pkce_plain(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """PKCE uses the plain method (explicitly, or by leaving code_challenge_method out)."""
    known = facts(exchange, ctx)
    if not known.sent_param("code_challenge"):
        return ()
    method = known.sent_param("code_challenge_method")
    if method is not None and method != "plain":
        return ()
    advertised = _advertised_methods(ctx)
    downgrade = " although the provider advertises S256" if advertised and "S256" in advertised else ""
    shown_method = "plain" if method else "∅ (⇒ plain)"
    return [Hit(
        hop=exchange.authorize,
        message=f"authorize.code_challenge_method = {shown_method} ≠ S256{downgrade}",
        evidence={"param": "code_challenge_method", "sent": method, "advertised": advertised},
    )]


def _advertised_methods(ctx: Context) -> list | None:
    document = ctx.as_metadata()
    methods = document.get("code_challenge_methods_supported") if isinstance(document, dict) else None
    return methods if isinstance(methods, list) else None


@rule(
    "pkce-verifier-mismatch",
    family="D",
    severity="error",
    blame="C",
    needs="B",
    when=("code_challenge",),
    cause="The client's `code_verifier` does not match its `code_challenge`",
    spec="RFC 7636 §4.6",
    quote="If the values are equal, the token endpoint MUST continue processing as normal … If the values are "
    "not equal, an error response indicating \"invalid_grant\" … MUST be returned",
    fix="Client: send the code_verifier generated for this very authorization request (store it with its "
    "state), and compute the challenge as BASE64URL(SHA256(ASCII(verifier))) without '=' padding.",
)
def pkce_verifier_mismatch(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The token request's code_verifier does not transform into the authorize request's code_challenge."""
    hits: list[Hit] = []
    known = facts(exchange, ctx)
    challenge = known.sent_param("code_challenge")
    if not challenge:
        return hits
    method = known.sent_param("code_challenge_method") or "plain"
    if method not in ("S256", "plain"):
        return hits  # an unknown method: the provider must refuse it; nothing to compute
    for hop in _token_requests(exchange):
        verifier = body_param(hop, "code_verifier")
        if not verifier:
            continue
        computed = s256(verifier) if method == "S256" else verifier
        if computed == challenge:
            continue
        hits.append(Hit(hop=hop, message=_mismatch_message(method, verifier, computed, challenge, hop, exchange, ctx),
                        evidence={"code_verifier": shown(verifier, secret=True), "method": method,
                                  "computed": computed if method == "S256" else shown(computed, secret=True),
                                  "code_challenge": challenge, "status": hop.status,
                                  "other_exchange": _challenge_owner(ctx, computed, exchange)}))
    return hits


def _mismatch_message(method, verifier, computed, challenge, hop, exchange, ctx) -> str:
    transform = "→ S256 " if method == "S256" else "(plain) "
    message = (f"token.code_verifier = {shown(verifier, secret=True)} {transform}= {shown(computed, secret=True)} "
               f"≠ authorize.code_challenge = {shown(challenge, secret=True)}")
    why = _why_mismatch(method, verifier, computed, challenge)
    if why:
        message += f" ({why})"
    owner = _challenge_owner(ctx, computed, exchange)
    if owner is not None:
        message += f"; it matches exchange {owner}'s challenge — the flows crossed"
    if _issued_tokens(hop):
        message += "; the provider still issued tokens: it does not verify PKCE"
    return message


def _why_mismatch(method: str, verifier: str, computed: str, challenge: str) -> str:
    if challenge.rstrip("=") == computed and challenge.endswith("="):
        return "the challenge kept base64 '=' padding"
    if challenge == computed.replace("-", "+").replace("_", "/"):
        return "the challenge used base64, not base64url"
    if method == "plain" and s256(verifier) == challenge:
        return "the challenge is S256 but code_challenge_method said plain"
    if method == "S256" and verifier == challenge:
        return "the challenge is the verifier itself: S256 announced, plain sent"
    return ""


def _challenge_owner(ctx: Context, challenge: str, exchange: Exchange) -> int | None:
    owners = memo(ctx, "pkce.challenge-owners", lambda: _challenge_index(ctx))
    owner = owners.get(challenge)
    return owner if owner is not None and owner != exchange.index else None


def _challenge_index(ctx: Context) -> dict[str, int]:
    """code_challenge -> index of the first exchange that sent it."""
    index: dict[str, int] = {}
    for exchange in sorted(ctx.exchanges, key=lambda ex: ex.index):
        if exchange.authorize is not None:
            challenge = request_param(exchange.authorize, "code_challenge")
            if challenge:
                index.setdefault(challenge, exchange.index)
    return index


def _challenge_reusers(ctx: Context) -> dict[int, int]:
    """exchange index -> the exchange of a lower index that first sent its code_challenge (read as
    _challenge_index reads it), for the only exchanges pkce-challenge-reused reports."""
    owners = memo(ctx, "pkce.challenge-owners", lambda: _challenge_index(ctx))
    reusers: dict[int, int] = {}
    for exchange in ctx.exchanges:
        if exchange.authorize is not None:
            challenge = request_param(exchange.authorize, "code_challenge")
            if challenge and owners[challenge] < exchange.index:
                reusers[exchange.index] = owners[challenge]
    return reusers


@rule(
    "pkce-verifier-missing",
    family="D",
    severity="error",
    blame="C",
    needs="B",
    when=("code_challenge",),
    spec="RFC 7636 §4.5, §4.6; RFC 9700 §2.1.1",
    quote="code_verifier REQUIRED (RFC 7636 §4.5); authorization servers MUST enforce the correct usage of "
    "code_verifier (RFC 9700 §2.1.1)",
    fix="Client: send the code_verifier of this flow in the token request. Provider: refuse a code issued with "
    "a code_challenge when no code_verifier comes with it (invalid_grant).",
)
def pkce_verifier_missing(exchange: Exchange, ctx: Context) -> list[Hit]:
    """A code_challenge was sent but the token request has no code_verifier."""
    hits: list[Hit] = []
    challenge = facts(exchange, ctx).sent_param("code_challenge")
    if not challenge:
        return hits
    for hop in _token_requests(exchange):
        if body_param(hop, "code_verifier"):
            continue
        accepted = _issued_tokens(hop)
        message = f"authorize.code_challenge = {shown(challenge, secret=True)} → token.code_verifier = ∅"
        if accepted:
            message += "; the provider still issued tokens: it does not enforce PKCE"
        hits.append(Hit(hop=hop, message=message,
                        evidence={"code_challenge": challenge, "code_verifier": None, "status": hop.status,
                                  "provider_accepted": accepted},
                        blame="AS" if accepted else None))
    return hits


@rule(
    "pkce-downgrade",
    family="D",
    severity="error",
    blame="AS",
    needs="F+B",
    when=("code_verifier",),
    spec="RFC 9700 §2.1.1, §4.8.2; OAuth 2.1 §4.1.3",
    quote="code_verifier … present if and only if a code_challenge parameter was present in the authorization "
    "request (OAuth 2.1); the AS MUST reject a code_verifier when no code_challenge was sent (RFC 9700 §4.8.2)",
    fix="Provider: when the authorization code was issued without a code_challenge, answer a token request "
    "that carries a code_verifier with invalid_grant — otherwise an attacker can strip PKCE from the request.",
)
def pkce_downgrade(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The provider issued tokens for a code_verifier although the authorize request had no code_challenge."""
    hits: list[Hit] = []
    known = facts(exchange, ctx)
    if known.sent is None or known.sent_param("code_challenge"):
        return hits
    for hop in _token_requests(exchange):
        verifier = body_param(hop, "code_verifier")
        if verifier and _issued_tokens(hop):
            hits.append(Hit(hop=hop,
                            message=f"authorize.code_challenge = ∅ → token.code_verifier = "
                            f"{shown(verifier, secret=True)} → {hop.status} with access_token",
                            evidence={"code_challenge": None, "code_verifier": shown(verifier, secret=True),
                                      "status": hop.status}))
    return hits


@rule(
    "pkce-verifier-malformed",
    family="D",
    severity="error",
    blame="C",
    needs="F/B",
    when=("code_challenge", "code_verifier"),
    spec="RFC 7636 §4.1, §4.2; OAuth 2.1 §4.1.1",
    quote="code-verifier = 43*128unreserved; unreserved = ALPHA / DIGIT / \"-\" / \".\" / \"_\" / \"~\"",
    fix="Client: make the verifier 43–128 characters of [A-Za-z0-9-._~] (e.g. 32 random bytes, base64url "
    "without padding) and the S256 challenge the unpadded base64url SHA-256 of it (43 characters).",
)
def pkce_verifier_malformed(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The code_verifier or code_challenge breaks RFC 7636's length or character rules."""
    hits: list[Hit] = []
    known = facts(exchange, ctx)
    if known.sent is not None:
        challenge = known.sent_param("code_challenge")
        method = known.sent_param("code_challenge_method") or "plain"
        problem = _malformed(challenge, exact=S256_CHALLENGE_LENGTH if method == "S256" else None)
        if challenge and problem:
            hits.append(Hit(hop=exchange.authorize,
                            message=f"authorize.code_challenge = {shown(challenge, secret=True)} {problem}",
                            evidence=_malformed_evidence("code_challenge", challenge, method)))
    for hop in _token_requests(exchange):
        verifier = body_param(hop, "code_verifier")
        problem = _malformed(verifier)
        if verifier and problem:
            hits.append(Hit(hop=hop, message=f"token.code_verifier = {shown(verifier, secret=True)} {problem}",
                            evidence=_malformed_evidence("code_verifier", verifier, None)))
    return hits


def _malformed(value: str | None, *, exact: int | None = None) -> str:
    """What is wrong with a verifier or challenge, in a few words; "" when nothing is (or it was redacted)."""
    if not value or is_redacted(value):
        return ""
    if not UNRESERVED.fullmatch(value):
        bad = sorted({ch for ch in value if not UNRESERVED.fullmatch(ch)})
        hint = (" (base64 '=' padding)" if bad == ["="] else
                " (base64, not base64url)" if set(bad) <= {"+", "/", "="} else "")
        return f"has characters outside [A-Za-z0-9-._~]: {' '.join(shown(ch) for ch in bad[:8])}{hint}"
    if exact is not None and len(value) != exact:
        return f"is {len(value)} characters; an S256 challenge is {exact}"
    if not 43 <= len(value) <= 128:
        return f"is {len(value)} characters, outside 43–128"
    return ""


def _malformed_evidence(name: str, value: str, method: str | None) -> dict:
    # The verifier is a secret (the challenge is public): evidence leaves the database with `check --format json`.
    kept = shown(value, secret=True) if name == "code_verifier" else value
    return {"param": name, "value": kept, "length": len(value), "method": method,
            "bad_characters": sorted({ch for ch in value if not UNRESERVED.fullmatch(ch)})[:16]}


@rule(
    "pkce-challenge-reused",
    family="D",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 9700 §2.1.1",
    quote="clients MUST use a transaction-specific code_challenge … authorization servers are encouraged to "
    "detect constant code_challenge values",
    fix="Client: generate a fresh random code_verifier for every authorization request; never hard-code it or "
    "keep it across logins.",
)
def pkce_challenge_reused(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The same code_challenge appears in more than one flow."""
    first_owner = memo(ctx, "pkce.challenge-reusers", lambda: _challenge_reusers(ctx)).get(exchange.index)
    if first_owner is None:
        return ()  # the usual exchange: a challenge of its own, or none — one lookup
    challenge = request_param(exchange.authorize, "code_challenge")
    return [Hit(hop=exchange.authorize,
                message=f"authorize.code_challenge = {shown(challenge, secret=True)} = exchange {first_owner}'s "
                "code_challenge",
                evidence={"code_challenge": challenge, "first_exchange": first_owner})]


@rule(
    "pkce-not-advertised",
    family="D",
    severity="warning",
    blame="AS",
    needs="M",
    spec="RFC 9700 §2.1.1; RFC 8414 §2; MCP authorization; OpenAI Apps SDK authentication",
    quote="If code_challenge_methods_supported is absent, MCP clients MUST refuse to proceed (MCP); "
    "authorization servers SHOULD publish it (RFC 9700 §2.1.1)",
    fix="Provider: add \"code_challenge_methods_supported\": [\"S256\"] to the authorization server metadata "
    "(/.well-known/oauth-authorization-server and openid-configuration).",
)
def pkce_not_advertised(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The authorization server metadata does not list S256 in code_challenge_methods_supported."""
    hits: list[Hit] = []
    for hop in _metadata_hops(exchange, ctx):  # each document reported once, by its first exchange
        document = hop.resp_json()
        if not _is_as_metadata(document):
            continue
        methods = document.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" in methods:
            continue
        if methods is None:
            what = "∅"
        elif not isinstance(methods, list):
            what = f"{shown(methods)} (not a JSON array)"
        else:
            what = f"{shown(methods)} (no S256)"
        hit = Hit(hop=hop, message=f"metadata.code_challenge_methods_supported = {what}",
                  evidence={"issuer": document.get("issuer"), "code_challenge_methods_supported": methods})
        if _nonce_instead(exchange, ctx):
            # this login cannot have failed for it: the client does without PKCE, as RFC 9700 §2.1.1 allows it
            hit.severity = "info"
            hit.message += f" (this confidential OpenID Connect client sends nonce instead: {NONCE_INSTEAD})"
        provider = provider_of_issuer(document.get("issuer")) or provider_of(hop)
        if provider is not None and provider.deviation("pkce-not-advertised"):
            hit = named(hit, provider, "pkce-not-advertised")  # true, and the provider's docs say it does PKCE
        hits.append(hit)
    return hits


def _is_as_metadata(document) -> bool:
    return isinstance(document, dict) and "issuer" in document and (
        "authorization_endpoint" in document or "token_endpoint" in document)
