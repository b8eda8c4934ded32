"""Family I (issuer, mix-up): each rule fires at the hop at fault with both values, and stays quiet when the
issuer matches or the client is protected."""

from __future__ import annotations

import base64
import json

from hops import (
    CHATGPT_CALLBACK, PROVIDER, assert_registered, exchange_of, flow, hits_by_exchange, make_hop, metadata_hop,
    rule_hits,
)
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import issuer  # noqa: F401  registers family I

GITHUB_ISS = "https://github.com/login/oauth"
OTHER = "https://other-as.example.net"


def jwt(claims: dict, header: dict | None = None) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header or {'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def token_with_id_token(claims: dict) -> dict:
    return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "id_token": jwt(claims)}


def test_rules_are_registered_with_catalogue_metadata():
    expected = {"iss-mismatch": ("error", "AS", "F+M"), "iss-missing": ("error", "AS", "F+M"),
                "iss-appeared": ("info", "AS", "F"), "metadata-issuer-mismatch": ("error", "AS", "M"),
                "id-token-iss-mismatch": ("error", "AS", "B"), "mixup-shared-redirect": ("warning", "C", "F"),
                "mixup-cross-as": ("error", "AS", "F+B")}
    assert_registered("I", expected)


# iss-mismatch

def test_github_style_iss_against_placeholder_issuer_fires_at_the_provider_redirect():
    f = flow(extra_response=[("iss", GITHUB_ISS)])
    [hit] = rule_hits("iss-mismatch", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.hop is f.authz_response
    assert hit.message.startswith(f"callback.iss = {GITHUB_ISS} ≠ metadata.issuer = {PROVIDER}")
    assert (hit.evidence["returned"], hit.evidence["expected"]) == (GITHUB_ISS, PROVIDER)


def test_iss_with_an_added_trailing_slash_says_so():
    f = flow(extra_response=[("iss", PROVIDER + "/")])
    [hit] = rule_hits("iss-mismatch", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.evidence["difference"] == "trailing slash"


def test_iss_equal_to_metadata_issuer_is_quiet():
    f = flow(extra_response=[("iss", PROVIDER)])
    assert rule_hits("iss-mismatch", exchange_of(f, metadata=[metadata_hop(40)])) == []


def test_iss_compared_with_the_metadata_of_the_providers_own_endpoints():
    f = flow(extra_response=[("iss", PROVIDER)])
    documents = {OTHER: {"issuer": OTHER, "authorization_endpoint": f"{OTHER}/authorize"},
                 PROVIDER: {"issuer": PROVIDER, "authorization_endpoint": f"{PROVIDER}/authorize"}}
    assert rule_hits("iss-mismatch", exchange_of(f), metadata=documents) == []


# iss-missing

def test_iss_missing_when_metadata_promises_it():
    f = flow()
    meta = metadata_hop(40, authorization_response_iss_parameter_supported=True)
    [hit] = rule_hits("iss-missing", exchange_of(f, metadata=[meta]))
    assert hit.hop is f.authz_response
    assert hit.evidence["returned"] is None and hit.evidence["expected"] == PROVIDER


def test_iss_missing_on_an_error_response_too():
    f = flow(error="access_denied")
    meta = metadata_hop(40, authorization_response_iss_parameter_supported=True)
    [hit] = rule_hits("iss-missing", exchange_of(f, metadata=[meta]))
    assert hit.evidence["response"] == "error response"


def test_iss_missing_quiet_when_present_or_not_promised():
    meta = metadata_hop(40, authorization_response_iss_parameter_supported=True)
    assert rule_hits("iss-missing", exchange_of(flow(extra_response=[("iss", PROVIDER)]), metadata=[meta])) == []
    assert rule_hits("iss-missing", exchange_of(flow(), metadata=[metadata_hop(40)])) == []


# iss-not-advertised (MCP 2026-07-28: a server that sends iss MUST say so in its metadata)

def test_iss_sent_without_the_metadata_promise_is_named_at_the_response():
    f = flow(extra_response=[("iss", PROVIDER)])
    [hit] = rule_hits("iss-not-advertised", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.hop is f.authz_response
    assert hit.evidence == {"param": "iss", "returned": PROVIDER, "advertised": None}
    assert RULES["iss-not-advertised"].severity == "info"


def test_iss_sent_and_promised_or_not_sent_is_quiet():
    promised = metadata_hop(40, authorization_response_iss_parameter_supported=True)
    answered = flow(extra_response=[("iss", PROVIDER)])
    assert rule_hits("iss-not-advertised", exchange_of(answered, metadata=[promised])) == []
    assert rule_hits("iss-not-advertised", exchange_of(flow(), metadata=[metadata_hop(40)])) == []


# iss-not-validated (the client MUST check iss before it transmits the code)

def test_a_code_redeemed_after_a_mismatching_iss_is_the_clients_fault_at_the_token_request():
    f = flow(extra_response=[("iss", OTHER)])
    [hit] = rule_hits("iss-not-validated", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.hop is f.token and hit.evidence["returned"] == OTHER
    assert "the client still sent the code" in hit.message


def test_a_code_redeemed_although_a_promised_iss_was_missing_is_named():
    meta = metadata_hop(40, authorization_response_iss_parameter_supported=True)
    f = flow()
    [hit] = rule_hits("iss-not-validated", exchange_of(f, metadata=[meta]))
    assert hit.hop is f.token and hit.evidence["returned"] is None


def test_iss_matching_absent_unpromised_or_code_never_sent_is_quiet():
    meta = metadata_hop(40)
    assert rule_hits("iss-not-validated", exchange_of(flow(extra_response=[("iss", PROVIDER)]), metadata=[meta])) == []
    assert rule_hits("iss-not-validated", exchange_of(flow(), metadata=[meta])) == []
    stopped = flow(extra_response=[("iss", OTHER)])
    assert rule_hits("iss-not-validated", exchange_of(stopped, metadata=[meta], tokens=[])) == []


def test_iss_not_validated_is_an_error_under_the_mcp_profile():
    from oauthtrace.analysis.profiles import severity_for
    from oauthtrace.model import Hit

    rule = RULES["iss-not-validated"]
    assert severity_for(rule, Hit(hop=None, message=""), "mcp") == "error"
    assert severity_for(rule, Hit(hop=None, message=""), "oauth2") == "info"


# iss-appeared

def test_iss_appearing_after_a_callback_without_it_fires_once():
    before = flow(t0=1000.0)
    after = flow(t0=2000.0, seq=20, extra_response=[("iss", GITHUB_ISS)])
    later = flow(t0=3000.0, seq=40, extra_response=[("iss", GITHUB_ISS)])
    found = hits_by_exchange("iss-appeared", exchange_of(before, 0), exchange_of(after, 1), exchange_of(later, 2))
    assert len(found) == 1
    index, hit = found[0]
    assert index == 1 and hit.hop is after.authz_response
    assert hit.evidence["param"] == "iss" and hit.evidence["returned"] == GITHUB_ISS
    assert "iss = ∅ → this callback: iss = https://github.com/login/oauth" in hit.message


def test_iss_appeared_quiet_when_always_there_or_only_one_flow():
    first = flow(extra_response=[("iss", PROVIDER)])
    second = flow(seq=20, t0=2000.0, extra_response=[("iss", PROVIDER)])
    assert hits_by_exchange("iss-appeared", exchange_of(first, 0), exchange_of(second, 1)) == []
    assert hits_by_exchange("iss-appeared", exchange_of(flow(extra_response=[("iss", PROVIDER)]))) == []


def test_iss_appeared_ignores_other_providers_and_outcome_parameters():
    elsewhere = flow(provider=OTHER)
    here = flow(seq=20, t0=2000.0, extra_response=[("iss", PROVIDER)])
    assert hits_by_exchange("iss-appeared", exchange_of(elsewhere, 0), exchange_of(here, 1)) == []
    failed = flow(error="access_denied")
    succeeded = flow(seq=20, t0=2000.0)
    assert hits_by_exchange("iss-appeared", exchange_of(failed, 0), exchange_of(succeeded, 1)) == []


def test_iss_appeared_keeps_an_implicit_success_after_an_error_to_itself():
    from hops import findings, sequential

    token = "at-SECRET-0123456789abcdef"
    hops = sequential(flow(error="access_denied", back_channel=False),
                      flow(extra_response=[("access_token", token), ("token_type", "Bearer"),
                                           ("expires_in", "3600")]))
    found = findings(hops, "iss-appeared")
    assert found == []  # the outcome of a success, not a change in the provider's behaviour


def test_iss_appeared_shows_a_credential_by_its_prefix_only():
    secret = "rt-SECRET-0123456789abcdef"
    before = flow(t0=1000.0)
    after = flow(t0=2000.0, seq=20, extra_response=[("refresh_token", secret)])
    [(_, hit)] = hits_by_exchange("iss-appeared", exchange_of(before, 0), exchange_of(after, 1))
    assert hit.evidence["param"] == "refresh_token"
    assert secret not in hit.message and secret not in json.dumps(hit.evidence)
    assert "refresh_token = rt-SEC…" in hit.message


# metadata-issuer-mismatch

def doc_hop(seq, url, issuer_value, **extra):
    return make_hop(seq, "GET", url, started=990.0, resp_json={"issuer": issuer_value, **extra})


def test_an_issuer_with_a_terminating_slash_served_at_its_well_known_url_is_quiet():
    """Auth0's documented issuer is https://TENANT.auth0.com/ (trailing slash), served at
    https://TENANT.auth0.com/.well-known/openid-configuration: RFC 8414 §3.1 and OIDC Discovery §4 remove the
    terminating "/" before the well-known segment goes in, so that document is consistent."""
    auth0 = "https://dev-tenant.us.auth0.com"
    documents = [doc_hop(40, f"{auth0}/.well-known/openid-configuration", auth0 + "/"),
                 doc_hop(41, f"{PROVIDER}/.well-known/oauth-authorization-server/tenant1", f"{PROVIDER}/tenant1/"),
                 doc_hop(42, f"{PROVIDER}/realms/demo/.well-known/openid-configuration", f"{PROVIDER}/realms/demo/")]
    assert rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=documents)) == []


def test_metadata_issuer_of_another_path_fires_at_the_metadata_hop():
    meta = doc_hop(40, f"{PROVIDER}/.well-known/oauth-authorization-server", PROVIDER + "/tenant1")
    [hit] = rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=[meta]))
    assert hit.hop is meta
    assert (hit.evidence["returned"], hit.evidence["expected"]) == (PROVIDER + "/tenant1", PROVIDER)


