"""Family C: the authorization code — well-formed response, unguessable, redeemed once and in time."""

from __future__ import annotations

from typing import Iterable

from oauthtrace.analysis.oauth import body_params, param, request_param, shown, token_fields
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.analysis.rules._shared import AuthzResponse, estimated_bits, facts, surely_unguessable
from oauthtrace.model import Exchange, Hit, Hop

CODE_LIFETIME = 600.0  # RFC 6749 §4.1.2: a maximum authorization code lifetime of 10 minutes is RECOMMENDED
LONG_GAP = 30.0  # many providers' codes live 30–60 s: an invalid_grant after this long is likely expiry
MIN_CODE_LENGTH = 10
MIN_CODE_BITS = 64  # well below §10.10's 2^-128, so only clearly weak codes are flagged


def _code(exchange: Exchange, ctx: Context) -> str | None:
    return facts(exchange, ctx).response_param("code")


def _issued(hop: Hop) -> bool:
    fields = token_fields(hop) or {}
    return (hop.status or 0) in range(200, 300) and bool(fields.get("access_token"))


@rule(
    "code-reuse",
    family="C",
    severity="warning",
    blame="C",
    needs="B",
    when=("tokens",),
    spec="RFC 6749 §4.1.2; RFC 9700 §4.2.4",
    quote="The client MUST NOT use the authorization code more than once. If an authorization code is used more "
          "than once, the authorization server MUST deny the request and SHOULD revoke … all tokens previously "
          "issued based on that authorization code.",
    fix="Client: redeem each code once (guard the callback against double submission and retries). Provider: "
        "reject a second redemption with invalid_grant and revoke the tokens issued for that code.",
)
def code_reuse(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The same code was sent in more than one token request."""
    hits: list[Hit] = []
    if len(exchange.tokens) < 2:
        return hits  # one token request cannot repeat a code
    first: dict[str, Hop] = {}
    for hop in exchange.tokens:
        code = param(body_params(hop), "code")
        if not code:
            continue
        if code not in first:
            first[code] = hop
            continue
        accepted = _issued(hop)
        hits.append(Hit(
            hop=hop,
            message=f"token.code = {shown(code, secret=True)} already redeemed at hop #{first[code].seq} → "
                    + (f"{hop.status} with tokens again" if accepted else f"{hop.status}"),
            evidence={"param": "code", "code": shown(code, secret=True), "first_request": first[code].seq,
                      "status": hop.status, "tokens_issued_again": accepted},
            severity="error" if accepted else "warning",
            blame="AS" if accepted else "C",
        ))
    return hits


@rule(
    "code-late-exchange",
    family="C",
    severity="warning",
    blame="C",
    needs="F+B",
    when=("tokens",),
    spec="RFC 6749 §4.1.2",
    quote="A maximum authorization code lifetime of 10 minutes is RECOMMENDED.",
    fix="Client: redeem the code as soon as the callback arrives; if it failed with invalid_grant, restart the "
        "authorization instead of retrying the old code.",
)
def code_late_exchange(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The code was redeemed long after the callback delivered it."""
    hits: list[Hit] = []
    delivered = exchange.callback or exchange.authz_response
    if delivered is None:
        return hits
    for hop in exchange.tokens:
        gap = (hop.started or 0.0) - (delivered.started or 0.0)
        if gap <= LONG_GAP:
            continue  # in time whatever the answer (LONG_GAP < CODE_LIFETIME): the usual case, body not read
        expired = (token_fields(hop) or {}).get("error") == "invalid_grant"
        if gap > CODE_LIFETIME:
            severity = "warning"
        elif expired and gap > LONG_GAP:
            severity = "info"
        else:
            continue
        hits.append(Hit(
            hop=hop,
            message=f"callback #{delivered.seq} → token request {gap:.0f} s later"
                    + (" → invalid_grant (the code had likely expired)" if expired else ""),
            evidence={"gap_seconds": round(gap, 3), "callback": delivered.seq, "invalid_grant": expired},
            severity=severity,
        ))
    return hits


@rule(
    "callback-malformed",
    family="C",
    severity="error",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    spec="RFC 6749 §4.1.2, §4.1.2.1",
    quote="If the resource owner grants the access request, the authorization server issues an authorization "
          "code … If the request fails …, the authorization server informs the client by adding the following "
          "parameters: error REQUIRED …",
    fix="Provider: redirect with either code (success) or error (failure), never both and never neither.",
)
def callback_malformed(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The authorization response has neither code nor error, or both."""
    known = facts(exchange, ctx)
    response = known.response
    if response is None:
        return ()
    asked_for = known.sent_param("response_type")
    response_type = (asked_for or "code").split()
    if response_type == ["none"]:
        return ()
    code, error = known.response_param("code"), known.response_param("error")
    if code and error:
        problem = "both code and error"
    elif code or error:
        return ()
    elif "code" not in response_type and (known.response_param("access_token") or known.response_param("id_token")):
        return ()  # implicit: tokens instead of a code
    elif not _answers_a_request(exchange, response) or _asked_by_shape(exchange, asked_for):
        return ()
    else:
        problem = "neither code nor error"
    names = sorted({name for name, _ in response.pairs})
    return [Hit(
        hop=response.hop,
        message=f"authorization response has {problem} (parameters: {', '.join(names) or '∅'})",
        evidence={"problem": problem, "params": names, "mode": response.mode},
    )]


def _answers_a_request(exchange: Exchange, response: AuthzResponse) -> bool:
    """Whether an empty response is one: the provider's own redirect or form is; a request to the redirect URI
    (the provider's redirect not seen) only after an authorization request. Before any, it is the client's own
    page (SharePoint's sign-in page `/_forms/default.aspx?ReturnUrl=…` is its redirect URI), and with no request
    at all nothing says which response_type it answers (`none` asks for no code)."""
    if response.mode != "callback":
        return True
    asked = exchange.authorize
    return asked is not None and (asked.started or 0.0, asked.seq) < (response.hop.started or 0.0, response.hop.seq)


def _asked_by_shape(exchange: Exchange, asked_for: str | None) -> bool:
    """An authorization request that names no response_type, neither itself nor pushed (GitHub's, recognised by
    its shape): judged by what it gets back, an answer with neither code nor error says it asked for no code
    (Entra's admin consent endpoint is asked with client_id, redirect_uri and state too and answers
    admin_consent=True, https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent)."""
    asked = exchange.authorize
    return asked_for is None and asked is not None and not request_param(asked, "request_uri")


def _codes(ctx: Context) -> dict[str, int]:
    """code -> the first exchange whose authorization response carried it."""
    first: dict[str, int] = {}
    for exchange in ctx.exchanges:
        code = _code(exchange, ctx)
        if code:
            first.setdefault(code, exchange.index)
    return first


def _suspect_codes(ctx: Context) -> set[int]:
    """Indexes of the exchanges whose code code-weak must look at: one an earlier exchange received (_codes),
    or one whose length alone does not prove it unguessable. The rest (nearly all) cost it one lookup."""
    first = memo(ctx, "code.issued", lambda: _codes(ctx))
    suspects: set[int] = set()
    for exchange in ctx.exchanges:
        code = _code(exchange, ctx)
        # surely_unguessable asks for 16 characters or more: a code it vouches for is not short either
        if code and (first[code] != exchange.index or not surely_unguessable(code, MIN_CODE_BITS)):
            suspects.add(exchange.index)
    return suspects


@rule(
    "code-weak",
    family="C",
    severity="warning",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    spec="RFC 6749 §10.10",
    quote="The probability of an attacker guessing generated tokens (and other credentials not intended for "
          "handling by end-users) MUST be less than or equal to 2^(-128) and SHOULD be less than or equal to "
          "2^(-160).",
    fix="Provider: generate codes from a CSPRNG with at least 128 bits (e.g. 32 random bytes, base64url) and "
        "never hand out the same code twice.",
)
def code_weak(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The code is short, drawn from a small alphabet, or the same as another flow's."""
    suspects = memo(ctx, "code.suspects", lambda: _suspect_codes(ctx))
    if exchange.index not in suspects:
        return ()  # the usual exchange: its long random code, first received here, or no code at all
    known = facts(exchange, ctx)
    code = known.response_param("code")  # _code(exchange, ctx): a suspect has one
    hop = known.response.hop
    first = memo(ctx, "code.issued", lambda: _codes(ctx)).get(code)
    if first is not None and first != exchange.index:
        return [Hit(
            hop=hop,
            message=f"callback.code = {shown(code, secret=True)} is the code exchange {first} received",
            evidence={"param": "code", "code": shown(code, secret=True), "first_exchange": first},
        )]
    bits = estimated_bits(code)
    if len(code) < MIN_CODE_LENGTH or bits < MIN_CODE_BITS:
        return [Hit(
            hop=hop,
            message=f"callback.code = {shown(code, secret=True)} — {len(code)} characters, at most ~{bits:.0f} bits",
            evidence={"param": "code", "code": shown(code, secret=True), "length": len(code),
                      "estimated_bits": round(bits)},
        )]
    return ()
