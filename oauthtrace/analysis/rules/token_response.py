"""Family G: the token endpoint's answer — JSON, the required fields, numbers as numbers, no caching, scope,
and how refresh tokens are used and rotated."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Iterator

from oauthtrace.analysis import jwt
from oauthtrace.analysis.oauth import (
    body_params, client_auth_used, param, shown, token_fields, token_response,
)
from oauthtrace.analysis.providers import named, provider_of, same_grant, spelled
from oauthtrace.analysis.registry import Context, rule, trait
from oauthtrace.analysis.rules._shared import facts, per_exchange
from oauthtrace.model import Exchange, Hit, Hop, every

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}
# token-cache-headers has two cases with different severities; only its Pragma case changes with the profile
# (info under oauth21), so the rule reads ctx.profile for that case instead of a rule-wide override here.
# Its Pragma case is also info whenever Cache-Control: no-store is present (see _pragma_severity).

TOKEN_TYPES = {"bearer": "Bearer", "dpop": "DPoP", "n_a": "N_A", "mac": "mac"}  # IANA OAuth Access Token Types
CANONICAL_TOKEN_TYPES = frozenset(TOKEN_TYPES.values())
# Numeric members providers put in token responses (expires_in is RFC 6749's; the others are common extensions).
NUMERIC_FIELDS = ("expires_in", "refresh_expires_in", "refresh_token_expires_in", "ext_expires_in")
TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def _responses(exchange: Exchange, ctx: Context) -> list[tuple[str, Hop]]:
    """Token-endpoint hops of the exchange that got an HTTP answer, named for messages (read once per exchange
    for this family's rules)."""
    return _answers(exchange, ctx)[0]


def _successful(exchange: Exchange, ctx: Context) -> list[tuple[str, Hop, dict]]:
    """(name, hop, JSON object) for 200 answers that are not errors in disguise."""
    return _answers(exchange, ctx)[1]


Answered = list[tuple[str, Hop]]
Successful = list[tuple[str, Hop, dict]]


def _answers(exchange: Exchange, ctx: Context) -> tuple[Answered, Successful, bool]:
    """(_responses, _successful, has_token_answer_flaw), read together in one pass once per exchange."""
    return per_exchange(exchange, ctx, "token_response.answers", lambda: _read_answers(exchange))


def _read_answers(exchange: Exchange) -> tuple[Answered, Successful, bool]:
    answered, successful, flawed = [], [], False
    for name, hops in (("token", exchange.tokens), ("refresh", exchange.refreshes)):
        for hop in hops:
            if hop.status is None:
                continue
            answered.append((name, hop))
            data = token_response(hop)
            if not _json_object_answer(hop.resp_content_type, data):
                flawed = True
            if hop.status == 200 and data is not None and "error" not in data:
                successful.append((name, hop, data))
                if not _complete(data) or _has_numeric_string(data):
                    flawed = True
    return answered, successful, flawed


@trait("token_answer_flaw")
def has_token_answer_flaw(exchange: Exchange, ctx: Context) -> bool:
    """A token-endpoint answer that token-response-not-json, token-fields-missing or expires-in-not-number may
    report: one that is not a JSON object served as application/json, or a success without access_token and a
    registered token_type, or with a numeric member as a JSON string. Told once per exchange for the three rules
    (most answers are clean), by the tests those rules make before reporting, in the pass that reads the answers."""
    return _answers(exchange, ctx)[2]


@rule(
    "token-response-not-json",
    family="G",
    severity="error",
    blame="AS",
    needs="B",
    when=("token_answer_flaw",),
    cause="The provider answered the token request with a body that is not JSON",
    spec="RFC 6749 §5.1, §5.2",
    quote="The parameters are included in the entity-body of the HTTP response using the \"application/json\" "
    "media type",
    fix="Provider: answer the token endpoint — successes and errors — with a JSON object and "
    "Content-Type: application/json, whatever the request's Accept header says.",
)
def token_response_not_json(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The token response is not a JSON object served as application/json."""
    for name, hop in _responses(exchange, ctx):
        media = hop.resp_content_type
        data = hop.resp_json()
        if _json_object_answer(media, data):
            continue
        body = _body_kind(hop, data)
        if media == "application/json":
            message = f"{name}.Content-Type = application/json but the body is {body}"
        else:
            message = f"{name}.Content-Type = {shown(media or None)} ≠ application/json (body: {body})"
        yield Hit(hop=hop, message=f"HTTP {hop.status}: {message}",
                  evidence={"status": hop.status, "content_type": media or None, "body": body})


def _json_object_answer(media: str, data) -> bool:
    """A JSON object served as application/json: the answer token-response-not-json expects."""
    return media == "application/json" and isinstance(data, dict)


def _body_kind(hop: Hop, data) -> str:
    """What the body is, in a few words, without quoting it (it may hold a token)."""
    raw = hop.resp_body or b""
    if not raw.strip():
        return "empty"
    if isinstance(data, dict):
        return "a JSON object"
    if data is not None:
        return f"JSON but a {type(data).__name__}, not an object"
    head = raw[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<")):
        return "HTML"
    text = hop.resp_text
    if "=" in text and ("access_token=" in text or "error=" in text):
        return "form-encoded fields"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "binary, not UTF-8"
    return "text that does not parse as JSON"


@rule(
    "token-fields-missing",
    family="G",
    severity="error",
    blame="AS",
    needs="B",
    when=("token_answer_flaw",),
    cause="The provider's token response lacks `access_token` or a usable `token_type`",
    spec="RFC 6749 §5.1, §7.1",
    quote="access_token REQUIRED … token_type REQUIRED … The client MUST NOT use an access token if it does not "
    "understand the token type",
    fix="Provider: include \"access_token\" and \"token_type\": \"Bearer\" in every successful token response "
    "(code exchange and refresh).",
)
def token_fields_missing(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A successful token response lacks access_token or token_type, or has a token_type clients do not know."""
    for name, hop, data in _successful(exchange, ctx):
        missing = [field for field in ("access_token", "token_type")
                   if not isinstance(data.get(field), str) or not data.get(field)]
        if missing:
            yield Hit(hop=hop, message=f"{name}: HTTP 200 without {', '.join(missing)} "
                      f"({', '.join(f'{f} = ∅' for f in missing)})",
                      evidence={"missing": missing, "fields": sorted(map(str, data))[:30]})
        token_type = data.get("token_type")
        if "token_type" in missing or not isinstance(token_type, str):
            continue
        canonical = TOKEN_TYPES.get(token_type.lower())
        if canonical is None:
            hit = Hit(hop=hop, message=f"{name}.token_type = {shown(token_type)} (not a registered type; "
                      "expected Bearer)", evidence={"token_type": token_type}, severity="warning")
            provider = provider_of(hop) or provider_of(exchange)
            if provider is not None and token_type in provider.token_types:
                hit = named(hit, provider, "oauth-v2-access", severity="info")  # documented, and its clients expect it
            yield hit
        elif token_type != canonical:
            yield Hit(hop=hop, message=f"{name}.token_type = {shown(token_type)} ≈ {canonical} (case-insensitive "
                      "by RFC 6749 §5.1, but some clients compare exactly)",
                      evidence={"token_type": token_type, "canonical": canonical}, severity="info")


def _complete(data: dict) -> bool:
    """access_token and token_type are there, the type spelled as registered: what token-fields-missing needs."""
    token_type, access_token = data.get("token_type"), data.get("access_token")
    return isinstance(token_type, str) and token_type in CANONICAL_TOKEN_TYPES and isinstance(access_token, str) \
        and bool(access_token)


@rule(
    "expires-in-not-number",
    family="G",
    severity="error",
    blame="AS",
    needs="B",
    when=("token_answer_flaw",),
    cause="The provider sent `expires_in` as a string instead of a number",
    spec="RFC 6749 §5.1, Appendix A.14",
    quote="Numerical values are included as JSON numbers",
    fix="Provider: serialise expires_in (and other numeric members) as JSON numbers: \"expires_in\": 3600, "
    "not \"3600\".",
)
def expires_in_not_number(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """expires_in (or another numeric member) is a JSON string.

    RFC 6749 §5.1 wants a number, and a client that follows it may refuse a string. Where the provider documents
    the string as its answer (Entra ID v1.0, Firebase's securetoken), its own clients read it: the finding then
    says so at info, with the provider's name, rather than calling a working login broken.
    """
    for name, hop, data in _successful(exchange, ctx):
        for field in NUMERIC_FIELDS:
            value = data.get(field)
            if not isinstance(value, str):
                continue  # absent, or a number as it should be
            numeric = value.strip().isdigit()
            as_number = value.strip() if numeric else "a number of seconds"
            note = "" if numeric else ", not even numeric"
            quoted = shown(json.dumps(value, ensure_ascii=False))
            hit = Hit(hop=hop, message=f"{name}.{field} = {quoted} (a JSON string{note}) ≠ {as_number} (a JSON number)",
                      evidence={"field": field, "value": value[:100]})
            provider = (provider_of(hop) or provider_of(exchange)) if numeric else None
            if provider is not None and field in provider.string_numbers:
                hit = named(hit, provider, "expires-in-string", severity="info")
            yield hit


def _has_numeric_string(data: dict) -> bool:
    """A numeric member (NUMERIC_FIELDS) is a JSON string: what expires-in-not-number reports."""
    for field in NUMERIC_FIELDS:
        if field in data and isinstance(data[field], str):
            return True
    return False


@rule(
    "token-cache-headers",
    family="G",
    severity="error",
    blame="AS",
    needs="B",
    when=("tokens", "refreshes"),
    spec="RFC 6749 §5.1; OAuth 2.1 §3.2.3",
    quote="The authorization server MUST include the HTTP \"Cache-Control\" response header field with a value "
    "of \"no-store\" in any response containing tokens, credentials, or other sensitive information, as well "
    "as the \"Pragma\" response header field with a value of \"no-cache\"",
    fix="Provider: send Cache-Control: no-store (and Pragma: no-cache for HTTP/1.0 caches) on every token "
    "response.",
)
def token_cache_headers(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A response carrying tokens may be cached: no Cache-Control: no-store, or no Pragma: no-cache."""
    for name, hop in _responses(exchange, ctx):
        if hop.status != 200:
            continue
        cache_control, pragma = _cache_headers(hop)
        directives = _directives(cache_control or "")
        if "no-store" in directives and "no-cache" in (pragma or "").lower():
            continue  # the usual answer: nothing to report, whatever it carries
        fields = token_fields(hop) or {}
        if not any(isinstance(fields.get(f), str) and fields[f] for f in TOKEN_FIELDS):
            continue
        private = "private" in directives and "no-store" not in directives
        if "no-store" not in directives:
            # private forbids every shared cache to store it (RFC 9111 §5.2.2.7): what is left is the client's own
            # cache, so no attacker gains — still short of the MUST (GitHub's token endpoint answers this way)
            yield Hit(hop=hop, message=f"{name}.Cache-Control = {shown(cache_control)} ≠ no-store"
                      + (" (private: no shared cache may keep it)" if private else ""),
                      evidence={"header": "Cache-Control", "value": cache_control},
                      severity="info" if private else None)
        if "no-cache" not in (pragma or "").lower():
            yield Hit(hop=hop, message=f"{name}.Pragma = {shown(pragma)} ≠ no-cache"
                      + (" (no-store is there, so only HTTP/1.0 caches could keep it)" if "no-store" in directives
                         else ""),
                      evidence={"header": "Pragma", "value": pragma},
                      severity="info" if private else _pragma_severity(ctx.profile, no_store="no-store" in directives))


def _cache_headers(hop: Hop) -> tuple[str | None, str | None]:
    """(Cache-Control, Pragma) of the response, each header's values joined as a cache reads them."""
    cache_control = every(hop.resp_headers, "cache-control", case=False)
    pragma = every(hop.resp_headers, "pragma", case=False)
    return ", ".join(cache_control) or None, ", ".join(pragma) or None


@lru_cache(maxsize=256)
def _directives(cache_control: str) -> frozenset[str]:
    """The directive names of a Cache-Control value, lowercased; kept per value, as a provider sends the same
    header on every answer."""
    return frozenset(d.strip().split("=", 1)[0].lower() for d in cache_control.split(","))


def _pragma_severity(profile: str, *, no_store: bool) -> str:
    """RFC 6749 §5.1 asks for Pragma: no-cache, but RFC 9111 §5.4 deprecated Pragma and OAuth 2.1 no longer asks
    for it: with Cache-Control: no-store present nothing is cached, so a missing Pragma is only worth showing.
    Without no-store it adds to the error: a warning under OAuth 2.0, info under the oauth21 profile."""
    return "info" if no_store or profile == "oauth21" else "warning"


@rule(
    "scope-changed-unreported",
    family="G",
    severity="warning",
    blame="AS",
    needs="B",
    when=("tokens", "refreshes"),
    spec="RFC 6749 §3.3, §5.1",
    quote="If the issued access token scope is different from the one requested by the client, the "
    "authorization server MUST include the \"scope\" response parameter to inform the client of the actual "
    "scope granted",
    fix="Provider: when the granted scope differs from the requested one, return it in the token response's "
    "\"scope\" member.",
)
def scope_changed_unreported(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The granted scope differs from the requested one and the token response does not say so (or says so).

    Compared as the provider documents spelling scopes (providers.same_grant): Google's URL forms of email and
    profile, Entra's Graph permissions without their resource and its `scope` that lists only the access token's
    scopes are the documented answer to the request, not a changed grant.
    """
    asked_at_authorize = _authorize_scope(exchange, ctx)
    for name, hop, data in _successful(exchange, ctx):
        # A refresh without scope asks for the scope originally granted (RFC 6749 §6), which may be narrower
        # than what the authorization request asked for.
        fallback = _original_grant(exchange, ctx) if name == "refresh" else asked_at_authorize
        requested = param(body_params(hop), "scope") or fallback
        if not requested:
            continue  # the provider used its default scope; nothing was asked to compare with
        asked = requested.split()
        reported = data.get("scope")
        provider = None
        if isinstance(reported, str) and reported.strip():
            if reported != requested and set(reported.split()) != set(asked) \
                    and not same_grant(provider := provider_of(hop) or provider_of(exchange), asked, reported.split()):
                yield Hit(hop=hop, message=f"{name}.scope = {shown(reported)} ≠ requested {shown(requested)} "
                          f"({_scope_diff(asked, reported.split(), provider)})",
                          evidence={"requested": requested, "granted": reported, "source": "token response"},
                          severity="info")
            continue
        granted, source = _granted_elsewhere(data, asked, exchange)
        if granted is not None and set(granted) != set(asked) \
                and not same_grant(provider := provider_of(hop) or provider_of(exchange), asked, granted):
            yield Hit(hop=hop, message=f"{name}.scope = ∅ but {source} shows {shown(' '.join(granted))} ≠ "
                      f"requested {shown(requested)} ({_scope_diff(asked, granted, provider)})",
                      evidence={"requested": requested, "granted": " ".join(granted), "source": source})


def _authorize_scope(exchange: Exchange, ctx: Context) -> str | None:
    # the sent parameters, not the URL alone: with PAR (RFC 9126) the URL has only client_id and request_uri, and the
    # scope is in the pushed request (seen on oidc-provider); a request object may carry it too.
    return facts(exchange, ctx).sent_param("scope")


def _scope_diff(asked: list[str], granted: list[str], provider=None) -> str:
    """What was not granted and what was added, each scope compared as the provider spells it (a scope its token
    response does not list is neither)."""
    parts = []
    granted_names = {spelled(provider, s) for s in granted}
    asked_names = {spelled(provider, s) for s in asked}
    dropped = [s for s in asked if (name := spelled(provider, s)) is not None and name not in granted_names]
    added = [s for s in granted if (name := spelled(provider, s)) is not None and name not in asked_names]
    if dropped:
        parts.append("not granted: " + " ".join(dropped))
    if added:
        parts.append("added: " + " ".join(added))
    return "; ".join(parts) or "same set"


def _granted_elsewhere(data: dict, asked: list[str], exchange: Exchange) -> tuple[list[str] | None, str]:
    """The granted scope as other traffic shows it: the access token's own claims, or a later insufficient_scope
    for a scope that was requested."""
    claims = jwt.claims(data.get("access_token"))
    for claim in ("scope", "scp") if claims else ():  # most access tokens are opaque: no claims to read
        value = claims.get(claim)
        if isinstance(value, str):
            return value.split(), f"access_token.{claim}"
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value), f"access_token.{claim}"
    for hop in exchange.resources:
        challenge = hop.resp_header("www-authenticate") or ""
        if "insufficient_scope" not in challenge[:4096]:
            continue  # the auth-param's value, as _challenge_params reads it, is written out in the header
        params = _challenge_params(challenge)
        needed = (params.get("scope") or "").split()
        if params.get("error") == "insufficient_scope" and needed and set(needed) <= set(asked):
            return [s for s in asked if s not in needed], f"a resource's insufficient_scope for {' '.join(needed)}"
    return None, ""


_AUTH_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def _challenge_params(header: str) -> dict[str, str]:
    """auth-params of a WWW-Authenticate challenge: error="insufficient_scope", scope="a b" …"""
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _AUTH_PARAM.finditer(header[:4096])}


@rule(
    "refresh-misuse",
    family="G",
    severity="error",
    blame="C",
    needs="B",
    when=("refreshes",),
    spec="RFC 6749 §6; RFC 9700 §2.2.2, §4.14.2; OAuth 2.1 §4.3.1; MCP authorization",
    quote="The requested scope MUST NOT include any scope not originally granted (RFC 6749 §6); for public "
    "clients, authorization servers MUST rotate refresh tokens (MCP)",
    fix="Client: refresh with at most the originally granted scope and always with the newest refresh token. "
    "Provider: refuse scope beyond the grant, revoke on reuse of a rotated-out refresh token, and rotate "
    "refresh tokens for public clients.",
)
def refresh_misuse(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Refresh beyond the original scope, reuse of a rotated-out refresh token, or no rotation for public clients."""
    refreshes = sorted((hop for hop in exchange.refreshes if hop.status is not None), key=lambda hop: hop.seq)
    if not refreshes:
        return
    yield from _scope_escalation(exchange, refreshes, ctx)
    yield from _rotated_out_reuse(refreshes)
    yield from _never_rotated(refreshes)


def _original_grant(exchange: Exchange, ctx: Context) -> str | None:
    for hop in exchange.tokens:
        data = token_response(hop) or {}
        if hop.status == 200 and isinstance(data.get("scope"), str) and data["scope"].strip():
            return data["scope"]
    return _authorize_scope(exchange, ctx)


def _scope_escalation(exchange: Exchange, refreshes: list[Hop], ctx: Context) -> Iterator[Hit]:
    original = _original_grant(exchange, ctx)
    if not original:
        return
    for hop in refreshes:
        requested = param(body_params(hop), "scope")
        extra = [s for s in (requested or "").split() if s not in original.split()]
        if not extra:
            continue
        data = token_response(hop) or {}
        granted_scope = data.get("scope") if isinstance(data.get("scope"), str) else requested
        granted = hop.status == 200 and bool(data.get("access_token")) and any(
            s in granted_scope.split() for s in extra)
        message = f"refresh.scope = {shown(requested)} ⊄ original grant {shown(original)} (beyond: {' '.join(extra)})"
        if granted:
            message += "; the provider granted it"
        yield Hit(hop=hop, message=message, blame="AS" if granted else None,
                  evidence={"case": "scope-escalation", "requested": requested, "original": original,
                            "beyond": extra, "granted": granted})


def _rotated_out_reuse(refreshes: list[Hop]) -> Iterator[Hit]:
    retired: dict[str, int] = {}  # refresh token -> seq of the refresh that replaced it
    for hop in refreshes:
        used = param(body_params(hop), "refresh_token")
        if used and used in retired:
            accepted = hop.status == 200
            message = (f"refresh.refresh_token = {shown(used, secret=True)} was rotated out by hop {retired[used]}"
                       + ("; the provider still accepted it (it should revoke the grant on reuse)" if accepted
                          else ""))
            yield Hit(hop=hop, message=message,
                      evidence={"case": "rotated-out-reuse", "replaced_by_hop": retired[used],
                                "provider_accepted": accepted})
        issued = (token_response(hop) or {}).get("refresh_token")
        if used and hop.status == 200 and isinstance(issued, str) and issued and issued != used:
            retired.setdefault(used, hop.seq)


def _never_rotated(refreshes: list[Hop]) -> Iterator[Hit]:
    public = [hop for hop in refreshes if client_auth_used(hop) == "none" and hop.status == 200]
    if not public:
        return
    for hop in public:
        issued = (token_response(hop) or {}).get("refresh_token")
        if issued and issued != param(body_params(hop), "refresh_token"):
            return  # the provider does rotate
    hop = public[0]
    yield Hit(hop=hop, message=f"refresh: public client, {len(public)} refresh(es) answered without a new "
              "refresh_token (no rotation; MCP requires it for public clients)",
              evidence={"case": "not-rotated", "refreshes": len(public)}, severity="info", blame="AS")
