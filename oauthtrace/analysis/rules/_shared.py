"""What the rules read from an exchange, read once per engine run (the authorization request and response as
analysis.authorization reads them), and small helpers the families share."""

from __future__ import annotations

import math
import string
from typing import Callable, TypeVar

from oauthtrace.analysis.authorization import AuthzResponse, authz_response, cached_sent_params
from oauthtrace.analysis.oauth import first_values
from oauthtrace.analysis.registry import Context
from oauthtrace.model import Exchange, Hop, Pairs

T = TypeVar("T")


class _read_once:
    """An attribute computed on first read: functools.cached_property without the lock Python 3.11's takes on every
    first read, which a run (one thread) does not need and which costs more than most of these reads."""

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
    rules and the trace-wide indexes share them instead of each asking the per-object caches again (one lookup per
    rule per exchange). Values are shared: read-only.
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
        return cached_sent_params(self.exchange, self.ctx)

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
    try:  # no method call on the way: every rule asks, for every exchange it looks at
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
