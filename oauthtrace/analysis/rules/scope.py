"""Family L: the scope parameter (RFC 6749 §3.1, §3.3, Appendix A.4)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from oauthtrace.analysis.oauth import body_params, param, request_params
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.analysis.rules.issuer import authorization_response, provider_key
from oauthtrace.model import Exchange, Hit, Hop

# scope-omitted is information by default (omitting scope is allowed); it is a warning only when the
# provider then failed with invalid_scope, which no profile should soften. No overrides needed.
PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")  # NQCHAR, RFC 6749 Appendix A.4
# single-space-delimited NQCHAR tokens without commas: nothing format_problems could say but duplicates
_CLEAN_SCOPE = re.compile(r"[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]+(?: [\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]+)*")


def requested_scope(exchange: Exchange, ctx: Context) -> tuple[bool, str | None]:
    """(known, scope): the authorization request's scope, also from a pushed request or a request object.

    An empty scope counts as omitted (None); `known` is False when the request's parameters cannot be read
    (a request_uri whose pushed request was not recorded).
    """
    known = facts(exchange, ctx)
    if known.sent is None:
        return False, None
    return True, known.sent_param("scope")


def _sent_empty(exchange: Exchange) -> bool:
    return any(name == "scope" for name, _ in request_params(exchange.authorize))


@rule(
    "scope-omitted",
    family="L",
    severity="info",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 6749 §3.1, §3.3",
    quote="If the client omits the scope parameter when requesting authorization, the authorization server MUST "
    "either process the request using a pre-defined default value or fail the request indicating an invalid scope",
    fix="Provider: define a default scope for requests without one (ChatGPT omits scope on reconnect and sends "
    "scope= when none is configured). Client: send the scopes you need.",
)
def scope_omitted(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The authorize request has no scope (or scope=, which counts as none).

    Information, blamed on the client; a warning blamed on the provider when it then failed with invalid_scope
    instead of applying a default.
    """
    known, value = requested_scope(exchange, ctx)
    if not known or value is not None:
        return
    start = exchange.authorize
    sent = "scope= (empty, counts as omitted)" if _sent_empty(exchange) else "scope = ∅"
    hop, response = authorization_response(exchange, ctx)
    if hop is not None and param(response, "error") == "invalid_scope":
        yield Hit(
            hop=hop,
            message=f"authorize.{sent} → callback.error = invalid_scope (no default scope applied)",
            evidence={"param": "scope", "sent": None, "error": "invalid_scope"},
            severity="warning",
            blame="AS",
        )
        return
    yield Hit(hop=start, message=f"authorize.{sent}", evidence={"param": "scope", "sent": None})


def format_problems(scope: str) -> list[str]:
    """What is wrong with a scope string's syntax; empty when it is a valid space-delimited list."""
    if _CLEAN_SCOPE.fullmatch(scope):
        clean = scope.split(" ")
        if len(set(clean)) == len(clean):
            return []
    problems = []
    tokens = scope.split(" ")
    if any(token == "" for token in tokens):
        problems.append("empty scope token (leading, trailing or double space)")
    words = [token for token in tokens if token]
    if any(len([part for part in token.split(",") if part]) > 1 for token in words):
        problems.append("comma-separated (scopes are space-delimited)")
    bad = sorted({char for token in words if not SCOPE_TOKEN.fullmatch(token)
                  for char in token if not SCOPE_TOKEN.fullmatch(char)})
    if bad:
        problems.append(f"characters outside NQCHAR: {' '.join(char_name(c) for c in bad)}")
    duplicates = sorted({token for token in words if words.count(token) > 1})
    if duplicates:
        problems.append(f"duplicated: {' '.join(duplicates)}")
    return problems


@lru_cache(maxsize=1024)
def _known_problems(scope: str) -> tuple[str, ...]:
    """format_problems(scope), kept per value: a client sends the same scope string on every connect."""
    return tuple(format_problems(scope))


def char_name(char: str) -> str:
    """A character as a message shows it: quoted when printable ASCII, else its code point."""
    return repr(char) if " " <= char <= "~" else f"U+{ord(char):04X}"


def _scoped_requests(exchange: Exchange, ctx: Context) -> Iterator[tuple[str, Hop, str]]:
    _, value = requested_scope(exchange, ctx)
    if value is not None:
        yield "authorize", exchange.authorize, value
    for kind, hops in (("token", exchange.tokens), ("refresh", exchange.refreshes)):
        for hop in hops:
            value = param(body_params(hop), "scope")
            if value is not None:
                yield kind, hop, value


@rule(
    "scope-format",
    family="L",
    severity="warning",
    blame="C",
    needs="F",
    when=("authorize", "tokens", "refreshes"),
    spec="RFC 6749 §3.3, Appendix A.4",
    quote="The value of the scope parameter is expressed as a list of space-delimited, case-sensitive strings",
    fix="Client: send scopes separated by single spaces, each once, using only printable ASCII without '\"' "
    "and '\\'. Keep the same scope set when reconnecting.",
)
def scope_format(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The scope string is not a clean space-delimited list, or the scope set changed since the last connect."""
    for kind, hop, value in _scoped_requests(exchange, ctx):
        problems = _known_problems(value)
        if problems:
            yield Hit(
                hop=hop,
                message=f"{kind}.scope = {value!r}: {'; '.join(problems)}",
                evidence={"param": "scope", "sent": value, "problems": list(problems)},
            )
    yield from _scope_set_changed(exchange, ctx)


def _scope_set_changed(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Info when this connect asks for another scope set than the previous one of the same client and provider."""
    changed = memo(ctx, "scope.changed", lambda: _changed_scopes(ctx)).get(exchange.index)
    if changed is None:
        return  # most connects: the same scope set as the previous one, or the first
    previous, scope = changed
    before, now = set(previous.split()), set(scope.split())
    added, removed = sorted(now - before), sorted(before - now)
    yield Hit(
        hop=exchange.authorize,
        message=f"earlier authorize.scope = {previous} → this authorize.scope = {scope}",
        evidence={"param": "scope", "earlier": previous, "sent": scope, "added": added, "removed": removed},
        severity="info",
    )


def _changed_scopes(ctx: Context) -> dict[int, tuple[str, str]]:
    """exchange index -> (the scope the previous connect of the same client to the same provider asked for, its
    own), for the connects whose scope set differs from it: one pass over the trace."""
    last: dict[tuple, tuple[int, str]] = {}
    changed: dict[int, tuple[str, str]] = {}
    for exchange in sorted(ctx.exchanges, key=lambda ex: ex.index):
        if exchange.authorize is None:
            continue
        key = (provider_key(exchange, ctx), param(request_params(exchange.authorize), "client_id"))
        earlier = last.get(key)
        _, scope = requested_scope(exchange, ctx)
        if scope is None:
            continue
        if earlier is not None and earlier[0] != exchange.authorize.seq:
            if earlier[1] != scope and set(earlier[1].split()) != set(scope.split()):  # mostly the same string
                changed[exchange.index] = (earlier[1], scope)
        last[key] = (exchange.authorize.seq, scope)
    return changed
