"""Family M, bearer usage (RFC 6750) at the resource (MCP) server: how it challenges, and which tokens it takes.

A token in the request's query string is token-in-url's finding (family E), not repeated here.
"""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis import jwt
from oauthtrace.analysis.classify import is_mcp_call
from oauthtrace.analysis.mcp import bearer_token, chain, challenge_params, issued_access_tokens
from oauthtrace.analysis.providers import is_known_userinfo
from oauthtrace.analysis.registry import Context, rule
from oauthtrace.analysis.rules.discovery import mcp_401_no_resource_metadata
from oauthtrace.analysis.rules.resource import prm_resource
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url, origin, path

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}


@rule(
    "bearer-misuse",
    family="M",
    severity="error",
    blame="RS",
    needs="B",
    when=("resources",),
    spec="RFC 6750 §3, §3.1; RFC 9700 §2.3; MCP authorization (Token Handling, Scope Challenge Handling)",
    quote="If the protected resource request does not include authentication credentials or does not contain an "
    "access token that enables access to the protected resource, the resource server MUST include the HTTP "
    "WWW-Authenticate response header field; insufficient_scope … SHOULD respond with the HTTP 403",
    fix="Resource server: answer 401 with `WWW-Authenticate: Bearer …`, 403 with error=\"insufficient_scope\" "
    "for a token lacking scope, and accept only tokens issued for this server (audience = its URL).",
)
def bearer_misuse(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The resource server challenges wrongly, or accepts a token meant for another resource."""
    # only a 401 can be mcp-401-no-resource-metadata's: most exchanges have none to leave to it
    refused = any(hop.status == 401 for hop in exchange.resources)
    left_to_discovery = _discovery_reports(exchange, ctx) if refused else set()
    for hop in exchange.resources:
        if hop.seq in left_to_discovery:
            continue
        header = hop.resp_header("www-authenticate")
        if hop.status == 401 and not header:
            who = "with a token" if bearer_token(hop) else "without a token"
            yield Hit(hop=hop, message=f"{hop.method} {path(hop.url)} {who} → 401, WWW-Authenticate = ∅",
                      evidence={"status": 401, "www_authenticate": None})
        elif header is None or hop.status == 403 or not _may_name_insufficient_scope(hop):
            continue  # no challenge to read, or the status insufficient_scope asks for, or no such error
        elif (challenge := challenge_params(hop)) and challenge.get("error") == "insufficient_scope":
            yield Hit(hop=hop, severity="warning",
                      message=f"{hop.method} {path(hop.url)} → {hop.status} error=insufficient_scope (expected 403)",
                      evidence={"status": hop.status, "error": "insufficient_scope"})
    yield from _foreign_audience(exchange, ctx)


def _may_name_insufficient_scope(hop: Hop) -> bool:
    """Whether a challenge of the response could carry error=insufficient_scope: some header spells it out, or has
    a backslash escape that could hide it. Most challenges are told without parsing them."""
    return any("insufficient_scope" in value or "\\" in value for _, value in hop.resp_headers)


def _discovery_reports(exchange: Exchange, ctx: Context) -> set[int]:
    """The 401 mcp-401-no-resource-metadata reports (one mistake, one finding)."""
    return {hit.hop.seq for hit in mcp_401_no_resource_metadata(exchange, ctx) if hit.hop is not None}


def _foreign_audience(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A JWT access token whose aud names another resource by its URL, accepted anyway (RFC 9700 §2.3; MCP).

    Only a URL audience can be compared with the server's URL: Entra names an API by its application ID (Graph's
    is 00000003-0000-0000-c000-000000000000) or `api://…`, Keycloak's tokens say `aud: account`, Auth0's may name an
    API identifier; none of them says the token was meant for another server. And the provider's own userinfo
    endpoint is no third-party resource: the token it issued is for it too (OpenID Connect Core §5.3).
    """
    calls = chain(exchange).calls
    if not calls:
        return  # most exchanges: nothing to read the tokens for
    issued = {token for _, token in issued_access_tokens(exchange)}
    for hop in calls:
        token = bearer_token(hop)
        if token not in issued or hop.status is None or not 200 <= hop.status < 300:
            continue
        decoded = jwt.decode(token)
        audience = decoded.claims.get("aud") if decoded else None
        names = [audience] if isinstance(audience, str) else [a for a in audience or [] if isinstance(a, str)]
        urls = [name for name in names if _is_url(name)]
        if not urls or _names_this_server(names, hop, exchange) or _is_userinfo(hop, ctx):
            continue
        yield Hit(hop=hop, message=f"{hop.method} {path(hop.url)} → {hop.status} with a token whose aud = "
                  f"{', '.join(names)} does not name {base_url(hop.url)}",
                  evidence={"aud": names, "server": base_url(hop.url), "mcp": is_mcp_call(hop)})
        return  # one accepted foreign token says it; the following calls repeat it


def _is_url(audience: str) -> bool:
    """An absolute http(s) URL: an audience that can be compared with the server's URL (`api://…` cannot)."""
    scheme, sep, rest = audience.partition("://")
    return bool(sep) and scheme.lower() in ("https", "http") and bool(rest.split("/", 1)[0])


def _is_userinfo(hop: Hop, ctx: Context) -> bool:
    """The provider's own userinfo endpoint: named by a discovery document of the trace, or known for the
    provider (providers table)."""
    url = base_url(hop.url)
    for document in ctx.metadata.values():
        if document.get("userinfo_endpoint") == url:
            return True
    return is_known_userinfo(url) is not None or bool(hop.upstream_url and is_known_userinfo(hop.upstream_url))


def _names_this_server(names: list[str], hop: Hop, exchange: Exchange) -> bool:
    ours = {base_url(hop.url), origin(hop.url)}
    if hop.upstream_url:
        ours |= {base_url(hop.upstream_url), origin(hop.upstream_url)}
    resource = prm_resource(exchange)
    if resource:
        ours.add(resource)
    ours |= {value.rstrip("/") for value in ours}
    return any(name in ours or name.rstrip("/") in ours for name in names)