def test_path_insertion_and_path_appending_are_both_understood():
    good = [doc_hop(40, f"{PROVIDER}/.well-known/oauth-authorization-server/tenant1", f"{PROVIDER}/tenant1"),
            doc_hop(41, f"{PROVIDER}/tenant1/.well-known/openid-configuration", f"{PROVIDER}/tenant1"),
            doc_hop(42, f"{PROVIDER}/.well-known/openid-configuration", PROVIDER)]
    assert rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=good)) == []
    bad = doc_hop(43, f"{PROVIDER}/tenant1/.well-known/openid-configuration", PROVIDER)
    [hit] = rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=[bad]))
    assert hit.evidence["expected"] == f"{PROVIDER}/tenant1"


def test_metadata_fetched_through_the_reverse_proxy_is_judged_by_the_providers_url():
    meta = doc_hop(40, "http://127.0.0.1:8081/.well-known/oauth-authorization-server", PROVIDER)
    meta.listener = "reverse:https://auth.example.com@8081"
    meta.upstream_url = f"{PROVIDER}/.well-known/oauth-authorization-server"
    assert rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=[meta])) == []


def test_a_document_shared_by_two_exchanges_or_unclaimed_is_reported_once():
    meta = doc_hop(40, f"{PROVIDER}/.well-known/oauth-authorization-server", "https://elsewhere.example")
    first, second = exchange_of(flow(), 0, metadata=[meta]), exchange_of(flow(seq=20, t0=2000.0), 1, metadata=[meta])
    assert [index for index, _ in hits_by_exchange("metadata-issuer-mismatch", first, second)] == [0]
    orphan = doc_hop(90, f"{PROVIDER}/.well-known/openid-configuration", "https://elsewhere.example")
    found = hits_by_exchange("metadata-issuer-mismatch", exchange_of(flow(), 0),
                             exchange_of(flow(seq=20, t0=2000.0), 1), extra_hops=[orphan], roles={90: "metadata"})
    assert [(index, hit.hop.seq) for index, hit in found] == [(0, 90)]


