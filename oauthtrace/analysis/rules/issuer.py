"""Family I: issuer identification and mix-up (RFC 9207, RFC 8414 §3.3, RFC 9700 §4.4, OIDC §3.1.3.7).

Also home of the small helpers that find the authorization server metadata an exchange talked to, shared with
the client-authentication rules.
"""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis.jwt import decode as decode_jwt
from oauthtrace.analysis.oauth import (
    RESPONSE_KEYS,
    authz_response_params,
    body_params,
    callback_params,
    has_response_key,
    param,
    request_params,
    shown,
    token_response,
)
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import per_exchange
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.model import SECRET_PARAMS, Exchange, Hit, Hop, Pairs
from oauthtrace.params import base_url, origin, path, query_pairs

# MCP 2026-07-28 makes RFC 9207's client-side check a MUST for every MCP client, and its metadata promise a MUST
# for every MCP authorization server that sends iss; elsewhere RFC 9207 binds only those who implement it.
PROFILE_SEVERITIES: dict[str, dict[str, str]] = {
    "mcp": {"iss-not-advertised": "warning", "iss-not-validated": "error"},
}

AS_WELL_KNOWN = ("oauth-authorization-server", "openid-configuration")
# Parameters whose arrival in a callback is the flow's outcome, not a change in the provider's behaviour: after
# an error, a success brings its code or tokens (and the token_type and expires_in that come with an implicit one).
OUTCOME_PARAMS = frozenset(RESPONSE_KEYS) | {"state", "error_description", "error_uri", "token_type", "expires_in"}


# --- metadata helpers (also used by client_auth) ---------------------------------------------------------


def as_metadata_document(hop: Hop) -> dict | None:
    """The RFC 8414 / OIDC discovery document a hop returned, or None when it is not one."""
    if hop.status != 200:
        return None
    doc = hop.resp_json()
    if not isinstance(doc, dict) or ("resource" in doc and "authorization_servers" in doc):
        return None  # protected resource metadata (RFC 9728), not an authorization server's
    if not any(key in doc for key in ("issuer", "authorization_endpoint", "token_endpoint")):
        return None
    return doc


def request_urls(hop: Hop) -> set[str]:
    """The hop's URL as the client used it and, behind the reverse proxy, the provider's real URL."""
    urls = {base_url(hop.url)}
    if hop.upstream_url:
        urls.add(base_url(hop.upstream_url))
    return urls


def provider_metadata(exchange: Exchange, ctx: Context) -> dict | None:
    """The metadata of the authorization server this exchange talked to.

    Matched by endpoint (authorize or token URL); failing that, the only document seen, so that a trace with
    several providers never borrows another provider's metadata.
    """
    if not exchange.metadata and not ctx.metadata:
        return None
    return per_exchange(exchange, ctx, "issuer.provider-metadata", lambda: _provider_metadata(exchange, ctx))


def _provider_metadata(exchange: Exchange, ctx: Context) -> dict | None:
    own = [doc for hop in exchange.metadata if (doc := as_metadata_document(hop))]
    candidates = own + [doc for doc in ctx.metadata.values() if isinstance(doc, dict)]
    if candidates and all(doc is candidates[0] for doc in candidates):
        # matched by endpoint or not, the only document seen (the usual single provider) — also when the
        # exchange's own metadata hop is the one the trace's documents came from (the same parsed object)
        return candidates[0]
    endpoints: set[str] = set()
    if exchange.authorize:
        endpoints |= request_urls(exchange.authorize)
    for hop in exchange.tokens + exchange.refreshes:
        endpoints |= request_urls(hop)
    for doc in candidates:
        # `in` a set needs a hashable value: a document with `"token_endpoint": []` crashed here (hypothesis).
        if any(isinstance(url, str) and url in endpoints
               for url in (doc.get("authorization_endpoint"), doc.get("token_endpoint"))):
            return doc
    distinct = {str(doc.get("issuer")): doc for doc in candidates}
    return next(iter(distinct.values())) if len(distinct) == 1 else None


# --- authorization response helpers ------------------------------------------------------------------------


def authorization_response(exchange: Exchange, ctx: Context) -> tuple[Hop | None, Pairs]:
    """The hop that carried the authorization response and its parameters (read once per exchange).

    The provider's redirect when it was recorded (it is the hop at fault for what the response lacks), else
    the client's callback request.
    """
    return per_exchange(exchange, ctx, "issuer.authz-response", lambda: _authorization_response(exchange))


