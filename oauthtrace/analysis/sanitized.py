"""What a sanitized capture cannot tell: values stripped or replaced by placeholders, so rules do not decide on them.

Users receive captures their customers sanitized before sharing:
- Chrome DevTools exports HARs "sanitized" by default, without Cookie, Set-Cookie and Authorization headers
  (devtools-frontend change "Export sanitized HARs by default",
  https://chromium.googlesource.com/devtools/devtools-frontend/+/acd96a60464188fbf7c4476ec883ec65bba3dfdf).
- Cloudflare's and Google's har-sanitizer replace the value of each listed name (state, code, code_verifier,
  client_secret, access_token, Authorization …) by `[<name> redacted]`, and a JWT's signature by `redacted`
  (https://github.com/cloudflare/har-sanitizer src/lib/har_sanitize.tsx; google/har-sanitizer harsanitizer.py).
- Microsoft's Dev Proxy HAR generator writes `REDACTED` for sensitive headers; the npm har-sanitizer `obfuscated`.
- oauthtrace's own redacted exports write `‹redacted:3f9a1c›` (oauthtrace.interchange.redact).

A sanitizer's placeholder is an unknown value, never a short, low-entropy or mismatching one; a header missing
from every hop of such an export is unknown, never absent. oauthtrace's own fingerprints are not unknown in that
sense: equal values keep equal fingerprints within one export, so a comparison (state altered, code reused) still
holds, and the rules that measure a value's form treat a fingerprint as opaque (model.is_redacted) — the export's
contract is that linting it finds what linting the original finds. Rules name the values they decide on (`reads` in `@rule`, or READS
below for rules registered without it); the engine asks `unknown_values` once per exchange that has such a rule
to run and reports the rule as not evaluated there, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from oauthtrace.analysis.oauth import body_params, param, token_response
from oauthtrace.analysis.registry import Context
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.model import REDACTED_MARK, Exchange, Hop, Rule

# The values a rule may read, as `reads` names them.
AUTHORIZATION = "authorization"  # the Authorization header of the exchange's back-channel requests
SENT_PARAMS = ("state", "nonce", "code_challenge", "client_id")  # the authorization request's
RESPONSE_PARAMS = ("state", "code", "access_token")  # the authorization response's
TOKEN_REQUEST_PARAMS = ("code", "code_verifier", "client_id", "client_secret", "refresh_token", "client_assertion")
TOKEN_RESPONSE_FIELDS = ("access_token", "refresh_token", "id_token")
VALUES = frozenset({AUTHORIZATION, *SENT_PARAMS, *RESPONSE_PARAMS, *TOKEN_REQUEST_PARAMS, *TOKEN_RESPONSE_FIELDS})

# What the rules registered without `reads` (in modules of their own) decide on: a value they compare, measure
# or require to be present. Rules that only report a value's presence (it leaked, it was sent twice) need none.
READS: dict[str, tuple[str, ...]] = {
    "token-not-used": (AUTHORIZATION,),  # "no call with it": the calls' bearer tokens may have been stripped
    "invalid-client-challenge": (AUTHORIZATION,),  # asks whether the client authenticated in the header
    "code-weak": ("code",),
    "code-reuse": ("code",),
    "pkce-verifier-mismatch": ("code_verifier", "code_challenge"),
    "pkce-verifier-malformed": ("code_verifier", "code_challenge"),  # the form of both
    "pkce-challenge-reused": ("code_challenge",),
    "nonce-mismatch": ("nonce",),
    "nonce-reused": ("nonce",),
    # aud against the client_id, at_hash / c_hash against the access token and the code
    "id-token-invalid": ("client_id", "access_token", "code"),
}

# The sources whose hops a proxy saw on the wire (oauthtrace's own, or mitmproxy's dumps): nothing was stripped.
PROXY_SOURCES = frozenset({"record", "replay", "import:mitmproxy"})
STRIPPED_HEADERS = frozenset({"authorization", "cookie", "set-cookie"})

_BRACKETED = re.compile(r"\[[^\[\]]{1,80} redacted\]")  # har-sanitizer's `[state redacted]`
_WORDS = frozenset({"REDACTED", "obfuscated", "redacted"})  # a whole value: Dev Proxy, npm har-sanitizer


def is_placeholder(value: str | None) -> bool:
    """True when `value` is, or holds, a sanitizer's stand-in for the value that was captured."""
    if not value or ("edacted" not in value and "EDACTED" not in value and value != "obfuscated"):
        return False  # nearly every value: one scan, no pattern
    if REDACTED_MARK in value or value.strip() in _WORDS or _BRACKETED.search(value):
        return True
    head, dot, signature = value.rpartition(".")
    return bool(dot) and signature == "redacted" and head.count(".") == 1  # a JWT that lost its signature


def erases_value(value: str | None) -> bool:
    """A placeholder that stands for any value alike (`[state redacted]` for every state): nothing about the value
    survives, not even whether two of them were equal. Our own fingerprints keep that (see the module's doc)."""
    return is_placeholder(value) and REDACTED_MARK not in value


