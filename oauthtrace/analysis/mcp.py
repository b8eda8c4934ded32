"""The MCP authorization chain read out of one exchange (MCP authorization 2025-11-25):

    MCP request without a token → 401 `WWW-Authenticate: Bearer resource_metadata=…`
    → protected resource metadata (RFC 9728) → authorization server metadata (RFC 8414 / OIDC discovery)
    → client ID metadata document or dynamic registration (RFC 7591) → authorize (PKCE S256, `resource`)
    → token (`code_verifier`, `resource`) → MCP calls with the bearer token.

Correlation already files these hops into one exchange; this module names their parts for the rules, the
report and the UI. Pure functions over the model.

Both transport shapes of MCP are in the wild at once (RULES.md "MCP 2026-07-28"): the legacy one opens a session
with `initialize` (`Mcp-Session-Id`, a GET event stream, a DELETE to end it); the modern one (2026-07-28) is
stateless — `server/discover` instead of the handshake, the protocol version in each request's `_meta`, every POST
with `Mcp-Method`, and `subscriptions/listen` a POST whose response is the long-lived notification stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.classify import is_client_metadata_document, is_mcp_call, jsonrpc_request
from oauthtrace.analysis.oauth import (
    body_params, callback_params, param, redirect_uri_of, request_params, token_fields,
)
from oauthtrace.model import Exchange, Hop, every
from oauthtrace.params import origin, path

PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource"
AS_WELL_KNOWN = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
# MCP 2026-07-28, basic/versioning: "Modern: protocol versions that convey version, identity, and capabilities as
# per-request metadata (revision 2026-07-28 and later). Legacy: protocol versions that establish a session with an
# initialize handshake (2025-11-25 and earlier)."
MODERN, LEGACY, MIXED = "modern", "legacy", "mixed"
LEGACY_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")  # every handshake revision released
PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion"
# methods only the modern revision has (changelog 2026-07-28, major changes 3 and 4)
MODERN_METHODS = ("server/discover", "subscriptions/listen")
LISTEN = "subscriptions/listen"
_CONNECTOR_CALLBACK = re.compile(r"/connector/oauth/[^/?#]+|/connector_platform_oauth_redirect|/api/mcp/auth_callback")
# auth-param = token "=" ( token / quoted-string )   (RFC 9110 §11.2)
_ITEM = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')  # comma-separated items, commas in quotes kept
_AUTH_PARAM = re.compile(r'([A-Za-z0-9_!#$%&\'*+.^`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')


@dataclass
class McpChain:
    """The parts of one exchange's MCP chain, each in recording order (empty when not recorded)."""

    challenges: list[Hop] = field(default_factory=list)  # resource calls without a token answered 401
    resource_metadata: list[Hop] = field(default_factory=list)  # PRM fetches (RFC 9728)
    as_metadata: list[Hop] = field(default_factory=list)  # RFC 8414 / OIDC discovery fetches
    client_documents: list[Hop] = field(default_factory=list)  # client ID metadata documents
    registrations: list[Hop] = field(default_factory=list)  # RFC 7591
    calls: list[Hop] = field(default_factory=list)  # resource calls carrying a token

    @property
    def is_mcp(self) -> bool:
        """Evidence that the resource server is an MCP server (or at least an RFC 9728 protected resource)."""
        if self.resource_metadata or any(resource_metadata_url(hop) for hop in self.challenges):
            return True
        return any(is_mcp_call(hop) for hop in self.challenges + self.calls)


def chain(exchange: Exchange) -> McpChain:
    return derived(exchange, "mcp_chain", lambda: _chain(exchange), len(exchange.hops))


def _chain(exchange: Exchange) -> McpChain:
    found = McpChain(registrations=list(exchange.registrations))
    for hop in exchange.metadata:
        if is_prm_fetch(hop):
            found.resource_metadata.append(hop)
        elif is_as_metadata_fetch(hop):
            found.as_metadata.append(hop)
        elif is_client_metadata_document(hop):
            found.client_documents.append(hop)
    for hop in exchange.resources:
        if bearer_token(hop) is not None:
            found.calls.append(hop)
        elif hop.status == 401:
            found.challenges.append(hop)
    for part in (found.resource_metadata, found.as_metadata, found.client_documents, found.challenges,
                 found.calls):
        part.sort(key=lambda hop: hop.seq)
    return found


