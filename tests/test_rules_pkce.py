"""Family D (PKCE): each rule fires on a broken flow, at the hop at fault, and stays quiet on the correct one."""

from __future__ import annotations

import base64
import json

import pytest

from hops import (
    CHALLENGE, VERIFIER, assert_registered, exchange_of, flow, hits_by_exchange, make_hop, metadata_hop, rule_hits,
    s256,
)
from oauthtrace.analysis.registry import RULES, Context
from oauthtrace.analysis.rules import pkce


def test_s256_matches_rfc7636_appendix_b():
    assert pkce.s256(VERIFIER) == CHALLENGE


def test_rules_are_registered_with_catalogue_metadata():
    expected = {"pkce-missing": ("warning", "C", "F"), "pkce-plain": ("warning", "C", "F"),
                "pkce-verifier-mismatch": ("error", "C", "B"), "pkce-verifier-missing": ("error", "C", "B"),
                "pkce-downgrade": ("error", "AS", "F+B"), "pkce-verifier-malformed": ("error", "C", "F/B"),
                "pkce-challenge-reused": ("warning", "C", "F"), "pkce-not-advertised": ("warning", "AS", "M")}
    assert_registered("D", expected)


# pkce-missing

def test_pkce_missing_confidential_client_is_a_warning_at_authorize():
    f = flow(pkce=False)
    [hit] = rule_hits("pkce-missing", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.severity is None  # the rule's default: warning
    assert hit.evidence["client_type"] == "confidential"
    assert "authorize.code_challenge = ∅" in hit.message


def test_pkce_missing_public_client_is_an_error():
    f = flow(pkce=False, client_auth="none")
    [hit] = rule_hits("pkce-missing", exchange_of(f))
    assert hit.severity == "error"
    assert hit.evidence["client_type"] == "public"


OIDC_NONCE = dict(scope="openid profile", nonce="n-0S6_WzA2Mj")  # an OpenID Connect authentication request


def test_pkce_missing_confidential_openid_client_with_nonce_is_information_quoting_rfc_9700():
    """RFC 9700 §2.1.1: "With additional precautions, described in Section 4.5.3.2, confidential OpenID Connect
    [OpenID.Core] clients MAY use the nonce parameter and the respective Claim in the ID Token instead." (The Entra
    v1 / SharePoint sign-in of issue 13: a confidential web app with nonce, told a warning.)"""
    f = flow(pkce=False, client_auth="basic", **OIDC_NONCE)
    [hit] = rule_hits("pkce-missing", exchange_of(f))
    assert hit.severity == "info" and hit.hop is f.authorize
    assert hit.evidence["client_type"] == "confidential" and hit.evidence["nonce"] is True
    assert "confidential OpenID Connect [OpenID.Core] clients MAY use the nonce parameter" in hit.message


def test_pkce_missing_nonce_does_not_excuse_a_public_client_or_plain_oauth():
    [public] = rule_hits("pkce-missing", exchange_of(flow(pkce=False, client_auth="none", **OIDC_NONCE)))
    assert public.severity == "error"
    [no_openid] = rule_hits("pkce-missing", exchange_of(flow(pkce=False, scope="read", nonce="n-0S6_WzA2Mj")))
    assert no_openid.severity is None  # the rule's warning: nonce means nothing without OpenID Connect


@pytest.mark.parametrize("profile", ["mcp", "oauth21"])
def test_pkce_missing_with_nonce_stays_an_error_under_the_profiles_that_require_pkce(profile):
    from hops import findings

    f = flow(pkce=False, client_auth="basic", **OIDC_NONCE)
    [hit] = rule_hits("pkce-missing", exchange_of(f), profile=profile)
    assert hit.severity is None and "nonce" not in hit.evidence
    [finding] = findings(f, "pkce-missing", profile=profile)
    assert finding.severity == "error"


def test_pkce_missing_quiet_with_pkce():
    assert rule_hits("pkce-missing", exchange_of(flow(pkce=True))) == []


def test_pkce_missing_fires_for_an_empty_challenge():
    f = flow(pkce=True, challenge="")  # `code_challenge=` is omitted (RFC 6749 §3.1)
    assert len(rule_hits("pkce-missing", exchange_of(f))) == 1


def test_pkce_missing_reads_the_pushed_request_behind_request_uri():
    request_uri = "urn:ietf:params:oauth:request_uri:abc"
    par = make_hop(50, "POST", "https://auth.example.com/par", started=900.0,
                   form=[("client_id", "c"), ("response_type", "code"), ("code_challenge", CHALLENGE),
                         ("code_challenge_method", "S256")],
                   status=201, resp_json={"request_uri": request_uri, "expires_in": 60})
    f = flow(authorize_url=f"https://auth.example.com/authorize?client_id=c&request_uri={request_uri}")
    assert rule_hits("pkce-missing", exchange_of(f), extra_hops=[par]) == []
    # Without the PAR request recorded the tool cannot know, so it does not guess.
    assert rule_hits("pkce-missing", exchange_of(f)) == []


def test_pkce_missing_reads_a_request_object():
    claims = {"client_id": "c", "response_type": "code", "code_challenge": CHALLENGE,
              "code_challenge_method": "S256"}
    request = ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
                       for part in ({"alg": "RS256"}, claims)) + ".c2ln"
    f = flow(authorize_url=f"https://auth.example.com/authorize?client_id=c&request={request}")
    assert rule_hits("pkce-missing", exchange_of(f)) == []
    assert rule_hits("pkce-plain", exchange_of(f)) == []


