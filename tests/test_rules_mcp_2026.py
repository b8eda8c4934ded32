"""The MCP authorization checks of revision 2026-07-28 a recording can see, each where it fires and where it stays
quiet. The revision's text: docs/specification/2026-07-28/basic/authorization/{index,client-registration,
security-considerations}.mdx and changelog.mdx in modelcontextprotocol/modelcontextprotocol
(https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization)."""

from __future__ import annotations


from tests.hops import NO_STORE, analyze, findings, flow, make_hop, renumber, sequential
from oauthtrace.analysis.mcp import chain
from tests.mcp_hops import (
    ACCESS_TOKEN, AS, BACK, CALLBACK, MCP_URL, MISSING, PRM_URL, by_path, good_as_metadata, good_prm, mcp_flow,
    registration_request,
)

CIMD_CLIENT = "https://app.example.com/oauth/client-metadata.json"  # the revision's own example URL
AS_B = "https://login.other-idp.example"
REVISION = "2026-07-28"


def discover(t: float, *, token: str | None = None, status: int = 200):
    """A 2026-07-28 request: server/discover, the version in _meta, the Mcp-Method header (changelog: major 2, 3;
    minor 4)."""
    headers = [("Mcp-Method", "server/discover"), ("Accept", "application/json, text/event-stream")]
    if token:
        headers.append(("Authorization", f"Bearer {token}"))
    body = {"jsonrpc": "2.0", "id": 1, "method": "server/discover",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": REVISION,
                                 "io.modelcontextprotocol/clientInfo": {"name": "connector"}}}}
    answer = ([("WWW-Authenticate", f'Bearer resource_metadata="{PRM_URL}"')] if status == 401 else [])
    return make_hop(0, "POST", MCP_URL, started=t, listener=BACK, json_body=body, req_headers=headers,
                    status=status, resp_headers=answer,
                    resp_json={"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete",
                                                                     "supportedVersions": [REVISION]}}
                    if status == 200 else {"error": "invalid_token"})


def stateless(hops) -> list:
    """The same chain spoken in 2026-07-28: the first request and the call with the token are server/discover."""
    first, last = hops[0].started - 0.05, max(hop.ended or hop.started for hop in hops) + 0.2
    return renumber([*hops, discover(first, status=401), discover(last, token=ACCESS_TOKEN)])


def cimd_login(**metadata) -> list:
    """A client ID metadata document login of a public client: no registration, an HTTPS client_id URL, PKCE S256,
    `resource`, no client authentication at the token endpoint."""
    document = good_as_metadata(client_id_metadata_document_supported=True, **metadata)
    return stateless(mcp_flow(challenge=MISSING, calls=[], register=MISSING, as_metadata=document,
                              client_id=CIMD_CLIENT))


# --- a metadata-document login is recognised and clean ---------------------------------------------------------


def client_document(t: float):
    """The provider fetching the client's metadata document (the revision's example document, with this client's
    callback): recorded when the provider's outbound calls go through the recorder."""
    document = {"client_id": CIMD_CLIENT, "client_name": "Example MCP Client", "client_uri": "https://app.example.com",
                "redirect_uris": [CALLBACK], "grant_types": ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "none"}
    return make_hop(0, "GET", CIMD_CLIENT, started=t, listener=BACK, resp_json=document)


def test_a_client_id_metadata_document_login_of_a_public_client_is_recognised_and_clean():
    hops = cimd_login()
    report = analyze(hops)
    [exchange] = report.exchanges
    assert exchange.authorize is not None and exchange.callback is not None and exchange.tokens
    assert not exchange.registrations
    assert report.profiles == {1: "mcp"}
    assert [(f.rule, f.severity) for f in report.findings] == []


def test_the_providers_fetch_of_the_document_is_recognised_and_clean():
    hops = cimd_login()
    authorize = next(hop for hop in hops if hop.url.startswith(f"{AS}/authorize"))
    hops = renumber([*hops, client_document(authorize.started + 0.01)])
    report = analyze(hops)
    [exchange] = report.exchanges
    assert [hop.url for hop in chain(exchange).client_documents] == [CIMD_CLIENT]
    assert report.findings == []


# --- dcr-despite-cimd -----------------------------------------------------------------------------------------


def test_registering_dynamically_although_the_provider_takes_metadata_documents_is_information():
    hops = mcp_flow(as_metadata=good_as_metadata(client_id_metadata_document_supported=True))
    [finding] = findings(hops, "dcr-despite-cimd")
    assert (finding.hop, finding.severity, finding.blame) == (by_path(hops, "/register").seq, "info", "C")
    assert finding.evidence["issuer"] == AS and "deprecated" in finding.message


def test_registering_dynamically_where_metadata_documents_are_not_offered_is_quiet():
    assert findings(mcp_flow(), "dcr-despite-cimd") == []
    assert findings(cimd_login(), "dcr-despite-cimd") == []


# --- cimd-public-auth-missing (Claude) ------------------------------------------------------------------------


