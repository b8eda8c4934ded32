"""Family K: OAuth endpoints served without TLS (RFC 6749 §3.1, §3.2, §10.9; RFC 9700 §2.6; MCP).

Loopback (127.0.0.0/8, localhost, ::1) is never insecure: traffic there does not leave the machine.
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from oauthtrace.analysis.oauth import basic_credentials, body_params, param, request_params
from oauthtrace.analysis.registry import Context, memo, rule
from oauthtrace.analysis.rules.issuer import first_owners
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url, is_loopback

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

ENDPOINT_NAMES = {
    "authorize": "authorization endpoint",
    "token": "token endpoint",
    "refresh": "token endpoint",
    "registration": "registration endpoint",
    "metadata": "metadata endpoint",
    "resource": "resource (MCP) endpoint",
}
CREDENTIAL_PARAMS = ("client_secret", "password", "code", "refresh_token", "code_verifier")


def provider_url(hop: Hop) -> str:
    """The endpoint's own URL: behind the reverse proxy, the provider's upstream URL, not the proxy's."""
    return hop.upstream_url if hop.is_reverse and hop.upstream_url else hop.url


def is_insecure(url: str) -> bool:
    if url.startswith("https://"):
        return False  # most URLs: no parse needed
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return scheme == "http" and not is_loopback(url)


def _insecure_owned(ctx: Context) -> dict[int, list[Hop]]:
    """exchange index -> the endpoint hops it is the first to list (the first exchange also takes the trace's
    metadata and registration hops no exchange lists) that were reached over plain http, for the exchanges that
    have any: one pass over the trace, filing only the plain-http hops (most are https)."""
    return first_owners(ctx, _endpoint_list, ("metadata", "registration"), keep=_reached_insecurely)


def _reached_insecurely(hop: Hop) -> bool:
    return is_insecure(provider_url(hop))


def _endpoint_list(exchange: Exchange) -> list[Hop]:
    listed = [exchange.authorize] if exchange.authorize else []
    return listed + exchange.tokens + exchange.refreshes + exchange.registrations + exchange.metadata + \
        exchange.resources


def _role(hop: Hop, exchange: Exchange, ctx: Context) -> str:
    for role, hops in (("authorize", [exchange.authorize]), ("token", exchange.tokens),
                       ("refresh", exchange.refreshes), ("registration", exchange.registrations),
                       ("metadata", exchange.metadata), ("resource", exchange.resources)):
        if any(hop is listed for listed in hops):
            return role
    return ctx.roles.get(hop.seq, "metadata")


def credentials_sent(hop: Hop) -> list[str]:
    """Which secrets the request carried (names only)."""
    sent = []
    if basic_credentials(hop) is not None:
        sent.append("Authorization: Basic")
    elif (hop.req_header("authorization") or "").lower().startswith("bearer "):
        sent.append("Authorization: Bearer")
    pairs = body_params(hop) + request_params(hop)
    sent += [name for name in CREDENTIAL_PARAMS if param(pairs, name)]
    return list(dict.fromkeys(sent))


@rule(
    "insecure-endpoint",
    family="K",
    severity="error",
    blame="AS",
    needs="F/B/M",
    spec="RFC 6749 §3.1, §3.2, §10.9; RFC 9700 §2.6; MCP authorization (Communication Security)",
    quote="the authorization server MUST require the use of TLS when sending requests to the authorization and "
    "token endpoints",
    fix="Provider: serve every OAuth endpoint (authorization, token, registration, metadata, MCP) over https "
    "and redirect http to it. Client: use the https URLs.",
)
def insecure_endpoint(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An authorization, token, registration, metadata or MCP endpoint was reached over plain http."""
    insecure = memo(ctx, "transport.insecure-owned", lambda: _insecure_owned(ctx)).get(exchange.index)
    if insecure is None:
        return  # most exchanges: every endpoint they are first to list is https
    for hop in insecure:
        url = provider_url(hop)
        role = _role(hop, exchange, ctx)  # only for what is reported: most endpoints are https
        secrets = credentials_sent(hop)
        clear = f"; sent in clear: {', '.join(secrets)}" if secrets else ""
        yield Hit(
            hop=hop,
            message=f"{ENDPOINT_NAMES.get(role, role)} = {base_url(url)} (http, not loopback){clear}",
            evidence={"url": base_url(url), "role": role, "credentials": secrets},
            blame="RS" if role == "resource" else None,
        )
