"""Family M: discovery, registration, resource indicators and bearer usage. For every rule, a chain where it
fires (the hop at fault and the key evidence) and the same chain done right, where it does not."""

from __future__ import annotations

import base64
import json

from tests.hops import findings, make_hop, renumber
from tests.mcp_hops import (
    AS, BEARER_ONLY, CALLBACK, MCP_URL, MISSING, PRM_URL, RS, by_path, good_as_metadata, good_prm, mcp_flow,
    registration_request,
)

STOPPED = dict(authorize=False, as_metadata=MISSING, register=MISSING)  # the client gave up after discovery


def only(hops, rule, **kwargs):
    return findings(hops, rule, **kwargs)


def test_good_chain_has_no_findings_at_all():
    assert findings(mcp_flow()) == []


# --- mcp-401-no-resource-metadata -------------------------------------------------------------------------


def test_401_without_resource_metadata_and_no_prm_is_the_resource_servers_error():
    hops = mcp_flow(challenge=BEARER_ONLY, prm="Not Found", prm_status=404, **STOPPED)
    [finding] = only(hops, "mcp-401-no-resource-metadata")
    assert (finding.hop, finding.severity, finding.blame) == (1, "error", "RS")
    assert finding.evidence["www_authenticate"] == BEARER_ONLY
    assert "404" in finding.message and "no resource_metadata" in finding.message


def test_401_without_resource_metadata_is_fine_when_the_well_known_prm_answers():
    assert only(mcp_flow(challenge=BEARER_ONLY), "mcp-401-no-resource-metadata") == []


def test_a_401_without_any_challenge_header_and_no_prm_is_reported_once():
    hops = mcp_flow(challenge="", prm="Not Found", prm_status=404, **STOPPED)
    assert [f.rule for f in findings(hops)] == ["mcp-401-no-resource-metadata"]


def test_without_any_metadata_fetch_the_rule_is_not_evaluated():
    from tests.hops import analyze

    report = analyze(mcp_flow(challenge="", prm=MISSING, **STOPPED))
    assert report.findings == []
    assert ("mcp-401-no-resource-metadata", "no metadata capture") in [
        (n.rule, n.reason) for n in report.not_evaluated]


# --- prm-invalid ------------------------------------------------------------------------------------------


def test_the_advertised_prm_url_answering_404_is_invalid():
    hops = mcp_flow(prm="Not Found", prm_status=404, **STOPPED)
    [finding] = only(hops, "prm-invalid")
    assert finding.hop == by_path(hops, "oauth-protected-resource").seq
    assert finding.evidence["advertised"] is True and finding.evidence["status"] == 404


def test_prm_without_authorization_servers_is_invalid():
    hops = mcp_flow(prm=good_prm(authorization_servers=[]), **STOPPED)
    [finding] = only(hops, "prm-invalid")
    assert "authorization_servers" in finding.message and finding.blame == "RS"


def test_a_failed_probe_followed_by_the_root_prm_is_normal_discovery():
    hops = mcp_flow(challenge=BEARER_ONLY, prm_url=f"{RS}/.well-known/oauth-protected-resource",
                    prm=good_prm(resource=RS))
    probe = make_hop(0, "GET", PRM_URL, started=1000.15, status=404, resp_body="Not Found",
                     content_type="text/plain", listener=hops[0].listener)
    hops = renumber([*hops, probe])
    assert only(hops, "prm-invalid") == []
    assert only(hops, "prm-resource-mismatch") == []


# --- prm-resource-mismatch --------------------------------------------------------------------------------


def test_prm_naming_another_resource_is_an_error():
    hops = mcp_flow(prm=good_prm(resource="https://mcp.internal:8443/mcp"))
    [finding] = only(hops, "prm-resource-mismatch")
    assert finding.severity == "error" and finding.hop == 2
    assert finding.evidence["resource"] == "https://mcp.internal:8443/mcp"
    assert finding.evidence["expected"] == MCP_URL


