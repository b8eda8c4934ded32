"""Small readers shared by families A–C: what the client asked for and what the provider answered."""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Callable, TypeVar

from oauthtrace.analysis import jwt
from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.classify import absolute, form_post_action, without_fragment
from oauthtrace.analysis.oauth import (
    authz_response_params, body_params, callback_params, first_values, param, request_params,
)
from oauthtrace.analysis.registry import Context, memo
from oauthtrace.model import Exchange, Hop, Pairs

T = TypeVar("T")

# Parameters whose values are credentials: messages and evidence show a prefix only.
SECRET_PARAMS = frozenset({
    "code", "code_verifier", "client_secret", "access_token", "refresh_token", "id_token", "client_assertion",
    "password", "assertion",
})


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
    pairs = _cached_sent_params(exchange, ctx)
    return list(pairs) if pairs is not None else None


def _cached_sent_params(exchange: Exchange, ctx: Context) -> Pairs | None:
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


class _read_once:
    """An attribute computed on first read (functools.cached_property without its lock: a run is one thread,
    and the lock cost more than reading the value on a 10k-exchange trace)."""

    def __init__(self, read):
        self.read, self.__doc__ = read, read.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.read(obj)
        return value


class ExchangeFacts:
    """What many rules read from one exchange, each read once: the authorization request's parameters (as
    sent_params gives them), the authorization response (as authz_response gives it), and what rules remember().

    During an engine run the facts of each exchange are built once and kept for the run (ctx.facts), so the ~80
    rules and the trace-wide indexes share them instead of each asking the per-object caches again (a million
    lookups on a 10k-exchange trace). Values are shared: read-only.
    """

    def __init__(self, exchange: Exchange, ctx: Context):
        self.exchange, self.ctx = exchange, ctx
        self._remembered: dict[str, object] = {}

    def remember(self, name: str, build: Callable[[], T]) -> T:
        """build() once for this exchange: a value several rules derive from it (its error responses …)."""
        remembered = self._remembered
        if name not in remembered:
            remembered[name] = build()
        return remembered[name]

    @_read_once
    def sent(self) -> Pairs | None:
        """sent_params(exchange, ctx), not copied."""
        if self.exchange.authorize is None:
            return None
        return _cached_sent_params(self.exchange, self.ctx)

    @_read_once
    def _sent_values(self) -> dict[str, str]:
        return first_values(self.sent or ())

    def sent_param(self, name: str) -> str | None:
        """param(sent_params(exchange, ctx), name): None also when there is no authorization request to read."""
        return self._sent_values.get(name) or None

    @_read_once
    def response(self) -> AuthzResponse | None:
        """authz_response(exchange)."""
        return authz_response(self.exchange)

    @_read_once
    def _response_values(self) -> dict[str, str]:
        return first_values(self.response.pairs if self.response is not None else ())

    def response_param(self, name: str) -> str | None:
        """param(authz_response(exchange).pairs, name); None when there is no response."""
        return self._response_values.get(name) or None


def facts(exchange: Exchange, ctx: Context) -> ExchangeFacts:
    """The facts of `exchange`, kept for the engine's run; outside a run (a rule called on its own, as tests do)
    read afresh on every call."""
    kept = ctx.facts
    if kept is None:
        return ExchangeFacts(exchange, ctx)
    try:  # no method call on the way: rules ask 600k times on a 10k-exchange trace
        found = kept[exchange.index]
        if found.exchange is exchange:
            return found
    except KeyError:
        pass
    found = kept[exchange.index] = ExchangeFacts(exchange, ctx)
    return found


def per_exchange(exchange: Exchange, ctx: Context, name: str, build: Callable[[], T]) -> T:
    """build() once per exchange and engine run for all the rules that read it (a rule called on its own, as
    tests do, builds it every time)."""
    return facts(exchange, ctx).remember(name, build)


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


def estimated_bits(value: str) -> float:
    """An upper bound of a random-looking value's entropy: length × log2(size of the alphabet it draws from).

    The alphabet is the usual one the characters belong to (digits, hex, base36, base64url ...), not just the
    characters seen, so a short random base64url value that happens to lack digits is not undercounted.
    """
    if not value:
        return 0.0
    chars = set(value)
    digits, lower, upper = chars & _DIGITS, chars & _LOWER, chars & _UPPER
    others = chars - _DIGITS - _LOWER - _UPPER
    if chars <= _DIGITS:
        alphabet = 10
    elif chars - {"-"} <= _HEX_LOWER or chars - {"-"} <= _HEX_UPPER:  # hex, UUIDs
        alphabet = 16
    elif not others and not (lower and upper):
        alphabet = 36 if digits else 26
    else:
        alphabet = 62 + len(others - _BASE64_EXTRA) + (2 if others & _BASE64_EXTRA else 0)
    return len(value) * math.log2(alphabet)


def surely_unguessable(value: str, bits: float) -> bool:
    """Whether estimated_bits(value) >= bits follows from the length alone, without collecting the characters.

    The smallest alphabet estimated_bits counts is 10 (digits only), and anything that is not all ASCII digits
    draws from at least 16 (hex): two bounds that settle the usual long random value in one comparison. False
    means "count the alphabet", not "weak".
    """
    length = len(value)
    return length * _LOG2_10 >= bits or (length * 4 >= bits and not value.isdigit())


_LOG2_10 = math.log2(10)  # as estimated_bits computes it for a digits-only value
_DIGITS = frozenset(string.digits)
_LOWER = frozenset(string.ascii_lowercase)
_UPPER = frozenset(string.ascii_uppercase)
_HEX_LOWER = frozenset(string.digits + "abcdef")
_HEX_UPPER = frozenset(string.digits + "ABCDEF")
_BASE64_EXTRA = frozenset("-_+/")


def hops_with_role(exchange: Exchange, *roles: str) -> list[Hop]:
    return [hop for hop in exchange.hops if exchange.roles.get(hop.seq) in roles]
