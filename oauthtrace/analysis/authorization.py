"""The authorization request as the client sent it and the authorization response as the provider sent it.

The rules, baseline drift and the views read both through here, so that each reads them the same way: the request
with its pushed authorization request (RFC 9126) or request object (RFC 9101) followed, the response from the
provider's redirect or form_post page, else from the callback the client received.
"""

from __future__ import annotations

from dataclasses import dataclass

from oauthtrace.analysis import jwt
from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.classify import absolute, form_post_action, without_fragment
from oauthtrace.analysis.oauth import authz_response_params, body_params, callback_params, param, request_params
from oauthtrace.analysis.registry import Context, memo
from oauthtrace.model import Exchange, Hop, Pairs


@dataclass
class AuthzResponse:
    """The authorization response as the provider sent it (or, failing that, as the callback received it)."""

    hop: Hop
    pairs: Pairs
    mode: str  # query, fragment, form_post, callback
    target: str | None  # where it sent the browser: Location or form action, fragment removed


def sent_params(exchange: Exchange, ctx: Context) -> Pairs | None:
    """The authorization request's parameters: from the URL/form, the pushed request (RFC 9126) or the
    unsigned-readable request object (RFC 9101). None when there is no authorization request to read."""
    if exchange.authorize is None:
        return None
    pairs = cached_sent_params(exchange, ctx)
    return list(pairs) if pairs is not None else None


def cached_sent_params(exchange: Exchange, ctx: Context) -> Pairs | None:
    """sent_params without the copy: the list every reader of this exchange shares (read-only)."""
    return derived(exchange, "sent_params", lambda: _sent_params(exchange, ctx), exchange.authorize, ctx)


def _sent_params(exchange: Exchange, ctx: Context) -> Pairs | None:
    pairs = request_params(exchange.authorize)
    request_uri = param(pairs, "request_uri")
    if request_uri:
        pushed = memo(ctx, "shared.pushed", lambda: _pushed_requests(ctx.hops)).get(request_uri)
        return pairs + pushed if pushed is not None else None
    request_object = jwt.claims(param(pairs, "request"))
    if request_object:
        pairs = pairs + [(str(k), v) for k, v in request_object.items() if isinstance(v, str)]
    return pairs


def _pushed_requests(hops: list[Hop]) -> dict[str, Pairs]:
    pushed: dict[str, Pairs] = {}
    for hop in hops:
        if hop.method != "POST" or not hop.resp_body or b"request_uri" not in hop.resp_body:
            continue
        data = hop.resp_json()
        if isinstance(data, dict) and isinstance(data.get("request_uri"), str):
            pushed[data["request_uri"]] = body_params(hop)
    return pushed


def authz_response(exchange: Exchange) -> AuthzResponse | None:
    """The provider's authorization response, or the callback's parameters when the redirect was not seen."""
    return derived(exchange, "authz_response", lambda: _authz_response(exchange), exchange.authz_response,
                   exchange.callback)


def _authz_response(exchange: Exchange) -> AuthzResponse | None:
    hop = exchange.authz_response
    if hop is not None:
        pairs, mode = authz_response_params(hop)
        return AuthzResponse(hop, pairs, mode, redirect_target(hop))
    if exchange.callback is not None:
        return AuthzResponse(exchange.callback, callback_params(exchange.callback), "callback",
                             without_fragment(exchange.callback.url))
    return None


def redirect_target(hop: Hop) -> str | None:
    """Where the hop's response sends the browser (absolute, fragment removed): Location or form_post action."""
    return derived(hop, "redirect_target", lambda: _redirect_target(hop), hop.url, hop.location, hop.resp_body)


def _redirect_target(hop: Hop) -> str | None:
    if hop.location:
        return absolute(hop.url, hop.location)
    action = form_post_action(hop)
    return absolute(hop.url, action) if action else None