def test_protected_resource_metadata_is_not_an_issuer_document():
    prm = make_hop(40, "GET", "https://mcp.example.com/.well-known/oauth-protected-resource",
                   resp_json={"resource": "https://mcp.example.com", "authorization_servers": [PROVIDER]})
    assert rule_hits("metadata-issuer-mismatch", exchange_of(flow(), metadata=[prm])) == []


# id-token-iss-mismatch

def test_id_token_iss_differing_from_metadata_fires_at_the_token_response():
    f = flow(token_json=token_with_id_token({"iss": PROVIDER + "/", "sub": "alice"}))
    [hit] = rule_hits("id-token-iss-mismatch", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.hop is f.token
    assert hit.message.startswith(f"id_token.iss = {PROVIDER}/ ≠ metadata.issuer = {PROVIDER}")
    assert hit.evidence["expected_from"] == "metadata.issuer"


def test_id_token_iss_checked_against_the_callback_iss_without_metadata():
    f = flow(extra_response=[("iss", PROVIDER)], token_json=token_with_id_token({"iss": GITHUB_ISS}))
    [hit] = rule_hits("id-token-iss-mismatch", exchange_of(f))
    assert hit.evidence["expected_from"] == "callback.iss"


def test_id_token_iss_matching_is_quiet_and_junk_is_left_to_id_token_invalid():
    good = flow(token_json=token_with_id_token({"iss": PROVIDER, "sub": "alice"}))
    assert rule_hits("id-token-iss-mismatch", exchange_of(good, metadata=[metadata_hop(40)])) == []
    junk = flow(token_json={"access_token": "at", "token_type": "Bearer", "id_token": "not-a-jwt.\xff.x"})
    assert rule_hits("id-token-iss-mismatch", exchange_of(junk, metadata=[metadata_hop(40)])) == []


# mixup-shared-redirect

def test_one_redirect_uri_for_two_servers_without_iss_warns_once():
    a = flow()
    b = flow(provider=OTHER, seq=20, t0=2000.0)
    found = hits_by_exchange("mixup-shared-redirect", exchange_of(a, 0), exchange_of(b, 1))
    assert len(found) == 1
    index, hit = found[0]
    assert index == 0 and hit.hop is a.authorize
    assert hit.evidence["redirect_uri"] == CHATGPT_CALLBACK
    assert hit.evidence["providers"] == [f"{PROVIDER}/authorize", f"{OTHER}/authorize"]


def test_distinct_redirect_uris_or_iss_everywhere_are_quiet():
    a = flow()
    b = flow(provider=OTHER, seq=20, t0=2000.0, redirect_uri="https://chat.openai.com/aip/p-2/oauth/callback")
    assert hits_by_exchange("mixup-shared-redirect", exchange_of(a, 0), exchange_of(b, 1)) == []
    a = flow(extra_response=[("iss", PROVIDER)])
    b = flow(provider=OTHER, seq=20, t0=2000.0, extra_response=[("iss", OTHER)])
    assert hits_by_exchange("mixup-shared-redirect", exchange_of(a, 0), exchange_of(b, 1)) == []
    later = flow(seq=20, t0=2000.0)
    assert hits_by_exchange("mixup-shared-redirect", exchange_of(flow(), 0), exchange_of(later, 1)) == []


# mixup-cross-as

ATTACKER = "https://attacker.example"


def handed_over(redirect_uri: str, client_id: str = "honest-client"):
    f = flow(provider=ATTACKER)
    f.authorize.location = (f"{PROVIDER}/authorize?response_type=code&client_id={client_id}"
                            f"&redirect_uri={redirect_uri}&state=abc")
    return f


def test_authorize_redirected_to_another_server_with_the_clients_redirect_uri_fires():
    f = handed_over(CHATGPT_CALLBACK)
    found = rule_hits("mixup-cross-as", exchange_of(f))
    assert [hit.hop for hit in found] == [f.authorize, f.token]
    assert found[0].evidence["swapped_client_id"] == "honest-client"
    assert found[0].evidence["second_as"] == f"{PROVIDER}/authorize"
    assert found[1].evidence == {"issued_by": f"{PROVIDER}/authorize", "redeemed_at": f"{ATTACKER}/token"}


def test_brokered_login_back_to_the_first_server_is_quiet():
    f = handed_over(f"{ATTACKER}/broker/callback", client_id="broker-at-provider")
    assert rule_hits("mixup-cross-as", exchange_of(f)) == []
    assert rule_hits("mixup-cross-as", exchange_of(flow())) == []  # the provider's own login redirect


def test_malformed_front_channel_does_not_raise():
    f = flow(extra_response=[("iss", "\ufffd\x00"), ("iss", "second")])
    f.authz_response.location = "http://[::1"  # an unparsable URL
    f.token.resp_body = b"\xff\xfe"
    ex = exchange_of(f, metadata=[doc_hop(40, "not a url", 17)])
    for rule_id in ("iss-mismatch", "iss-missing", "iss-appeared", "metadata-issuer-mismatch",
                    "id-token-iss-mismatch", "mixup-shared-redirect", "mixup-cross-as"):
        list(rule_hits(rule_id, ex))


# through the engine: classify, correlate, profiles

def test_engine_reports_iss_mismatch_at_the_providers_redirect():
    from hops import findings, renumber

    f = flow(extra_response=[("iss", GITHUB_ISS)])
    hops = renumber([metadata_hop(99)] + list(f))
    [finding] = findings(hops, "iss-mismatch")
    assert finding.hop == f.authz_response.seq
    assert (finding.severity, finding.blame) == ("error", "AS")
    assert finding.evidence["returned"] == GITHUB_ISS


def test_engine_says_not_evaluated_without_metadata():
    from hops import analyze

    report = analyze(list(flow(extra_response=[("iss", GITHUB_ISS)])), only=["iss-mismatch", "iss-appeared"])
    assert [f.rule for f in report.findings] == []
    assert [(n.rule, n.reason) for n in report.not_evaluated] == [("iss-mismatch", "no metadata capture")]


def test_iss_read_from_a_form_post_response_and_from_a_callback_alone():
    f = flow(response_mode="form_post", extra_response=[("iss", GITHUB_ISS)])
    [hit] = rule_hits("iss-mismatch", exchange_of(f, metadata=[metadata_hop(40)]))
    assert hit.hop is f.authz_response
    f = flow(extra_response=[("iss", GITHUB_ISS)])
    only_callback = exchange_of(f, authorize=None, authz_response=None, metadata=[metadata_hop(40)])
    [hit] = rule_hits("iss-mismatch", only_callback)
    assert hit.hop is f.callback


def test_an_unmatched_document_is_used_only_when_it_is_the_only_one():
    def doc(issuer_value):
        return {"issuer": issuer_value, "authorization_endpoint": f"{issuer_value}/oauth2/v2/auth",
                "authorization_response_iss_parameter_supported": True}

    ex = exchange_of(flow())
    assert len(rule_hits("iss-missing", ex, metadata={PROVIDER: doc(PROVIDER)})) == 1
    assert rule_hits("iss-missing", ex, metadata={PROVIDER: doc(PROVIDER), OTHER: doc(OTHER)}) == []
