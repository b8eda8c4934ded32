"""Reading OAuth parameters out of hops: request parameters, authorization responses, token bodies."""

from __future__ import annotations

import json
from itertools import chain
from typing import Iterable

from oauthtrace.analysis.cache import derived
from oauthtrace.html_forms import named_inputs
from oauthtrace.model import Exchange, Hop, Pairs
from oauthtrace.params import basic_auth, basic_client_credentials, fragment_pairs, parse_pairs, query_pairs


def request_params(hop: Hop) -> Pairs:
    """Query parameters, then form fields (authorize may be GET or POST)."""
    return [*hop.query, *hop.form]  # a new list: callers may extend it


def request_param(hop: Hop, name: str) -> str | None:
    """param(request_params(hop), name) — also param(callback_params(hop), name) — without joining the query and
    the form into a new list: rules ask it of every authorization request and callback of a trace."""
    for pairs in (hop.query, hop.form):
        for key, value in pairs:
            if key == name:
                return value or None
    return None


def param(pairs: Pairs, name: str) -> str | None:
    """A parameter's value; a parameter sent without a value counts as omitted (RFC 6749 §3.1)."""
    for key, value in pairs:  # first(pairs, name) inlined: the analysis's most frequent call
        if key == name:
            return value if value else None
    return None


def first_values(pairs: Pairs) -> dict[str, str]:
    """Each parameter's first value, as param() finds it; a value-less parameter is kept as "" (param says None:
    read it with `or None`). One dict built in C instead of a scan of the pairs for every parameter asked."""
    return dict(reversed(pairs))


# The parameters that make parameters an authorization response: its outcome, a code, tokens or an error.
RESPONSE_KEYS = ("code", "error", "access_token", "id_token")
_RESPONSE_NAMES = frozenset(RESPONSE_KEYS)


def has_response_key(pairs: Iterable[tuple[str, str]]) -> bool:
    """any(param(pairs, key) for key in RESPONSE_KEYS) in one pass, without a list: one of them has a value
    where param() reads it (a name's first occurrence decides). Asked of every hop by classify."""
    met: list[str] = []  # response keys met without a value
    for name, value in pairs:
        if name in _RESPONSE_NAMES and name not in met:
            if value:
                return True
            met.append(name)
    return False


def request_has_response_key(hop: Hop) -> bool:
    """has_response_key(request_params(hop)): the query, then the form, without joining them."""
    return has_response_key(chain(hop.query, hop.form))


def authz_response_params(hop: Hop) -> tuple[Pairs, str]:
    """Parameters the provider sent back in an authorization response, and how: query, fragment, form_post.

    `hop` is the provider's response: a redirect whose Location carries them, or an auto-submitting form.
    """
    if not hop.location and not hop.resp_body:
        return [], "none"
    pairs, mode = derived(hop, "authz_response_params", lambda: _authz_response_params(hop), hop.location,
                          hop.resp_body, hop.resp_headers)
    return list(pairs), mode


def _authz_response_params(hop: Hop) -> tuple[Pairs, str]:
    if hop.location:
        fragment = fragment_pairs(hop.location)
        query = query_pairs(hop.location)
        if any(k in _RESPONSE_NAMES for k, _ in fragment):
            return fragment, "fragment"
        return query, "query"
    if hop.resp_content_type == "text/html" and hop.resp_body and b"<form" in hop.resp_body.lower():
        return form_post_fields(hop.resp_text), "form_post"
    return [], "none"


def form_post_fields(html: str) -> Pairs:
    """Hidden input name/value pairs of an auto-submitting form (OAuth 2.0 Form Post Response Mode)."""
    return named_inputs(html)


def callback_params(hop: Hop) -> Pairs:
    """Parameters the client's callback received: its query, or its form_post body."""
    return [*hop.query, *hop.form]


def redirect_uri_of(exchange: Exchange) -> str | None:
    """The client's callback: the authorization request's redirect_uri, else the URL the callback was loaded at
    (without its query). Profiles and MCP both tell well-known clients apart by it."""
    if exchange.authorize is not None:
        value = param(request_params(exchange.authorize), "redirect_uri")
        if value:
            return value
    if exchange.callback is not None:
        return exchange.callback.url.split("?", 1)[0]
    return None


def body_params(hop: Hop) -> Pairs:
    """Token-endpoint style request parameters: the form body, or a JSON object body."""
    if hop.form:
        return list(hop.form)
    data = hop.req_json()
    if isinstance(data, dict):
        return [(str(k), v if isinstance(v, str) else str(v)) for k, v in data.items()]
    if hop.req_content_type == "application/x-www-form-urlencoded":
        return parse_pairs(hop.req_text)
    return []


def body_param(hop: Hop, name: str) -> str | None:
    """param(body_params(hop), name), the form read in place (body_params copies it)."""
    return param(hop.form or body_params(hop), name)


def basic_credentials(hop: Hop) -> tuple[str, str] | None:
    """(client_id, client_secret) from an `Authorization: Basic` header, form-decoded (RFC 6749 §2.3.1)."""
    return basic_client_credentials(hop.req_header("authorization"))


def raw_basic_credentials(hop: Hop) -> tuple[str, str] | None:
    """Like basic_credentials but without the form-decoding, to check the client's encoding."""
    return basic_auth(hop.req_header("authorization"))


def token_response(hop: Hop) -> dict | None:
    """The token endpoint's JSON object, or None when the body is not a JSON object."""
    data = hop.resp_json()
    return data if isinstance(data, dict) else None


def token_fields(hop: Hop) -> dict | None:
    """The fields of a token-endpoint response: its JSON object, or its form-encoded body.

    Some providers (GitHub by default) answer `access_token=…&token_type=bearer`; reading those too lets the
    rules name the fields even though the format itself is wrong. None when the body is neither.
    """
    data = token_response(hop)
    if data is not None:
        return data
    if hop.resp_content_type == "application/x-www-form-urlencoded":
        pairs = parse_pairs(hop.resp_text)
        return {k: v for k, v in reversed(pairs)} if pairs else None
    return None


def client_auth_used(hop: Hop) -> str:
    """How a token-endpoint request authenticated the client, by the RFC 7591 method names; "none" if it did not."""
    if basic_credentials(hop) is not None:
        return "client_secret_basic"
    body = body_params(hop)
    if param(body, "client_assertion"):
        return "client_assertion"
    if param(body, "client_secret"):
        return "client_secret_post"
    return "none"


def shown(value, *, secret: bool = False, limit: int = 60) -> str:
    """A value as a finding's message shows it: ∅ when absent, secrets cut to a recognisable prefix.

    Control characters are escaped so a hostile value cannot rewrite the terminal line it is printed on.
    """
    if value is None:
        return "∅"
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    keep = 6 if secret else limit
    text = value if len(value) <= keep + 2 else value[:keep] + "…"
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
