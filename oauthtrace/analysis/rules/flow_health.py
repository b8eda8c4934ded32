"""Family O: flow health and regression — where a third-party client stopped, and what changed since a golden
recording. Read from the timeline, so a window that the recording did not cover is never judged: a rule that
needs N seconds after an event says nothing when the recording ended sooner (and the engine reports it not
evaluated when the side it needs was not recorded at all)."""

from __future__ import annotations

from operator import attrgetter
from typing import Iterator

from oauthtrace.analysis.mcp import bearer_token, challenge_params, issued_access_tokens, mcp_applies
from oauthtrace.analysis.oauth import callback_params, param
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import path

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

# Streamable HTTP lets a server refuse the GET event stream and the session DELETE with 405: not a refused token.
OPTIONAL_METHODS = ("GET", "DELETE")


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
    spec="RFC 6750 §2.1; MCP authorization (Access Token Usage) (timeline)",
    quote="the client uses the access token to access the protected resource; post-token 401/403 point at "
    "audience, issuer or scope validation, 405 at a wrong path or method",
    fix="Resource server: accept tokens from your authorization server (issuer, audience = this server, scope) "
    "and check no WAF or CDN blocks the call. Client: call the resource server with the token it received.",
)
def token_not_used(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A token was issued, but no authenticated call followed, or the resource server refused it."""
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
                      message=f"token issued at #{token_hop.seq} → {hop.method} {path(hop.url)} answered "
                      f"{hop.status}" + (f" ({challenge})" if challenge else "") + "; no call with it succeeded",
                      evidence={"token_hop": token_hop.seq, "status": hop.status, "www_authenticate": challenge,
                                "calls": len(uses)})
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
    from oauthtrace.analysis import drift

    changes = memo(ctx, "flow_health.drift", lambda: drift.compare(ctx.baseline, drift.Side(ctx)))
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
