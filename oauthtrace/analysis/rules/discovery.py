"""Family M, discovery: the 401 challenge, protected resource metadata (RFC 9728) and authorization server
metadata (RFC 8414 / OIDC discovery) an MCP client needs before it can log in.

Discovery probes several well-known URLs in turn (RFC 9728 path-suffixed, then root; RFC 8414 path-insert, OIDC
path-insert, OIDC path-append): a 404 at one candidate is normal when another answered. Only the URL a server
advertised, or a discovery that found nothing at all, is a finding.
"""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis.classify import is_mcp_call
from oauthtrace.analysis.mcp import (
    chain, is_as_metadata_fetch, json_document, resource_metadata_url, well_known_resource,
)
from oauthtrace.analysis.oauth import shown
from oauthtrace.analysis.registry import Context, rule
from oauthtrace.analysis.rules.issuer import as_metadata_document, expected_issuers, request_urls
from oauthtrace.analysis.value_difference import TRAILING_SLASH, describe_difference
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url, origin, path

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}

AS_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "response_types_supported")


def prm_status(hop: Hop) -> str:
    """How a metadata fetch failed, in a few words: `404 text/plain`, `200 text/html (not JSON)`."""
    kind = hop.resp_content_type or "no content type"
    if hop.status == 200:
        return f"200 {kind} (not a JSON object)"
    return f"{hop.status if hop.status is not None else 'no answer'} {kind}"


def advertised_prm(exchange: Exchange) -> dict[str, Hop]:
    """PRM URL advertised by a 401's resource_metadata -> the MCP request that got that 401."""
    found: dict[str, Hop] = {}
    for hop in chain(exchange).challenges:
        url = resource_metadata_url(hop)
        if url:
            found.setdefault(base_url(url), hop)
    return found


def _advertiser(hop: Hop, advertised: dict[str, Hop]) -> Hop | None:
    for url in request_urls(hop):
        if url in advertised:
            return advertised[url]
    return None


def valid_prm(hop: Hop) -> dict | None:
    """The PRM document when it is usable: 200 JSON with a resource and at least one authorization server."""
    document = json_document(hop)
    if document is None or not isinstance(document.get("resource"), str):
        return None
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) for s in servers):
        return None
    return document


def expected_resources(hop: Hop, exchange: Exchange) -> tuple[set[str], str]:
    """The resource identifiers the PRM at `hop` must name (RFC 9728 §3.3), and how they were found."""
    advertiser = _advertiser(hop, advertised_prm(exchange))
    if advertiser is not None:
        return request_urls(advertiser), "the URL of the request whose 401 advertised it"
    expected = {resource for url in request_urls(hop) if (resource := well_known_resource(url))}
    return expected, "the resource its well-known URL was built from"


