"""Family O: flow health and regression — where a third-party client stopped, and what changed since a golden
recording. Read from the timeline, so a window that the recording did not cover is never judged: a rule that
needs N seconds after an event says nothing when the recording ended sooner (and the engine reports it not
evaluated when the side it needs was not recorded at all).

Both MCP transport revisions count as using a token: 2025-11-25's `initialize` and session calls, and 2026-07-28's
stateless calls, where the first authenticated request is usually `server/discover` and a `subscriptions/listen`
response stays open as long as the client listens — still streaming when a recording stops, which is a client
listening, not one that stalled."""

from __future__ import annotations

from operator import attrgetter
from typing import Iterator

from oauthtrace.analysis import drift
from oauthtrace.analysis.mcp import (
    LEGACY, MODERN, bearer_token, call_era, challenge_params, issued_access_tokens, mcp_applies, rpc_method,
)
from oauthtrace.analysis.oauth import callback_params, param
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import path

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

# Streamable HTTP lets a server refuse the GET event stream and the session DELETE with 405: not a refused token
# (and a 2026-07-28-only server SHOULD answer both so: "HTTP GET or DELETE to the MCP endpoint: respond with 405").
OPTIONAL_METHODS = ("GET", "DELETE")
# 2026-07-28's JSON-RPC errors for a request in the wrong revision's shape (schema.ts: HEADER_MISMATCH,
# UNSUPPORTED_PROTOCOL_VERSION), each answered with 400 Bad Request
HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION = -32020, -32022
_REVISION_ERRORS = {HEADER_MISMATCH: "HeaderMismatch", UNSUPPORTED_PROTOCOL_VERSION: "UnsupportedProtocolVersion"}


def recorded_until(ctx: Context) -> float:
    """When the recording's last hop ended (or started, if it never ended)."""
    return memo(ctx, "flow_health.end", lambda: max((h.ended or h.started or 0.0 for h in ctx.hops), default=0.0))


