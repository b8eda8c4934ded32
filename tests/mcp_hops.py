"""Hand-made hops of an MCP connector's login (MCP authorization 2025-11-25), with knobs to break it.

    mcp_flow()                                   # the good chain, 13 hops
    mcp_flow(challenge=BEARER_ONLY)              # the 401 names no resource_metadata
    mcp_flow(prm={"resource": OTHER, ...})       # protected resource metadata for another resource
    mcp_flow(calls=[("POST", 403)])              # the RS refuses the fresh token

The chain: MCP POST without a token → 401 → PRM → AS metadata → DCR → /authorize (PKCE S256, resource) → login
→ callback → token (code_verifier, resource) → MCP calls with the token (initialize, a 202 notification, the GET
event stream, the DELETE that ends the session). The connector's server calls go through a reverse listener.
"""

from __future__ import annotations

from tests.hops import NO_STORE, ECHO, CLIENT_ID, Flow, _pick, flow, make_hop, renumber

RS = "https://mcp.example.com"
MCP_URL = f"{RS}/mcp"
AS = "https://auth.example.com"
PRM_URL = f"{RS}/.well-known/oauth-protected-resource/mcp"
CALLBACK = "https://claude.ai/api/mcp/auth_callback"
BACK = "reverse:https://mcp.example.com@8082"
ACCESS_TOKEN = "at-1f2e3d4c5b6a79880"  # tests.hops' token response
CHALLENGE = f'Bearer resource_metadata="{PRM_URL}"'
BEARER_ONLY = 'Bearer realm="mcp"'
MISSING = object()  # knob value: leave the hop out

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "connector"}}}
SESSION = [("Mcp-Session-Id", "sess-1"), ("Mcp-Protocol-Version", "2025-11-25")]


def good_prm(**overrides) -> dict:
    doc = {"resource": MCP_URL, "authorization_servers": [AS], "scopes_supported": ["mcp"],
           "bearer_methods_supported": ["header"]}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def good_as_metadata(**overrides) -> dict:
    doc = {"issuer": AS, "authorization_endpoint": f"{AS}/authorize", "token_endpoint": f"{AS}/token",
           "registration_endpoint": f"{AS}/register", "response_types_supported": ["code"],
           "grant_types_supported": ["authorization_code", "refresh_token"],
           "code_challenge_methods_supported": ["S256"], "token_endpoint_auth_methods_supported": ["none"]}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def registration_request(**overrides) -> dict:
    doc = {"redirect_uris": [CALLBACK], "client_name": "Connector", "grant_types": ["authorization_code",
           "refresh_token"], "response_types": ["code"], "token_endpoint_auth_method": "none"}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def mcp_flow(
    *,
    t0: float = 1000.0,
    challenge=CHALLENGE,
    challenge_status: int = 401,
    prm=ECHO,
    prm_url: str = PRM_URL,
    prm_status: int = 200,
    prm_content_type: str = "application/json",
    as_metadata=ECHO,
    as_metadata_url: str = f"{AS}/.well-known/oauth-authorization-server",
    as_metadata_status: int = 200,
    register=ECHO,
    registration_response=ECHO,
    registration_status: int = 201,
    client_id: str = CLIENT_ID,
    authorize: bool = True,
    authorize_resource=ECHO,
    token_resource=ECHO,
    back_channel: bool = True,
    token_status: int = 200,
    calls=ECHO,
    call_delay: float = 0.3,
    back_listener: str = BACK,
    redirect_uri: str = CALLBACK,
    **flow_knobs,
) -> Flow:
    """The whole chain as the recorder stores it; knobs at ECHO give the good flow, MISSING leaves a hop out."""
    hops: list = []
    t = t0

    def back(method, url, **kwargs):
        nonlocal t
        t += 0.1
        return make_hop(0, method, url, started=t, listener=back_listener, **kwargs)

    if challenge is not MISSING:
        headers = [("WWW-Authenticate", challenge)] if challenge else []
        hops.append(back("POST", MCP_URL, json_body=INITIALIZE, status=challenge_status, resp_headers=headers,
                         resp_json={"error": "invalid_token"}))
    if prm is not MISSING:
        document = _pick(prm, good_prm())
        if isinstance(document, dict):
            hops.append(back("GET", prm_url, status=prm_status, resp_json=document, content_type=prm_content_type))
        else:
            hops.append(back("GET", prm_url, status=prm_status, resp_body=document or "Not Found",
                             content_type="text/plain"))
    if as_metadata is not MISSING:
        document = _pick(as_metadata, good_as_metadata())
        if isinstance(document, dict):
            hops.append(back("GET", as_metadata_url, status=as_metadata_status, resp_json=document))
        else:
            hops.append(back("GET", as_metadata_url, status=as_metadata_status,
                             resp_body=document or "<html>Not found</html>", content_type="text/html"))
    if register is not MISSING:
        request = _pick(register, registration_request(redirect_uris=[redirect_uri]))
        answer = _pick(registration_response, {**request, "client_id": client_id,
                                               "client_id_issued_at": 1700000000})
        hops.append(back("POST", f"{AS}/register", json_body=request, status=registration_status, resp_json=answer))
    if authorize:
        resource = _pick(authorize_resource, MCP_URL)
        extra_authorize = [("resource", resource)] if resource else []
        resource = _pick(token_resource, MCP_URL)
        extra_token = [("resource", resource)] if resource else []
        oauth = flow(t0=t + 1.0, provider=AS, client_id=client_id, redirect_uri=redirect_uri, scope="mcp", pkce=True,
                     client_auth="none", extra_authorize=extra_authorize, extra_token=extra_token,
                     token_headers=NO_STORE, back_listener=back_listener, back_channel=back_channel,
                     token_status=token_status, **flow_knobs)
        hops += oauth
        t = max(h.ended or h.started for h in oauth)
    else:
        oauth = Flow()
    if authorize and back_channel:
        t += call_delay - 0.1
        for method, status in _pick(calls, [("POST", 200), ("POST", 202), ("GET", 200), ("DELETE", 200)]):
            hops.append(_call(back, method, status))
    result = Flow(renumber(hops))
    for name in ("authorize", "login_page", "login_post", "authz_response", "callback", "token"):
        setattr(result, name, getattr(oauth, name, None))
    return result


def _call(back, method: str, status: int, token: str = ACCESS_TOKEN):
    auth = [("Authorization", f"Bearer {token}")]
    if method == "POST" and status == 202:
        return back("POST", MCP_URL, json_body={"jsonrpc": "2.0", "method": "notifications/initialized"},
                    req_headers=auth + SESSION, status=202, resp_body=b"")
    if method == "POST":
        headers = [] if status < 400 else [("WWW-Authenticate", 'Bearer error="invalid_token"')]
        body = ('event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25"}}\n\n'
                if status < 400 else '{"error":"invalid_token"}')
        return back("POST", MCP_URL, json_body=INITIALIZE, req_headers=auth, status=status, resp_headers=headers,
                    resp_body=body, content_type="text/event-stream" if status < 400 else "application/json")
    if method == "GET":
        return back("GET", MCP_URL, req_headers=auth + SESSION + [("Accept", "text/event-stream")], status=status,
                    resp_body=": stream\n\n", content_type="text/event-stream")
    return back(method, MCP_URL, req_headers=auth + SESSION, status=status, resp_body=b"")


def by_path(hops, fragment: str):
    """The first hop whose URL contains `fragment`."""
    return next(hop for hop in hops if fragment in hop.url)