def placeholder_shown(value: str) -> str:
    """How a reason names the placeholder: har-sanitizer's as written (it holds no secret)."""
    found = _BRACKETED.search(value)
    if found:
        return found.group(0)
    return "a JWT without its signature" if value.endswith(".redacted") else value.strip()


@dataclass(frozen=True)
class Capture:
    """What the whole capture can tell, read once per analysis."""

    headers_stripped: bool  # no Authorization, Cookie or Set-Cookie anywhere in a capture not recorded by us
    # an Authorization header a sanitizer replaced, as a reason shows it: which request presented which token (and
    # so which resource calls belong to a flow) is unknown all over the capture
    authorization_placeholder: str | None = None
    # whether a value may be a sanitizer's placeholder: not in a proxy's capture, which holds what went over the wire
    may_hold_placeholders: bool = True


def capture_facts(hops: Iterable[Hop], source: str | None = None) -> Capture:
    """One pass over an imported capture's hops: were its credential headers kept, and did a sanitizer replace an
    Authorization header?

    A proxy's capture (PROXY_SOURCES) holds every header that was sent. So does one whose hops name the client's
    connection (client_addr): only a proxy knows it — oauthtrace's own HAR and JSON exports carry it, a browser's
    export does not. Otherwise a capture with no Authorization, Cookie or Set-Cookie anywhere is taken as
    stripped: a real login sets cookies, and a client holding a token sends it. `source` None (hops whose caller
    did not say where they came from, as the library's own callers and tests pass them) counts as complete.
    """
    if source in PROXY_SOURCES:
        return Capture(headers_stripped=False, may_hold_placeholders=False)
    kept = source is None  # the caller vouches for the headers; a placeholder still says what it stands for
    placeholder = None
    for hop in hops:
        kept = kept or bool(hop.client_addr) or _has_credential_header(hop)
        authorization = hop.req_header("authorization")
        if authorization and erases_value(authorization):
            placeholder = placeholder_shown(authorization)
            break  # kept: the header is there; what it held is what is unknown
    return Capture(headers_stripped=not kept, authorization_placeholder=placeholder)


def _has_credential_header(hop: Hop) -> bool:
    for headers in (hop.req_headers, hop.resp_headers):
        for name, _ in headers:
            if name.lower() in STRIPPED_HEADERS:
                return True
    return False


HEADERS_STRIPPED = ("sanitized capture: no Authorization, Cookie or Set-Cookie header anywhere (Chrome's "
                    "\"Export HAR (sanitized)\" leaves them out), so the Authorization header is unknown")


def rule_reads(rule: Rule) -> frozenset[str]:
    """The values `rule` decides on: its own `reads`, else READS; an unknown name is a programming error."""
    reads = frozenset(rule.reads or READS.get(rule.id, ()))
    unknown = reads - VALUES
    if unknown:
        raise ValueError(f"rule {rule.id}: unknown values {sorted(unknown)} in reads")
    return reads


def trace_unknowns(capture: Capture) -> dict[str, str]:
    """value name -> why no exchange of the capture can tell it."""
    if capture.headers_stripped:
        return {AUTHORIZATION: HEADERS_STRIPPED}
    if capture.authorization_placeholder is not None:
        return {AUTHORIZATION: f"sanitized capture: Authorization headers are placeholders "
                               f"({capture.authorization_placeholder})"}
    return {}


def unknown_values(exchange: Exchange, ctx: Context, capture: Capture) -> dict[str, str]:
    """value name -> why the exchange cannot tell it: a placeholder where the rules read the value (what the
    whole capture hides is trace_unknowns')."""
    unknown: dict[str, str] = {}
    known = facts(exchange, ctx)
    for name in SENT_PARAMS:
        _note(unknown, name, known.sent_param(name), "authorize")
    if known.response is not None:
        for name in RESPONSE_PARAMS:
            _note(unknown, name, known.response_param(name), "callback")
    for hop in _back_channel(exchange):
        _note(unknown, AUTHORIZATION, hop.req_header("authorization"), "request", label="Authorization")
    for hop in exchange.tokens + exchange.refreshes:
        if hop.form or hop.req_body:
            body = body_params(hop)
            for name in TOKEN_REQUEST_PARAMS:
                _note(unknown, name, param(body, name), "token request")
        answer = token_response(hop)
        if answer:
            for name in TOKEN_RESPONSE_FIELDS:
                value = answer.get(name)
                _note(unknown, name, value if isinstance(value, str) else None, "token response")
    return unknown


def _back_channel(exchange: Exchange) -> Iterator[Hop]:
    yield from exchange.tokens
    yield from exchange.refreshes
    yield from exchange.resources
    yield from exchange.registrations


def _note(unknown: dict[str, str], name: str, value: str | None, where: str, *, label: str = "") -> None:
    if name not in unknown and erases_value(value):
        unknown[name] = f"sanitized capture: {where}.{label or name} is a placeholder ({placeholder_shown(value)})"


def not_evaluated_reason(reads: frozenset[str], unknown: dict[str, str]) -> str | None:
    """Why a rule reading `reads` cannot be evaluated on an exchange with these unknown values; None if it can."""
    for name in sorted(reads):
        reason = unknown.get(name)
        if reason is not None:
            return reason
    return None
