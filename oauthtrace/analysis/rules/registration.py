"""Family M, registration: how an MCP client gets a client_id — a client ID metadata document or dynamic client
registration (RFC 7591, deprecated by MCP 2026-07-28) — and whether the provider let it.

MCP authorization 2026-07-28, Client Registration:
https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization/client-registration
(modelcontextprotocol/modelcontextprotocol: docs/specification/2026-07-28/basic/authorization/client-registration.mdx)
"""

from __future__ import annotations

from typing import Iterator
from urllib.parse import urlsplit

from oauthtrace.analysis.mcp import chain, json_document, mcp_applies, speaks_stateless
from oauthtrace.analysis.oauth import body_params, client_auth_used, param, request_params, shown
from oauthtrace.analysis.profiles import known_client
from oauthtrace.analysis.registry import Context, memo, rule, trait
from oauthtrace.analysis.rules._shared import facts
from oauthtrace.analysis.rules.discovery import prm_status
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.model import Exchange, Hit, Hop
from oauthtrace.params import base_url

# Claude documents "none" as needed for metadata-document clients: a warning where connectors are the clients.
PROFILE_SEVERITIES: dict[str, dict[str, str]] = {"mcp": {"cimd-public-auth-missing": "warning"}}

# Registration fields a client relies on afterwards (RFC 7591 §2); the provider may replace them (§3.2.1).
COMPARED_FIELDS = ("redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method")
CREDENTIALS_REQUIRED = (401, 403)


def _registration_error(hop: Hop) -> str | None:
    answer = hop.resp_json()
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, str) else None


def _as_metadata(exchange: Exchange) -> tuple[Hop, dict] | None:
    for hop in chain(exchange).as_metadata:
        document = json_document(hop)
        if document is not None and "issuer" in document and "authorization_servers" not in document:
            return hop, document
    return None


@trait("url_client_id")
def has_url_client_id(exchange: Exchange, ctx: Context) -> bool:
    """The authorization request's client_id is a URL (a client ID metadata document)."""
    return exchange.authorize is not None and _url_client_id(param(request_params(exchange.authorize), "client_id"))