def _authorization_response(exchange: Exchange) -> tuple[Hop | None, Pairs]:
    if exchange.authz_response is not None:
        pairs, mode = authz_response_params(exchange.authz_response)
        if mode != "none":
            return exchange.authz_response, pairs
    if exchange.callback is not None:
        return exchange.callback, callback_params(exchange.callback)
    return None, []


def provider_key(exchange: Exchange, ctx: Context) -> str | None:
    """Which authorization server an exchange went to: its authorization endpoint."""
    return per_exchange(exchange, ctx, "issuer.provider", lambda: _provider_key(exchange))


def _provider_key(exchange: Exchange) -> str | None:
    if exchange.authorize is not None:
        return base_url(exchange.authorize.url)
    if exchange.authz_response is not None:
        return origin(exchange.authz_response.url)
    return None


def redirect_target(exchange: Exchange) -> str | None:
    """Where the client asked the response to go: redirect_uri, or the callback actually hit."""
    if exchange.authorize is not None:
        value = param(request_params(exchange.authorize), "redirect_uri")
        if value:
            return value
    if exchange.callback is not None:
        return base_url(exchange.callback.url)
    return None


def how_differs(sent: str, got: str) -> str:
    """A message's note on how two values differ, e.g. ' (trailing slash)'; empty when they simply differ."""
    difference = describe_difference(sent, got)
    return "" if difference in ("different", "identical") else f" ({difference})"


def _show(value: str | None) -> str:
    return "∅" if value is None else value


# --- rules -------------------------------------------------------------------------------------------------


@trait("iss")
def has_iss(exchange: Exchange, ctx: Context) -> bool:
    """The authorization response carries iss (RFC 9207)."""
    return param(authorization_response(exchange, ctx)[1], "iss") is not None


@trait("id_token")
def has_id_token(exchange: Exchange, ctx: Context) -> bool:
    """The exchange received an id_token (id_tokens() finds one)."""
    return next(id_tokens(exchange, ctx), None) is not None


@rule(
    "iss-mismatch",
    family="I",
    severity="error",
    blame="AS",
    needs="F+M",
    when=("iss",),
    spec="RFC 9207 §2.3, §2.4; RFC 9700 §4.4.2.1",
    quote="the value of the iss parameter MUST exactly match the issuer identifier in the authorization "
    "server's metadata; clients MUST reject responses with a different value",
    fix="Provider: send iss equal, character for character, to the issuer in your metadata. Client: configure "
    "the provider's real issuer instead of a placeholder.",
)
def iss_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The authorization response's iss differs from the provider's metadata issuer."""
    hop, pairs = authorization_response(exchange, ctx)
    returned = param(pairs, "iss")
    metadata = provider_metadata(exchange, ctx)
    if hop is None or returned is None or not metadata or not isinstance(metadata.get("issuer"), str):
        return
    expected = metadata["issuer"]
    if returned == expected:
        return
    yield Hit(
        hop=hop,
        message=f"callback.iss = {returned} ≠ metadata.issuer = {expected}{how_differs(expected, returned)}",
        evidence={"param": "iss", "returned": returned, "expected": expected,
                  "difference": describe_difference(expected, returned)},
    )


@rule(
    "iss-missing",
    family="I",
    severity="error",
    blame="AS",
    needs="F+M",
    when=("authz_response", "callback"),
    spec="RFC 9207 §2, §3",
    quote="authorization servers supporting this specification MUST provide their issuer identifier "
    "(iss) in authorization responses, including error responses",
    fix="Provider: you advertise authorization_response_iss_parameter_supported; add iss to every authorization "
    "response, success and error alike, or stop advertising it.",
)
def iss_missing(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The metadata promises iss in authorization responses but this one lacks it."""
    metadata = provider_metadata(exchange, ctx)
    if not metadata or metadata.get("authorization_response_iss_parameter_supported") is not True:
        return
    hop, pairs = authorization_response(exchange, ctx)
    if hop is None or not has_response_key(pairs) or param(pairs, "iss") is not None:
        return
    kind = "error response" if param(pairs, "error") else "response"
    yield Hit(
        hop=hop,
        message=f"metadata.authorization_response_iss_parameter_supported = true → callback.iss = ∅ ({kind})",
        evidence={"param": "iss", "returned": None, "expected": metadata.get("issuer"), "response": kind},
    )


