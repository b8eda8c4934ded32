"""Give every hop an OAuth role, read from the traffic itself (parameters, methods, content types, redirects).

No host is hard-coded: a provider is whatever answers an authorization request, a callback is whatever receives
an authorization response. Two passes, both linear: first what a request is by itself (authorize, token, ...),
then what it is by its place in a redirect chain (callback, login, consent).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.oauth import (
    RESPONSE_KEYS, authz_response_params, body_params, param, request_has_response_key, request_params,
)
from oauthtrace.html_forms import page_forms
from oauthtrace.model import Hop
from oauthtrace.params import base_url, origin, path, plain_origin

ROLES = (
    "authorize", "login", "consent", "callback", "token", "refresh", "registration", "metadata", "resource", "other",
)
FRONT_ROLES = ("authorize", "login", "consent", "callback")

METADATA_SUFFIXES = (
    "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
)
_ASSET_TYPES = ("text/css", "application/javascript", "text/javascript", "image/", "font/")
_CONSENT_WORDS = ("consent", "approve", "allow", "grant", "confirm", "decision", "authorize")
_PASSWORD_FIELDS = ("password", "passwd", "pass", "pwd")
_HTML_SCAN = 200_000  # how much of a page is read for forms
# what a Location needs for one of its parameters to be named like a response key: the name written out, or
# something urlsplit and parse_qsl decode or remove (a %XX escape; a tab or newline)
_MAY_NAME_RESPONSE = re.compile(r"code|error|access_token|id_token|[%\t\r\n]")
# a hidden input carrying an authorization response: checked before paying for an HTML parse. Searched in a
# lowercased copy (see may_hold_response_input) rather than with re.IGNORECASE, which tries a match at every byte
_RESPONSE_INPUT = re.compile(rb"""name\s*=\s*["']?(code|error|access_token|id_token)["'\s>/]""")


def classify(hops: list[Hop]) -> dict[int, str]:
    """hop seq -> role, for every hop."""
    return classify_with_sources(hops)[0]


def classify_with_sources(hops: list[Hop]) -> tuple[dict[int, str], dict[int, Hop]]:
    """The roles, and the redirect sources found on the way (correlate needs them too: computed once)."""
    roles: dict[int, str] = {}
    asks: dict[int, tuple] = {}  # authorization request's seq -> its _authorize_key: read once, used three times
    for hop in hops:  # a hop's seq is unique in its trace
        role = roles[hop.seq] = request_role(hop)
        if role == "authorize":
            asks[hop.seq] = _authorize_key(hop)
    redirect_uris = {base_url(redirect_uri) for _, _, _, redirect_uri in asks.values() if redirect_uri}
    provider_origins = {where for where, _, _, _ in asks.values()}
    ordered = sorted(hops, key=_start)
    sources = _redirect_sources(ordered)
    consented: set[str] = set()  # provider origins whose login form was posted since their last authorize
    asked: set[tuple] = set()  # authorization requests already seen, to tell a consent form re-posting them
    for hop in ordered:
        source = sources.get(hop.seq)
        role = roles[hop.seq]
        if role == "authorize":
            key = asks[hop.seq]
            if hop.method == "POST" and key in asked and hop.form:
                # the login or consent form re-posting the authorization request's parameters
                roles[hop.seq] = _login_or_consent(hop, consented)
            else:
                consented.discard(key[0])  # its origin
            asked.add(key)
        elif role == "other":
            if is_callback(hop, source, redirect_uris):
                roles[hop.seq] = "callback"
            # the page test first: it turns away the assets and API calls (most hops) without parsing the URL
            elif is_provider_page(hop) and _at_provider(hop, source, roles, provider_origins):
                roles[hop.seq] = _login_or_consent(hop, consented)
    return roles, sources


def _authorize_key(hop: Hop) -> tuple:
    """(origin, client_id, state, redirect_uri) of an authorization request."""
    pairs = request_params(hop)
    return (origin(hop.url), param(pairs, "client_id"), param(pairs, "state"), param(pairs, "redirect_uri"))


def request_role(hop: Hop) -> str:
    """The role a hop has by itself, without looking at other hops; "other" when it needs context."""
    if is_metadata(hop) or is_client_metadata_document(hop):
        return "metadata"
    if hop.method == "POST":
        grant = param(body_params(hop), "grant_type")
        if grant == "authorization_code":
            return "token"
        if grant == "refresh_token":
            return "refresh"
        if is_registration(hop):
            return "registration"
        if _is_pushed_request(hop):
            return "other"
    if is_authorize(hop):
        return "authorize"
    if is_resource(hop) or is_mcp_call(hop):
        return "resource"
    return "other"


def is_metadata(hop: Hop) -> bool:
    """RFC 8414, OIDC discovery and RFC 9728 documents, with the path inserted before or appended after."""
    if "/.well-known/" not in hop.url:
        return False
    where = path(hop.url)
    return any(suffix in where for suffix in METADATA_SUFFIXES)


def is_registration(hop: Hop) -> bool:
    """RFC 7591: a JSON POST carrying redirect_uris (answered with a client_id, or rejected)."""
    if not _may_name_redirect_uris(hop.req_body):
        return False  # a login form, say: no JSON parse to learn that
    data = hop.req_json()
    if not isinstance(data, dict) or "redirect_uris" not in data:
        return False
    answer = hop.resp_json()
    return isinstance(answer, dict) and ("client_id" in answer or "error" in answer) or (hop.status or 0) >= 400


def _may_name_redirect_uris(body: bytes | None) -> bool:
    """Whether a body parsed as JSON could have a member named redirect_uris: the name written out, or spelt
    with a backslash escape, or encoded in UTF-16/32 (NUL bytes in ASCII text), which json.loads decodes too."""
    if not isinstance(body, bytes):
        return bool(body)  # not what the store reads; left to the parser
    return b"redirect_uris" in body or b"\\" in body or b"\x00" in body


def _is_pushed_request(hop: Hop) -> bool:
    """RFC 9126 PAR: the authorization request's parameters posted by the client's server, answered request_uri
    (or, when refused, a JSON error: a browser's authorization request is answered with a page or a redirect)."""
    answer = hop.resp_json()
    if not isinstance(answer, dict):
        return False
    if "request_uri" in answer:
        return True
    pairs = body_params(hop)
    return "error" in answer and bool(param(pairs, "response_type")) and bool(param(pairs, "client_id"))


def is_pushed_request(hop: Hop) -> bool:
    return hop.method == "POST" and _is_pushed_request(hop)


def is_client_metadata_document(hop: Hop) -> bool:
    """A client ID metadata document (MCP 2025-11-25): a URL-style client_id fetched, answering JSON whose
    client_id is that URL."""
    if hop.method != "GET" or hop.status != 200 or not hop.resp_body or b"redirect_uris" not in hop.resp_body:
        return False
    document = hop.resp_json()
    return isinstance(document, dict) and document.get("client_id") in (hop.url, hop.upstream_url)


def is_mcp_call(hop: Hop) -> bool:
    """An MCP Streamable HTTP request: a JSON-RPC POST, or a request carrying one of MCP's headers — the session
    and protocol headers of 2025-11-25 (the GET event stream, the DELETE that ends a session) or 2026-07-28's
    `Mcp-Method`, which every POST carries (so a request recorded without its body is still recognised). Which
    revision a call speaks is analysis.mcp's (call_era)."""
    for name, value in hop.req_headers:  # one pass for the three names: most hops asked are assets and pages
        if value and name.lower() in {"mcp-session-id", "mcp-protocol-version", "mcp-method"}:
            return True
    return _is_jsonrpc_post(hop)


def _is_jsonrpc_post(hop: Hop) -> bool:
    body = hop.req_body
    if hop.method != "POST" or not body or b'"jsonrpc"' not in body[:4096]:
        return False
    data = hop.req_json()
    messages = data if isinstance(data, list) else [data]
    return any(isinstance(m, dict) and m.get("jsonrpc") == "2.0" and "method" in m for m in messages)


def is_authorize(hop: Hop) -> bool:
    """An authorization request: response_type with client_id, or a PAR request_uri with client_id."""
    if hop.method not in ("GET", "POST") or not (hop.query or hop.form):
        return False
    pairs = request_params(hop)
    if not param(pairs, "client_id"):
        return False
    if param(pairs, "grant_type"):
        return False
    return bool(param(pairs, "response_type") or param(pairs, "request_uri"))


def is_resource(hop: Hop) -> bool:
    """A call to a protected resource: a Bearer token sent, or a Bearer challenge answered."""
    return _sends_token(hop.req_header("authorization")) or _answers_challenge(hop)


def _sends_token(authorization: str | None) -> bool:
    return (authorization or "").split(" ", 1)[0].lower() in ("bearer", "dpop")


def _answers_challenge(hop: Hop) -> bool:
    """A 401 with a Bearer or DPoP challenge (the status first: the header is looked up only on a 401)."""
    return hop.status == 401 and (hop.resp_header("www-authenticate") or "").lower().startswith(("bearer", "dpop"))


def redirect_sources(hops: list[Hop]) -> dict[int, Hop]:
    """hop seq -> the hop whose redirect (Location, or auto-submitted form_post) the browser followed to it.

    Walks the hops by start time keeping, per target URL (fragment removed: browsers do not send it), the
    latest redirect issued so far; one dict lookup per hop however often a target repeats.
    """
    return _redirect_sources(sorted(hops, key=_start))


def _redirect_sources(ordered: list[Hop]) -> dict[int, Hop]:
    """redirect_sources of hops already ordered by start time."""
    latest: dict[str, Hop] = {}
    found: dict[int, Hop] = {}
    for hop in ordered:
        source = latest.get(without_fragment(hop.url))
        if source is not None:
            found[hop.seq] = source
        if _may_redirect(hop):
            # not redirect_targets(hop): its cache pays only when asked again, and this is once per hop
            for target in _redirect_targets(hop):
                latest[target] = hop
    return found


def _may_redirect(hop: Hop) -> bool:
    """A Location, or a form field that could post an authorization response; most hops have neither."""
    return bool(hop.location or may_hold_response_input(hop.resp_body))


def may_hold_response_input(body: bytes | None) -> bool:
    """Whether a page's first _HTML_SCAN bytes name a form field code, error, access_token or id_token (names
    compared case-insensitively, as HTML does). The pattern is searched in a lowercased copy: ASCII case folding,
    what re.IGNORECASE does for a bytes pattern, but searched by its literal start "name" instead of tried at
    every byte (many times faster on a login page or a JSON body)."""
    if not body or b"=" not in body:
        return False  # the pattern needs an "=": JSON answers, say, have none
    return _RESPONSE_INPUT.search(body[:_HTML_SCAN].lower()) is not None


def redirect_targets(hop: Hop) -> tuple[str, ...]:
    """Absolute URLs (fragment removed) this hop's response sends the browser to."""
    if not _may_redirect(hop):
        return ()  # most hops: nothing to cache
    return derived(hop, "redirect_targets", lambda: _redirect_targets(hop), hop.url, hop.location, hop.resp_body)


def _redirect_targets(hop: Hop) -> tuple[str, ...]:
    action = form_post_action(hop)
    if hop.location and action:
        return (absolute(hop.url, hop.location), absolute(hop.url, action))
    if hop.location or action:
        return (absolute(hop.url, hop.location or action),)
    return ()


def absolute(base: str, reference: str) -> str:
    """`reference` resolved against `base`, fragment removed (most Locations are absolute already)."""
    if not reference.startswith(("https://", "http://")):
        return _path_on_origin(base, reference) or without_fragment(urljoin(base, reference))
    return without_fragment(reference)


def _path_on_origin(base: str, reference: str) -> str | None:
    """absolute(base, reference) for an absolute path ("/login?ticket=1", the usual relative Location) that
    urljoin would not rewrite: no dot or empty segment, no parameters, no empty query, printable ASCII. A
    concatenation, several times cheaper than urljoin; None for anything else."""
    if not reference.startswith("/") or reference.startswith("//"):
        return None
    reference = without_fragment(reference)
    path = reference.split("?", 1)[0]
    if (not reference.isascii() or not reference.isprintable() or reference.endswith("?") or "//" in path
            or "/." in path or ";" in path):
        return None
    at = plain_origin(base)
    return at + reference if at is not None else None


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0] if "#" in url else url  # browsers do not send fragments: most URLs have none