def test_metadata_documents_offered_without_auth_method_none_is_named_with_claudes_words():
    hops = mcp_flow(as_metadata=good_as_metadata(client_id_metadata_document_supported=True,
                                                 token_endpoint_auth_methods_supported=["client_secret_basic"]),
                    authorize=False)
    [finding] = findings(hops, "cimd-public-auth-missing")
    assert finding.hop == by_path(hops, "oauth-authorization-server").seq
    assert (finding.severity, finding.blame) == ("warning", "AS")  # the mcp profile: a connector's flow
    assert "none" in finding.message
    [plain] = findings(hops, "cimd-public-auth-missing", profile="oauth2")
    assert plain.severity == "info"


def test_an_absent_auth_methods_list_means_client_secret_basic():
    hops = mcp_flow(as_metadata=good_as_metadata(client_id_metadata_document_supported=True,
                                                 token_endpoint_auth_methods_supported=None), authorize=False)
    [finding] = findings(hops, "cimd-public-auth-missing")
    assert "client_secret_basic" in finding.message


def test_auth_method_none_listed_is_quiet():
    assert findings(cimd_login(), "cimd-public-auth-missing") == []


# --- registration-application-type (SEP-837) --------------------------------------------------------------------


def test_a_2026_client_registering_without_application_type_is_warned():
    hops = stateless(mcp_flow(challenge=MISSING, calls=[]))
    [finding] = findings(hops, "registration-application-type")
    assert (finding.hop, finding.severity, finding.blame) == (by_path(hops, "/register").seq, "warning", "C")
    assert finding.evidence == {"application_type": None, "expected": "web", "redirect_uris": [CALLBACK]}


def test_a_2026_client_registering_with_its_application_type_is_quiet():
    hops = stateless(mcp_flow(challenge=MISSING, calls=[], register=registration_request(application_type="web")))
    assert findings(hops, "registration-application-type") == []


def test_a_loopback_redirect_registered_as_web_is_information():
    local = "http://127.0.0.1:33418/callback"
    hops = stateless(mcp_flow(challenge=MISSING, calls=[], redirect_uri=local,
                              register=registration_request(redirect_uris=[local], application_type="web")))
    [finding] = findings(hops, "registration-application-type")
    assert finding.severity == "info" and finding.evidence["expected"] == "native"


def test_a_2025_11_25_client_is_not_held_to_application_type():
    """The recordings' connectors speak 2025-11-25 (initialize): the requirement is the new revision's."""
    assert findings(mcp_flow(), "registration-application-type") == []


# --- client-id-other-issuer (SEP-2352) --------------------------------------------------------------------------


def _registered_at_a_then_used_at_b(client_id: str = "dcr-7f3a9c") -> list:
    at_a = mcp_flow(authorize=False, client_id=client_id)
    b_metadata = make_hop(0, "GET", f"{AS_B}/.well-known/oauth-authorization-server", listener=BACK,
                          resp_json=good_as_metadata(issuer=AS_B, authorization_endpoint=f"{AS_B}/authorize",
                                                     token_endpoint=f"{AS_B}/token", registration_endpoint=None))
    at_b = flow(provider=AS_B, client_id=client_id, redirect_uri=CALLBACK, scope="mcp", pkce=True,
                client_auth="none", extra_authorize=[("resource", MCP_URL)], extra_token=[("resource", MCP_URL)],
                token_headers=NO_STORE, back_listener=BACK)
    return sequential(at_a, [b_metadata, *at_b])


def test_a_client_id_registered_at_one_server_and_sent_to_another_is_an_error():
    hops = _registered_at_a_then_used_at_b()
    [finding] = findings(hops, "client-id-other-issuer")
    authorize = next(hop for hop in hops if hop.url.startswith(f"{AS_B}/authorize"))
    assert (finding.hop, finding.severity, finding.blame) == (authorize.seq, "error", "C")
    assert (finding.evidence["registered_at"], finding.evidence["used_at"]) == (AS, AS_B)


def test_a_client_id_used_where_it_was_registered_is_quiet():
    assert findings(mcp_flow(), "client-id-other-issuer") == []


def test_a_metadata_document_url_is_portable_across_servers():
    """"Client IDs based on Client ID Metadata Documents are portable across authorization servers"."""
    hops = _registered_at_a_then_used_at_b(client_id=CIMD_CLIENT)
    assert findings(hops, "client-id-other-issuer") == []


# --- challenge-offline-access -------------------------------------------------------------------------------


def _insufficient_scope(t: float, scope: str):
    challenge = (f'Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{PRM_URL}", '
                 'error_description="File write permission required for this operation"')
    return make_hop(0, "POST", MCP_URL, started=t, listener=BACK,
                    json_body={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "write"}},
                    req_headers=[("Authorization", f"Bearer {ACCESS_TOKEN}")], status=403,
                    resp_headers=[("WWW-Authenticate", challenge)], resp_json={"error": "insufficient_scope"})


def with_challenge(scope: str) -> list:
    hops = mcp_flow()
    return renumber([*hops, _insufficient_scope(max(hop.started for hop in hops) + 0.2, scope)])