def test_pkce_missing_profiles_are_declared():
    assert pkce.PROFILE_SEVERITIES["mcp"]["pkce-missing"] == "error"
    assert pkce.PROFILE_SEVERITIES["oauth21"]["pkce-missing"] == "error"
    assert pkce.PROFILE_SEVERITIES["gpt-actions"]["pkce-missing"] == "info"
    assert pkce.PROFILE_SEVERITIES["gpt-actions"]["pkce-plain"] == "error"


# pkce-plain

@pytest.mark.parametrize("method", [None, "plain"])
def test_pkce_plain_fires_for_plain_or_absent_method(method):
    f = flow(pkce=True, challenge=VERIFIER, challenge_method=method)
    [hit] = rule_hits("pkce-plain", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.evidence["sent"] == method
    assert ("∅ (⇒ plain)" if method is None else "= plain") in hit.message


def test_pkce_plain_says_downgrade_when_s256_is_advertised():
    f = flow(pkce=True, challenge=VERIFIER, challenge_method="plain")
    [hit] = rule_hits("pkce-plain", exchange_of(f, metadata=[]), extra_hops=[])
    assert "advertises" not in hit.message
    ctx_hits = _with_metadata("pkce-plain", exchange_of(f), {"issuer": "https://auth.example.com",
                                                              "code_challenge_methods_supported": ["S256"]})
    assert "although the provider advertises S256" in ctx_hits[0].message


def _with_metadata(rule_id, exchange, document):
    ctx = Context(trace_id=1, hops=list(exchange.hops), exchanges=[exchange], roles={}, sides={"F", "B", "M"},
                  metadata={document["issuer"]: document})
    return list(RULES[rule_id].check(exchange, ctx))


def test_pkce_plain_quiet_for_s256():
    assert rule_hits("pkce-plain", exchange_of(flow(pkce=True))) == []


# pkce-verifier-mismatch

def test_verifier_mismatch_fires_at_token_request_with_both_values():
    f = flow(pkce=True, token_verifier="x" * 43)
    [hit] = rule_hits("pkce-verifier-mismatch", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence["code_challenge"] == CHALLENGE
    assert hit.evidence["computed"] == s256("x" * 43)
    assert "→ S256" in hit.message and "≠ authorize.code_challenge" in hit.message
    assert "still issued tokens" in hit.message  # the demo token endpoint answered 200


def test_verifier_mismatch_names_padding_and_crossed_flows():
    padded = flow(pkce=True, challenge=CHALLENGE + "=")
    [hit] = rule_hits("pkce-verifier-mismatch", exchange_of(padded))
    assert "padding" in hit.message

    other_verifier = "o" * 50
    first = flow(pkce=True, verifier=other_verifier, token_verifier=VERIFIER)
    second = flow(pkce=True, seq=20, verifier=VERIFIER, token_verifier=other_verifier)
    found = hits_by_exchange("pkce-verifier-mismatch", exchange_of(first, 0), exchange_of(second, 1))
    assert [index for index, _ in found] == [0, 1]
    assert found[0][1].evidence["other_exchange"] == 1
    assert "flows crossed" in found[0][1].message


def test_verifier_mismatch_quiet_when_verifier_matches():
    assert rule_hits("pkce-verifier-mismatch", exchange_of(flow(pkce=True))) == []
    plain = flow(pkce=True, challenge=VERIFIER, challenge_method="plain")
    assert rule_hits("pkce-verifier-mismatch", exchange_of(plain)) == []


# pkce-verifier-missing

def test_verifier_missing_fires_and_blames_provider_that_still_issued_tokens():
    f = flow(pkce=True, token_verifier=None)
    [hit] = rule_hits("pkce-verifier-missing", exchange_of(f))
    assert hit.hop is f.token
    assert hit.blame == "AS" and hit.evidence["provider_accepted"] is True

    refused = flow(pkce=True, token_verifier=None, token_status=400,
                   token_json={"error": "invalid_grant"})
    [hit] = rule_hits("pkce-verifier-missing", exchange_of(refused))
    assert hit.blame is None and hit.evidence["provider_accepted"] is False


def test_verifier_missing_quiet_with_verifier():
    assert rule_hits("pkce-verifier-missing", exchange_of(flow(pkce=True))) == []


# pkce-downgrade

def test_downgrade_fires_when_provider_accepts_verifier_without_challenge():
    f = flow(pkce=False, extra_token=[("code_verifier", VERIFIER)])
    [hit] = rule_hits("pkce-downgrade", exchange_of(f))
    assert hit.hop is f.token
    # the verifier is a secret: evidence (printed by `check --format json`) carries only a recognisable prefix
    assert hit.evidence == {"code_challenge": None, "code_verifier": VERIFIER[:6] + "…", "status": 200}


def test_downgrade_quiet_when_provider_refuses_or_challenge_was_sent():
    refused = flow(pkce=False, extra_token=[("code_verifier", VERIFIER)], token_status=400,
                   token_json={"error": "invalid_grant"})
    assert rule_hits("pkce-downgrade", exchange_of(refused)) == []
    assert rule_hits("pkce-downgrade", exchange_of(flow(pkce=True))) == []


# pkce-verifier-malformed

def test_malformed_short_verifier_at_token_and_base64_challenge_at_authorize():
    f = flow(pkce=True, verifier="short-verifier")
    [hit] = rule_hits("pkce-verifier-malformed", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence["param"] == "code_verifier" and hit.evidence["length"] == 14

    standard_b64 = CHALLENGE.replace("-", "+") + "="
    g = flow(pkce=True, challenge=standard_b64)
    [hit] = rule_hits("pkce-verifier-malformed", exchange_of(g))
    assert hit.hop is g.authorize
    assert hit.evidence["bad_characters"] == ["+", "="]
    assert "base64, not base64url" in hit.message


def test_malformed_quiet_for_redacted_values():
    # a redacted export carries fingerprints, not verifiers: their format says nothing about the original
    f = flow(pkce=True, token_verifier="‹redacted:3f9a1c›", challenge="‹redacted:77aa01›")
    assert rule_hits("pkce-verifier-malformed", exchange_of(f)) == []


def test_malformed_quiet_on_rfc_example_and_128_chars():
    assert rule_hits("pkce-verifier-malformed", exchange_of(flow(pkce=True))) == []
    longest = "a~b.c_d-" * 16
    assert rule_hits("pkce-verifier-malformed", exchange_of(flow(pkce=True, verifier=longest))) == []
    assert len(rule_hits("pkce-verifier-malformed", exchange_of(flow(pkce=True, verifier=longest + "z")))) == 1


# pkce-challenge-reused

def test_challenge_reused_reported_once_on_the_later_flow():
    first, second, third = flow(pkce=True), flow(pkce=True, seq=20), flow(pkce=True, seq=40)
    found = hits_by_exchange("pkce-challenge-reused", exchange_of(first, 0), exchange_of(second, 1),
                             exchange_of(third, 2))
    assert [index for index, _ in found] == [1, 2]
    assert found[0][1].hop is second.authorize
    assert found[0][1].evidence["first_exchange"] == 0


def test_challenge_reused_quiet_for_fresh_challenges():
    first = flow(pkce=True)
    second = flow(pkce=True, seq=20, verifier="v" * 60)
    assert hits_by_exchange("pkce-challenge-reused", exchange_of(first, 0), exchange_of(second, 1)) == []


# pkce-not-advertised

@pytest.mark.parametrize("methods, shown", [(None, "= ∅"), (["plain"], "no S256"), ("S256", "not a JSON array")])
def test_not_advertised_fires_at_the_metadata_hop(methods, shown):
    meta = metadata_hop(90, code_challenge_methods_supported=methods)
    f = flow(pkce=True)
    [hit] = rule_hits("pkce-not-advertised", exchange_of(f, metadata=[meta]))
    assert hit.hop is meta
    assert hit.evidence["code_challenge_methods_supported"] == methods
    assert shown in hit.message


def test_not_advertised_reported_once_across_exchanges_and_quiet_with_s256():
    meta = metadata_hop(90, code_challenge_methods_supported=["plain"])
    found = hits_by_exchange("pkce-not-advertised", exchange_of(flow(), 0, metadata=[meta]),
                             exchange_of(flow(seq=20), 1, metadata=[meta]))
    assert [index for index, _ in found] == [0]
    good = metadata_hop(90)
    assert rule_hits("pkce-not-advertised", exchange_of(flow(), metadata=[good])) == []


def test_not_advertised_is_information_for_a_confidential_openid_client_that_sends_nonce_instead():
    """Sign in with Apple and Sign in with Slack publish no code_challenge_methods_supported; their documented
    clients are confidential OpenID Connect clients sending nonce, which RFC 9700 §2.1.1 lets go without PKCE: the
    missing advertisement cannot have failed that login. A client that sent PKCE, or a profile requiring it, keeps
    the rule's severity."""
    meta = metadata_hop(90, code_challenge_methods_supported=None)
    nonce_client = flow(pkce=False, client_auth="basic", **OIDC_NONCE)
    [hit] = rule_hits("pkce-not-advertised", exchange_of(nonce_client, metadata=[meta]))
    assert hit.severity == "info" and "sends nonce instead" in hit.message
    [pkce_client] = rule_hits("pkce-not-advertised", exchange_of(flow(pkce=True, **OIDC_NONCE), metadata=[meta]))
    assert pkce_client.severity is None
    [public] = rule_hits("pkce-not-advertised", exchange_of(flow(pkce=False, client_auth="none", **OIDC_NONCE),
                                                            metadata=[meta]))
    assert public.severity is None
    [under_mcp] = rule_hits("pkce-not-advertised", exchange_of(nonce_client, metadata=[meta]), profile="mcp")
    assert under_mcp.severity is None


def test_not_advertised_by_a_provider_that_documents_pkce_names_it_and_says_to_send_s256():
    """Entra's v2.0 discovery document has no code_challenge_methods_supported, yet its code flow documents
    code_challenge (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow): a true warning, named."""
    tenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
    issuer = f"https://login.microsoftonline.com/{tenant}/v2.0"
    meta = make_hop(90, "GET", f"{issuer}/.well-known/openid-configuration", resp_json={
        "issuer": issuer, "authorization_endpoint": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"]})
    [hit] = rule_hits("pkce-not-advertised", exchange_of(flow(pkce=True), metadata=[meta]))
    assert hit.severity is None  # the rule's warning: a client that reads the metadata skips PKCE or refuses
    assert hit.evidence["provider"] == "Microsoft Entra ID (v2.0 endpoint)"
    assert "S256" in hit.evidence["provider_fix"]


def test_pkce_missing_sign_in_with_apple_hybrid_with_nonce_is_information():
    """Sign in with Apple asks response_type `code id_token` with scope `name email` and a nonce (developer.apple.com,
    incorporating Sign in with Apple into other platforms): an OpenID Connect request without `openid`."""
    f = flow(pkce=False, client_auth="post", response_type="code id_token", response_mode="form_post",
             scope="name email", nonce="1-UJxJA9HHqSCqGpTeerBlMOcsHCHAg5")
    [hit] = rule_hits("pkce-missing", exchange_of(f))
    assert hit.severity == "info" and hit.evidence["nonce"] is True


def test_not_advertised_ignores_protected_resource_metadata():
    prm = make_hop(91, "GET", "https://mcp.example.com/.well-known/oauth-protected-resource",
                   resp_json={"resource": "https://mcp.example.com", "authorization_servers": ["x"]})
    assert rule_hits("pkce-not-advertised", exchange_of(flow(), metadata=[prm])) == []


# malformed input never raises

@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00garbage", b"{not json", b"[]", json.dumps(
    {"access_token": ["x"] * 10}).encode(), b"a" * 2_000_000])
def test_malformed_token_bodies_do_not_raise(body):
    f = flow(pkce=True, token_verifier="é" * 200, token_resp_body=body)
    meta = make_hop(90, "GET", "https://auth.example.com/.well-known/oauth-authorization-server",
                    resp_body=body, content_type="application/json")
    ex = exchange_of(f, metadata=[meta])
    for rule_id in [r for r in RULES if RULES[r].family == "D"]:
        list(rule_hits(rule_id, ex))


# through classify, correlate and the engine, with profiles

def test_engine_reports_verifier_mismatch_at_the_token_hop():
    from hops import NO_STORE, findings

    f = flow(pkce=True, token_verifier="W" * 43, token_headers=NO_STORE)
    [finding] = findings(list(f), "pkce-verifier-mismatch")
    assert finding.hop == f.token.seq and finding.severity == "error" and finding.blame == "C"
    assert finding.spec.startswith("RFC 7636")


def test_engine_profiles_set_pkce_missing_severity():
    from hops import NO_STORE, analyze

    hops = list(flow(token_headers=NO_STORE))  # a ChatGPT callback: the chatgpt profile applies by itself
    severities = {profile: [f.severity for f in analyze(hops, profile=profile).findings if f.rule == "pkce-missing"]
                  for profile in (None, "oauth2", "mcp")}
    assert severities == {None: ["info"], "oauth2": ["warning"], "mcp": ["error"]}


def test_engine_says_not_evaluated_without_metadata_and_reports_it_with():
    from hops import NO_STORE, analyze

    hops = list(flow(pkce=True, token_headers=NO_STORE))
    report = analyze(hops)
    assert any(n.rule == "pkce-not-advertised" and "metadata" in n.reason for n in report.not_evaluated)
    meta = metadata_hop(1, code_challenge_methods_supported=["plain"])
    report = analyze([meta] + list(flow(seq=2, pkce=True, token_headers=NO_STORE)))
    [finding] = [f for f in report.findings if f.rule == "pkce-not-advertised"]
    assert finding.hop == meta.seq and finding.severity == "error"  # chatgpt profile: MCP clients refuse
