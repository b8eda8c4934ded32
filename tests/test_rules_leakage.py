"""Family E (response type, response mode, leakage): fires at the hop at fault, quiet on the correct shape."""

from __future__ import annotations

import pytest

from hops import (
    CHATGPT_CALLBACK, CODE, STATE, assert_registered, exchange_of, flow, hits_by_exchange, make_hop, rule_hits,
)
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import leakage

ANALYTICS = "https://www.googletagmanager.com/gtag/js?id=G-1"


def test_family_e_metadata():
    expected = {"implicit-grant": ("warning", "C", "F"), "token-in-url": ("error", "AS", "F"),
                "response-mode-mismatch": ("error", "AS", "F"), "referer-leak": ("error", "C", "F"),
                "callback-page-leaky": ("warning", "C", "F")}
    assert_registered("E", expected)
    assert leakage.PROFILE_SEVERITIES["oauth21"]["implicit-grant"] == "error"


# implicit-grant

@pytest.mark.parametrize("response_type", ["token", "id_token token", "code id_token token"])
def test_implicit_grant_fires_at_authorize(response_type):
    f = flow(response_type=response_type)
    [hit] = rule_hits("implicit-grant", exchange_of(f))
    assert hit.hop is f.authorize
    assert hit.evidence["sent"] == response_type


@pytest.mark.parametrize("response_type", ["code", "code id_token", "id_token"])
def test_implicit_grant_quiet_without_an_access_token_in_the_front_channel(response_type):
    assert rule_hits("implicit-grant", exchange_of(flow(response_type=response_type))) == []


# token-in-url

def test_token_in_redirect_query_is_an_error_on_the_provider_redirect_reported_once():
    f = flow(response_type="token", extra_response=[("access_token", "at-secret-123456")])
    # the callback's own URL carries it too; the fault is the redirect, reported once
    [hit] = rule_hits("token-in-url", exchange_of(f))
    assert hit.hop is f.authz_response
    assert hit.severity is None and hit.blame == "AS"
    assert hit.evidence == {"param": "access_token", "in": "location-query", "url": CHATGPT_CALLBACK}
    assert "at-secret-123456" not in hit.message  # secrets are cut in messages


def test_token_in_redirect_fragment_is_a_warning():
    f = flow(response_type="token", response_mode="fragment", extra_response=[("access_token", "at-1234567890")])
    [hit] = rule_hits("token-in-url", exchange_of(f))
    assert hit.severity == "warning" and hit.evidence["in"] == "location-fragment"


def test_token_in_resource_request_query_blames_the_client():
    f = flow()
    api = make_hop(20, "GET", "https://api.example.com/me?access_token=at-1f2e3d4c5b6a79880", listener="browser")
    [hit] = rule_hits("token-in-url", exchange_of(f, resources=[api]))
    assert hit.hop is api and hit.blame == "C" and hit.evidence["in"] == "request-query"


def test_token_in_url_quiet_for_code_flow_and_header_bearer():
    f = flow()
    api = make_hop(20, "GET", "https://api.example.com/me", req_headers=[("Authorization", "Bearer at-1")])
    assert rule_hits("token-in-url", exchange_of(f, resources=[api])) == []
    empty = make_hop(21, "GET", "https://api.example.com/me?access_token=")  # empty counts as omitted
    assert rule_hits("token-in-url", exchange_of(f, resources=[empty])) == []


# response-mode-mismatch

def test_form_post_requested_but_query_used_is_an_error():
    f = flow(extra_authorize=[("response_mode", "form_post")])
    [hit] = rule_hits("response-mode-mismatch", exchange_of(f))
    assert hit.hop is f.authz_response
    assert hit.evidence == {"requested": "form_post", "expected": "form_post", "used": "query"}
    assert hit.severity is None


