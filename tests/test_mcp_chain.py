"""Classification and correlation of an MCP connector's login: one exchange from the first 401 to the last MCP
call, and the mcp profile chosen for it."""

from __future__ import annotations

from oauthtrace.analysis.classify import classify
from oauthtrace.analysis.mcp import chain, challenge_params, well_known_resource
from tests.hops import CLIENT_ID, analyze, flow, make_hop, renumber
from tests.mcp_hops import AS, MCP_URL, PRM_URL, RS, mcp_flow


def test_the_whole_chain_is_one_exchange_with_each_part_named():
    hops = mcp_flow()
    report = analyze(hops)
    roles = [(report.roles[h.seq], h.method, h.status) for h in hops]
    assert roles == [
        ("resource", "POST", 401), ("metadata", "GET", 200), ("metadata", "GET", 200), ("registration", "POST", 201),
        ("authorize", "GET", 302), ("login", "GET", 200), ("login", "POST", 302), ("callback", "GET", 200),
        ("token", "POST", 200), ("resource", "POST", 200), ("resource", "POST", 202), ("resource", "GET", 200),
        ("resource", "DELETE", 200),
    ]
    assert len(report.exchanges) == 1
    exchange = report.exchanges[0]
    parts = chain(exchange)
    assert [h.seq for h in parts.challenges] == [1]
    assert [h.url for h in parts.resource_metadata] == [PRM_URL]
    assert [h.seq for h in parts.as_metadata] == [3]
    assert [h.seq for h in parts.registrations] == [4]
    assert [h.method for h in parts.calls] == ["POST", "POST", "GET", "DELETE"]
    assert exchange.authorize is hops.authorize and exchange.tokens == [hops.token]
    assert report.profiles == {1: "mcp"}
    assert report.sides == {"F", "B", "M"}


def test_mcp_calls_without_any_challenge_header_are_still_resource_calls():
    call = make_hop(1, "POST", MCP_URL, json_body={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, status=401)
    stream = make_hop(2, "GET", MCP_URL, req_headers=[("Mcp-Session-Id", "s1")], status=405)
    page = make_hop(3, "POST", f"{RS}/api", json_body={"query": "x"}, status=401)
    assert classify([call, stream, page]) == {1: "resource", 2: "resource", 3: "other"}


def test_a_plain_oauth_flow_keeps_its_profile():
    report = analyze(flow(redirect_uri="https://app.example.com/cb"))
    assert report.profiles == {1: "oauth2"}


def test_a_client_id_metadata_document_is_metadata_of_the_flow_that_uses_it():
    client_id = "https://app.example.com/oauth/client.json"
    document = make_hop(1, "GET", client_id, started=1001.0,
                        resp_json={"client_id": client_id, "redirect_uris": ["https://app.example.com/cb"]})
    hops = renumber([document, *flow(client_id=client_id, redirect_uri="https://app.example.com/cb")])
    report = analyze(hops)
    assert report.roles[document.seq] == "metadata"
    assert len(report.exchanges) == 1 and document in report.exchanges[0].metadata
    assert chain(report.exchanges[0]).client_documents == [document]


def test_a_pushed_request_joins_the_authorization_request_that_used_its_request_uri():
    par = make_hop(1, "POST", f"{AS}/par", started=999.0, listener="reverse:x",
                   form=[("client_id", CLIENT_ID), ("response_type", "code"), ("state", "s" * 20)],
                   status=201, resp_json={"request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60})
    hops = renumber([par, *flow(authorize_url=f"{AS}/authorize?client_id={CLIENT_ID}"
                                f"&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aabc", provider=AS)])
    report = analyze(hops)
    assert len(report.exchanges) == 1
    assert report.exchanges[0].pushed == [par]


def test_a_refused_pushed_request_is_not_mistaken_for_an_authorization_request():
    par = make_hop(1, "POST", f"{AS}/par", form=[("client_id", CLIENT_ID), ("response_type", "code")],
                   status=400, resp_json={"error": "invalid_request"})
    report = analyze([par])
    assert report.roles == {1: "other"}
    assert report.exchanges[0].pushed == [par] and report.exchanges[0].authorize is None


def test_challenge_parsing_reads_each_scheme_and_quoted_commas():
    hop = make_hop(1, "POST", MCP_URL, status=401, resp_headers=[(
        "WWW-Authenticate", 'DPoP algs="ES256", Bearer error="invalid_token", scope="a, b", '
        f'resource_metadata="{PRM_URL}"')])
    assert challenge_params(hop) == {"error": "invalid_token", "scope": "a, b", "resource_metadata": PRM_URL}
    assert challenge_params(hop, "dpop") == {"algs": "ES256"}
    assert challenge_params(make_hop(2, "GET", MCP_URL, status=401)) is None


def test_well_known_resource_inverts_path_insertion():
    assert well_known_resource(PRM_URL) == MCP_URL
    assert well_known_resource(f"{RS}/.well-known/oauth-protected-resource") == RS
    assert well_known_resource(f"{RS}/mcp") is None


def test_the_swimlane_draws_the_resource_server_lane():
    from oauthtrace.tui.lanes import BROWSER, CLIENT, PROVIDER, RESOURCE, lanes_for, parties

    report = analyze(mcp_flow())
    exchange = report.exchanges[0]
    who = parties(exchange, report.roles)
    assert lanes_for(exchange, report.roles) == [BROWSER, CLIENT, PROVIDER, RESOURCE]
    assert who[1] == (CLIENT, RESOURCE)  # the unauthenticated MCP request and its 401
    assert who[2] == (CLIENT, RESOURCE)  # protected resource metadata comes from the resource server
    assert who[4] == (CLIENT, PROVIDER)  # registration
    assert [who[hop.seq] for hop in exchange.hops[-4:]] == [(CLIENT, RESOURCE)] * 4


def test_the_report_section_walks_the_chain_and_marks_findings():
    from oauthtrace.exporters.mcp_markdown import chain_section

    report = analyze(mcp_flow(authorize_resource=None, token_resource=None, calls=[("POST", 200), ("POST", 403)]))
    section = chain_section(report.exchanges[0], report.findings)
    rows = [line for line in section.splitlines() if line.startswith("| ") and "#" in line]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == [
        "MCP request without a token", "Protected resource metadata", "Authorization server metadata",
        "Dynamic client registration", "Authorization request", "Callback", "Token request",
        "MCP calls with the token"]
    assert "resource ∅" in rows[4] and "❌ `resource-missing`" in rows[4]
    assert "POST 200 event stream, POST 403" in rows[7]
    assert "code=" not in section and "Bearer" not in section, "paths and statuses only"
    assert chain_section(analyze(flow()).exchanges[0]) == ""


def test_metadata_under_a_path_is_recognised_in_every_discovery_form():
    urls = [f"{RS}/.well-known/oauth-protected-resource/tenant/mcp",  # RFC 9728, path-suffixed
            f"{AS}/.well-known/oauth-authorization-server/tenant1",  # RFC 8414 path insertion
            f"{AS}/.well-known/openid-configuration/tenant1",  # OIDC path insertion (MCP's second try)
            f"{AS}/tenant1/.well-known/openid-configuration"]  # OIDC path appending
    hops = [make_hop(n, "GET", url, resp_json={"issuer": AS}) for n, url in enumerate(urls, start=1)]
    assert set(classify(hops).values()) == {"metadata"}
    report = analyze(hops)
    parts = chain(report.exchanges[0])
    assert [h.seq for h in parts.resource_metadata] == [1] and [h.seq for h in parts.as_metadata] == [2, 3, 4]
