"""Family N: pushed authorization requests (RFC 9126)."""

from __future__ import annotations

from urllib.parse import quote

from tests.hops import CLIENT_ID, PROVIDER, REVERSE, STATE, findings, flow, make_hop, metadata_hop, renumber, sequential

REQUEST_URI = "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c"


def pushed(*, status=201, answer=None, started=999.0, request_uri=REQUEST_URI):
    answer = {"request_uri": request_uri, "expires_in": 60} if answer is None else answer
    return make_hop(0, "POST", f"{PROVIDER}/par", started=started, listener=REVERSE, status=status, resp_json=answer,
                    form=[("client_id", CLIENT_ID), ("response_type", "code"), ("state", STATE),
                          ("redirect_uri", "https://chat.openai.com/aip/p-1/oauth/callback"), ("scope", "read"),
                          ("client_secret", "s3cret-value-9f8e7d")])


def par_flow(request_uri=REQUEST_URI, **kwargs):
    url = f"{PROVIDER}/authorize?client_id={CLIENT_ID}&request_uri={quote(request_uri, safe='')}"
    return flow(authorize_url=url, **kwargs)


# --- par-response-invalid ---------------------------------------------------------------------------------


def test_par_answered_200_is_invalid():
    par = pushed(status=200)
    hops = renumber([par, *par_flow()])
    [finding] = findings(hops, "par-response-invalid")
    assert finding.hop == par.seq and finding.evidence["problems"] == ["status 200 (expected 201)"]


def test_par_without_expires_in_is_invalid():
    par = pushed(answer={"request_uri": REQUEST_URI, "expires_in": "60"})
    [finding] = findings(renumber([par, *par_flow()]), "par-response-invalid")
    assert "not a JSON number" in finding.message and finding.blame == "AS"


def test_par_created_with_both_fields_and_a_proper_refusal_are_fine():
    assert findings(renumber([pushed(), *par_flow()]), "par-response-invalid") == []
    refused = pushed(status=400, answer={"error": "invalid_request", "error_description": "bad redirect_uri"})
    assert findings([refused], "par-response-invalid") == []


# --- par-request-uri-reused -------------------------------------------------------------------------------


def test_the_same_request_uri_in_two_flows_is_reused():
    hops = sequential(par_flow(), par_flow(code="another-code-value-1234567"))
    found = findings(hops, "par-request-uri-reused")
    assert len(found) == 1 and found[0].exchange == 2 and found[0].severity == "warning"
    assert found[0].evidence["accepted"] is True


def test_distinct_request_uris_are_fine():
    hops = sequential(par_flow(), par_flow(request_uri=REQUEST_URI + "2", code="another-code-value-1234567"))
    assert findings(hops, "par-request-uri-reused") == []


# --- par-required-bypassed --------------------------------------------------------------------------------


def test_plain_authorize_accepted_although_par_is_required():
    hops = renumber([metadata_hop(0, require_pushed_authorization_requests=True), *flow()])
    [finding] = findings(hops, "par-required-bypassed")
    assert finding.blame == "AS" and finding.evidence["require_pushed_authorization_requests"] is True


def test_par_required_and_used_or_refused_is_fine():
    required = metadata_hop(0, require_pushed_authorization_requests=True)
    assert findings(renumber([required, pushed(), *par_flow()]), "par-required-bypassed") == []
    refused = flow(login=False, error="invalid_request", error_description="PAR required")
    assert findings(renumber([metadata_hop(0, require_pushed_authorization_requests=True), *refused]),
                    "par-required-bypassed") == []