def test_code_in_fragment_without_response_mode_is_a_warning():
    f = flow()
    f.authz_response.location = f"{CHATGPT_CALLBACK}#code={CODE}&state={STATE}"
    [hit] = rule_hits("response-mode-mismatch", exchange_of(f))
    assert hit.severity == "warning"
    assert hit.evidence == {"requested": None, "expected": "query", "used": "fragment"}


def test_response_mode_is_read_from_the_pushed_request():
    # The shape of an OpenID Connect client using PAR with oidc-provider (tests/test_interop_oidc_provider.py):
    # the URL repeats response_type (OpenID Connect Core §6.2), response_mode=form_post is only in the pushed
    # request (RFC 9126 §2.1), and the provider rightly answered with form_post.
    request_uri = "urn:ietf:params:oauth:request_uri:abc"
    par = make_hop(90, "POST", "https://auth.example.com/par", started=900.0,
                   form=[("client_id", "c"), ("response_type", "code"), ("response_mode", "form_post")],
                   status=201, resp_json={"request_uri": request_uri, "expires_in": 60})
    url = f"https://auth.example.com/authorize?client_id=c&request_uri={request_uri}&response_type=code"
    honoured = flow(response_mode="form_post", authorize_url=url)
    assert rule_hits("response-mode-mismatch", exchange_of(honoured), extra_hops=[par]) == []
    ignored = flow(authorize_url=url)  # answered in the query although the pushed request asked for form_post
    [hit] = rule_hits("response-mode-mismatch", exchange_of(ignored), extra_hops=[par])
    assert hit.evidence["requested"] == "form_post" and hit.evidence["used"] == "query"


@pytest.mark.parametrize("kwargs", [{}, {"response_mode": "form_post"}, {"response_mode": "fragment"},
                                    {"response_type": "token", "response_mode": "fragment"}])
def test_response_mode_quiet_when_honoured(kwargs):
    f = flow(**kwargs)
    assert rule_hits("response-mode-mismatch", exchange_of(f)) == []


def test_form_post_callback_without_recorded_provider_response_counts_as_form_post():
    f = flow(response_mode="form_post")
    assert rule_hits("response-mode-mismatch", exchange_of(f, authz_response=None)) == []


# referer-leak

def _request_from(page_url, target, seq=30):
    return make_hop(seq, "GET", target, started=1003.0, req_headers=[("Referer", page_url)])


def test_referer_leak_from_callback_page_to_analytics():
    f = flow()
    beacon = _request_from(f.callback.url, ANALYTICS)
    [hit] = rule_hits("referer-leak", exchange_of(f), extra_hops=[beacon])
    assert hit.hop is beacon and hit.blame == "C"
    assert hit.evidence["params"] == ["state", "code"]
    assert hit.evidence["to"] == "https://www.googletagmanager.com"
    assert CODE not in hit.message


def test_referer_leak_of_state_from_the_authorization_page_blames_provider():
    f = flow()
    font = _request_from(f.authorize.url, "https://fonts.example-cdn.net/inter.woff2")
    [hit] = rule_hits("referer-leak", exchange_of(f), extra_hops=[font])
    assert hit.blame == "AS" and hit.evidence["params"] == ["state"] and hit.evidence["page"] == "authorization"


def test_referer_quiet_when_trimmed_or_same_origin_or_to_the_flow_parties():
    f = flow()
    trimmed = _request_from("https://chat.openai.com/", ANALYTICS, seq=30)
    own_asset = _request_from(f.callback.url, "https://chat.openai.com/static/app.js", seq=31)
    provider = _request_from(f.callback.url, "https://auth.example.com/logo.png", seq=32)
    assert rule_hits("referer-leak", exchange_of(f), extra_hops=[trimmed, own_asset, provider]) == []


# callback-page-leaky

def _leaky_page(script=ANALYTICS, headers=()):
    return (f'<html><head><script src="{script}"></script><link rel="canonical" href="https://x.test/">'
            f'</head><body>Signed in</body></html>')


