"""Family A: state / CSRF — sent, echoed exactly, unguessable, used once, not carrying readable data."""

from __future__ import annotations

import base64
import binascii
import json
import re
from operator import countOf
from typing import Iterable, Iterator

from oauthtrace.analysis import jwt
from oauthtrace.analysis.oauth import body_params, request_param, request_params, shown
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.analysis.rules._shared import estimated_bits, facts, surely_unguessable
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.model import SECRET_PARAMS, Exchange, Hit, Hop, Pairs

MIN_STATE_LENGTH = 8  # ORY Hydra/fosite and Authelia reject shorter values with error=invalid_state
MIN_STATE_BITS = 128  # RFC 6749 §10.10: probability of guessing ≤ 2^-128

# Parameters RFC 6749 §3.1/§3.2 forbid repeating (resource, audience may legitimately repeat).
OAUTH_PARAMS = frozenset({
    "response_type", "client_id", "redirect_uri", "scope", "state", "code", "code_challenge",
    "code_challenge_method", "code_verifier", "grant_type", "refresh_token", "nonce", "response_mode", "prompt",
    "error", "error_description", "error_uri", "iss", "access_token", "token_type", "expires_in", "id_token",
    "client_secret", "request_uri", "request", "max_age", "login_hint", "client_assertion",
    "client_assertion_type", "session_state",
})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_URL_START = re.compile(r"https?://", re.IGNORECASE)
_JSON_KEY = re.compile(rb'"([^"\\]*)"\s*:')


def _sent_state_index(ctx: Context) -> dict[str, list[int]]:
    return memo(ctx, "state.sent", lambda: _sent_states(ctx))


def _sent_states(ctx: Context) -> dict[str, list[int]]:
    """state -> indexes of the exchanges whose authorization request sent it, in order."""
    index: dict[str, list[int]] = {}
    for exchange in ctx.exchanges:
        state = facts(exchange, ctx).sent_param("state")
        if state:
            index.setdefault(state, []).append(exchange.index)
    return index