def is_mcp_exchange(exchange: Exchange) -> bool:
    # once per exchange: the profile, the mcp trait and four rules ask, and the answer parses challenge headers
    return derived(exchange, "is_mcp", lambda: chain(exchange).is_mcp, len(exchange.hops))


def mcp_applies(exchange: Exchange, profile: str) -> bool:
    """Whether MCP authorization's requirements apply: the mcp profile, an MCP chain recorded, or the
    callback of a known MCP connector (ChatGPT, Claude) when only the front channel was recorded."""
    if profile in ("mcp", "chatgpt-connector"):  # chatgpt-connector: ChatGPT's MCP client (profiles.MCP_BASED)
        return True
    return derived(exchange, "mcp_applies", lambda: _mcp_applies(exchange), len(exchange.hops))


def _mcp_applies(exchange: Exchange) -> bool:
    if is_mcp_exchange(exchange):
        return True
    return bool(_CONNECTOR_CALLBACK.search(redirect_uri_of(exchange) or ""))


# --- which MCP revision a call speaks ------------------------------------------------------------------------


def rpc_method(hop: Hop) -> str | None:
    """The JSON-RPC method an MCP POST calls: its `Mcp-Method` header (2026-07-28 Streamable HTTP mirrors the body's
    `method` there, "so that intermediaries … can route and inspect requests without parsing the body"), else
    the body's own."""
    named = hop.req_header("mcp-method")
    if named:
        return named
    message = jsonrpc_request(hop)
    method = message.get("method") if message else None
    return method if isinstance(method, str) else None


def protocol_version(hop: Hop) -> str | None:
    """The MCP protocol version a request declares: `_meta` (2026-07-28: "Every request declares the protocol
    version it is using in its `_meta` field"), the `MCP-Protocol-Version` header, or an `initialize` request's
    `protocolVersion` (the legacy handshake's offer)."""
    return _meta_version(hop) or hop.req_header("mcp-protocol-version") or _offered_version(hop)


def call_era(hop: Hop) -> str | None:
    """MODERN when the request has the 2026-07-28 shape (`Mcp-Method`, a modern-only method, the version in
    `_meta`), LEGACY when it has the session shape (`initialize`, `Mcp-Session-Id`), None when it shows neither
    (a GET or a bare POST says nothing by itself)."""
    if hop.req_header("mcp-method"):
        return MODERN  # "REQUIRED for compliance" in 2026-07-28, unknown before it
    method = rpc_method(hop)
    if method in MODERN_METHODS or _meta_version(hop):
        return MODERN
    if method == "initialize" or hop.req_header("mcp-session-id"):
        return LEGACY
    header = hop.req_header("mcp-protocol-version")
    if not header:
        return None
    return LEGACY if header in LEGACY_VERSIONS else MODERN


def exchange_era(exchange: Exchange) -> str | None:
    """The era an exchange's MCP calls speak: MODERN or LEGACY when they agree, MIXED when a client tried both (a
    dual-era client falling back to the handshake), None when no MCP call shows its era."""
    return derived(exchange, "mcp_era", lambda: _exchange_era(exchange), len(exchange.hops))


def _exchange_era(exchange: Exchange) -> str | None:
    eras = {era for era in (call_era(hop) for hop in exchange.resources if is_mcp_call(hop)) if era}
    if len(eras) > 1:
        return MIXED
    return next(iter(eras), None)


def speaks_stateless(exchange: Exchange) -> bool:
    """Whether the exchange's MCP calls speak 2026-07-28, alone or beside the handshake: rules for requirements
    that revision added ask this, so older clients are not held to them."""
    return exchange_era(exchange) in (MODERN, MIXED)


