"""Family B: redirect_uri — the same at both endpoints, honoured exactly, safe, and no open redirect."""

from __future__ import annotations

import re
from typing import Iterable

from oauthtrace.analysis.authorization import redirect_target
from oauthtrace.analysis.oauth import body_param, shown, token_fields
from oauthtrace.analysis.profiles import known_client
from oauthtrace.analysis.registry import Context, rule
from oauthtrace.analysis.rules._shared import facts, hops_with_role
# errors registers the "error" trait that redirect-on-invalid-client's when= names, before this module's rules
from oauthtrace.analysis.rules import errors  # noqa: F401
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url, is_loopback, origin, query_pairs

PROFILE_SEVERITIES = {
    "oauth21": {"redirect-uri-omitted-at-token": "info"},  # OAuth 2.1 clients do not send it (O21 §10.2)
    "mcp": {"redirect-uri-insecure": "error"},
}

_MENTIONS_REDIRECT = re.compile(r"redirect[\s_-]?ur[il]", re.IGNORECASE)
# the client itself is unknown or invalid (not merely unauthorized for this request, which may be redirected)
_INVALID_CLIENT = re.compile(
    r"client[\s_-]?id\b.{0,40}\b(missing|unknown|invalid|not found|not registered|required)|"
    r"(unknown|invalid|unregistered) client", re.IGNORECASE)
# errors about the user or the session, which the provider rightly redirects whatever their description says
_USER_ERRORS = {"access_denied", "login_required", "consent_required", "interaction_required",
                "account_selection_required", "temporarily_unavailable", "server_error"}
_REJECTED = re.compile(
    r"invalid|not allowed|not registered|not permitted|mismatch|does not match|doesn't match|unknown|not valid|"
    r"unauthori[sz]ed|not whitelisted|not in the allow", re.IGNORECASE)
_BODY_SCAN = 100_000  # enough of an error page to find its sentence
_PROVIDER_PAGES = ("authorize", "login", "consent")  # where the user submits credentials or consent


def _requested(exchange: Exchange, ctx: Context) -> str | None:
    return facts(exchange, ctx).sent_param("redirect_uri")


def _registered(exchange: Exchange) -> list[str]:
    """Redirect URIs registered through dynamic registration (RFC 7591) in this exchange: the answer's, else
    the request's."""
    found: list[str] = []
    for hop in exchange.registrations:
        for document in (hop.resp_json(), hop.req_json()):
            uris = document.get("redirect_uris") if isinstance(document, dict) else None
            if isinstance(uris, list) and (hop.status or 0) < 400:
                found += [u for u in uris if isinstance(u, str)]
                break
    return found