@rule(
    "registration-unavailable",
    family="M",
    severity="error",
    blame="AS",
    needs="M",
    when=("registrations", "metadata"),
    spec="RFC 8414 §2; RFC 7591 §3; MCP authorization 2026-07-28 (Client Registration)",
    quote="Use Client ID Metadata Documents if the Authorization Server indicates that it supports them (via "
    "client_id_metadata_document_supported in OAuth Authorization Server Metadata); Use Dynamic Client "
    "Registration as a fallback if the Authorization Server supports it (via registration_endpoint in OAuth "
    "Authorization Server Metadata)",
    fix="Provider: advertise `registration_endpoint` and accept open registration (no initial access token) from "
    "connectors, or advertise `client_id_metadata_document_supported: true`.",
)
def registration_unavailable(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An MCP client needing a client_id found no way to register."""
    if not mcp_applies(exchange, ctx.profile):
        return
    for hop in exchange.registrations:
        if hop.status in CREDENTIALS_REQUIRED:
            yield Hit(hop=hop, message=f"POST {base_url(hop.url)} → {hop.status}: registration requires "
                      "credentials the connector does not have",
                      evidence={"url": base_url(hop.url), "status": hop.status, "error": _registration_error(hop)})
    found = _as_metadata(exchange)
    if found is None or exchange.authorize is not None or exchange.registrations or exchange.pushed:
        return  # the client had a client_id (it went on to authorize), or it did try to register
    hop, document = found
    if document.get("registration_endpoint") or document.get("client_id_metadata_document_supported") is True:
        return
    yield Hit(
        hop=hop,
        message="metadata.registration_endpoint = ∅, client_id_metadata_document_supported = ∅ → the client "
        "never reached /authorize",
        evidence={"issuer": document.get("issuer"), "registration_endpoint": None},
    )


@rule(
    "dcr-rejected",
    family="M",
    severity="error",
    blame="AS",
    needs="M",
    when=("registrations",),
    cause="The provider refused the client's dynamic registration",
    spec="RFC 7591 §3.2.1, §3.2.2",
    quote="the authorization server … returns an HTTP 201 Created status code … containing client_id; errors: "
    "invalid_redirect_uri, invalid_client_metadata",
    fix="Provider: accept the connector's registration (its redirect URI exactly as sent, grant types "
    "authorization_code and refresh_token, token_endpoint_auth_method none) and answer 201 with a client_id.",
)
def dcr_rejected(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A dynamic client registration was refused, or answered without a client_id."""
    for hop in exchange.registrations:
        if hop.status in CREDENTIALS_REQUIRED or hop.status is None:
            continue  # registration-unavailable's case; no answer at all is the transport's
        answer = hop.resp_json()
        error = _registration_error(hop)
        request = hop.req_json() if isinstance(hop.req_json(), dict) else {}
        if hop.status >= 400 or error:
            if _left_to_redirect_rule(request, error, hop):
                continue
            description = answer.get("error_description") if isinstance(answer, dict) else None
            yield Hit(hop=hop, message=f"registration → {hop.status} error={error or '∅'}"
                      + (f" ({shown(description)})" if description else "")
                      + _redirect_note(request, error),
                      evidence={"status": hop.status, "error": error, "error_description": description,
                                "redirect_uris": request.get("redirect_uris")})
        elif not isinstance(answer, dict) or not answer.get("client_id"):
            yield Hit(hop=hop, message=f"registration → {hop.status} without client_id ({prm_status(hop)})",
                      evidence={"status": hop.status, "client_id": None})
        elif hop.status != 201:
            yield Hit(hop=hop, severity="warning",
                      message=f"registration → {hop.status} (RFC 7591 says 201 Created) with client_id",
                      evidence={"status": hop.status})


def _left_to_redirect_rule(request: dict, error: str | None, hop: Hop) -> bool:
    """A well-known client's callback refused: redirect-uri-rejected says so, with the allowlist to fix."""
    uris = request.get("redirect_uris") or []
    known = any(isinstance(uri, str) and known_client(uri) for uri in uris)
    return known and (error == "invalid_redirect_uri" or b"redirect" in (hop.resp_body or b"").lower())


def _redirect_note(request: dict, error: str | None) -> str:
    uris = request.get("redirect_uris")
    if error == "invalid_redirect_uri" and isinstance(uris, list) and uris:
        return f" for redirect_uris = {shown(uris)}"
    return ""


@rule(
    "dcr-metadata-replaced",
    family="M",
    severity="info",
    blame="AS",
    needs="M",
    when=("registrations",),
    spec="RFC 7591 §3.2.1",
    quote="The authorization server MAY reject or replace any of the client's requested metadata values … The "
    "client MUST use the returned values",
    fix="Client: use the registration response's values (redirect URIs, auth method) afterwards. Provider: say "
    "in the response what you changed.",
)
def dcr_metadata_replaced(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The registration response changed metadata the client asked for."""
    for hop in exchange.registrations:
        request, answer = hop.req_json(), hop.resp_json()
        if not (isinstance(request, dict) and isinstance(answer, dict)) or (hop.status or 0) >= 300:
            continue
        changed = {name: (request[name], answer[name]) for name in COMPARED_FIELDS
                   if name in request and name in answer and _normal(request[name]) != _normal(answer[name])}
        if changed:
            parts = [f"{name}: {shown(sent)} → {shown(got)}" for name, (sent, got) in changed.items()]
            yield Hit(hop=hop, message="registration replaced " + "; ".join(parts),
                      evidence={"changed": {name: {"requested": sent, "registered": got}
                                            for name, (sent, got) in changed.items()}})


def _normal(value):
    return sorted(map(str, value)) if isinstance(value, list) else value


@rule(
    "cimd-mismatch",
    family="M",
    severity="error",
    blame="C",
    needs="M/F",
    when=("url_client_id",),
    spec="MCP authorization 2026-07-28 (Client Registration: Client ID Metadata Documents); 2025-11-25",
    quote="Clients MUST ensure the client_id value in the metadata matches the document URL exactly; "
    "[authorization servers] MUST validate redirect URIs presented in an authorization request against those in "
    "the metadata document",
    fix="Client: serve the document at the client_id URL with `client_id` equal to that URL and every redirect "
    "URI you use. Provider: refuse redirect URIs the document does not list.",
)
def cimd_mismatch(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A URL client_id whose metadata document does not match it or the redirect URI used."""
    if exchange.authorize is None:
        return
    pairs = request_params(exchange.authorize)
    client_id = param(pairs, "client_id")
    if not _url_client_id(client_id):
        return
    fetches = memo(ctx, "registration.by-url", lambda: _gets_by_url(ctx.hops)).get(client_id)
    if not fetches:
        return  # the provider's fetch of the document was not recorded
    hop = fetches[-1]
    document = json_document(hop)
    if document is None:
        yield Hit(hop=hop, message=f"client_id = {client_id} → document {prm_status(hop)}",
                  evidence={"client_id": client_id, "status": hop.status})
        return
    if document.get("client_id") != client_id:
        got = document.get("client_id")
        how = describe_difference(client_id, got) if isinstance(got, str) else "absent"
        yield Hit(hop=hop, message=f"document.client_id = {shown(got)} ≠ client_id URL {client_id} ({how})",
                  evidence={"client_id": client_id, "document_client_id": got, "difference": how})
        return
    redirect_uri = param(pairs, "redirect_uri")
    listed = document.get("redirect_uris") if isinstance(document.get("redirect_uris"), list) else []
    if redirect_uri and redirect_uri not in listed:
        response = facts(exchange, ctx).response
        accepted = response is not None and param(response.pairs, "code") is not None
        yield Hit(hop=exchange.authorize if not accepted else response.hop, blame="AS" if accepted else "C",
                  message=f"authorize.redirect_uri = {redirect_uri} ∉ document.redirect_uris = {shown(listed)}"
                  + (" → the provider still issued a code" if accepted else ""),
                  evidence={"redirect_uri": redirect_uri, "listed": listed, "accepted": accepted})


def _url_client_id(client_id: str | None) -> bool:
    if not client_id or not client_id.startswith(("https://", "http://")):
        return False
    return urlsplit(client_id).path not in ("", "/")


def _gets_by_url(hops: list[Hop]) -> dict[str, list[Hop]]:
    found: dict[str, list[Hop]] = {}
    for hop in hops:
        if hop.method == "GET" and hop.url.startswith("http"):
            found.setdefault(hop.url.split("#", 1)[0], []).append(hop)
    return found


# --- MCP 2026-07-28: metadata documents first, application_type in registrations ------------------------------


def _cimd_advertised(exchange: Exchange) -> dict | None:
    """The exchange's AS metadata document when it says client_id_metadata_document_supported: true."""
    found = _as_metadata(exchange)
    if found is not None and found[1].get("client_id_metadata_document_supported") is True:
        return found[1]
    return None


@rule(
    "dcr-despite-cimd",
    family="M",
    severity="info",
    blame="C",
    needs="M",
    when=("registrations",),
    spec="MCP authorization 2026-07-28 (Client Registration; changelog: Deprecated 4, PR 2858)",
    quote="Clients supporting all options SHOULD use the following priority order: … 2. Use Client ID Metadata "
    "Documents if the Authorization Server indicates that it supports them (via "
    "client_id_metadata_document_supported …) 3. Use Dynamic Client Registration as a fallback … Dynamic Client "
    "Registration is deprecated.",
    fix="Client: when the authorization server's metadata says client_id_metadata_document_supported: true, use "
    "an HTTPS client_id URL (a client ID metadata document) instead of registering.",
)
def dcr_despite_cimd(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The client registered dynamically although the provider accepts client ID metadata documents.

    Information, not a warning: the priority order binds clients "supporting all options", and a recording
    cannot tell whether this one supports metadata documents."""
    document = _cimd_advertised(exchange)
    if document is None:
        return
    hop = next((hop for hop in exchange.registrations if hop.method == "POST"), None)
    if hop is None:
        return
    yield Hit(hop=hop, message=f"POST {base_url(hop.url)} (dynamic client registration, deprecated) although "
              f"metadata.client_id_metadata_document_supported = true ({shown(document.get('issuer'))})",
              evidence={"issuer": document.get("issuer"), "registration_endpoint": base_url(hop.url)})


@rule(
    "cimd-public-auth-missing",
    family="M",
    severity="info",
    blame="AS",
    needs="M",
    when=("metadata",),
    spec="Claude connectors' authentication docs (https://claude.com/docs/connectors/building/authentication); "
    "MCP authorization 2026-07-28 (Client ID Metadata Documents example: token_endpoint_auth_method none); "
    "RFC 8414 §2 (default client_secret_basic)",
    quote="Support CIMD instead — also include \"none\" in token_endpoint_auth_methods_supported, since a "
    "URL-identified client is public by definition (Claude)",
    fix="Provider: list \"none\" in token_endpoint_auth_methods_supported when you advertise "
    "client_id_metadata_document_supported, and accept token requests without client authentication from "
    "metadata-document clients.",
)
def cimd_public_auth_missing(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """The provider accepts client ID metadata documents but advertises no token endpoint auth method `none`."""
    found = _as_metadata(exchange)
    if found is None or found[1].get("client_id_metadata_document_supported") is not True:
        return
    hop, document = found
    methods = document.get("token_endpoint_auth_methods_supported")
    listed = methods if isinstance(methods, list) else ["client_secret_basic"]  # RFC 8414 §2: the default
    if "none" in listed:
        return
    worked = _public_url_client_redeemed(exchange)
    yield Hit(hop=hop, severity="info" if worked else None,
              message=f"metadata.client_id_metadata_document_supported = true, token_endpoint_auth_methods_supported"
              f" = {shown(methods) if isinstance(methods, list) else '∅ (default client_secret_basic)'} ∌ none"
              + (" — yet the provider redeemed a metadata-document client's code without authentication"
                 if worked else ""),
              evidence={"issuer": document.get("issuer"), "token_endpoint_auth_methods_supported": methods,
                        "public_client_redeemed": worked})


def _public_url_client_redeemed(exchange: Exchange) -> bool:
    """A URL client_id redeemed its code without client authentication, and got tokens."""
    for hop in exchange.tokens:
        client_id = param(body_params(hop), "client_id")
        if hop.status == 200 and _url_client_id(client_id) and client_auth_used(hop) == "none":
            return True
    return False


@rule(
    "registration-application-type",
    family="M",
    severity="warning",
    blame="C",
    needs="M",
    when=("registrations",),
    spec="MCP authorization 2026-07-28 (Client Registration: Application Type and Redirect URI Constraints; "
    "SEP-837); OpenID Connect Registration 1.0 §2",
    quote="MCP clients MUST specify an appropriate application_type during Dynamic Client Registration. Omitting "
    "it defaults to \"web\" under OIDC, which can conflict with native-style redirect URIs",
    fix="Client: send application_type in the registration request — \"native\" for localhost or custom-scheme "
    "redirect URIs (desktop, mobile, CLI), \"web\" for a remote browser-based application.",
)
def registration_application_type(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """A 2026-07-28 MCP client registered without an application_type, or with one its redirect URIs contradict.

    Only for clients whose MCP requests speak 2026-07-28: earlier revisions did not ask for it."""
    if not speaks_stateless(exchange):
        return
    for hop in exchange.registrations:
        request = hop.req_json()
        if hop.method != "POST" or not isinstance(request, dict):
            continue
        uris = [uri for uri in request.get("redirect_uris") or [] if isinstance(uri, str)]
        expected = "native" if uris and all(_native_redirect(uri) for uri in uris) else "web"
        sent = request.get("application_type")
        if sent is None:
            yield Hit(hop=hop, message=f"registration without application_type (OIDC default \"web\"; redirect_uris "
                      f"= {shown(uris)} suggest \"{expected}\")",
                      evidence={"application_type": None, "expected": expected, "redirect_uris": uris})
        elif sent in ("native", "web") and sent != expected and uris:
            # "SHOULD use": a remote web app registering as native (or the reverse) is unusual, not forbidden
            yield Hit(hop=hop, severity="info",
                      message=f"registration.application_type = {shown(sent)} for redirect_uris = {shown(uris)} "
                      f"(MCP: {expected} clients SHOULD use \"{expected}\")",
                      evidence={"application_type": sent, "expected": expected, "redirect_uris": uris})


def _native_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return True  # a private-use URI scheme: a native app's
    return (parts.hostname or "") in ("localhost", "127.0.0.1", "::1")


@rule(
    "invalid-client-not-401",
    family="M",
    severity="info",
    blame="AS",
    needs="B",
    when=("tokens", "refreshes"),
    spec="RFC 6749 §5.2 (invalid_client: 401 MAY, MUST when the client authenticated with the Authorization "
    "header); Claude's connector docs (https://support.anthropic.com/en/articles/11503834)",
    quote="OAuth servers can signal to Claude that a DCR client has been deleted and that Claude should "
    "re-register the client by returning an HTTP 401 with an error of invalid_client from the token endpoint "
    "(Claude)",
    fix="Provider: answer a token request from a deleted or unknown registered client with HTTP 401 and "
    "error=invalid_client, so that connectors such as Claude register again instead of failing.",
)
def invalid_client_not_401(exchange: Exchange, ctx: Context) -> Iterator[Hit]:
    """An MCP client's token request refused with invalid_client, but not with the 401 that makes Claude
    re-register.

    Information: RFC 6749 lets a provider answer a public client's invalid_client with 400; Claude's docs name 401
    as the signal it acts on."""
    for hop in exchange.tokens + exchange.refreshes:
        if hop.status is None or hop.status == 401 or b"invalid_client" not in (hop.resp_body or b""):
            continue  # the cheap test first: almost every token answer is a success or another error
        answer = hop.resp_json()
        if not isinstance(answer, dict) or answer.get("error") != "invalid_client":
            continue
        if not mcp_applies(exchange, ctx.profile):
            return
        yield Hit(hop=hop, message=f"token endpoint → {hop.status} error=invalid_client (Claude re-registers only "
                  "on 401 invalid_client)", evidence={"status": hop.status, "error": "invalid_client"})
        return
