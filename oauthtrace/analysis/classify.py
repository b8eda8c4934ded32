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

import re
from urllib.parse import urljoin

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.oauth import (
    RESPONSE_KEYS, authz_response_params, body_params, first_values, has_response_key, param,
    request_has_response_key, request_param, request_params, token_fields,
)
from oauthtrace.html_forms import page_forms
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import base_url, basic_client_credentials, origin, path, plain_origin

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
    asking: list[Hop] = []  # the authorization requests
    bare: list[Hop] = []  # requests with client_id, no response_type: authorization requests if the answer shows
    for hop in hops:  # a hop's seq is unique in its trace
        role = roles[hop.seq] = request_role(hop)
        if role == "authorize":
            asking.append(hop)
        # the name written out, or escaped (parse_qsl decodes it): most hops are turned away by two substring tests
        elif role == "other" and hop.query and ("client_id" in hop.url or "%" in hop.url) and _may_ask_bare(hop):
            bare.append(hop)
    ordered = sorted(hops, key=_start)
    sources = _redirect_sources(ordered)
    if bare:
        for hop in _answered_bare_requests(ordered, set(map(id, bare)), roles, sources):
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
                roles[hop.seq] = _login_or_consent(hop, consented)
            else:
                consented.discard(key[0])  # its origin
            asked.add(key)
        elif role == "other":
            if is_callback(hop, source, redirect_uris, roles, provider_origins):
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
        body = body_params(hop)
        grant = param(body, "grant_type")
        if grant == "authorization_code":
            return "token"
        if grant == "refresh_token":
            return "refresh"
        if grant is None or grant == "client_credentials":
            role = _token_request_by_shape(hop, body, grant)
            if role is not None:
                return role
        if is_registration(hop):
            return "registration"
        if _is_pushed_request(hop):
            return "other"
    if is_authorize(hop):
        return "authorize"
    if is_resource(hop) or is_mcp_call(hop):
        return "resource"
    return "other"


def _token_request_by_shape(hop: Hop, body: Pairs, grant: str | None) -> str | None:
    """"token" or "refresh" for a POST shaped like a token request though it names no grant_type (GitHub's
    `POST /login/oauth/access_token`), or a client credentials one (RFC 6749 §4.4.2); None otherwise.

    Its body carries a code with the client's identity, a refresh token, or the client's credentials (client_id
    with client_secret, or a client_assertion) and nothing else, and it is answered by access_token or an OAuth
    error: a form_post callback carries a code too, but is answered by a page; a revocation or introspection
    request carries a `token`."""
    if grant is None and _GRANT_LIKE.isdisjoint([name for name, _ in body]):
        return None  # most POSTs (login forms, API calls): nothing grant-like, nothing more read
    authorization = hop.req_header("authorization")
    values = first_values(body)
    code, refresh_token, secret = values.get("code"), values.get("refresh_token"), values.get("client_secret")
    if values.get("token") or values.get("response_type") or values.get("username"):
        return None  # revocation, introspection, a pushed authorization request, the password grant
    # a code or a refresh token counts only with the client's identity: a site's own API refreshing its session
    # ({"refresh_token": …}) or checking a one-time code sends neither grant_type nor client_id
    client = values.get("client_id") or values.get("client_assertion") or basic_client_credentials(authorization)
    if grant == "client_credentials":
        role = "token"
    elif code:
        role = "token" if client else None
    elif refresh_token:
        role = "refresh" if client else None
    elif (secret and values.get("client_id")) or values.get("client_assertion"):
        role = "token"  # client credentials without grant_type: the client's credentials and nothing else
    else:
        role = None
    return role if role is not None and _answers_like_a_token_endpoint(hop) else None


# the body parameters a token request without grant_type has one of: the grant, or the client's credentials
_GRANT_LIKE = frozenset(("code", "refresh_token", "client_secret", "client_assertion"))


def _answers_like_a_token_endpoint(hop: Hop) -> bool:
    """The answer is a token response or an OAuth error, JSON or form-encoded (token_fields).

    A token response carries access_token and token_type (RFC 6749 §5.1, both REQUIRED; GitHub answers
    `token_type=bearer`, Slack `"bot"`): an app's own backend that takes the code from its page and answers its
    own session token (`{"access_token": …, "user": …}`) is no token endpoint. An OAuth error is a code (RFC 6749
    §5.2 "A single ASCII error code"): `invalid_grant`, GitHub's `bad_verification_code`, Slack's `invalid_code` —
    not an API's `"error": "Unauthorized"` or `"Invalid code"`."""
    fields = token_fields(hop)
    if not fields:
        return False
    token, token_type, error = fields.get("access_token"), fields.get("token_type"), fields.get("error")
    if isinstance(token, str) and token:
        return isinstance(token_type, str) and bool(token_type)
    return isinstance(error, str) and _ERROR_CODE.fullmatch(error) is not None


_ERROR_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")  # the registered codes' and providers' own spelling


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
    return jsonrpc_request(hop) is not None


