"""Family M, resource indicators (RFC 8707): the MCP server a token is for, named in the authorization and token
requests, and the same everywhere (authorize, token, protected resource metadata)."""

from __future__ import annotations

from operator import attrgetter
from typing import Iterator
from urllib.parse import urlsplit

from oauthtrace.analysis.mcp import chain, mcp_applies
from oauthtrace.analysis.oauth import body_params, param
from oauthtrace.analysis.providers import named, provider_of
from oauthtrace.analysis.registry import Context, rule, trait
from oauthtrace.analysis.rules._shared import AuthzResponse, facts
from oauthtrace.analysis.rules.discovery import expected_resources, valid_prm
from oauthtrace.analysis.value_difference import TRAILING_SLASH, describe_difference
from oauthtrace.model import Exchange, Hit, Hop, Pairs, every

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {
    "mcp": {"resource-missing": "error"},
}


def resources_in(pairs: Pairs) -> list[str]:
    """The resource values sent (RFC 8707 allows several); empty values count as omitted (RFC 6749 §3.1)."""
    return [value for value in every(pairs, "resource") if value]


def prm_resource(exchange: Exchange) -> str | None:
    """The resource named by this exchange's protected resource metadata, when that metadata is usable and
    names the server it describes (a mismatched one is prm-resource-mismatch's finding, not the client's)."""
    for hop in chain(exchange).resource_metadata:
        document = valid_prm(hop)
        if document is None:
            continue
        expected, _ = expected_resources(hop, exchange)
        if document["resource"] in expected:
            return document["resource"]
    return None


def _token_requests(exchange: Exchange) -> list[Hop]:
    return sorted(exchange.tokens + exchange.refreshes, key=attrgetter("seq"))


@trait("mcp")
def is_mcp_flow(exchange: Exchange, ctx: Context) -> bool:
    """MCP authorization applies to the exchange (mcp_applies, under the exchange's profile)."""
    return mcp_applies(exchange, ctx.profile)