def test_prm_resource_with_only_a_trailing_slash_more_is_a_warning():
    [finding] = only(mcp_flow(prm=good_prm(resource=MCP_URL + "/")), "prm-resource-mismatch")
    assert finding.severity == "warning" and finding.evidence["difference"] == "trailing slash"


def test_prm_resource_identical_to_the_mcp_url_is_fine():
    assert only(mcp_flow(prm=good_prm(resource=MCP_URL)), "prm-resource-mismatch") == []


# --- as-metadata-invalid ----------------------------------------------------------------------------------


def test_as_metadata_without_required_fields_is_invalid():
    hops = mcp_flow(as_metadata=good_as_metadata(response_types_supported=None))
    [finding] = only(hops, "as-metadata-invalid")
    assert finding.hop == 3 and finding.evidence["missing"] == ["response_types_supported"]


def test_as_metadata_served_as_html_is_invalid():
    hops = mcp_flow(as_metadata="<html>Sign in</html>", authorize=False, register=MISSING)
    [finding] = only(hops, "as-metadata-invalid")
    assert finding.evidence["content_type"] == "text/html" and finding.blame == "AS"


def test_a_client_that_guessed_the_endpoints_is_blamed():
    hops = mcp_flow(as_metadata=good_as_metadata(authorization_endpoint=f"{AS}/oauth2/authorize",
                                                 token_endpoint=f"{AS}/oauth2/token"))
    found = only(hops, "as-metadata-invalid")
    assert [(f.hop, f.blame) for f in found] == [(hops.authorize.seq, "C"), (hops.token.seq, "C")]


def test_oidc_probe_404_then_rfc8414_metadata_is_normal():
    hops = mcp_flow()
    probe = make_hop(0, "GET", f"{AS}/.well-known/openid-configuration", started=1000.25, status=404,
                     resp_body="nope", content_type="text/plain", listener=hops[0].listener)
    assert only(renumber([*hops, probe]), "as-metadata-invalid") == []


# --- registration-unavailable -----------------------------------------------------------------------------


def test_no_registration_endpoint_stops_a_connector():
    hops = mcp_flow(as_metadata=good_as_metadata(registration_endpoint=None), authorize=False, register=MISSING)
    [finding] = only(hops, "registration-unavailable")
    assert finding.hop == 3 and finding.blame == "AS"


def test_registration_demanding_credentials_is_unavailable():
    hops = mcp_flow(registration_status=401, registration_response={"error": "invalid_token"}, authorize=False)
    [finding] = only(hops, "registration-unavailable")
    assert finding.hop == 4 and finding.evidence["status"] == 401
    assert only(hops, "dcr-rejected") == []


def test_a_pre_registered_connector_needs_no_registration_endpoint():
    hops = mcp_flow(as_metadata=good_as_metadata(registration_endpoint=None), register=MISSING)
    assert only(hops, "registration-unavailable") == []


# --- dcr-rejected -----------------------------------------------------------------------------------------


def test_registration_rejecting_the_redirect_uri():
    local = "http://127.0.0.1:5000/connector/oauth/abc"
    hops = mcp_flow(register=registration_request(redirect_uris=[local]), registration_status=400,
                    registration_response={"error": "invalid_redirect_uri",
                                           "error_description": "redirect_uri not allowed"}, authorize=False)
    [finding] = only(hops, "dcr-rejected")
    assert finding.hop == 4 and finding.evidence["error"] == "invalid_redirect_uri"
    assert local in finding.message


def test_a_known_clients_callback_rejected_is_left_to_redirect_uri_rejected():
    hops = mcp_flow(registration_status=400, registration_response={"error": "invalid_redirect_uri"},
                    authorize=False)
    assert only(hops, "dcr-rejected") == []
    assert [f.hop for f in only(hops, "redirect-uri-rejected")] == [4]