def form_post_action(hop: Hop) -> str | None:
    """The action of an auto-submitting authorization-response form (response_mode=form_post), if any."""
    body = hop.resp_body
    if not body or hop.resp_content_type != "text/html" or not may_hold_response_input(body):
        return None
    pairs, mode = authz_response_params(hop)
    if mode != "form_post" or not any(k in RESPONSE_KEYS for k, _ in pairs):
        return None
    return _form_action(hop.resp_text[:200_000])


def _form_action(html: str) -> str | None:
    forms = page_forms(html)
    return forms[0].action if forms else None


def is_callback(hop: Hop, source: Hop | None, redirect_uris: set[str]) -> bool:
    """The request delivering an authorization response to the client's redirect_uri."""
    if source is not None and carries_response(source):
        return True
    delivers = request_has_response_key(hop)
    if not delivers and source is None:
        return False  # neither carrying a response nor redirected here: whatever its URL
    if base_url(hop.url) in redirect_uris:
        # a fragment response reaches the redirect_uri with an empty query: still the callback when redirected
        return delivers or source is not None
    return delivers and bool(param(request_params(hop), "state")) and hop.method in ("GET", "POST")


def carries_response(hop: Hop) -> bool:
    """The hop's redirect (query or fragment) or auto-posted form carries an authorization response."""
    if hop.location:
        if not _MAY_NAME_RESPONSE.search(hop.location):
            return False  # a redirect whose parameters cannot be named code, error ...: skip parsing
    elif not may_hold_response_input(hop.resp_body):
        return False  # no redirect, and no form field that could carry one: skip parsing
    pairs, mode = authz_response_params(hop)
    return mode != "none" and any(k in RESPONSE_KEYS for k, _ in pairs)


