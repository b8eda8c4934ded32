"""Family L, scope challenges and step-up (MCP authorization 2026-07-28: Scope Selection Strategy, Refresh Tokens,
Scope Challenge Handling).

A resource server that needs more scope answers `403` with `WWW-Authenticate: Bearer error="insufficient_scope",
scope="…"`; the client then authorizes again asking for the union of what it asked before and what the challenge
names. Which side each sentence binds, in the revision's words:
- the server: "MCP Servers (Protected Resources) SHOULD NOT include offline_access in WWW-Authenticate scope or
  Protected Resource Metadata scopes_supported";
- the client: "Determine required scopes by computing the union of the client's previously requested scope set and
  the scopes from the current challenge", and "When re-authorizing, clients SHOULD include these scopes alongside
  any previously granted scopes".
Both are SHOULDs: warnings.
https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization
(docs/specification/2026-07-28/basic/authorization/index.mdx in modelcontextprotocol/modelcontextprotocol).
"""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis.mcp import challenge_params, chain, json_document, mcp_applies
from oauthtrace.analysis.oauth import param, request_params, shown
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.model import Exchange, Hit, Hop, every

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}
OFFLINE_ACCESS = "offline_access"


@rule(
    "challenge-offline-access",
    family="L",
    severity="warning",
    blame="RS",
    needs="B/M",
    when=("resources", "metadata"),
    spec="MCP authorization 2026-07-28 (Refresh Tokens)",
    quote="MCP Servers (Protected Resources) SHOULD NOT include offline_access in WWW-Authenticate scope or "
    "Protected Resource Metadata scopes_supported, as refresh tokens are not a resource requirement.",
    fix="Resource server: leave offline_access out of the challenge's scope and of scopes_supported; whether a "
    "client gets a refresh token is between it and the authorization server.",
)
def challenge_offline_access(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The MCP server asks for offline_access in a scope challenge or in its protected resource metadata."""
    if not mcp_applies(exchange, ctx.profile):
        return  # MCP's own advice: RFC 6750 leaves a challenge's scope to the resource server
    for hop in exchange.resources:
        if hop.status not in (401, 403) or b"offline_access" not in _challenge_bytes(hop):
            continue  # the cheap test first: most resource calls carry no challenge at all
        scopes = (challenge_params(hop) or {}).get("scope", "").split()
        if OFFLINE_ACCESS in scopes:
            yield Hit(hop=hop, message=f"{hop.status} WWW-Authenticate scope = {shown(' '.join(scopes))} ∋ "
                      "offline_access", evidence={"where": "WWW-Authenticate", "scope": scopes})
    for hop in chain(exchange).resource_metadata if exchange.metadata else ():
        document = json_document(hop)
        scopes = document.get("scopes_supported") if document else None
        if isinstance(scopes, list) and OFFLINE_ACCESS in scopes:
            yield Hit(hop=hop, message=f"protected resource metadata scopes_supported = {shown(scopes)} ∋ "
                      "offline_access", evidence={"where": "scopes_supported", "scope": scopes})


def _challenge_bytes(hop: Hop) -> bytes:
    return " ".join(every(hop.resp_headers, "www-authenticate", case=False)).encode("utf-8", "replace")


@rule(
    "step-up-scope-lost",
    family="L",
    severity="warning",
    blame="C",
    needs="F+B",
    when=("authorize",),
    spec="MCP authorization 2026-07-28 (Scope Selection Strategy; Scope Challenge Handling: Step-Up Authorization "
    "Flow); RFC 6750 §3.1",
    quote="Determine required scopes by computing the union of the client's previously requested scope set and "
    "the scopes from the current challenge. … When re-authorizing, clients SHOULD include these scopes alongside "
    "any previously granted scopes to avoid losing permissions needed for other operations",
    fix="Client: after a 403 insufficient_scope, authorize again with the scopes you asked for before plus every "
    "scope the challenge names.",
)
def step_up_scope_lost(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A re-authorization after an insufficient_scope challenge asks for less than the union of the scopes."""
    challenges = memo(ctx, "scope-challenge.insufficient", lambda: _insufficient_scope_challenges(ctx))
    if not challenges or exchange.authorize is None or not mcp_applies(exchange, ctx.profile):
        return
    sent = request_params(exchange.authorize)
    client_id = param(sent, "client_id")
    here = exchange.authorize.seq
    before = [entry for entry in challenges if entry[0].seq < here and entry[2] == client_id]
    if not before:
        return
    hop, previous, _client_id, needed = before[-1]  # the challenge this authorization answers
    answered = memo(ctx, "scope-challenge.authorizations", lambda: _authorizations_by_client(ctx))
    if any(hop.seq < seq < here for seq in answered.get(client_id, ())):
        return  # an authorization in between answered that challenge already
    asked = (param(sent, "scope") or "").split()
    missing_needed = [s for s in needed if s not in asked]
    missing_previous = [s for s in previous if s not in asked and s not in needed]
    if not missing_needed and not missing_previous:
        return
    parts = []
    if missing_needed:
        parts.append(f"lacks the challenged {' '.join(missing_needed)}")
    if missing_previous:
        parts.append(f"drops the previously requested {' '.join(missing_previous)}")
    yield Hit(hop=exchange.authorize,
              message=f"authorize.scope = {shown(' '.join(asked))} after hop {hop.seq}'s insufficient_scope "
              f"scope = {shown(' '.join(needed))}: " + "; ".join(parts),
              evidence={"challenge_hop": hop.seq, "challenged": needed, "previously_requested": previous,
                        "requested": asked, "missing_challenged": missing_needed,
                        "missing_previous": missing_previous})


def _authorizations_by_client(ctx: Context) -> dict[str | None, list[int]]:
    """client_id -> the seqs of its authorization requests in the trace."""
    found: dict[str | None, list[int]] = {}
    for exchange in ctx.exchanges:
        if exchange.authorize is not None:
            found.setdefault(param(request_params(exchange.authorize), "client_id"), []).append(
                exchange.authorize.seq)
    return found


def _insufficient_scope_challenges(ctx: Context) -> list[tuple[Hop, list[str], str | None, list[str]]]:
    """(403 hop, scopes its token's authorization asked for, that authorization's client_id, scopes challenged)
    for every insufficient_scope challenge naming scopes, in recording order."""
    found = []
    for exchange in ctx.exchanges:
        if exchange.authorize is None:
            continue
        for hop in exchange.resources:
            if hop.status != 403:
                continue
            params = challenge_params(hop) or {}
            needed = params.get("scope", "").split()
            if params.get("error") != "insufficient_scope" or not needed:
                continue
            sent = request_params(exchange.authorize)
            found.append((hop, (param(sent, "scope") or "").split(), param(sent, "client_id"), needed))
    return sorted(found, key=lambda entry: entry[0].seq)
