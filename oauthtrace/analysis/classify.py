"""Give every hop an OAuth role, read from the traffic itself (parameters, methods, content types, redirects).

No host is hard-coded: a provider is whatever answers an authorization request, a callback is whatever receives
an authorization response. Two passes, both linear: first what a request is by itself (authorize, token, ...),
then what it is by its place in a redirect chain (callback, login, consent).

OAuth is recognised by its shape, not by words a provider may leave out. GitHub's OAuth apps, for one, send
neither response_type nor grant_type (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/
authorizing-oauth-apps, "Web application flow"): `GET /login/oauth/authorize?client_id&redirect_uri&scope&state`,
then `POST /login/oauth/access_token` with client_id, client_secret, code and redirect_uri, answered form-encoded
(or JSON with `Accept: application/json`). So an authorization request is a browser request with client_id
and response_type, or, without response_type, one the provider later answers with a redirect carrying code, error
or tokens (client_id and redirect_uri name a client in payment and analytics links too, answered by no code); a
token request is a POST carrying a code and the client's credentials, a refresh token, or client credentials,
answered by access_token or an OAuth error.
"""

from __future__ import annotations

from oauthtrace.analysis.bare_authorization import answered_bare_requests, may_ask_bare
from oauthtrace.analysis.oauth import RESPONSE_KEYS, param, request_has_response_key, request_params
from oauthtrace.analysis.provider_pages import at_provider, is_provider_page, login_or_consent
from oauthtrace.analysis.redirects import (
    _HTML_SCAN, _RESPONSE_INPUT, absolute, carries_response, form_post_action, may_hold_response_input,
    redirect_sources, redirect_sources_in_order, redirect_targets, start_order, without_fragment,
)
from oauthtrace.analysis.request_roles import (
    METADATA_SUFFIXES, is_authorize, is_client_metadata_document, is_mcp_call, is_metadata, is_pushed_request,
    is_registration, is_resource, jsonrpc_request, request_role,
)
from oauthtrace.model import Hop
from oauthtrace.params import base_url, origin

# The names above that this module does not use are the ones callers import from here: classify is where the
# roles of hops are asked for, whichever module holds each test (_HTML_SCAN and _RESPONSE_INPUT: the page scan
# tests/test_classify.py compares with a re.IGNORECASE search).
__all__ = [
    "FRONT_ROLES", "METADATA_SUFFIXES", "RESPONSE_KEYS", "ROLES", "_HTML_SCAN", "_RESPONSE_INPUT", "absolute",
    "carries_response", "classify", "classify_with_sources", "form_post_action", "is_authorize", "is_callback",
    "is_client_metadata_document", "is_mcp_call", "is_metadata", "is_pushed_request", "is_registration",
    "is_resource", "jsonrpc_request", "may_hold_response_input", "redirect_sources", "redirect_targets",
    "request_role", "without_fragment",
]

ROLES = (
    "authorize", "login", "consent", "callback", "token", "refresh", "registration", "metadata", "resource", "other",
)
FRONT_ROLES = ("authorize", "login", "consent", "callback")


def classify(hops: list[Hop]) -> dict[int, str]:
    """hop seq -> role, for every hop."""
    return classify_with_sources(hops)[0]


def classify_with_sources(hops: list[Hop]) -> tuple[dict[int, str], dict[int, Hop]]:
    """The roles, and the redirect sources found on the way (correlate needs them too: computed once)."""
    roles: dict[int, str] = {}
    asking: list[Hop] = []  # the authorization requests
    bare: list[Hop] = []  # requests with client_id, no response_type: authorization requests if the answer shows
    for hop in hops:  # a hop's seq is unique in its trace
        role = roles[hop.seq] = request_role(hop)
        if role == "authorize":
            asking.append(hop)
        # the name written out, or escaped (parse_qsl decodes it): most hops are turned away by two substring tests
        elif role == "other" and hop.query and ("client_id" in hop.url or "%" in hop.url) and may_ask_bare(hop):
            bare.append(hop)
    ordered = sorted(hops, key=start_order)
    sources = redirect_sources_in_order(ordered)
    if bare:
        for hop in answered_bare_requests(ordered, set(map(id, bare)), roles, sources):
            roles[hop.seq] = "authorize"
            asking.append(hop)
    # authorization request's seq -> its _authorize_key: read once, used three times
    asks: dict[int, tuple] = {hop.seq: _authorize_key(hop) for hop in asking}
    redirect_uris = {base_url(redirect_uri) for _, _, _, redirect_uri in asks.values() if redirect_uri}
    provider_origins = {where for where, _, _, _ in asks.values()}
    consented: set[str] = set()  # provider origins whose login form was posted since their last authorize
    asked: set[tuple] = set()  # authorization requests already seen, to tell a consent form re-posting them
    for hop in ordered:
        source = sources.get(hop.seq)
        role = roles[hop.seq]
        if role == "authorize":
            key = asks[hop.seq]
            if hop.method == "POST" and key in asked and hop.form:
                # the login or consent form re-posting the authorization request's parameters
                roles[hop.seq] = login_or_consent(hop, consented)
            else:
                consented.discard(key[0])  # its origin
            asked.add(key)
        elif role == "other":
            if is_callback(hop, source, redirect_uris, roles, provider_origins):
                roles[hop.seq] = "callback"
            # the page test first: it turns away the assets and API calls (most hops) without parsing the URL
            elif is_provider_page(hop) and at_provider(hop, source, roles, provider_origins):
                roles[hop.seq] = login_or_consent(hop, consented)
    return roles, sources


def _authorize_key(hop: Hop) -> tuple:
    """(origin, client_id, state, redirect_uri) of an authorization request."""
    pairs = request_params(hop)
    return (origin(hop.url), param(pairs, "client_id"), param(pairs, "state"), param(pairs, "redirect_uri"))


def is_callback(hop: Hop, source: Hop | None, redirect_uris: set[str], roles: dict[int, str] | None = None,
                provider_origins: set[str] | frozenset = frozenset()) -> bool:
    """The request delivering an authorization response to the client's redirect_uri.

    `roles` (the roles decided so far, in start order) and `provider_origins` tell who redirected the browser
    here; without them any redirect to a redirect_uri counts."""
    if source is not None and carries_response(source):
        return True
    delivers = request_has_response_key(hop)
    if not delivers and source is None:
        return False  # neither carrying a response nor redirected here: whatever its URL
    if base_url(hop.url) in redirect_uris:
        # a fragment response reaches the redirect_uri with an empty query: still the callback when the provider
        # redirected here. The client's own pages redirecting to it deliver nothing: an app whose redirect_uri is
        # also its sign-in page (SharePoint's `/_forms/default.aspx?ReturnUrl=…`, hit before any authorization
        # request) is not answered by it
        return delivers or (source is not None and (roles is None or _from_provider(source, roles, provider_origins)))
    return delivers and bool(param(request_params(hop), "state")) and hop.method in ("GET", "POST")


def _from_provider(source: Hop, roles: dict[int, str], provider_origins: set[str] | frozenset) -> bool:
    """The redirect came from a step of an authorization flow, or from a provider's origin."""
    return roles.get(source.seq) in ("authorize", "login", "consent") or origin(source.url) in provider_origins