def _at_provider(hop: Hop, source: Hop | None, roles: dict[int, str], provider_origins: set[str]) -> bool:
    """On a provider's origin, or reached by a redirect from a provider page (login hosted elsewhere)."""
    if origin(hop.url) in provider_origins:
        return True
    return source is not None and roles.get(source.seq) in ("authorize", "login", "consent")


def is_provider_page(hop: Hop) -> bool:
    """A page the user sees at the provider (GET of HTML) or a form they submit (POST of a form)."""
    if hop.method not in ("GET", "POST"):
        return False
    # a page or a redirect answers the browser; JSON answers an API call (token, PAR, revocation ...)
    content_type = hop.resp_content_type  # a header lookup: once
    answers_browser = content_type == "text/html" or (hop.status or 0) in range(300, 400)
    if hop.method == "POST":
        submitted = bool(hop.form) or hop.req_content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data")
        return submitted and answers_browser and not param(hop.form, "grant_type")
    return answers_browser and not content_type.startswith(_ASSET_TYPES)


def _login_or_consent(hop: Hop, consented: set[str]) -> str:
    where = origin(hop.url)
    if hop.method == "POST" and any(name.lower() in _PASSWORD_FIELDS for name, _ in hop.form):
        consented.add(where)
        return "login"
    if hop.method == "GET" and b'type="password"' in (hop.resp_body or b"")[:200_000].lower():
        return "login"
    words = (path(hop.url) + " " + " ".join(name for name, _ in hop.form)).lower()
    if any(word in words for word in _CONSENT_WORDS) or where in consented:
        return "consent"
    return "login"


def _start(hop: Hop) -> tuple[float, int]:
    return (hop.started or 0.0, hop.seq)
