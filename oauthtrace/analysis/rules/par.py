"""Family N: pushed authorization requests (RFC 9126)."""

from __future__ import annotations

from typing import Iterator

from oauthtrace.analysis.oauth import param, request_params
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.analysis.rules.issuer import provider_metadata
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url

PROFILE_SEVERITIES: dict[str, dict[str, str]] = {}


@trait("request_uri")
def sends_request_uri(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request's URL carries a request_uri (a pushed request, RFC 9126)."""
    return exchange.authorize is not None and bool(param(request_params(exchange.authorize), "request_uri"))


@rule(
    "par-response-invalid",
    family="N",
    severity="error",
    blame="AS",
    needs="B",
    when=("pushed",),
    spec="RFC 9126 §2.2",
    quote="the authorization server MUST … respond with HTTP status code 201 … request_uri REQUIRED … expires_in "
    "REQUIRED: a JSON number",
    fix="Provider: answer a successful pushed request with 201 Created and a JSON body holding request_uri and a "
    "numeric expires_in.",
)
def par_response_invalid(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A pushed authorization request's success response is malformed.

    A refusal in the proper shape (4xx with a JSON `error`, RFC 9126 §2.3) is the provider's answer to a bad
    request, not a malformed response, and is not reported here.
    """
    for hop in exchange.pushed:
        answer = hop.resp_json()
        if not isinstance(answer, dict) or hop.status is None:
            continue
        if "error" in answer and 400 <= hop.status < 500:
            continue
        problems = []
        if hop.status != 201:
            problems.append(f"status {hop.status} (expected 201)")
        if not isinstance(answer.get("request_uri"), str) or not answer.get("request_uri"):
            problems.append("request_uri = ∅")
        expires_in = answer.get("expires_in")
        if expires_in is None:
            problems.append("expires_in = ∅")
        elif isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
            problems.append(f"expires_in = {expires_in!r} (not a JSON number)")
        if problems:
            yield Hit(hop=hop, message=f"PAR {base_url(hop.url)} → " + "; ".join(problems),
                      evidence={"status": hop.status, "problems": problems})


@rule(
    "par-request-uri-reused",
    family="N",
    severity="warning",
    blame="C",
    needs="F",
    when=("request_uri",),
    spec="RFC 9126 §4",
    quote="the client MUST only use a request_uri value once. Authorization servers SHOULD treat request_uri "
    "values as one-time use",
    fix="Client: push a new request for every authorization request. Provider: refuse a request_uri already used.",
)
def par_request_uri_reused(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The same request_uri started two authorization requests."""
    if exchange.authorize is None:
        return
    request_uri = param(request_params(exchange.authorize), "request_uri")
    if not request_uri:
        return
    first = memo(ctx, "par.first-use", lambda: _first_uses(ctx)).get(request_uri)
    if first is None or first.seq == exchange.authorize.seq:
        return
    response = facts(exchange, ctx).response
    accepted = response is not None and param(response.pairs, "code") is not None
    yield Hit(
        hop=exchange.authorize,
        message=f"request_uri = {request_uri} already used by #{first.seq}"
        + (" → the provider accepted it again and issued a code" if accepted else ""),
        evidence={"request_uri": request_uri, "first_use": first.seq, "accepted": accepted},
    )


def _first_uses(ctx: Context) -> dict[str, Hop]:
    """request_uri -> the authorization request that first used it (only requests that start a flow: the
    provider sending the browser back to /authorize after login is the same use)."""
    first: dict[str, Hop] = {}
    for exchange in ctx.exchanges:
        hop = exchange.authorize
        value = param(request_params(hop), "request_uri") if hop is not None else None
        if value and (value not in first or hop.seq < first[value].seq):
            first[value] = hop
    return first


@rule(
    "par-required-bypassed",
    family="N",
    severity="error",
    blame="AS",
    needs="F+M",
    when=("authorize",),
    spec="RFC 9126 §5",
    quote="require_pushed_authorization_requests: Boolean parameter indicating whether the authorization server "
    "accepts authorization request data only via PAR",
    fix="Provider: refuse authorization requests without a request_uri, as your metadata promises; or stop "
    "advertising require_pushed_authorization_requests.",
)
def par_required_bypassed(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The metadata requires PAR, yet a plain authorization request was accepted."""
    if exchange.authorize is None or param(request_params(exchange.authorize), "request_uri"):
        return
    if not memo(ctx, "par.required-somewhere", lambda: any(
            isinstance(doc, dict) and doc.get("require_pushed_authorization_requests") is True
            for doc in ctx.metadata.values())):
        return  # no provider in this trace asks for PAR (ctx.metadata holds every AS document recorded)
    metadata = provider_metadata(exchange, ctx)
    if not metadata or metadata.get("require_pushed_authorization_requests") is not True:
        return
    response = facts(exchange, ctx).response
    if response is not None:
        if param(response.pairs, "error"):
            return  # refused, as it should be
        accepted = param(response.pairs, "code") is not None
    else:
        accepted = (exchange.authorize.status or 500) < 400
    if accepted:
        yield Hit(
            hop=response.hop if response is not None else exchange.authorize,
            message="metadata.require_pushed_authorization_requests = true → authorize without request_uri was "
            + ("answered with a code" if response is not None else f"answered {exchange.authorize.status}"),
            evidence={"require_pushed_authorization_requests": True, "request_uri": None},
        )
