"""What a request is by itself, without looking at other hops: authorization, token, refresh, registration,
metadata, MCP and resource requests (classify's first pass; "other" when only its place in the traffic tells).

OAuth is recognised by its shape, not by words a provider may leave out: a token request without grant_type
(GitHub's) is told by its body and its answer (see the classify module's docstring).
"""

from __future__ import annotations

import re

from oauthtrace.analysis.oauth import body_params, first_values, param, request_params, token_fields
from oauthtrace.model import Hop, Pairs
from oauthtrace.params import basic_client_credentials, path

METADATA_SUFFIXES = (
    "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
    "/.well-known/oauth-protected-resource",
)


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
    neither (GitHub's) is told by its answer (bare_authorization)."""
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