def is_listen_stream(hop: Hop) -> bool:
    """A `subscriptions/listen` POST answered with its event stream: held open by design until the client or the
    server closes it ("The server's response is itself an SSE stream that stays open"), so still streaming when
    a recording stops, and not a request that never finished."""
    return hop.method == "POST" and hop.resp_content_type == "text/event-stream" and rpc_method(hop) == LISTEN


def _meta_version(hop: Hop) -> str | None:
    message = jsonrpc_request(hop)
    params = message.get("params") if message else None
    meta = params.get("_meta") if isinstance(params, dict) else None
    version = meta.get(PROTOCOL_VERSION_META) if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version else None


def _offered_version(hop: Hop) -> str | None:
    message = jsonrpc_request(hop)
    if not message or message.get("method") != "initialize" or not isinstance(message.get("params"), dict):
        return None
    offered = message["params"].get("protocolVersion")
    return offered if isinstance(offered, str) and offered else None


def is_prm_fetch(hop: Hop) -> bool:
    return PRM_WELL_KNOWN in path(hop.url)


def is_as_metadata_fetch(hop: Hop) -> bool:
    where = path(hop.url)
    return any(suffix in where for suffix in AS_WELL_KNOWN)


def json_document(hop: Hop) -> dict | None:
    """The hop's response as a JSON object when it is a 200 answered with one."""
    if hop.status != 200:
        return None
    document = hop.resp_json()
    return document if isinstance(document, dict) else None


def challenge_params(hop: Hop, scheme: str = "bearer") -> dict[str, str] | None:
    """The auth-params of the response's `WWW-Authenticate: <scheme> …` challenge; None when there is none."""
    found = _challenges_by_scheme(hop).get(scheme)
    return dict(found) if found is not None else None  # a copy: the parsed headers stay as they were


def _challenges_by_scheme(hop: Hop) -> dict[str, dict[str, str]]:
    """scheme (lower case) -> the auth-params of its first challenge in the response, parsed once per hop."""
    return derived(hop, "challenges", lambda: _parse_challenges(hop), hop.resp_headers)


def _parse_challenges(hop: Hop) -> dict[str, dict[str, str]]:
    by_scheme: dict[str, dict[str, str]] = {}
    for header in every(hop.resp_headers, "www-authenticate", case=False):
        for part in _challenges(header):
            name, _, rest = part.strip().partition(" ")
            if name.lower() not in by_scheme:
                by_scheme[name.lower()] = {key.lower(): _unquote(value) for key, value in _AUTH_PARAM.findall(rest)}
    return by_scheme


def _challenges(header: str) -> list[str]:
    """Split a WWW-Authenticate value holding several challenges (`DPoP …, Bearer …`): an item whose text
    before `=` has a space (or that has no `=`) starts a challenge; the others are its auth-params."""
    challenges: list[list[str]] = []
    for item in _ITEM.findall(header):
        item = item.strip()
        if not item:
            continue
        if "=" not in item or " " in item.split("=", 1)[0].strip() or not challenges:
            challenges.append([item])
        else:
            challenges[-1].append(item)
    return [", ".join(items) for items in challenges]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def resource_metadata_url(hop: Hop) -> str | None:
    params = challenge_params(hop)
    return params.get("resource_metadata") or None if params else None


def bearer_token(hop: Hop) -> str | None:
    """The access token an `Authorization: Bearer` (or DPoP) header carried."""
    scheme, _, token = (hop.req_header("authorization") or "").partition(" ")
    if scheme.lower() in ("bearer", "dpop") and token.strip():
        return token.strip()
    return None


def issued_access_tokens(exchange: Exchange) -> list[tuple[Hop, str]]:
    """(token or refresh hop, access token) for every access token the provider issued in this exchange."""
    issued = []
    for hop in exchange.tokens + exchange.refreshes:
        if hop.status != 200:
            continue
        value = (token_fields(hop) or {}).get("access_token")
        if isinstance(value, str) and value:
            issued.append((hop, value))
    return issued