@rule(
    "flow-stalled-after-callback",
    family="O",
    severity="warning",
    blame="C",
    needs="F+B",
    when=("callback",),
    cause="The client received the code at its callback and never asked for a token",
    spec="RFC 6749 §4.1.3 (timeline)",
    quote="the client requests an access token from the token endpoint by including the authorization code "
    "received from the authorization server",
    fix="Client: the provider delivered the code; look at the client's own logs between its callback and its "
    "token request (state lookup, session, redirect_uri configuration). The provider is not at fault.",
)
def flow_stalled_after_callback(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The client got the code at its callback but sent no token request within N seconds."""
    callback = exchange.callback
    if callback is None or callback.status is None or callback.status >= 400 or callback.error:
        return  # not delivered, or the client refused it (state-dropped and friends say why)
    if not param(callback_params(callback), "code"):
        return
    window = ctx.stall_seconds
    requests = sorted(exchange.tokens, key=lambda hop: hop.started)
    if requests and requests[0].started - callback.started <= window:
        return
    if not requests and recorded_until(ctx) < callback.started + window:
        return  # the recording ended before the window did: cannot tell
    later = f"; the first came {requests[0].started - callback.started:.0f} s later" if requests else ""
    yield Hit(
        hop=callback,
        message=f"callback {path(callback.url)} → {callback.status} with code and state; no token request "
        f"within {window:g} s{later}",
        evidence={"window_seconds": window, "token_requests": len(requests),
                  "recorded_after_seconds": round(recorded_until(ctx) - callback.started, 1)},
    )


@rule(
    "token-not-used",
    family="O",
    severity="warning",
    blame="C",
    needs="B",
    when=("tokens",),
    cause="The client got a token, but no call with it succeeded",
    spec="RFC 6750 §2.1; MCP authorization (Access Token Usage); MCP 2026-07-28 basic/versioning "
    "(Compatibility Matrix) (timeline)",
    quote="the client uses the access token to access the protected resource; post-token 401/403 point at "
    "audience, issuer or scope validation, 405 at a wrong path or method; a legacy client at a modern server: "
    "\"the request is missing the required headers and is rejected … with 400 Bad Request\"",
    fix="Resource server: accept tokens from your authorization server (issuer, audience = this server, scope) "
    "and check no WAF or CDN blocks the call. Client: call the resource server with the token it received. "
    "Rejected as the wrong MCP revision (400 HeaderMismatch or UnsupportedProtocolVersion): speak a version the "
    "server lists (server/discover), with the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers matching the body.",
)
def token_not_used(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A token was issued, but no authenticated call followed, or the resource server refused it (the token, or
    the MCP revision the calls were made in). Any successful call counts as a use: a 2026-07-28 client's first is
    usually `server/discover`, and a `subscriptions/listen` stream still open when the recording stopped was
    answered 200 like any other."""
    issued = [(hop, token) for hop, token in issued_access_tokens(exchange) if hop in exchange.tokens]
    if not issued:
        return
    token_hop, token = issued[-1]
    uses = memo(ctx, "flow_health.uses", lambda: _uses(ctx.hops)).get(token, [])
    if uses:
        if any(200 <= (hop.status or 0) < 300 for hop in uses):
            return
        refused = [hop for hop in uses if _refused(hop)]
        if refused:
            hop = refused[0]
            challenge = hop.resp_header("www-authenticate")
            yield Hit(hop=hop, blame="RS",
                      message=f"token issued at #{token_hop.seq} → {_call(hop)} answered "
                      f"{hop.status}" + (f" ({challenge})" if challenge else "") + "; no call with it succeeded",
                      evidence={"token_hop": token_hop.seq, "status": hop.status, "www_authenticate": challenge,
                                "calls": len(uses)})
            return
        rejected = next(((hop, code) for hop in uses if (code := _revision_error(hop)) is not None), None)
        if rejected:
            yield _wrong_revision(token_hop, *rejected, len(uses))
        return
    if not mcp_applies(exchange, ctx.profile):
        return  # a plain OAuth client need not call anything while it is being recorded
    window = ctx.stall_seconds
    issued_at = token_hop.ended or token_hop.started
    if recorded_until(ctx) < issued_at + window:
        return  # the recording ended before the window did: cannot tell
    yield Hit(
        hop=token_hop,
        message=f"token issued → no call to the resource server with it within {window:g} s "
        f"(recording went on {recorded_until(ctx) - issued_at:.0f} s)",
        evidence={"window_seconds": window, "calls": 0},
    )


def _call(hop: Hop, *, with_method: bool = False) -> str:
    """`POST /mcp (server/discover)`: the MCP method said when the request names it in `Mcp-Method` (2026-07-28),
    or when asked (a legacy call's method then comes from its body)."""
    method = rpc_method(hop) if with_method or hop.req_header("mcp-method") else None
    return f"{hop.method} {path(hop.url)}" + (f" ({method})" if method else "")


def _revision_error(hop: Hop) -> int | None:
    """The 2026-07-28 error code of a 400 that refused the request's MCP revision, else None."""
    if hop.status != 400:
        return None
    answer = hop.resp_json()
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if code in _REVISION_ERRORS else None


def _wrong_revision(token_hop: Hop, hop: Hop, code: int, calls: int) -> Hit:
    """The token was fine; the call was in a shape the server does not take. A legacy call answered so is the
    compatibility matrix's "Legacy client, Modern server: Fails" (either side may move); a modern call with headers
    that do not match its body is the client's."""
    era = call_era(hop)
    data = hop.resp_json()["error"].get("data")  # _revision_error read this far
    supported = data.get("supported") if isinstance(data, dict) else None
    offered = f"; the server speaks {', '.join(map(str, supported))}" if isinstance(supported, list) else ""
    if era == MODERN and code == HEADER_MISMATCH:
        blame, why = "C", "its MCP headers do not match its body"
    elif era == MODERN:
        blame, why = "either", "a protocol version the server does not speak"
    else:
        blame, why = "either", "a legacy call (initialize handshake, no Mcp-Method) at a server that takes only " \
            "stateless (2026-07-28) requests"
    return Hit(hop=hop, blame=blame,
               message=f"token issued at #{token_hop.seq} → {_call(hop, with_method=True)} answered 400 "
               f"{_REVISION_ERRORS[code]}: "
               f"{why}{offered}; no call with it succeeded",
               evidence={"token_hop": token_hop.seq, "status": 400, "error_code": code, "era": era,
                         "supported": supported if isinstance(supported, list) else None, "calls": calls})


def _uses(hops: list[Hop]) -> dict[str, list[Hop]]:
    """access token -> the requests that presented it, in order."""
    found: dict[str, list[Hop]] = {}
    for hop in hops:
        token = bearer_token(hop)
        if token:
            found.setdefault(token, []).append(hop)
    for uses in found.values():  # each token's few uses put in order, not the whole trace
        if len(uses) > 1:
            uses.sort(key=_seq)
    return found


_seq = attrgetter("seq")


def _refused(hop: Hop) -> bool:
    if hop.status in (401, 403):
        challenge = challenge_params(hop) or {}
        return challenge.get("error") != "insufficient_scope"  # a scope step-up is MCP's normal course
    return hop.status == 405 and hop.method not in OPTIONAL_METHODS


@rule(
    "baseline-drift",
    family="O",
    severity="info",
    blame="either",
    needs="F/B/M",
    spec="oauthtrace: comparison with a golden recording",
    quote="the same client and provider, recorded before: parameters, client authentication, redirect chain and "
    "metadata should not change unannounced",
    fix="Check whether the change was intended; a client that started sending a parameter (state) or a provider "
    "that started returning one (iss) breaks the other side's strict checks.",
)
def baseline_drift(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Something changed compared with the baseline recording (`check --baseline`); silent without one."""
    if ctx.baseline is None:
        return
    changes = memo(ctx, "flow_health.drift", lambda: drift.changes_since(ctx.baseline, drift.Side(ctx)))
    first = min((ex.index for ex in ctx.exchanges), default=None)
    for change in changes:
        mine = change.exchange == exchange.index or (change.exchange is None and exchange.index == first)
        if mine:
            yield Hit(hop=change.hop, message=change.message, severity=change.severity, evidence=change.as_dict())


@rule(
    "callback-replayed",
    family="O",
    severity="info",
    blame="C",
    needs="F",
    spec="RFC 6749 §4.1.2",
    quote="The client MUST NOT use the authorization code more than once",
    fix="Nothing to fix at the provider: the same callback URL was loaded again (reload, double submit, "
    "prefetch); a later invalid_grant comes from that second load.",
)
def callback_replayed(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The same callback URL (code and state) was hit more than once."""
    replays = memo(ctx, "flow_health.replays", lambda: _replays(ctx))
    if not replays:
        return
    for hop in exchange.hops:
        if hop.seq in replays:
            first = replays[hop.seq]
            yield Hit(hop=hop, message=f"callback {path(hop.url)} with the same code and state as #{first.seq}",
                      evidence={"first": first.seq, "status": hop.status})


def _callback_key(hop: Hop) -> tuple[str, str] | None:
    params = callback_params(hop)
    code = param(params, "code")
    return (code, param(params, "state") or "") if code else None


def _replays(ctx: Context) -> dict[int, Hop]:
    """seq of a callback hop that repeats an earlier one -> that earlier callback (one pass over the trace)."""
    first: dict[tuple[str, str], Hop] = {}
    replays: dict[int, Hop] = {}
    for hop in sorted(ctx.hops_with_role("callback"), key=attrgetter("seq")):
        key = _callback_key(hop)
        if key is None:
            continue
        if key in first:
            replays[hop.seq] = first[key]
        else:
            first[key] = hop
    return replays