@rule(
    "state-dropped",
    family="A",
    severity="error",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    cause="The provider dropped `state` from its redirect to the callback",
    spec="RFC 6749 §4.1.2",
    quote="state: REQUIRED if the \"state\" parameter was present in the client authorization request. The exact "
          "value received from the client. (§4.1.2.1: the same for error responses)",
    fix="Provider: copy the state parameter of the authorization request unchanged into every redirect to the "
        "redirect_uri — success (code) and error responses alike.",
)
def state_dropped(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The authorization response lost the state the client sent."""
    known = facts(exchange, ctx)
    sent = known.sent_param("state")
    response = known.response
    if not sent or response is None:
        return ()
    kind = "error" if known.response_param("error") else "code" if known.response_param("code") else None
    if kind is None or known.response_param("state"):
        return ()
    return [Hit(
        hop=response.hop,
        message=f"authorize.state = {shown(sent, secret=True)} → callback.state = ∅",
        evidence={"param": "state", "sent": sent, "returned": None, "response": kind, "mode": response.mode},
    )]


@rule(
    "state-altered",
    family="A",
    severity="error",
    blame="AS",
    needs="F",
    reads=("state",),
    when=("authz_response", "callback"),
    cause="The provider sent back another `state` than the one the client sent",
    spec="RFC 6749 §4.1.2",
    quote="state: REQUIRED if the \"state\" parameter was present in the client authorization request. The exact "
          "value received from the client.",
    fix="Provider: return state byte for byte as received — do not decode, re-encode, trim, lower-case or "
        "replace it; store it exactly as the request's query parameter decoded once.",
)
def state_altered(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The state that came back differs from the one sent."""
    known = facts(exchange, ctx)
    sent = known.sent_param("state")
    returned = known.response_param("state")
    if not sent or not returned:
        return ()
    response = known.response
    if returned != sent:
        how = describe_difference(sent, returned, others=_OtherStates(_sent_state_index(ctx), sent))
        return [Hit(
            hop=response.hop,
            message=f"authorize.state = {shown(sent, limit=24)} → callback.state = {shown(returned, limit=24)} "
                    f"({how})",
            evidence={"param": "state", "sent": sent, "returned": returned, "difference": how},
        )]
    # The provider's redirect was right; the request that reached the client was not: something in between.
    callback = exchange.callback
    if callback is not None and callback is not response.hop:
        arrived = request_param(callback, "state")
        if arrived and arrived != sent:
            how = describe_difference(sent, arrived, others=_OtherStates(_sent_state_index(ctx), sent))
            return [Hit(
                hop=callback,
                message=f"provider redirect.state = {shown(sent, limit=24)} → callback.state = "
                        f"{shown(arrived, limit=24)} ({how}, changed between the provider and the client)",
                evidence={"param": "state", "sent": sent, "returned": arrived, "difference": how},
                blame="either",
            )]
    return ()


class _OtherStates:
    """States other exchanges sent, as a container, without copying the trace-wide index."""

    def __init__(self, index: dict[str, list[int]], own: str):
        self.index, self.own = index, own

    def __contains__(self, value) -> bool:
        return value != self.own and value in self.index


@rule(
    "state-unsolicited",
    family="A",
    severity="warning",
    blame="AS",
    needs="F",
    reads=("state",),
    when=("authz_response", "callback"),
    spec="RFC 6749 §10.12",
    quote="The client MUST implement CSRF protection for its redirection URI … (a state that no pending request "
          "sent cannot be bound to the user-agent)",
    fix="Provider: return state only when the authorization request carried one. Client: reject callbacks whose "
        "state matches no request you sent from this browser.",
)
def state_unsolicited(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """A state came back that no authorization request sent."""
    known = facts(exchange, ctx)
    returned = known.response_param("state")
    if not returned:
        return ()
    response = known.response
    if known.sent is not None:
        if not known.sent_param("state"):
            return [Hit(
                hop=response.hop,
                message=f"authorize.state = ∅ → callback.state = {shown(returned, limit=24)}",
                evidence={"param": "state", "sent": None, "returned": returned},
            )]
        return ()
    # No authorization request in this exchange: unsolicited only if the trace saw authorization requests at all
    # (a recording started mid-flow would otherwise be blamed on the provider).
    sent = _sent_state_index(ctx)
    if sent and returned not in sent:
        return [Hit(
            hop=response.hop,
            message=f"callback.state = {shown(returned, limit=24)} matches no authorization request in the trace",
            evidence={"param": "state", "sent": None, "returned": returned},
            blame="either",
        )]
    return ()


@rule(
    "state-missing",
    family="A",
    severity="error",
    blame="C",
    needs="F",
    when=("authorize",),
    spec="RFC 6749 §4.1.1, §10.12; RFC 9700 §2.1",
    quote="The client MUST implement CSRF protection for its redirection URI (§10.12); clients MAY rely on PKCE "
          "for CSRF protection only if the authorization server supports PKCE (RFC 9700 §2.1)",
    fix="Client: send a fresh, unguessable state bound to the browser session with every authorization request "
        "and check it on the callback (or use PKCE S256 with a provider that advertises it).",
)
def state_missing(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The authorization request carries no state."""
    known = facts(exchange, ctx)
    if known.sent is None or known.sent_param("state"):
        return ()
    pkce = bool(known.sent_param("code_challenge"))
    nonce = bool(known.sent_param("nonce"))
    advertised = "S256" in ((ctx.as_metadata() or {}).get("code_challenge_methods_supported") or [])
    if pkce and advertised:
        severity, why = "info", "PKCE S256 advertised by the provider protects the callback"
    elif pkce or nonce:
        severity, why = "warning", ("PKCE, but the provider does not advertise it" if pkce else "nonce only")
    else:
        severity, why = "error", "no code_challenge and no nonce either: the callback has no CSRF protection"
    return [Hit(
        hop=exchange.authorize,
        message=f"authorize.state = ∅ ({why})",
        evidence={"param": "state", "sent": None, "code_challenge": pkce, "nonce": nonce,
                  "pkce_advertised": advertised},
        severity=severity,
    )]


@rule(
    "state-low-entropy",
    family="A",
    severity="warning",
    blame="C",
    needs="F",
    reads=("state",),
    when=("authorize",),
    spec="RFC 6749 §10.10, §10.12",
    quote="The probability of an attacker guessing generated tokens … MUST be less than or equal to 2^(-128) "
          "(§10.10); the state value MUST contain a non-guessable value (§10.12)",
    fix="Client: generate state from a CSPRNG, at least 128 bits (e.g. 32 bytes base64url-encoded = 43 "
        "characters); some providers (ORY Hydra, Authelia) reject states shorter than 8 characters.",
)
def state_low_entropy(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The state is short or drawn from a small alphabet."""
    state = facts(exchange, ctx).sent_param("state")
    if not state:
        return ()
    if surely_unguessable(state, MIN_STATE_BITS):  # 32 characters or more: not short either
        return ()  # the usual long random value, told by its length
    bits = estimated_bits(state)
    if len(state) >= MIN_STATE_LENGTH and bits >= MIN_STATE_BITS:
        return ()
    short = len(state) < MIN_STATE_LENGTH
    return [Hit(
        hop=exchange.authorize,
        message=f"authorize.state = {shown(state, limit=24)} — {len(state)} characters, at most ~{bits:.0f} bits"
                + (f" (providers such as Hydra reject < {MIN_STATE_LENGTH} characters)" if short else
                   f" (< {MIN_STATE_BITS})"),
        evidence={"param": "state", "sent": state, "length": len(state), "estimated_bits": round(bits)},
        severity="error" if short else "warning",
    )]


@rule(
    "state-reused",
    family="A",
    severity="error",
    blame="C",
    needs="F",
    reads=("state",),
    spec="RFC 9700 §2.1, §4.2.4",
    quote="one-time use CSRF tokens carried in the state parameter that are securely bound to the user agent "
          "MUST be used (§2.1); the state value SHOULD be invalidated by the client after its first use (§4.2.4)",
    fix="Client: generate a new random state for every authorization request and invalidate it once its "
        "callback has been processed.",
)
def state_reused(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The same state was sent twice, or a callback with an already consumed state arrived."""
    hits = []
    first = memo(ctx, "state.reusers", lambda: _state_reusers(ctx)).get(exchange.index)
    if first is not None:  # the usual exchange sent a state of its own: one lookup, its state not read
        state = facts(exchange, ctx).sent_param("state")
        hits.append(Hit(
            hop=exchange.authorize,
            message=f"authorize.state = {shown(state, limit=24)} already sent by exchange {first}",
            evidence={"param": "state", "sent": state, "first_exchange": first},
        ))
    if countOf(exchange.roles.values(), "callback") >= 2:  # roles has one entry per hop of the exchange
        hits += _replayed_callbacks(exchange)  # one callback (the usual flow) cannot repeat a state
    return hits


def _state_reusers(ctx: Context) -> dict[int, int]:
    """exchange index -> the exchange that first sent its state, for the exchanges whose state an earlier one
    (in ctx.exchanges' order) sent: the only ones state-reused reports the state of."""
    return {index: users[0] for users in _sent_state_index(ctx).values() if len(users) > 1 for index in users[1:]}


def _replayed_callbacks(exchange: Exchange) -> Iterator[Hit]:
    seen: dict[str, Hop] = {}
    for hop in exchange.hops:
        if exchange.roles.get(hop.seq) != "callback":
            continue
        returned = request_param(hop, "state")
        if not returned:
            continue
        if returned in seen:
            yield Hit(
                hop=hop,
                message=f"callback.state = {shown(returned, limit=24)} already consumed by hop #{seen[returned].seq}",
                evidence={"param": "state", "returned": returned, "first_callback": seen[returned].seq},
                severity="warning",
            )
        else:
            seen[returned] = hop


@rule(
    "param-duplicated",
    family="A",
    severity="error",
    blame="either",
    needs="F/B",
    when=("authorize", "authz_response", "callback", "tokens", "refreshes"),
    spec="RFC 6749 §3.1, §3.2",
    quote="Request and response parameters MUST NOT be included more than once.",
    fix="Send each OAuth parameter once. Provider: reject repeated parameters with invalid_request instead of "
        "picking one; client: build the query from a map, not by appending to a redirect_uri that already has it.",
)
def param_duplicated(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An OAuth parameter appears more than once in one request or response."""
    response = facts(exchange, ctx).response
    checked: list[tuple[Hop, Pairs, str, str]] = []
    if exchange.authorize is not None:
        checked.append((exchange.authorize, request_params(exchange.authorize), "authorize", "C"))
    if response is not None:
        checked.append((response.hop, response.pairs, "authorization response", "AS"))
    for hop in exchange.tokens + exchange.refreshes:
        checked.append((hop, body_params(hop), "token request", "C"))
        checked.append((hop, _json_pairs(hop.resp_body), "token response", "AS"))
    for hop, pairs, where, blame in checked:
        for name, values in _repeated(pairs).items():
            secret = name in SECRET_PARAMS
            yield Hit(
                hop=hop,
                message=f"{where}: {name} × {len(values)} = "
                        + ", ".join(shown(v, secret=secret, limit=24) for v in values),
                evidence={"param": name, "where": where,
                          "values": [shown(v, secret=True) if secret else v for v in values]},
                blame=blame,
            )


def _repeated(pairs: Pairs) -> dict[str, list[str]]:
    if len(dict(pairs)) == len(pairs):  # a dict keeps each name once
        return {}  # no name twice: the usual case, without building the lists
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name in OAUTH_PARAMS:
            values.setdefault(name, []).append(value)
    return {name: found for name, found in values.items() if len(found) > 1}


def _json_pairs(body: bytes | None) -> Pairs:
    """Top-level members of a JSON object body, duplicates kept (json.loads would keep only the last).

    Empty also when no member name repeats at any depth and none is escaped (the caller looks for repeats only):
    that is seen without a parse.
    """
    if not body or not body.lstrip().startswith(b"{"):
        return []
    if b"\\" not in body:
        keys = _JSON_KEY.findall(body)  # every member name at any depth, as written (no escapes to undo)
        if len(set(keys)) == len(keys):
            return []  # no name repeated anywhere, so none at the top level
    objects: list[list] = []

    def keep(members):
        objects.append(members)
        return dict(members)

    try:
        json.loads(body, object_pairs_hook=keep)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    top = objects[-1] if objects else []  # inner objects are decoded first, the top-level one last
    return [(str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in top]


@rule(
    "state-unprotected-data",
    family="A",
    severity="warning",
    blame="C",
    needs="F",
    reads=("state",),
    when=("authorize",),
    spec="RFC 9700 §4.7.1; RFC 6749 §10.8",
    quote="If state is used for carrying application state, … it MUST be protected against tampering and "
          "swapping (RFC 9700 §4.7.1)",
    fix="Client: keep application data (return path, user) in the session and send only a random reference as "
        "state; if the data must travel, sign it (MAC/JWS) and bind it to the browser session.",
)
def state_unprotected_data(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The state carries readable application data (URL, JSON, e-mail) with no signature."""
    state = facts(exchange, ctx).sent_param("state")
    if not state:
        return ()
    found = readable_data(state)
    if found is None:
        return ()
    kind, decoded = found
    return [Hit(
        hop=exchange.authorize,
        message=f"authorize.state = {shown(state, limit=24)} is {kind}: {shown(decoded, limit=60)}",
        evidence={"param": "state", "sent": state, "kind": kind, "decoded": decoded[:200]},
    )]


def readable_data(state: str) -> tuple[str, str] | None:
    """(what it is, the readable text) when state carries unsigned data; None for an opaque or signed value."""
    if state.isascii() and state.isalnum():
        # letters and digits only, the usual random state: no e-mail (@), URL (/, ://), JSON ({, [) or JWT (dots);
        # only base64 can hide data in it
        return _base64_data(state)
    email = _EMAIL.search(state) if "@" in state else None  # the search is slow on long values without one
    if email:
        return "an e-mail address", email.group(0)
    if state.startswith("/") or _URL_START.match(state):
        return "a URL", state
    if _json_object(state) is not None:
        return "JSON", state
    token = jwt.decode(state)
    if token is not None:
        if token.alg in (None, "none") or not token.signature:
            return "an unsigned JWT", json.dumps(token.claims)[:200]
        return None
    payload, dot, signature = state.partition(".")
    if dot and signature and _b64_text(payload) is not None:
        return None  # `data.signature`: protected, as RFC 9700 asks
    return _base64_data(state)


def _base64_data(state: str) -> tuple[str, str] | None:
    """readable_data's answer for a state that may be base64 of JSON or of a URL."""
    text = _b64_text(state, only_readable=True)
    if text is None:
        return None
    if _json_object(text) is not None:
        return "base64-encoded JSON", text
    if text.startswith("/") or _URL_START.match(text):
        return "a base64-encoded URL", text
    return None


def _json_object(text: str):
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) else None


def _b64_text(value: str, *, only_readable: bool = False) -> str | None:
    """The UTF-8 text a base64/base64url value decodes to, or None.

    only_readable: None also when the text could not be readable data (JSON, a URL), told from its first byte
    before the last UTF-8 decoding is tried: an opaque random state decodes to bytes that are mostly not UTF-8,
    and the exception that decoding raises was the slowest step of state-unprotected-data.
    """
    if not _BASE64.fullmatch(value):
        return None
    padded = value + "=" * (-len(value) % 4)
    # without - or _ both alphabets decode the same bytes: one failed attempt (and its exception) is enough
    decoders = (base64.urlsafe_b64decode, base64.b64decode) if "-" in value or "_" in value else (base64.b64decode,)
    for decoder in decoders:
        try:
            raw = decoder(padded)
        except (binascii.Error, ValueError):
            continue
        if only_readable and decoder is decoders[-1] and not _may_begin_readable_text(raw):
            return None  # an earlier decoder's bytes failed as UTF-8, or were not readable either
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def _may_begin_readable_text(raw: bytes) -> bool:
    """Whether UTF-8 text of these bytes could be what readable_data reports: JSON after leading whitespace
    (str.lstrip), or a value starting with / or http(s)://. Its first byte after ASCII whitespace must then be
    one of {[/hH, or the lead byte of a non-ASCII space (U+0085, U+00A0: C2; U+1680: E1; U+2000–U+205F: E2;
    U+3000: E3)."""
    first = raw.lstrip(_ASCII_SPACE)[:1]
    return bool(first) and first in _READABLE_FIRST_BYTES


_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.lstrip strips below 0x80
_READABLE_FIRST_BYTES = frozenset(bytes([b]) for b in b"{[/hH\xc2\xe1\xe2\xe3")
