"""Family M, client binding: a client_id is the credential of the authorization server that issued it (MCP
authorization 2026-07-28, Client Registration: Authorization Server Binding; changelog minor change 9, SEP-2352).

A recording sees the binding broken when a client_id that one authorization server's registration endpoint issued
is sent to another authorization server's authorization or token endpoint. Which server an endpoint belongs to is
read from the authorization server metadata recorded in the trace; without it the rule says nothing.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from oauthtrace.analysis.mcp import mcp_applies
from oauthtrace.analysis.oauth import body_params, param, request_params, shown
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}
ENDPOINTS = ("registration_endpoint", "authorization_endpoint", "token_endpoint")


@rule(
    "client-id-other-issuer",
    family="M",
    severity="error",
    blame="C",
    needs="F/B",
    when=("authorize", "tokens"),
    spec="MCP authorization 2026-07-28 (Client Registration: Authorization Server Binding; SEP-2352)",
    quote="When the authorization server changes … clients MUST NOT reuse client credentials from a different "
    "authorization server and MUST re-register with the new authorization server.",
    fix="Client: key stored client credentials by the authorization server's issuer, and register again (or use "
    "a client ID metadata document URL, which is portable) when the protected resource names another server.",
)
def client_id_other_issuer(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A client_id registered at one authorization server was used at another."""
    registered = memo(ctx, "client-binding.registered", lambda: _registered(ctx))
    if not registered or not mcp_applies(exchange, ctx.profile):
        return  # the cheapest answer first: no registration in the trace, nothing to compare with
    endpoints = memo(ctx, "client-binding.endpoints", lambda: _endpoint_issuers(ctx))
    used = []
    if exchange.authorize is not None:
        used.append((exchange.authorize, param(request_params(exchange.authorize), "client_id")))
    used += [(hop, param(body_params(hop), "client_id")) for hop in exchange.tokens]
    for hop, client_id in used:
        origin = registered.get(client_id) if client_id else None
        if origin is None:
            continue
        registration, issued_by = origin
        here = endpoints.get(base_url(hop.url))
        if here is None or here == issued_by or issued_by is None:
            continue
        yield Hit(hop=hop, message=f"client_id = {shown(client_id)} was registered at {issued_by} (hop "
                  f"{registration.seq}) and sent to {here}'s {base_url(hop.url)}",
                  evidence={"client_id": client_id, "registered_at": issued_by, "registration_hop": registration.seq,
                            "used_at": here})
        return  # one finding per exchange: the authorize and token requests repeat the same mistake


def _registered(ctx: Context) -> dict[str, tuple[Hop, str | None]]:
    """client_id -> (the registration that issued it, the issuer whose metadata names that endpoint)."""
    endpoints = None
    found: dict[str, tuple[Hop, str | None]] = {}
    for exchange in ctx.exchanges:
        for hop in exchange.registrations:
            answer = hop.resp_json() if hop.status in (200, 201) else None
            client_id = answer.get("client_id") if isinstance(answer, dict) else None
            if not isinstance(client_id, str) or not client_id or _portable(client_id):
                continue
            if endpoints is None:
                endpoints = memo(ctx, "client-binding.endpoints", lambda: _endpoint_issuers(ctx))
            found.setdefault(client_id, (hop, endpoints.get(base_url(hop.url))))
    return found


def _endpoint_issuers(ctx: Context) -> dict[str, str]:
    """endpoint URL (without query) -> the issuer whose metadata lists it."""
    issuers: dict[str, str] = {}
    for issuer, document in ctx.metadata.items():
        for name in ENDPOINTS:
            url = document.get(name) if isinstance(document, dict) else None
            if isinstance(url, str) and url:
                issuers.setdefault(base_url(url), issuer)
    return issuers


def _portable(client_id: str) -> bool:
    """A client ID metadata document URL: "portable across authorization servers" (MCP 2026-07-28)."""
    return client_id.startswith("https://") and urlsplit(client_id).path not in ("", "/")