def test_offline_access_in_a_scope_challenge_is_the_resource_servers_warning():
    hops = with_challenge("files:write offline_access")
    [finding] = findings(hops, "challenge-offline-access")
    assert (finding.hop, finding.severity, finding.blame) == (hops[-1].seq, "warning", "RS")
    assert finding.evidence["where"] == "WWW-Authenticate"


def test_offline_access_in_scopes_supported_is_named_at_the_prm():
    hops = mcp_flow(prm=good_prm(scopes_supported=["mcp", "offline_access"]))
    [finding] = findings(hops, "challenge-offline-access")
    assert finding.hop == by_path(hops, "oauth-protected-resource").seq
    assert finding.evidence["where"] == "scopes_supported"


def test_a_challenge_without_offline_access_is_quiet():
    assert findings(with_challenge("files:write"), "challenge-offline-access") == []


# --- step-up-scope-lost ----------------------------------------------------------------------------------------


def step_up(scope: str) -> list:
    """The login, a 403 insufficient_scope for files:write, then a second authorization asking for `scope`."""
    first = with_challenge("files:write")
    again = flow(t0=max(hop.started for hop in first) + 30, provider=AS, client_id="plugin-client",
                 redirect_uri=CALLBACK, scope=scope, pkce=True, client_auth="none", state="b8Kq2mWz7Vt4Rn1Yp6Lx3Hc9",
                 code="Zq7R4pLm2Vx9Kt3Nw8Hs1", extra_authorize=[("resource", MCP_URL)],
                 extra_token=[("resource", MCP_URL)], token_headers=NO_STORE, back_listener=BACK,
                 token_json={"access_token": "at-step-up-5e6f7a8b9c", "token_type": "Bearer", "expires_in": 3600})
    return renumber([*first, *again])


def test_a_step_up_that_drops_the_earlier_scope_is_warned():
    hops = step_up("files:write")
    [finding] = findings(hops, "step-up-scope-lost")
    second = [hop for hop in hops if hop.url.startswith(f"{AS}/authorize")][-1]
    assert (finding.hop, finding.severity, finding.blame) == (second.seq, "warning", "C")
    assert finding.evidence["missing_previous"] == ["mcp"] and finding.evidence["missing_challenged"] == []


def test_a_step_up_that_ignores_the_challenge_is_warned():
    [finding] = findings(step_up("mcp"), "step-up-scope-lost")
    assert finding.evidence["missing_challenged"] == ["files:write"]


def test_a_step_up_asking_for_the_union_is_quiet():
    assert findings(step_up("mcp files:write"), "step-up-scope-lost") == []
    assert findings(mcp_flow(), "step-up-scope-lost") == []


# --- invalid-client-not-401 (Claude) ----------------------------------------------------------------------------


def test_invalid_client_answered_with_400_is_information_naming_claude():
    hops = mcp_flow(token_status=400, token_json={"error": "invalid_client"}, calls=[])
    [finding] = findings(hops, "invalid-client-not-401")
    assert (finding.severity, finding.blame) == ("info", "AS") and "Claude" in finding.message


def test_invalid_client_answered_with_401_is_quiet():
    hops = mcp_flow(token_status=401, token_json={"error": "invalid_client"}, calls=[])
    assert findings(hops, "invalid-client-not-401") == []


def test_a_later_login_after_a_step_up_is_not_held_to_the_old_challenge():
    """Once an authorization answered the challenge, a later one is a new login, not a step-up."""
    hops = step_up("mcp files:write")
    later = flow(t0=max(hop.started for hop in hops) + 600, provider=AS, client_id="plugin-client",
                 redirect_uri=CALLBACK, scope="mcp", pkce=True, client_auth="none", state="Wm3Rt8Kq1Zx5Vb7Np2Lc9Hd4",
                 code="Hc5Tn2Wq8Lm4Rz7Kx1Vb3", extra_authorize=[("resource", MCP_URL)],
                 extra_token=[("resource", MCP_URL)], token_headers=NO_STORE, back_listener=BACK,
                 token_json={"access_token": "at-later-0d1e2f3a4b", "token_type": "Bearer", "expires_in": 3600})
    assert findings(renumber([*hops, *later]), "step-up-scope-lost") == []


def test_outside_mcp_a_scope_challenge_is_left_to_rfc_6750():
    """A plain API (no MCP call, no protected resource metadata) may name any scope in its challenge."""
    login = flow(redirect_uri="https://client.test/cb", pkce=True)
    api = make_hop(0, "GET", "https://api.example.com/v1/files", started=max(h.started for h in login) + 1,
                   listener=login[-1].listener, req_headers=[("Authorization", "Bearer at-1f2e3d4c5b6a79880")],
                   status=403, resp_headers=[("WWW-Authenticate",
                                              'Bearer error="insufficient_scope", scope="files offline_access"')])
    hops = renumber([*login, api])
    assert analyze(hops).exchanges[0].resources  # the call is filed with the login it used the token of
    assert findings(hops, "challenge-offline-access") == []