def test_registration_answered_200_is_a_warning_and_201_is_fine():
    [finding] = only(mcp_flow(registration_status=200), "dcr-rejected")
    assert finding.severity == "warning"
    assert only(mcp_flow(registration_status=201), "dcr-rejected") == []


# --- dcr-metadata-replaced --------------------------------------------------------------------------------


def test_registration_replacing_the_auth_method_is_shown():
    answer = {**registration_request(token_endpoint_auth_method="client_secret_basic"), "client_id": "c-1",
              "client_secret": "x" * 20}
    [finding] = only(mcp_flow(registration_response=answer, client_id="c-1"), "dcr-metadata-replaced")
    assert finding.severity == "info"
    assert finding.evidence["changed"] == {"token_endpoint_auth_method": {"requested": "none",
                                                                          "registered": "client_secret_basic"}}


def test_registration_echoing_the_request_replaces_nothing():
    assert only(mcp_flow(), "dcr-metadata-replaced") == []


# --- cimd-mismatch ----------------------------------------------------------------------------------------


CIMD = "https://connector.example.com/oauth/client-metadata.json"


def _with_document(document: dict, **kwargs):
    hops = mcp_flow(client_id=CIMD, register=MISSING, **kwargs)
    fetch = make_hop(0, "GET", CIMD, started=hops.authorize.started + 0.05, resp_json=document,
                     listener="reverse:https://auth.example.com@8081")
    return renumber([*hops, fetch]), fetch


def test_document_with_another_client_id_is_a_mismatch():
    hops, fetch = _with_document({"client_id": CIMD + "?v=2", "redirect_uris": [CALLBACK]})
    [finding] = only(hops, "cimd-mismatch")
    assert finding.hop == fetch.seq and finding.blame == "C"
    assert finding.evidence["document_client_id"] == CIMD + "?v=2"


def test_redirect_uri_missing_from_the_document_but_accepted_blames_the_provider():
    hops, _ = _with_document({"client_id": CIMD, "redirect_uris": ["https://other.example.com/cb"]})
    [finding] = only(hops, "cimd-mismatch")
    assert finding.blame == "AS" and finding.evidence["accepted"] is True


def test_matching_document_is_fine():
    hops, _ = _with_document({"client_id": CIMD, "redirect_uris": [CALLBACK]})
    assert only(hops, "cimd-mismatch") == []


# --- resource-missing -------------------------------------------------------------------------------------


def test_resource_missing_from_authorize_and_token_is_an_error_for_mcp():
    hops = mcp_flow(authorize_resource=None, token_resource=None)
    found = only(hops, "resource-missing")
    assert [(f.hop, f.severity, f.blame) for f in found] == [(hops.authorize.seq, "error", "C"),
                                                             (hops.token.seq, "error", "C")]
    assert found[0].evidence["expected"] == MCP_URL


def test_resource_sent_everywhere_is_fine():
    assert only(mcp_flow(), "resource-missing") == []


def test_a_plain_oauth_flow_is_not_asked_for_resource():
    from tests.hops import flow

    assert only(flow(redirect_uri="https://app.example.com/cb"), "resource-missing") == []


# --- resource-mismatch ------------------------------------------------------------------------------------


def test_token_resource_differing_from_authorize():
    hops = mcp_flow(token_resource=f"{RS}/")
    [finding] = only(hops, "resource-mismatch")
    assert finding.hop == hops.token.seq and finding.evidence["basis"] == "authorize.resource"


def test_authorize_resource_differing_from_prm():
    hops = mcp_flow(authorize_resource=RS, token_resource=RS)
    [finding] = only(hops, "resource-mismatch")
    assert finding.hop == hops.authorize.seq and finding.evidence["expected"] == MCP_URL


def test_resource_with_fragment_and_invalid_target_from_the_provider():
    hops = mcp_flow(authorize_resource=MCP_URL + "#x", token_resource=MCP_URL + "#x", token_status=400,
                    token_json={"error": "invalid_target"}, calls=[])
    found = only(hops, "resource-mismatch")
    assert ("has a fragment", "C") in [(f.evidence.get("problem"), f.blame) for f in found]
    assert ("invalid_target", "AS") in [(f.evidence.get("error"), f.blame) for f in found]