@rule(
    "mcp-401-no-resource-metadata",
    family="M",
    severity="error",
    blame="RS",
    needs="M",
    when=("resources",),
    cause="The MCP server's 401 named no `resource_metadata`, and no resource metadata was found",
    spec="RFC 9728 §5.1; MCP authorization (Protected Resource Metadata Discovery)",
    quote="MCP servers MUST implement one of the following discovery mechanisms: WWW-Authenticate header with "
    "resource_metadata, or the well-known URI",
    fix="Resource server: answer unauthenticated MCP requests with 401 and `WWW-Authenticate: Bearer "
    'resource_metadata="https://<host>/.well-known/oauth-protected-resource/<path>"`, and serve that document '
    "(check that no proxy or CDN strips the header).",
)
def mcp_401_no_resource_metadata(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An MCP request's 401 names no resource_metadata and no protected resource metadata was found."""
    mcp = chain(exchange)
    challenges = [hop for hop in mcp.challenges if is_mcp_call(hop)]
    if not challenges or any(resource_metadata_url(hop) for hop in challenges):
        return
    if any(valid_prm(hop) for hop in mcp.resource_metadata):
        return
    hop = challenges[0]
    header = hop.resp_header("www-authenticate")
    tried = [f"{path(h.url)} → {prm_status(h)}" for h in mcp.resource_metadata]
    well_known = "; ".join(tried) if tried else "not fetched"
    yield Hit(
        hop=hop,
        message=f"{hop.method} {path(hop.url)} → 401 WWW-Authenticate = {shown(header)} (no resource_metadata); "
        f"well-known PRM: {well_known}",
        evidence={"www_authenticate": header, "prm_fetches": [base_url(h.url) for h in mcp.resource_metadata]},
    )


@rule(
    "prm-invalid",
    family="M",
    severity="error",
    blame="RS",
    needs="M",
    when=("metadata",),
    spec="RFC 9728 §2, §3.2; MCP authorization (Authorization Server Location)",
    quote="Protected resource metadata MUST include the authorization_servers field; the response is a JSON "
    "object with a 200 status",
    fix="Resource server: serve the protected resource metadata as `application/json` with status 200, with "
    "`resource` (this server's URL) and a non-empty `authorization_servers` list.",
)
def prm_invalid(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Protected resource metadata is not 200 JSON, or lacks resource or authorization_servers."""
    mcp = chain(exchange)
    advertised = advertised_prm(exchange)
    found_one = any(valid_prm(hop) for hop in mcp.resource_metadata)
    for hop in mcp.resource_metadata:
        document = json_document(hop)
        if document is None:
            # a probe of a candidate URL may fail; the advertised URL, or a 200 that is not JSON, may not
            named = _advertiser(hop, advertised) is not None
            lone = not found_one and not mcp.challenges
            if named or hop.status == 200 or lone:
                where = "the URL the 401 advertised" if named else "the well-known URL"
                yield Hit(hop=hop, message=f"PRM at {where} {base_url(hop.url)} → {prm_status(hop)}",
                          evidence={"url": base_url(hop.url), "status": hop.status,
                                    "content_type": hop.resp_content_type, "advertised": named})
            continue
        problems = _prm_problems(document)
        if problems:
            yield Hit(hop=hop, message=f"PRM {base_url(hop.url)}: {'; '.join(problems)}",
                      evidence={"url": base_url(hop.url), "problems": problems,
                                "keys": sorted(str(k) for k in document)})


def _prm_problems(document: dict) -> list[str]:
    problems = []
    if not isinstance(document.get("resource"), str) or not document.get("resource"):
        problems.append("resource = ∅")
    servers = document.get("authorization_servers")
    if servers is None:
        problems.append("authorization_servers = ∅")
    elif not isinstance(servers, list) or not servers:
        problems.append(f"authorization_servers = {shown(servers)} (must be a non-empty list)")
    elif not all(isinstance(s, str) and s.startswith(("https://", "http://")) for s in servers):
        problems.append(f"authorization_servers = {shown(servers)} (must be issuer URLs)")
    return problems


@rule(
    "prm-resource-mismatch",
    family="M",
    severity="error",
    blame="RS",
    needs="M",
    when=("metadata",),
    cause="The MCP server's resource metadata names another resource than its own URL",
    spec="RFC 9728 §3.3, §5.1",
    quote="the resource value returned MUST be identical to the protected resource's resource identifier value "
    "into which the well-known URI path suffix was inserted … If these values are not identical, the data "
    "contained in the response MUST NOT be used",
    fix="Resource server: set `resource` in the metadata to this server's exact URL as clients call it "
    "(scheme, host, port and path, e.g. https://mcp.example.com/mcp), the same one behind any proxy.",
)
def prm_resource_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The PRM's resource is not the URL it describes."""
    for hop in chain(exchange).resource_metadata:
        document = json_document(hop)
        resource = document.get("resource") if document else None
        if not isinstance(resource, str) or not resource:
            continue
        expected, how = expected_resources(hop, exchange)
        if not expected or resource in expected:
            continue
        closest = min(sorted(expected), key=lambda value: describe_difference(value, resource) != TRAILING_SLASH)
        difference = describe_difference(closest, resource)
        yield Hit(
            hop=hop,
            message=f"PRM resource = {resource} ≠ {closest} ({how}; {difference})",
            evidence={"resource": resource, "expected": closest, "difference": difference, "basis": how},
            severity="warning" if difference == TRAILING_SLASH else None,
        )


@rule(
    "prm-issuer-mismatch",
    family="M",
    severity="error",
    blame="RS",
    needs="M",
    when=("metadata",),
    spec="RFC 9728 §2; RFC 8414 §3.3; MCP authorization 2026-07-28 (Authorization Server Discovery)",
    quote="authorization_servers: JSON array containing a list of OAuth authorization server issuer identifiers; "
    "the issuer value returned MUST be identical to the authorization server's issuer identifier value into "
    "which the well-known URI string was inserted … If these values are not identical, the data contained in "
    "the response MUST NOT be used",
    fix="Resource server: list each authorization server in `authorization_servers` exactly as its metadata "
    "spells `issuer` (scheme, host, port, path and trailing slash alike), or have the provider publish the "
    "issuer the resource server names.",
)
def prm_issuer_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The protected resource names its authorization server by an issuer that server's metadata does not use.

    A client builds the metadata URL from the authorization_servers entry and must then find that same issuer
    in the document; an entry that differs only by a trailing slash still fetches the document (the slash is
    removed before the well-known segment goes in), and a strict client then refuses it.
    """
    mcp = chain(exchange)
    if not mcp.resource_metadata or not mcp.as_metadata:
        return
    documents = [(hop, doc["issuer"]) for hop in mcp.as_metadata
                 if (doc := as_metadata_document(hop)) and isinstance(doc.get("issuer"), str)]
    for prm_hop in mcp.resource_metadata:
        prm = valid_prm(prm_hop)
        for entry in prm["authorization_servers"] if prm else ():
            for hop, issuer in documents:
                if issuer != entry and entry in _issuers_behind(hop):
                    difference = describe_difference(entry, issuer)
                    yield Hit(
                        hop=prm_hop,
                        message=f"PRM authorization_servers entry = {entry} ≠ metadata.issuer = {issuer} "
                        f"({difference}); the metadata was fetched from {base_url(hop.upstream_url or hop.url)}",
                        evidence={"authorization_server": entry, "issuer": issuer, "difference": difference,
                                  "metadata_url": base_url(hop.upstream_url or hop.url)},
                    )


def _issuers_behind(hop: Hop) -> set[str]:
    """The issuer identifiers from which a client builds this metadata hop's URL (with and without a
    terminating slash), as the client called it and as the provider serves it."""
    return {issuer for url in (hop.url, hop.upstream_url) if url for issuer in expected_issuers(url)}


@rule(
    "as-metadata-invalid",
    family="M",
    severity="error",
    blame="AS",
    needs="M",
    when=("metadata",),
    spec="RFC 8414 §2, §3.2; RFC 9700 §2.6; MCP authorization (Authorization Server Metadata Discovery)",
    quote="The response is a set of claims … issuer REQUIRED, authorization_endpoint REQUIRED, token_endpoint "
    "REQUIRED, response_types_supported REQUIRED; clients use the endpoints the metadata names",
    fix="Provider: serve RFC 8414 metadata (or OIDC discovery) as a JSON object with issuer, "
    "authorization_endpoint, token_endpoint and response_types_supported. Client: use the endpoints the "
    "metadata names instead of guessing /authorize and /token.",
)
def as_metadata_invalid(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """Authorization server metadata is missing, not JSON, or incomplete; or the client ignored it."""
    fetches = [hop for hop in exchange.metadata if is_as_metadata_fetch(hop)]
    found = {origin(hop.url) for hop in fetches if json_document(hop) is not None}
    for hop in fetches:
        document = json_document(hop)
        if document is None:
            if origin(hop.url) not in found and (hop.status == 200 or hop is _last_probe(fetches, hop)):
                yield Hit(hop=hop, message=f"AS metadata {base_url(hop.url)} → {prm_status(hop)}; no other "
                          "metadata URL of this server answered",
                          evidence={"url": base_url(hop.url), "status": hop.status,
                                    "content_type": hop.resp_content_type})
            continue
        if "resource" in document and "authorization_servers" in document:
            continue  # protected resource metadata served at an AS well-known path: not this rule's business
        missing = [name for name in AS_REQUIRED if not document.get(name)]
        if missing:
            yield Hit(hop=hop, message=f"AS metadata {base_url(hop.url)}: {', '.join(missing)} = ∅",
                      evidence={"url": base_url(hop.url), "missing": missing})
            continue
        yield from _guessed_endpoints(exchange, document, hop)


def _last_probe(fetches: list[Hop], hop: Hop) -> Hop:
    """The last failed probe of the same server: the one reported when none answered."""
    same = [h for h in fetches if origin(h.url) == origin(hop.url)]
    return same[-1]


def _guessed_endpoints(exchange: Exchange, document: dict, metadata: Hop) -> Iterator[Hit]:
    """The client called this server's authorize or token URL at another path than the metadata names."""
    calls = [("authorization_endpoint", exchange.authorize)] + [("token_endpoint", hop) for hop in exchange.tokens]
    for name, hop in calls:
        advertised = document.get(name)
        if hop is None or not isinstance(advertised, str):
            continue
        used = request_urls(hop)
        if base_url(advertised) in used:
            continue
        same_server = {origin(url) for url in used} & {origin(advertised), origin(metadata.url)}
        if same_server:
            yield Hit(hop=hop, blame="C",
                      message=f"metadata.{name} = {advertised} → client called {base_url(hop.url)}",
                      evidence={"endpoint": name, "advertised": advertised, "used": base_url(hop.url)})