def test_callback_page_with_third_party_script_and_code_in_url():
    f = flow()
    f.callback.resp_body = _leaky_page().encode()
    [hit] = rule_hits("callback-page-leaky", exchange_of(f))
    assert hit.hop is f.callback and hit.blame == "C"
    assert hit.evidence["third_party"] == ["www.googletagmanager.com"]  # the canonical link is not fetched
    assert hit.evidence["referrer_policy"] is None


def test_authorize_page_with_third_party_script_blames_provider():
    f = flow(login=False)
    f.authorize.status = 200
    f.authorize.location = None
    f.authorize.resp_headers = [("Content-Type", "text/html")]
    f.authorize.resp_body = _leaky_page("//cdn.segment.io/analytics.js").encode()
    [hit] = [h for h in rule_hits("callback-page-leaky", exchange_of(f)) if h.hop is f.authorize]
    assert hit.blame == "AS" and hit.evidence["third_party"] == ["cdn.segment.io"]


@pytest.mark.parametrize("policy_header, meta, script", [
    ("no-referrer", "", ANALYTICS),
    ("", '<meta name="referrer" content="no-referrer">', ANALYTICS),
    ("", "", "https://cdn.openai.com/app.js"),  # same party as chat.openai.com
    ("", "", "/static/app.js"),
])
def test_callback_page_quiet_with_policy_or_own_resources(policy_header, meta, script):
    f = flow()
    f.callback.resp_body = (meta + _leaky_page(script)).encode()
    if policy_header:
        f.callback.resp_headers.append(("Referrer-Policy", policy_header))
    assert rule_hits("callback-page-leaky", exchange_of(f)) == []


def test_callback_redirect_that_strips_code_is_quiet():
    f = flow(callback_status=302)
    f.callback.resp_body = _leaky_page().encode()
    assert rule_hits("callback-page-leaky", exchange_of(f)) == []


# malformed input

@pytest.mark.parametrize("body", [b"\xff\xfe<script src='https://evil.test/x.js'>\x00", b"<script src=",
                                  b"<" * 100_000, b"", b"<html>" + b"<img src='https://a.test/'>" * 5000])
def test_malformed_pages_and_referers_do_not_raise(body):
    f = flow()
    f.callback.resp_body = body
    weird = make_hop(40, "GET", "https://x.test/", req_headers=[("Referer", "http://[::1/?code=%ff%fe&state")])
    ex = exchange_of(f)
    for rule_id in [r for r in RULES if RULES[r].family == "E"]:
        rule_hits(rule_id, ex, extra_hops=[weird])


def test_engine_finds_referer_leak_from_a_hop_outside_the_exchange():
    from hops import NO_STORE, findings

    f = flow(pkce=True, token_headers=NO_STORE)
    beacon = make_hop(len(f) + 1, "GET", ANALYTICS, started=1003.0, req_headers=[("Referer", f.callback.url)])
    [finding] = findings(list(f) + [beacon], "referer-leak")
    assert finding.hop == beacon.seq and finding.blame == "C" and finding.evidence["params"] == ["state", "code"]
    assert findings(list(flow(pkce=True, token_headers=NO_STORE)), "referer-leak") == []


@pytest.mark.parametrize("referer", [
    "https://client.example/cb?code=abc", "https://client.example/cb?c%6Fde=abc", "https://client.example/cb?co\tde=a",
    "https://client.example/cb?st%0Aate=s", "https://client.example/#x?access_token=t", "https://c.example/?id_token=t",
])
def test_a_referer_whose_query_names_a_secret_is_always_parsed(referer):
    from oauthtrace.params import query_pairs

    named = {name for name, _ in query_pairs(referer)} & set(leakage.REFERER_SECRETS)
    assert leakage._may_name_secret(referer) or not named


def test_a_login_pages_referer_is_not_parsed():
    assert not leakage._may_name_secret("https://as.example/login?ticket=t-1")