def well_known_resource(url: str) -> str | None:
    """The resource identifier a PRM well-known URL was built from (RFC 9728 §3.1):
    `https://rs/.well-known/oauth-protected-resource/mcp` → `https://rs/mcp`; at the root → `https://rs`."""
    where = path(url)
    if not where.startswith(PRM_WELL_KNOWN):
        return None
    rest = where[len(PRM_WELL_KNOWN):]
    return origin(url) + rest if rest not in ("", "/") else origin(url)


# --- the chain as steps (for reports) -----------------------------------------------------------------------


@dataclass
class ChainStep:
    """One step of the chain as a report shows it: names, paths and statuses only (no values that are secrets)."""

    step: str
    hop: Hop
    detail: str
    also: list[Hop] = field(default_factory=list)  # the step's other hops (the MCP calls after the first)


def chain_steps(exchange: Exchange) -> list[ChainStep]:
    """The exchange's MCP chain in order: what each step did, read from the recorded hops."""
    mcp = chain(exchange)
    steps: list[ChainStep] = []
    for hop in mcp.challenges[:1]:
        where = "resource_metadata named" if resource_metadata_url(hop) else "no resource_metadata"
        steps.append(ChainStep("MCP request without a token", hop, f"{_status(hop)}, {where}"))
    for hop in mcp.resource_metadata:
        document = json_document(hop)
        resource = document.get("resource") if document else None
        steps.append(ChainStep("Protected resource metadata", hop,
                               f"{_status(hop)}" + (f", resource {resource}" if isinstance(resource, str) else "")))
    for hop in mcp.as_metadata:
        document = json_document(hop)
        issuer = document.get("issuer") if document else None
        steps.append(ChainStep("Authorization server metadata", hop,
                               f"{_status(hop)}" + (f", issuer {issuer}" if isinstance(issuer, str) else "")))
    for hop in mcp.client_documents:
        steps.append(ChainStep("Client ID metadata document", hop, _status(hop)))
    for hop in mcp.registrations:
        answer = hop.resp_json()
        issued = isinstance(answer, dict) and bool(answer.get("client_id"))
        steps.append(ChainStep("Dynamic client registration", hop,
                               f"{_status(hop)}, " + ("client_id issued" if issued else "no client_id")))
    if exchange.authorize is not None:
        sent = request_params(exchange.authorize)
        steps.append(ChainStep("Authorization request", exchange.authorize, ", ".join([
            f"PKCE {param(sent, 'code_challenge_method') or ('plain' if param(sent, 'code_challenge') else '∅')}",
            f"resource {'sent' if param(sent, 'resource') else '∅'}", f"state {'sent' if param(sent, 'state') else '∅'}",
        ])))
    if exchange.callback is not None:
        got = callback_params(exchange.callback)
        present = [name for name in ("code", "state", "iss", "error") if param(got, name)]
        steps.append(ChainStep("Callback", exchange.callback, f"{_status(exchange.callback)}, "
                               f"{', '.join(present) or 'no parameters'}"))
    for hop in exchange.tokens:
        sent = body_params(hop)
        steps.append(ChainStep("Token request", hop, ", ".join([
            _status(hop), f"code_verifier {'sent' if param(sent, 'code_verifier') else '∅'}",
            f"resource {'sent' if param(sent, 'resource') else '∅'}"])))
    if mcp.calls:
        calls = ", ".join(_call_detail(hop) for hop in mcp.calls)
        steps.append(ChainStep("MCP calls with the token", mcp.calls[0], calls, mcp.calls[1:]))
    return steps


def _call_detail(hop: Hop) -> str:
    """`POST 200`; a 2026-07-28 call names its method, as its `Mcp-Method` header does (`POST server/discover 200`)."""
    method = hop.req_header("mcp-method")
    return f"{hop.method} {method} {_status(hop)}" if method else f"{hop.method} {_status(hop)}"


def _status(hop: Hop) -> str:
    if hop.status is None:
        return "no answer"
    stream = " event stream" if hop.resp_content_type == "text/event-stream" else ""
    return f"{hop.status}{stream}"