@rule(
    "resource-missing",
    family="M",
    severity="info",
    blame="C",
    needs="F/B",
    when=("mcp",),
    cause="The client left `resource` out of its authorization or token request",
    spec="RFC 8707 §2; MCP authorization (Resource Parameter Implementation); OpenAI Apps SDK authentication",
    quote="MCP clients MUST implement Resource Indicators … The resource parameter MUST be included in both "
    "authorization requests and token requests … regardless of whether authorization servers support it",
    fix="Client: send resource=<the MCP server's canonical URL> in the authorization request and in every token "
    "request. Provider: accept it and bind the token's audience to it.",
)
def resource_missing(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An MCP flow's authorization or token request lacks the resource parameter."""
    if not mcp_applies(exchange, ctx.profile):
        return
    sent = facts(exchange, ctx).sent
    if sent is not None and not resources_in(sent):
        yield Hit(hop=exchange.authorize, message="authorize.resource = ∅" + _hint(exchange),
                  evidence={"request": "authorize", "resource": None, "expected": prm_resource(exchange)})
    for hop in _token_requests(exchange):
        if not resources_in(body_params(hop)):
            grant = param(body_params(hop), "grant_type") or "token"
            yield Hit(hop=hop, message=f"token ({grant}).resource = ∅" + _hint(exchange),
                      evidence={"request": grant, "resource": None, "expected": prm_resource(exchange)})


def _hint(exchange: Exchange) -> str:
    expected = prm_resource(exchange)
    return f" (protected resource metadata names {expected})" if expected else ""


@trait("resource_sent")
def sends_resource(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request (with its pushed request or request object) or a token request names a resource
    (resources_in finds one): false of most exchanges."""
    sent = facts(exchange, ctx).sent
    if sent is not None and resources_in(sent):
        return True
    return any(resources_in(body_params(hop)) for hop in exchange.tokens + exchange.refreshes)


@rule(
    "resource-mismatch",
    family="M",
    severity="error",
    blame="C",
    needs="F/B/M",
    # A resource sent is what the comparisons read; invalid_target is an error response (the "error" trait: the
    # authorization response's error, or a token answer's error member).
    when=("resource_sent", "error"),
    spec="RFC 8707 §2, §2.2; MCP authorization (Canonical Server URI)",
    quote="The value of the resource parameter MUST be an absolute URI … MUST NOT include a fragment component; "
    "invalid_target: the requested resource is invalid, missing, unknown, or malformed",
    fix="Client: send the MCP server's canonical URL as resource — the `resource` of its protected resource "
    "metadata — identically in authorize and token requests. Provider: accept that resource (no invalid_target).",
)
def resource_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """resource differs between authorize, token and the resource metadata; is malformed; or was refused."""
    known = facts(exchange, ctx)
    sent = known.sent
    asked = resources_in(sent) if sent is not None else []
    token_requests = _token_requests(exchange)
    requests = [(hop, got) for hop in token_requests if (got := resources_in(body_params(hop)))]
    if asked or requests:  # most exchanges name no resource anywhere: nothing to compare
        yield from _resource_differences(exchange, asked, requests)
    yield from _invalid_target(known.response, token_requests)
    if asked or requests:
        yield from _refused_by_entra_v2(exchange, known.response, token_requests)


def _resource_differences(exchange: Exchange, asked: list[str], requests: list[tuple[Hop, list[str]]]) -> Iterator[Hit]:
    """Malformed resources in the authorization request, and resources that differ between it, the token
    requests (with the resources each sent) and the protected resource metadata."""
    for value in asked:
        problem = _malformed(value)
        if problem:
            yield _malformed_hit(exchange, Hit(hop=exchange.authorize, message=f"authorize.resource = {value} ({problem})",
                                               evidence={"request": "authorize", "resource": value, "problem": problem}))
    expected = prm_resource(exchange)
    if expected and asked and expected not in asked:
        yield _differs(exchange.authorize, "authorize.resource", asked[0], expected, "PRM resource")
    for hop, got in requests:
        if asked and set(got) != set(asked):
            yield _differs(hop, "token.resource", got[0], asked[0], "authorize.resource")
        elif not asked and expected and expected not in got:
            yield _differs(hop, "token.resource", got[0], expected, "PRM resource")


def _malformed_hit(exchange: Exchange, hit: Hit) -> Hit:
    """A malformed resource as an error, or, sent to Entra ID's v1.0 endpoint, as the information that it is
    Entra's own kind of `resource` (application ID URI or application ID, documented: not RFC 8707's absolute
    URI), which works there and has to become a `.default` scope on the v2.0 endpoint."""
    provider = provider_of(exchange)
    if provider is None or provider.key != "entra-v1":
        return hit
    return named(hit, provider, "resource-v1", severity="info")


def _malformed(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:
        return "not a URI"
    if not parts.scheme or not parts.netloc:
        return "not an absolute URI"
    if "#" in value:
        return "has a fragment"
    return None


def _differs(hop: Hop, what: str, got: str, expected: str, basis: str) -> Hit:
    difference = describe_difference(expected, got)
    return Hit(hop=hop, message=f"{what} = {got} ≠ {basis} = {expected} ({difference})",
               evidence={"resource": got, "expected": expected, "basis": basis, "difference": difference},
               severity="warning" if difference == TRAILING_SLASH else None)


# Entra's v2.0 endpoint answers a `resource` parameter with invalid_request and this code in error_description
ENTRA_RESOURCE_REFUSED = "AADSTS901002"


def _refused_by_entra_v2(exchange: Exchange, response: AuthzResponse | None, token_requests: list[Hop]) -> Iterator[Hit]:
    """Entra ID's v2.0 endpoint refused the RFC 8707 resource (documented: it names the API in `scope`)."""
    refusals = []
    if response is not None and ENTRA_RESOURCE_REFUSED in (param(response.pairs, "error_description") or ""):
        refusals.append((response.hop, "authorization response"))
    for hop in token_requests:
        answer = hop.resp_json()
        if isinstance(answer, dict) and ENTRA_RESOURCE_REFUSED in str(answer.get("error_description") or ""):
            refusals.append((hop, "token response"))
    if not refusals:
        return
    provider = provider_of(exchange)
    if provider is None or provider.key != "entra-v2":
        return
    for hop, where in refusals:
        yield named(Hit(hop=hop, blame="C", message=f"{where}: {ENTRA_RESOURCE_REFUSED} (the resource parameter is "
                        "not supported)", evidence={"error": ENTRA_RESOURCE_REFUSED, "where": where}),
                    provider, "resource-v2")


def _invalid_target(response: AuthzResponse | None, token_requests: list[Hop]) -> Iterator[Hit]:
    """The provider refused the resource: invalid_target in the authorization (`response`) or a token response."""
    if response is not None and param(response.pairs, "error") == "invalid_target":
        yield Hit(hop=response.hop, blame="AS", message="authorization response error = invalid_target",
                  evidence={"error": "invalid_target", "where": "authorization response"})
    for hop in token_requests:
        answer = hop.resp_json()
        if isinstance(answer, dict) and answer.get("error") == "invalid_target":
            yield Hit(hop=hop, blame="AS", message=f"token → {hop.status} error = invalid_target for resource = "
                      f"{', '.join(resources_in(body_params(hop))) or '∅'}",
                      evidence={"error": "invalid_target", "where": "token response"})