@rule(
    "redirect-uri-mismatch",
    family="B",
    severity="error",
    blame="C",
    needs="F+B",
    when=("tokens",),
    cause="The client sent another `redirect_uri` to the token endpoint than to `/authorize`",
    spec="RFC 6749 §4.1.3",
    quote="redirect_uri: REQUIRED, if the \"redirect_uri\" parameter was included in the authorization request "
          "as described in Section 4.1.1, and their values MUST be identical.",
    fix="Client: send the token request's redirect_uri as the exact string sent to /authorize (same scheme, "
        "host case, port, path, trailing slash and encoding). Provider: compare the two as plain strings.",
)
def redirect_uri_mismatch(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The token request's redirect_uri differs from the authorization request's."""
    hits: list[Hit] = []
    sent = _requested(exchange, ctx)
    if not sent:
        return hits
    for hop in exchange.tokens:
        used = body_param(hop, "redirect_uri")
        if not used:
            continue
        if used != sent:
            how = describe_difference(sent, used)
            hits.append(Hit(
                hop=hop,
                message=f"authorize.redirect_uri = {shown(sent)} → token.redirect_uri = {shown(used)} ({how})",
                evidence={"param": "redirect_uri", "sent": sent, "returned": used, "difference": how},
            ))
        elif _rejected_redirect(hop):
            hits.append(Hit(
                hop=hop,
                message=f"authorize.redirect_uri = token.redirect_uri = {shown(sent)}, yet the provider answered "
                        f"{_error_text(hop)}",
                evidence={"param": "redirect_uri", "sent": sent, "returned": used, "difference": "identical"},
                blame="AS",
            ))
    return hits


def _rejected_redirect(hop: Hop) -> bool:
    fields = token_fields(hop) or {}
    if fields.get("error") != "invalid_grant":
        return False  # most answers: tokens, or another error
    text = f"{fields.get('error', '')} {fields.get('error_description', '')}"
    return bool(_MENTIONS_REDIRECT.search(text))


def _error_text(hop: Hop) -> str:
    fields = token_fields(hop) or {}
    return f"{hop.status} error={fields.get('error')} {shown(fields.get('error_description') or '', limit=80)}"


@rule(
    "redirect-uri-omitted-at-token",
    family="B",
    severity="error",
    blame="C",
    needs="F+B",
    when=("tokens",),
    spec="RFC 6749 §4.1.3; OAuth 2.1 §10.2",
    quote="redirect_uri: REQUIRED, if the \"redirect_uri\" parameter was included in the authorization request",
    fix="Client: repeat the authorization request's redirect_uri in the token request (an OAuth 2.0 provider "
        "rejects the exchange with invalid_grant without it).",
)
def redirect_uri_omitted_at_token(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The authorization request had a redirect_uri, the token request has none."""
    hits: list[Hit] = []
    sent = _requested(exchange, ctx)
    if not sent:
        return hits
    for hop in exchange.tokens:
        if not body_param(hop, "redirect_uri"):
            hits.append(Hit(
                hop=hop,
                message=f"authorize.redirect_uri = {shown(sent)} → token.redirect_uri = ∅",
                evidence={"param": "redirect_uri", "sent": sent, "returned": None},
            ))
    return hits


@rule(
    "callback-target-mismatch",
    family="B",
    severity="error",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    cause="The provider redirected somewhere else than the requested `redirect_uri`",
    spec="RFC 6749 §3.1.2.3; RFC 9700 §2.1",
    quote="the authorization server MUST compare the two URIs using simple string comparison (§3.1.2.3); "
          "exact string matching MUST be used (RFC 9700 §2.1)",
    fix="Provider: redirect to the redirect_uri exactly as requested (after checking it against the registered "
        "ones); never rewrite its scheme, host, port or path, or substitute a default.",
)
def callback_target_mismatch(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The provider sent the authorization response somewhere else than the requested redirect_uri."""
    response = facts(exchange, ctx).response
    if response is None or response.mode == "callback" or not response.target:
        return ()
    target = base_url(response.target)
    requested = _requested(exchange, ctx)
    if requested:
        if target == base_url(requested):
            return ()
        how = describe_difference(base_url(requested), target)
        return [Hit(
            hop=response.hop,
            message=f"authorize.redirect_uri = {shown(base_url(requested))} → redirect target = {shown(target)} "
                    f"({how})",
            evidence={"param": "redirect_uri", "sent": requested, "returned": response.target, "difference": how},
        )]
    registered = _registered(exchange)
    if registered and target not in {base_url(uri) for uri in registered}:
        return [Hit(
            hop=response.hop,
            message=f"registered redirect_uris = {shown(', '.join(registered))} → redirect target = {shown(target)}",
            evidence={"param": "redirect_uri", "sent": registered, "returned": response.target,
                      "difference": "not registered"},
        )]
    return ()


@rule(
    "redirect-on-invalid-client",
    family="B",
    severity="error",
    blame="AS",
    needs="F",
    when=("registrations", "error"),  # registered redirect URIs to compare with, or an error response ("error" trait)
    spec="RFC 6749 §3.1.2.4, §4.1.2.1; RFC 9700 §4.11.2",
    quote="If the request fails due to a missing, invalid, or mismatching redirection URI, or if the client "
          "identifier is missing or invalid, the authorization server … MUST NOT automatically redirect the "
          "user-agent to the invalid redirection URI.",
    fix="Provider: when client_id or redirect_uri is invalid, show an error page on your own origin; only "
        "redirect errors once both are verified.",
)
def redirect_on_invalid_client(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The provider redirected an error about the client or its redirect_uri to that redirect_uri."""
    response = facts(exchange, ctx).response
    if response is None:
        return ()
    requested = _requested(exchange, ctx)
    registered = _registered(exchange)
    if requested and registered and requested not in registered:
        return [Hit(
            hop=response.hop,
            message=f"authorize.redirect_uri = {shown(requested)} ∉ registered redirect_uris → provider "
                    f"redirected to it anyway",
            evidence={"param": "redirect_uri", "sent": requested, "registered": registered},
        )]
    known = facts(exchange, ctx)
    error = known.response_param("error")
    if not error:
        return ()
    description = known.response_param("error_description") or ""
    if error in _USER_ERRORS:
        return ()
    about_client = error == "invalid_client" or _INVALID_CLIENT.search(description) is not None
    about_redirect = "redirect" in error or _MENTIONS_REDIRECT.search(description) is not None
    if not (about_client or about_redirect):
        return ()
    what = "redirect_uri" if about_redirect else "client_id"
    return [Hit(
        hop=response.hop,
        message=f"error={error} ({shown(description, limit=60)}) about the {what} → redirected to "
                f"{shown(response.target or '', limit=60)}",
        evidence={"error": error, "error_description": description, "about": what, "target": response.target},
    )]


@rule(
    "redirect-uri-query-dropped",
    family="B",
    severity="error",
    blame="AS",
    needs="F",
    when=("authz_response", "callback"),
    spec="RFC 6749 §3.1.2",
    quote="The endpoint URI MAY include an \"application/x-www-form-urlencoded\" formatted query component, "
          "which MUST be retained when adding additional query parameters.",
    fix="Provider: append code/state to the redirect_uri's existing query (with & ), keeping its parameters.",
)
def redirect_uri_query_dropped(exchange: Exchange, ctx: Context) -> Iterable[Hit]:
    """The redirect_uri's own query parameters are missing from the redirect."""
    requested = _requested(exchange, ctx)
    if not requested or "?" not in requested:
        return ()  # no query of its own to lose: the usual redirect_uri
    response = facts(exchange, ctx).response
    if response is None or not response.target:
        return ()
    wanted = query_pairs(requested)
    if not wanted or base_url(response.target) != base_url(requested):
        return ()
    arrived = query_pairs(response.target)
    missing = [(k, v) for k, v in wanted if (k, v) not in arrived]
    if missing:
        return [Hit(
            hop=response.hop,
            message=f"authorize.redirect_uri query = {shown('&'.join(f'{k}={v}' for k, v in wanted))} → redirect "
                    f"lost {', '.join(k for k, _ in missing)}",
            evidence={"param": "redirect_uri", "sent": requested, "returned": response.target,
                      "missing": [k for k, _ in missing]},
        )]
    return ()


@rule(
    "redirect-uri-insecure",
    family="B",
    severity="error",
    blame="C",
    needs="F/M",
    when=("authorize", "registrations"),
    spec="RFC 6749 §3.1.2, §3.1.2.1; RFC 9700 §2.6; MCP authorization",
    quote="The endpoint URI MUST NOT include a fragment component (§3.1.2); authorization servers MUST NOT allow "
          "redirect URIs that use the \"http\" scheme except for native clients that use loopback (RFC 9700)",
    fix="Client: register and use an https redirect_uri (http only on 127.0.0.1/localhost) without a #fragment. "
        "Provider: refuse such redirect URIs at registration and at /authorize.",
)
def redirect_uri_insecure(exchange: Exchange, ctx: Context) -> list[Hit]:
    """A redirect_uri over plain http (not loopback) or with a fragment."""
    hits: list[Hit] = []
    requested = _requested(exchange, ctx)
    if requested and _insecure(requested):
        response = facts(exchange, ctx).response
        accepted = response is not None and response.mode != "callback"
        hits.append(Hit(
            hop=exchange.authorize,
            message=f"authorize.redirect_uri = {shown(requested)} ({_insecure(requested)})"
                    + (" — and the provider redirected to it" if accepted else ""),
            evidence={"param": "redirect_uri", "sent": requested, "problem": _insecure(requested),
                      "accepted": accepted},
        ))
    for hop in exchange.registrations:
        document = hop.req_json()
        uris = document.get("redirect_uris") if isinstance(document, dict) else None
        answer = hop.resp_json()
        accepted = (hop.status or 0) < 400 and isinstance(answer, dict) and "client_id" in answer
        for uri in uris if isinstance(uris, list) else []:
            if isinstance(uri, str) and _insecure(uri) and accepted:
                hits.append(Hit(
                    hop=hop,
                    message=f"registration.redirect_uris ∋ {shown(uri)} ({_insecure(uri)}) → registered",
                    evidence={"param": "redirect_uris", "sent": uri, "problem": _insecure(uri), "accepted": True},
                    blame="AS",
                ))
    return hits


def _insecure(uri: str) -> str | None:
    if "#" in uri:
        return "fragment"
    if uri.lower().startswith("http://") and not is_loopback(uri):
        return "plain http"
    return None


@rule(
    "redirect-uri-rejected",
    family="B",
    severity="error",
    blame="AS",
    needs="M/F",
    when=("authorize", "registrations"),
    cause="The provider refused the client's callback URL",
    spec="RFC 7591 §3.2.2; RFC 9700 §2.1",
    quote="invalid_redirect_uri: The value of one or more redirection URIs is invalid (RFC 7591 §3.2.2) — here "
          "for a client whose callback is fixed and public",
    fix="Provider: allowlist the client's callback exactly (ChatGPT: https://chat.openai.com/aip/<id>/oauth/callback "
        "and https://chatgpt.com/aip/<id>/oauth/callback, connectors https://chatgpt.com/connector/oauth/<id>; "
        "Claude: https://claude.ai/api/mcp/auth_callback).",
)
def redirect_uri_rejected(exchange: Exchange, ctx: Context) -> list[Hit]:
    """The provider refused a well-known client's callback URL."""
    hits: list[Hit] = []
    for hop in exchange.registrations:
        document = hop.req_json()
        uris = document.get("redirect_uris") if isinstance(document, dict) else None
        known = [(u, known_client(u)) for u in uris or [] if isinstance(u, str) and known_client(u)]
        answer = hop.resp_json()
        error = answer.get("error") if isinstance(answer, dict) else None
        if known and ((hop.status or 0) >= 400 or error) and (
                error == "invalid_redirect_uri" or _MENTIONS_REDIRECT.search(_text(hop))):
            uri, client = known[0]
            hits.append(Hit(
                hop=hop,
                message=f"registration.redirect_uris ∋ {shown(uri)} ({client}) → {hop.status} "
                        f"error={error or '∅'}",
                evidence={"param": "redirect_uris", "sent": uri, "client": client, "status": hop.status,
                          "error": error},
            ))
    if facts(exchange, ctx).response is not None:
        return hits  # the provider answered: it did not refuse the callback
    requested = _requested(exchange, ctx)
    client = known_client(requested)
    if not client:
        return hits
    pages = hops_with_role(exchange, "authorize", "login", "consent")
    for hop in pages:
        # an error page ends the flow: a page followed by a form post was a login page mentioning redirect_uri
        ended_here = not any(p.method == "POST" and p.started > hop.started for p in pages)
        if (hop.status or 0) < 400 and not ended_here:
            continue
        text = _text(hop)
        mention = _MENTIONS_REDIRECT.search(text)
        if mention and _REJECTED.search(text[max(0, mention.start() - 200):mention.end() + 200]):
            hits.append(Hit(
                hop=hop,
                message=f"authorize.redirect_uri = {shown(requested)} ({client}) → {hop.status} page rejecting it",
                evidence={"param": "redirect_uri", "sent": requested, "client": client, "status": hop.status},
            ))
            return hits
    return hits


def _text(hop: Hop) -> str:
    return (hop.resp_body or b"")[:_BODY_SCAN].decode("utf-8", errors="replace")


@rule(
    "redirect-307",
    family="B",
    severity="error",
    blame="AS",
    needs="F",
    spec="RFC 9700 §4.12; OAuth 2.1 §7.5.3",
    quote="The authorization server MUST NOT use HTTP 307 … to redirect after the user has submitted "
          "credentials; it SHOULD use 303 See Other.",
    fix="Provider: answer the login/consent form POST with 303 See Other (or 302), never 307/308, so the "
        "browser does not re-POST the user's credentials to the client.",
)
def redirect_307(exchange: Exchange, ctx: Context) -> list[Hit]:
    """A form POST at the provider answered with 307/308 towards the client, re-posting the credentials."""
    hits: list[Hit] = []
    requested = None  # read once a candidate turns up: most exchanges have none
    for hop in exchange.hops:
        if hop.method != "POST" or hop.status not in (307, 308):
            continue  # the cheap tests before the role
        if exchange.roles.get(hop.seq) not in _PROVIDER_PAGES:
            continue
        target = redirect_target(hop)
        if not target:
            continue
        if requested is None:
            requested = _requested(exchange, ctx)
        to_client = (requested and base_url(target) == base_url(requested)) or origin(target) != origin(hop.url)
        if to_client:
            fields = sorted({name for name, _ in hop.form})
            hits.append(Hit(
                hop=hop,
                message=f"POST {shown(base_url(hop.url))} → {hop.status} to {shown(base_url(target))} "
                        f"(the browser re-posts {', '.join(fields) or 'the form'})",
                evidence={"status": hop.status, "target": target, "form_fields": fields},
            ))
    return hits
