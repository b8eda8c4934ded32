"""An exchange's stages and their parameters, read as the rules read them.

authorization request → the provider's authorization response (its Location, or form_post) → the client's
callback → the token request and its response. The authorization request's parameters are the ones the rules
judge (analysis.authorization.sent_params): with a pushed authorization request (RFC 9126) they are the pushed
ones, which the `/authorize` URL only points at with `request_uri`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from oauthtrace.analysis.authorization import sent_params
from oauthtrace.analysis.oauth import (
    authz_response_params, body_params, callback_params, client_auth_used, param, request_params, token_fields,
)
from oauthtrace.analysis.registry import Context
from oauthtrace.model import Exchange, Hop, Pairs, first


@dataclass
class Stage:
    kind: str  # authorize, response, callback, token, token response; request and Location for a lone hop
    hop: Hop
    pairs: Pairs
    mode: str = ""  # how the authorization response travelled: query, fragment, form_post (none: not a redirect)
    pushed: Hop | None = None  # the pushed authorization request whose parameters `pairs` holds
    unread: bool = False  # a pushed request the recording does not hold: only the URL's parameters are known

    def value(self, name: str) -> str | None:
        """The parameter's first value; an empty one counts as omitted (RFC 6749 §3.1)."""
        found = first(self.pairs, name)
        return found if found else None


def exchange_stages(exchange: Exchange) -> list[Stage]:
    """The recorded stages of `exchange`, in flow order (the token response last, as JSON values)."""
    out: list[Stage] = []
    if exchange.authorize is not None:
        out.append(authorize_stage(exchange))
    if exchange.authz_response is not None:
        pairs, mode = authz_response_params(exchange.authz_response)
        out.append(Stage("response", exchange.authz_response, pairs, mode))
    if exchange.callback is not None:
        out.append(Stage("callback", exchange.callback, callback_params(exchange.callback)))
    if exchange.tokens:
        token = exchange.tokens[0]
        out.append(Stage("token", token, body_params(token)))
        fields = token_fields(token)
        if fields is not None:
            out.append(Stage("token response", token, [(str(k), _json_value(v)) for k, v in fields.items()]))
    return out


def authorize_stage(exchange: Exchange) -> Stage:
    hop = exchange.authorize
    # the rules' reader, given the exchange's own pushed requests: what they found, this finds
    context = Context(trace_id=hop.trace_id, hops=list(exchange.pushed), exchanges=[exchange], roles={}, sides=set())
    sent = sent_params(exchange, context)
    if sent is None:
        return Stage("authorize", hop, request_params(hop), unread=True)
    return Stage("authorize", hop, sent, pushed=_pushed_for(exchange, param(sent, "request_uri")))


def _pushed_for(exchange: Exchange, request_uri: str | None) -> Hop | None:
    if not request_uri:
        return None
    for hop in exchange.pushed:
        data = hop.resp_json()
        if isinstance(data, dict) and data.get("request_uri") == request_uri:
            return hop
    return None


def token_auth(exchange: Exchange) -> str | None:
    """How the first token request authenticated the client (client_secret_basic, none …)."""
    return client_auth_used(exchange.tokens[0]) if exchange.tokens else None


def lone_hop_stages(hop: Hop) -> list[Stage]:
    """For a hop outside any exchange: its own query/form parameters and, if it redirects, the Location's."""
    out = [Stage("request", hop, request_params(hop))]
    if hop.location:
        pairs, mode = authz_response_params(hop)
        out.append(Stage("Location", hop, pairs, mode))
    return out


def _json_value(value) -> str:
    """A token response member as JSON, so `"3600"` (a string) and `3600` (a number) look different."""
    return json.dumps(value, ensure_ascii=False, default=str)