def test_resource_identical_everywhere_is_fine():
    assert only(mcp_flow(), "resource-mismatch") == []


# --- bearer-misuse ----------------------------------------------------------------------------------------


def test_authenticated_call_refused_without_challenge():
    hops = mcp_flow(calls=[("POST", 401)])
    hops[-1].resp_headers = [h for h in hops[-1].resp_headers if h[0] != "WWW-Authenticate"]
    [finding] = only(hops, "bearer-misuse")
    assert finding.hop == hops[-1].seq and finding.blame == "RS" and "WWW-Authenticate = ∅" in finding.message


def test_insufficient_scope_with_401_should_be_403():
    hops = mcp_flow(calls=[("POST", 200), ("POST", 401)])
    hops[-1].resp_headers = [("WWW-Authenticate", 'Bearer error="insufficient_scope", scope="admin"')]
    [finding] = only(hops, "bearer-misuse")
    assert finding.severity == "warning" and finding.evidence["error"] == "insufficient_scope"


def _jwt(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'at+jwt'})}.{part(claims)}.c2ln"


def _with_token(token: str):
    hops = mcp_flow(token_json={"access_token": token, "token_type": "Bearer", "expires_in": 3600})
    for hop in hops:
        if hop.req_header("authorization"):
            hop.req_headers = [(k, f"Bearer {token}" if k == "Authorization" else v) for k, v in hop.req_headers]
    return hops


def test_rs_accepting_a_token_for_another_audience():
    hops = _with_token(_jwt({"aud": "https://api.other.example.com", "sub": "u1"}))
    [finding] = only(hops, "bearer-misuse")
    assert finding.evidence["aud"] == ["https://api.other.example.com"] and finding.blame == "RS"


def test_rs_accepting_a_token_for_itself_is_fine():
    assert only(_with_token(_jwt({"aud": [MCP_URL], "sub": "u1"})), "bearer-misuse") == []
    assert only(mcp_flow(), "bearer-misuse") == []


# --- prm-issuer-mismatch ----------------------------------------------------------------------------------


def test_an_authorization_servers_entry_with_a_trailing_slash_the_issuer_lacks_is_named_at_the_prm():
    """The top real failure of MCP discovery: the PRM lists https://auth.example.com/, the client fetches
    https://auth.example.com/.well-known/oauth-authorization-server (the slash removed, RFC 8414 §3.1) and finds
    issuer https://auth.example.com: not identical, so a client following RFC 8414 §3.3 must not use it."""
    from tests.mcp_hops import good_prm

    hops = mcp_flow(prm=good_prm(authorization_servers=[AS + "/"]))
    [finding] = only(hops, "prm-issuer-mismatch")
    assert (finding.hop, finding.severity, finding.blame) == (2, "error", "RS")
    assert finding.evidence["authorization_server"] == AS + "/" and finding.evidence["issuer"] == AS
    assert finding.evidence["difference"] == "trailing slash"
    assert only(hops, "metadata-issuer-mismatch") == []  # the document itself is consistent with its URL


def test_an_issuer_with_a_trailing_slash_the_entry_lacks_is_named_too():
    hops = mcp_flow(as_metadata=good_as_metadata(issuer=AS + "/"))
    [finding] = only(hops, "prm-issuer-mismatch")
    assert (finding.evidence["authorization_server"], finding.evidence["issuer"]) == (AS, AS + "/")


def test_identical_entry_and_issuer_or_metadata_of_another_server_are_quiet():
    from tests.mcp_hops import good_prm

    assert only(mcp_flow(), "prm-issuer-mismatch") == []
    elsewhere = good_prm(authorization_servers=["https://login.other.example"])
    assert only(mcp_flow(prm=elsewhere), "prm-issuer-mismatch") == []