@rule(
    "iss-not-advertised",
    family="I",
    severity="info",
    blame="AS",
    needs="F+M",
    when=("iss",),
    spec="RFC 9207 §3; MCP authorization 2026-07-28 (Authorization Response Validation)",
    quote="Authorization servers that include the iss parameter MUST advertise this by setting "
    "authorization_response_iss_parameter_supported to true in their metadata",
    fix="Provider: set authorization_response_iss_parameter_supported to true in your metadata, so that clients "
    "reject a response that arrives without iss (a mix-up attacker's).",
)
def iss_not_advertised(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The authorization response carries iss but the metadata does not say the server sends it."""
    metadata = provider_metadata(exchange, ctx)
    if not metadata or metadata.get("authorization_response_iss_parameter_supported") is True:
        return
    hop, pairs = authorization_response(exchange, ctx)
    if hop is None or param(pairs, "iss") is None:
        return
    advertised = metadata.get("authorization_response_iss_parameter_supported")
    yield Hit(
        hop=hop,
        message=f"callback.iss = {param(pairs, 'iss')} → metadata.authorization_response_iss_parameter_supported "
        f"= {_show(None if advertised is None else str(advertised).lower())}",
        evidence={"param": "iss", "returned": param(pairs, "iss"), "advertised": advertised},
    )


@rule(
    "iss-not-validated",
    family="I",
    severity="info",
    blame="C",
    needs="F+B+M",
    when=("tokens",),
    spec="RFC 9207 §2.4; MCP authorization 2026-07-28 (Authorization Response Validation); RFC 9700 §4.4.2",
    quote="On receiving the authorization response, MCP clients MUST apply the validation in RFC9207 Section 2.4 "
    "before transmitting the authorization code to any token endpoint",
    fix="Client: record the issuer of the metadata you built the authorization request from, compare the "
    "response's iss with it by simple string comparison (reject a missing iss when the metadata promises it), "
    "and send the code to no token endpoint before that check passes.",
)
def iss_not_validated(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The client redeemed a code whose response's iss did not match the issuer, or lacked a promised iss."""
    metadata = provider_metadata(exchange, ctx)
    expected = metadata.get("issuer") if metadata else None
    if not isinstance(expected, str):
        return
    hop, pairs = authorization_response(exchange, ctx)
    code, returned = param(pairs, "code"), param(pairs, "iss")
    if hop is None or not code:
        return
    if returned is None:
        if metadata.get("authorization_response_iss_parameter_supported") is not True:
            return  # nothing promised, nothing to check: the table's "proceed" row
        why = "metadata promises iss, the response has none"
    elif returned != expected:
        why = f"callback.iss = {returned} ≠ metadata.issuer = {expected}{how_differs(expected, returned)}"
    else:
        return
    for token in exchange.tokens:
        if param(body_params(token), "code") == code:
            yield Hit(
                hop=token,
                message=f"{why} → the client still sent the code to {base_url(token.upstream_url or token.url)}",
                evidence={"param": "iss", "returned": returned, "expected": expected},
            )
            return


@rule(
    "iss-appeared",
    family="I",
    severity="info",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    spec="RFC 9207 §2",
    quote="clients with strict or absent issuer configuration reject a newly appearing iss",
    fix="Client: configure the provider's issuer so the new iss validates. Provider: announce such changes and "
    "publish authorization_response_iss_parameter_supported.",
)
def iss_appeared(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A callback parameter (iss, typically) appears for the first time for this provider.

    No stored baseline reaches the rules yet, so the baseline is the trace itself: a parameter is reported in
    the first exchange that carries it when an earlier exchange with the same provider, in the same trace, had
    an authorization response without it. One recording of a single flow therefore never reports this rule.
    """
    news = memo(ctx, "issuer.callback-news", lambda: _callback_news(ctx)).get(exchange.index)
    if news is None:
        return  # most exchanges: nothing the provider's earlier responses lacked
    earlier_count, names = news
    hop, pairs = authorization_response(exchange, ctx)
    provider = provider_key(exchange, ctx)
    for name in names:
        value, secret = param(pairs, name), name in SECRET_PARAMS
        yield Hit(
            hop=hop,
            message=f"earlier callbacks from {provider}: {name} = ∅ → this callback: {name} = "
            f"{shown(value, secret=secret)}",
            evidence={"param": name, "returned": shown(value, secret=True) if secret else value,
                      "earlier_exchanges": earlier_count, "provider": provider},
        )


def _callback_news(ctx: Context) -> dict[int, tuple[int, list[str]]]:
    """exchange index -> (how many earlier exchanges with the same provider had a response, the parameter names
    this response carries for the first time), only for the exchanges that have such names: built in one pass
    so the rule stays linear in the number of exchanges and says "nothing" with one lookup."""
    running: dict[str, tuple[int, frozenset[str]]] = {}
    news = {}
    for exchange in sorted(ctx.exchanges, key=lambda ex: ex.index):
        provider = provider_key(exchange, ctx)
        if provider is None:
            continue
        hop, pairs = authorization_response(exchange, ctx)
        if hop is None or not has_response_key(pairs):
            continue
        count, seen = running.get(provider, (0, frozenset()))
        carried = dict.fromkeys(name for name, value in pairs if value)
        if count:
            new = [name for name in carried if name not in seen and name not in OUTCOME_PARAMS]
            if new:
                news[exchange.index] = (count, new)
        if not seen.issuperset(carried):  # most responses carry the names the provider's earlier ones did
            seen = seen | frozenset(carried)
        running[provider] = (count + 1, seen)
    return news


def expected_issuers(metadata_url: str) -> tuple[str, ...]:
    """The issuers a well-known URL may have been built from: the one without a terminating "/" first, then
    the same with it. RFC 8414 §3.1 and OpenID Connect Discovery §4 remove a terminating "/" from the issuer
    before the well-known segment is inserted or appended, so `https://x/` (Auth0's documented issuer
    spelling) is served at `https://x/.well-known/openid-configuration` just as `https://x` is."""
    issuer = expected_issuer(metadata_url)
    return (issuer, issuer + "/") if issuer else ()


def expected_issuer(metadata_url: str) -> str | None:
    """The issuer a well-known URL was built from (without a terminating "/"): RFC 8414 §3 path insertion, or
    OIDC's path appending."""
    url_path = path(metadata_url)
    for name in AS_WELL_KNOWN:
        marker = f"/.well-known/{name}"
        if url_path.startswith(marker):
            return origin(metadata_url) + url_path[len(marker):].rstrip("/")
        if url_path.endswith(marker):
            return origin(metadata_url) + url_path[: -len(marker)]
    return None


def _metadata_hops(exchange: Exchange, ctx: Context) -> list[Hop]:
    """Metadata hops this exchange reports, so each document is reported once: those it is the first exchange
    to list, plus (for the first exchange) the trace's metadata hops no exchange listed."""
    owners = memo(ctx, "issuer.metadata-owners", lambda: first_owners(ctx, lambda ex: ex.metadata, ("metadata",)))
    return owners.get(exchange.index, [])


def first_owners(ctx: Context, hops_of, orphan_roles: tuple[str, ...], keep=None) -> dict[int, list[Hop]]:
    """exchange index -> the hops (of `hops_of`) it is the first to list; the trace's hops with one of
    `orphan_roles` that no exchange lists go to the first exchange. One pass over the trace.

    `keep(hop)`, when given, files only the hops it accepts: a hop's owner depends only on which exchange lists
    that hop first, so leaving the others out changes no kept hop's owner (and a rule that reports few hops
    files only those)."""
    owners: dict[int, list[Hop]] = {}
    claimed: set[int] = set()
    ordered = sorted(ctx.exchanges, key=lambda ex: ex.index)
    for exchange in ordered:
        first_listed = []
        for hop in hops_of(exchange):
            if hop.seq not in claimed and (keep is None or keep(hop)):
                claimed.add(hop.seq)
                first_listed.append(hop)
        if first_listed:
            owners.setdefault(exchange.index, []).extend(first_listed)
    if ordered:
        orphans = [hop for hop in ctx.hops_with_role(*orphan_roles)
                   if hop.seq not in claimed and (keep is None or keep(hop))]
        if orphans:
            owners.setdefault(ordered[0].index, []).extend(orphans)
    return owners


@rule(
    "metadata-issuer-mismatch",
    family="I",
    severity="error",
    blame="AS",
    needs="M",
    spec="RFC 8414 §3.3 (§3.1: a terminating \"/\" of the issuer is removed before the insertion); "
    "OIDC Discovery §4.3",
    quote="The issuer value returned MUST be identical to the authorization server's issuer identifier value "
    "into which the well-known URI string was inserted. If these values are not identical, the data contained "
    "in the response MUST NOT be used",
    fix="Provider: publish issuer equal to the URL the metadata is served under (scheme, host, port and path; "
    "a terminating slash may be added), or serve the document under the issuer's own well-known URL.",
)
def metadata_issuer_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The discovery document's issuer is not the issuer its well-known URL was built from."""
    for hop in _metadata_hops(exchange, ctx):
        doc = as_metadata_document(hop)
        if not doc or not isinstance(doc.get("issuer"), str):
            continue
        # Behind the reverse proxy the client used the proxy's address; the provider's own URL counts too.
        expected = [issuer for url in (hop.upstream_url, hop.url) if url for issuer in expected_issuers(url)]
        if not expected or doc["issuer"] in expected:
            continue
        yield Hit(
            hop=hop,
            message=f"metadata.issuer = {doc['issuer']} ≠ issuer in the well-known URL = {expected[0]}"
            f"{how_differs(expected[0], doc['issuer'])}",
            evidence={"param": "issuer", "returned": doc["issuer"], "expected": expected[0],
                      "metadata_url": base_url(hop.upstream_url or hop.url),
                      "difference": describe_difference(expected[0], doc["issuer"])},
        )


def id_tokens(exchange: Exchange, ctx: Context) -> Iterator[tuple[Hop, str]]:
    """Every id_token the exchange received: token and refresh responses, and a front-channel response."""
    return iter(per_exchange(exchange, ctx, "issuer.id-tokens", lambda: list(_id_tokens(exchange, ctx))))


def _id_tokens(exchange: Exchange, ctx: Context) -> Iterator[tuple[Hop, str]]:
    for hop in exchange.tokens + exchange.refreshes:
        body = token_response(hop)
        if body and isinstance(body.get("id_token"), str) and body["id_token"]:
            yield hop, body["id_token"]
    hop, pairs = authorization_response(exchange, ctx)
    if hop is not None and param(pairs, "id_token"):
        yield hop, param(pairs, "id_token")


@rule(
    "id-token-iss-mismatch",
    family="I",
    severity="error",
    blame="AS",
    needs="B",
    when=("id_token",),
    spec="OIDC Core §3.1.3.7 step 2",
    quote="The Issuer Identifier for the OpenID Provider MUST exactly match the value of the iss (issuer) Claim",
    fix="Provider: issue id_tokens whose iss is exactly your metadata issuer. Client: configure that issuer "
    "(no trailing slash added or removed).",
)
def id_token_iss_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The id_token's iss differs from the provider's issuer (metadata, else the callback's iss)."""
    metadata = provider_metadata(exchange, ctx) or {}
    expected, source = metadata.get("issuer"), "metadata.issuer"
    if not isinstance(expected, str):
        _, pairs = authorization_response(exchange, ctx)
        expected, source = param(pairs, "iss"), "callback.iss"
    if not expected:
        return
    for hop, token in id_tokens(exchange, ctx):
        decoded = decode_jwt(token)
        claims = decoded.claims if decoded else None
        if not isinstance(claims, dict) or "iss" not in claims:
            continue  # id-token-invalid reports tokens that do not decode or lack iss
        got = claims["iss"]
        if got == expected:
            continue
        yield Hit(
            hop=hop,
            message=f"id_token.iss = {_show(str(got))} ≠ {source} = {expected}{how_differs(expected, str(got))}",
            evidence={"param": "iss", "returned": got, "expected": expected, "expected_from": source},
        )


@rule(
    "mixup-shared-redirect",
    family="I",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 9700 §2.1, §4.4.2",
    quote="Clients that interact with more than one authorization server MUST use a defense against mix-up "
    "attacks: the iss parameter (RFC 9207) or distinct redirect URIs per issuer",
    fix="Client: give each authorization server its own redirect_uri, or validate iss on every response "
    "(and use providers that send it).",
)
def mixup_shared_redirect(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """One redirect_uri serves several authorization servers whose responses carry no iss.

    Reported once per redirect_uri, on the first exchange whose response lacks iss.
    """
    reported = memo(ctx, "issuer.redirect-reports", lambda: _shared_redirect_reports(ctx)).get(exchange.index)
    if reported is None:
        return  # most exchanges: their redirect_uri serves one provider, or an earlier exchange reported it
    target, providers = reported
    yield Hit(
        hop=exchange.authorize,
        message=f"redirect_uri = {target} shared by {len(providers)} authorization servers "
        f"({', '.join(sorted(providers))}); callback.iss = ∅",
        evidence={"redirect_uri": target, "providers": sorted(providers), "iss": None},
    )


def _shared_redirect_reports(ctx: Context) -> dict[int, tuple[str, set[str]]]:
    """exchange index -> (its redirect target, the authorization servers sharing it), for the exchange that
    reports each shared target: the first whose response lacked iss."""
    if not _several_providers(ctx):
        return {}  # one authorization server in the whole trace (the usual recording): no target is shared
    return {first: (target, providers) for target, (providers, first) in _redirect_sharing(ctx).items()
            if first is not None and len(providers) >= 2}


def _several_providers(ctx: Context) -> bool:
    """Whether the trace's authorization requests went to at least two authorization servers (provider_key):
    told without reading their redirect targets or responses, and mostly false."""
    seen = None
    for exchange in ctx.exchanges:
        if exchange.authorize is None:
            continue
        provider = provider_key(exchange, ctx)
        if provider is None:
            continue
        if seen is None:
            seen = provider
        elif provider != seen:
            return True
    return False


def _redirect_sharing(ctx: Context) -> dict[str, tuple[set[str], int | None]]:
    """redirect target -> (the authorization servers using it, the first exchange whose response lacked iss)."""
    sharing: dict[str, tuple[set[str], int | None]] = {}
    for exchange in sorted(ctx.exchanges, key=lambda ex: ex.index):
        target, provider = redirect_target(exchange), provider_key(exchange, ctx)
        if target is None or exchange.authorize is None or provider is None:
            continue
        providers, first = sharing.setdefault(target, (set(), None))
        providers.add(provider)
        if first is None and _lacks_iss(exchange, ctx):
            sharing[target] = (providers, exchange.index)
    return sharing


def _lacks_iss(exchange: Exchange, ctx: Context) -> bool:
    _, pairs = authorization_response(exchange, ctx)
    return has_response_key(pairs) and not param(pairs, "iss")


def _authorize_handoff(hop: Hop) -> Pairs | None:
    """The authorization request a provider's response redirected to, when it redirected to one."""
    if not hop.location:
        return None
    if "%" not in hop.location and not ("response_type" in hop.location and "client_id" in hop.location):
        return None  # the names appear as written unless percent-encoded: no parse for a login page's URL
    pairs = query_pairs(hop.location)
    if param(pairs, "response_type") and param(pairs, "client_id"):
        return pairs
    return None


@rule(
    "mixup-cross-as",
    family="I",
    severity="error",
    blame="AS",
    needs="F+B",
    when=("authorize",),
    spec="RFC 9700 §4.4.1",
    quote="an attacker's authorization server redirects the user to an honest one; the code issued there is "
    "then sent to the attacker's token endpoint",
    fix="Client: bind each flow to the authorization server it started with (distinct redirect URIs or iss "
    "checking) and send codes only to that server's token endpoint.",
)
def mixup_cross_as(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An authorization server handed the flow to another one with the client's own redirect_uri.

    Brokered logins (an AS federating to another with its own callback) are not reported: the hand-off is
    suspicious only when the second request sends the response straight back to the client's redirect_uri.
    """
    start = exchange.authorize
    if start is None:
        return
    handoff = _authorize_handoff(start)  # string tests first: most authorization requests redirect to a login page
    if handoff is None or origin(start.location) == origin(start.url):
        return
    first = request_params(start)
    client_redirect = param(first, "redirect_uri")
    second_redirect = param(handoff, "redirect_uri")
    if not client_redirect or not second_redirect or origin(second_redirect) != origin(client_redirect):
        return
    if param(handoff, "client_id") == param(first, "client_id"):
        return
    first_as, second_as = base_url(start.url), base_url(start.location or "")
    yield Hit(
        hop=start,
        message=f"authorize at {first_as} (client_id = {_show(param(first, 'client_id'))}) → redirected to "
        f"{second_as} (client_id = {_show(param(handoff, 'client_id'))}) with the client's redirect_uri",
        evidence={"first_as": first_as, "second_as": second_as, "client_id": param(first, "client_id"),
                  "swapped_client_id": param(handoff, "client_id"), "redirect_uri": second_redirect},
    )
    first_origin = origin(start.url)
    for token in exchange.tokens:
        if any(origin(url) == first_origin for url in request_urls(token)):
            yield Hit(
                hop=token,
                message=f"code issued by {second_as} → redeemed at {base_url(token.upstream_url or token.url)}",
                evidence={"issued_by": second_as, "redeemed_at": base_url(token.upstream_url or token.url)},
            )

