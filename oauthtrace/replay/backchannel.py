"""The client server's requests, rebuilt from the recording with the live values: token, refresh, resource calls.

A recorded request keeps its shape (method, content type, client authentication, parameter order); only what the
live flow changed is replaced (code, code_verifier, refresh token, access token) and secrets come from `Secrets`.
When the recording has no token request, `standard_token_request` writes the one RFC 6749 §4.1.3 describes.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from oauthtrace.analysis.oauth import basic_credentials
from oauthtrace.model import Hop, Pairs

FORM_TYPE = "application/x-www-form-urlencoded"
# Headers a replay never copies: the connection's own, credentials rebuilt separately, and cookies (kept in a jar).
SKIP_HEADERS = frozenset({
    "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "cookie",
    "authorization", "proxy-authorization", "accept-encoding", "referer", "origin", "dpop", "x-forwarded-for",
    "x-forwarded-host", "x-forwarded-proto", "forwarded", "via",
})


@dataclass
class Outgoing:
    method: str
    url: str  # the recorded URL (mapped to the target by the caller)
    headers: Pairs
    body: bytes | None


def copied_headers(hop: Hop) -> Pairs:
    return [(name, value) for name, value in hop.req_headers if name.lower() not in SKIP_HEADERS]


def rebuild(hop: Hop, url: str, replace: dict[str, str | None], *, client: tuple[str, str] | None = None,
            bearer: str | None = None) -> Outgoing:
    """`hop` sent again to `url` with each parameter in `replace` given its new value (None drops it).

    `client` is (client_id, secret) for a request that used HTTP Basic; `bearer` the new token of a resource call.
    """
    headers = copied_headers(hop)
    if client is not None and basic_credentials(hop) is not None:
        headers.append(("Authorization", basic_header(*client)))
    scheme = (hop.req_header("authorization") or "").split(" ", 1)[0]
    if bearer is not None and scheme.lower() in ("bearer", "dpop"):
        headers.append(("Authorization", f"{scheme} {bearer}"))
    body = _body(hop, replace)
    return Outgoing(hop.method, url, headers, body)


def standard_token_request(url: str, *, code: str, redirect_uri: str | None, client_id: str | None,
                           verifier: str | None, method: str, secret: str | None) -> Outgoing:
    """RFC 6749 §4.1.3 (with RFC 7636 §4.5): what a client sends when the recording did not show its own."""
    fields: Pairs = [("grant_type", "authorization_code"), ("code", code)]
    if redirect_uri:
        fields.append(("redirect_uri", redirect_uri))
    if verifier:
        fields.append(("code_verifier", verifier))
    headers: Pairs = [("Content-Type", FORM_TYPE), ("Accept", "application/json")]
    if method == "client_secret_basic":
        headers.append(("Authorization", basic_header(client_id or "", secret or "")))
    else:
        fields.append(("client_id", client_id or ""))
        if method == "client_secret_post":
            fields.append(("client_secret", secret or ""))
    return Outgoing("POST", url, headers, urlencode(fields).encode())


def basic_header(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both form-encoded, then base64."""
    client_id, secret = quote_plus(client_id), quote_plus(secret)
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def choose_client_auth(option: str | None, metadata: dict | None) -> str:
    """--client-auth, else the provider's metadata: Basic when offered (the RFC 8414 default), then post, then none."""
    if option:
        return {"basic": "client_secret_basic", "post": "client_secret_post", "none": "none"}[option]
    offered = (metadata or {}).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    for method in ("client_secret_basic", "client_secret_post", "none"):
        if method in offered:
            return method
    return "client_secret_basic"


def _body(hop: Hop, replace: dict[str, str | None]) -> bytes | None:
    if hop.req_body is None and not hop.form:
        return None
    if hop.form or hop.req_content_type == FORM_TYPE:
        pairs = hop.form or []
        return urlencode(_replaced(pairs, replace)).encode()
    data = hop.req_json()
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key in replace:
                if replace[key] is not None:
                    out[key] = replace[key]
            else:
                out[key] = value
        return json.dumps(out).encode()
    return hop.req_body


def _replaced(pairs: Pairs, replace: dict[str, str | None]) -> Pairs:
    out: Pairs = []
    for name, value in pairs:
        if name in replace:
            if replace[name] is None:
                continue
            value = replace[name]
        out.append((name, value))
    return out