def jsonrpc_request(hop: Hop) -> dict | None:
    """The JSON-RPC 2.0 request a POST carries (the first one of a batch), None for anything else. The one reader
    of JSON-RPC bodies: is_mcp_call asks whether there is one, analysis.mcp reads its method and versions."""
    body = hop.req_body
    if hop.method != "POST" or not body or b'"jsonrpc"' not in body[:4096]:
        return None  # a form or an asset: no JSON parse to learn that
    data = hop.req_json()
    messages = data if isinstance(data, list) else [data]
    return next((m for m in messages if isinstance(m, dict) and m.get("jsonrpc") == "2.0" and "method" in m), None)


def is_authorize(hop: Hop) -> bool:
    """An authorization request: response_type with client_id, or a PAR request_uri with client_id. One that names
    neither (GitHub's) is told by its answer (_answered_bare_requests)."""
    if hop.method not in ("GET", "POST") or not (hop.query or hop.form):
        return False
    pairs = request_params(hop)
    if not param(pairs, "client_id"):
        return False
    if param(pairs, "grant_type"):
        return False
    return bool(param(pairs, "response_type") or param(pairs, "request_uri"))


def _carries_back_channel(pairs: Pairs) -> bool:
    """A code, an error, tokens or a client secret: what an authorization request never carries."""
    return has_response_key(pairs) or any(param(pairs, name) for name in _BACK_CHANNEL_NAMES)


_BACK_CHANNEL_NAMES = ("client_secret", "client_assertion", "refresh_token")


def answers_browser(hop: Hop) -> bool:
    """Answered by a page or a redirect, as a browser's request is; JSON answers an API call."""
    return (hop.status or 0) in range(300, 400) or hop.resp_content_type == "text/html"


def _may_ask_bare(hop: Hop) -> bool:
    """A browser GET with client_id but no response_type (GitHub's; its redirect_uri is optional, the registered
    one is used), answered by a page or a redirect: an authorization request only if the traffic shows the answer —
    a payment or analytics link names client_id and redirect_uri too, and is answered by no code."""
    if hop.method != "GET" or not param(hop.query, "client_id"):
        return False  # the cheap test first: most hops name no client_id
    return answers_browser(hop) and not _carries_back_channel(hop.query)


def _answered_bare_requests(ordered: list[Hop], bare: set[int], roles: dict[int, str],
                            sources: dict[int, Hop]) -> list[Hop]:
    """The bare requests (ids in `bare`; see _may_ask_bare) that are authorization requests: the provider's origin
    later redirects the browser with code, error or tokens.

    One walk in start order. A bare request counts only when the browser came from elsewhere (the client sent
    it, or the user followed a link): the provider's own pages reached by its redirects or forms (GitHub's
    `/login?client_id=…&return_to=…`, a Keycloak login action) carry client_id too, but are steps of a flow. An
    answer goes to the request at its origin that sent the state it returns, else to the latest one, unless an
    authorization request in its own right came after that one.
    """
    awaiting: dict[str, list[Hop]] = {}  # provider origin -> its bare requests not answered yet, oldest first
    latest_named: dict[str, Hop] = {}  # provider origin -> its latest authorization request in its own right
    answered: list[Hop] = []
    for hop in ordered:
        if id(hop) in bare:
            where = origin(hop.url)
            source = sources.get(hop.seq)
            if source is None or origin(source.url) != where:
                waiting = awaiting.setdefault(where, [])
                waiting.append(hop)
                del waiting[:-_AWAITED]  # the oldest unanswered ones were something else
        elif awaiting and roles[hop.seq] == "authorize":
            latest_named[origin(hop.url)] = hop
        if awaiting and _may_redirect(hop):
            where = origin(hop.url)
            waiting = awaiting.get(where)
            if waiting and carries_response(hop):
                asked = _asker(waiting, hop, latest_named.get(where))
                if asked is not None:
                    answered.append(asked)
                    waiting.remove(asked)
                    if not waiting:
                        del awaiting[where]
    return answered


_AWAITED = 16  # bare requests kept per origin while they wait for an answer


def _asker(waiting: list[Hop], answer: Hop, named: Hop | None) -> Hop | None:
    """Which waiting bare request `answer` (a redirect carrying an authorization response) answers."""
    pairs, _ = authz_response_params(answer)
    state = param(pairs, "state")
    if state:
        for hop in reversed(waiting):
            if param(hop.query, "state") == state:
                return hop
        if named is not None and request_param(named, "state") == state:
            return None  # it answers the authorization request in its own right
    latest = waiting[-1]
    if named is not None and _start(named) > _start(latest):
        return None  # the authorization request sent after it is the one answered
    return latest


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
    to_browser = content_type == "text/html" or (hop.status or 0) in range(300, 400)
    if hop.method == "POST":
        submitted = bool(hop.form) or hop.req_content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data")
        return submitted and to_browser and not param(hop.form, "grant_type")
    return to_browser and not content_type.startswith(_ASSET_TYPES)


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
