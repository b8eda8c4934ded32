"""Family C: the authorization code. Each rule fires on its fault and stays quiet on the same shape done right."""

from __future__ import annotations

from hops import CODE, flow, findings, make_hop, sequential
from test_classify import entra_admin_consent


def only(hops, rule, **kwargs):
    return findings(hops, rule, **kwargs)


def second_redemption(f, *, accepted: bool, after: float = 2.0):
    answer = ({"access_token": "at-again-123", "token_type": "Bearer"} if accepted
              else {"error": "invalid_grant"})
    return make_hop(50, "POST", f.token.url, started=f.token.started + after, listener=f.token.listener,
                    form=list(f.token.form), status=200 if accepted else 400, resp_json=answer)


# code-reuse

def test_code_redeemed_twice_and_accepted_blames_the_provider():
    f = flow()
    again = second_redemption(f, accepted=True)
    [finding] = only(list(f) + [again], "code-reuse")
    assert finding.hop == 50 and finding.severity == "error" and finding.blame == "AS"
    assert finding.evidence["first_request"] == f.token.seq
    assert CODE not in str(finding.evidence) and CODE not in finding.message, "the code is shortened"


def test_code_redeemed_twice_and_refused_is_the_clients_warning():
    f = flow()
    [finding] = only(list(f) + [second_redemption(f, accepted=False)], "code-reuse")
    assert finding.severity == "warning" and finding.blame == "C"


def test_single_redemption_is_quiet():
    assert only(flow(), "code-reuse") == []
    assert only(sequential(flow(code="a" * 24, state="S" * 32), flow(code="b" * 24, state="T" * 32)),
                "code-reuse") == []


# code-late-exchange

def test_code_redeemed_after_ten_minutes():
    f = flow(token_delay=700)
    [finding] = only(f, "code-late-exchange")
    assert finding.hop == f.token.seq and finding.severity == "warning"
    assert finding.evidence["gap_seconds"] >= 600


def test_invalid_grant_after_a_long_gap_is_info():
    f = flow(token_delay=90, token_status=400, token_json={"error": "invalid_grant"})
    [finding] = only(f, "code-late-exchange")
    assert finding.severity == "info" and finding.evidence["invalid_grant"] is True


def test_prompt_redemption_is_quiet():
    assert only(flow(), "code-late-exchange") == []
    assert only(flow(token_delay=5, token_status=400, token_json={"error": "invalid_grant"}),
                "code-late-exchange") == []


# callback-malformed

def test_response_with_neither_code_nor_error():
    f = flow(code="", extra_response=[("session", "x")])
    [finding] = only(f, "callback-malformed")
    assert finding.hop == f.login_post.seq and finding.evidence["problem"] == "neither code nor error"


def test_response_with_both_code_and_error():
    f = flow(extra_response=[("error", "server_error")])
    [finding] = only(f, "callback-malformed")
    assert finding.evidence["problem"] == "both code and error"


def test_code_or_error_alone_is_quiet():
    assert only(flow(), "callback-malformed") == []
    assert only(flow(error="access_denied"), "callback-malformed") == []


def test_implicit_tokens_without_code_are_quiet():
    f = flow(response_type="token", response_mode="fragment", code="", back_channel=False,
             extra_response=[("access_token", "at-xyz-123456"), ("token_type", "Bearer")])
    assert only(f, "callback-malformed") == []


# code-weak

def test_short_code():
    f = flow(code="12345")
    [finding] = only(f, "code-weak")
    assert finding.hop == f.login_post.seq and finding.evidence["length"] == 5


def test_same_code_in_two_flows():
    hops = sequential(flow(state="S" * 32), flow(state="T" * 32))
    [finding] = only(hops, "code-weak")
    assert finding.exchange == 2 and finding.evidence["first_exchange"] == 1


def test_strong_distinct_codes_are_quiet():
    hops = sequential(flow(state="S" * 32, code="Xk9" * 10), flow(state="T" * 32, code="Pq7" * 10))
    assert only(hops, "code-weak") == []


def test_the_redirect_uri_hit_before_any_authorization_request_is_no_malformed_response():
    """Entra ID v1 behind SharePoint (test_classify.sharepoint_login): the app's sign-in page is its redirect URI
    and is hit first, with ?ReturnUrl= and neither code nor error; then the real login answers it by form_post."""
    from test_classify import sharepoint_login

    assert only(sharepoint_login(), "callback-malformed") == []


def test_a_callback_before_its_authorization_request_or_without_one_is_not_judged_empty():
    """Even when an exchange holds such a request as its callback (the provider's redirect not seen), an empty
    request to the redirect URI before any authorization request, or with none recorded, is not a response."""
    from oauthtrace.analysis.registry import RULES, Context
    from oauthtrace.model import Exchange
    from test_classify import sharepoint_login

    hops = sharepoint_login()
    sign_in_page, authorize = hops[1], hops[2]
    ctx = Context(trace_id=1, hops=hops, exchanges=[], roles={}, sides={"F", "B"})
    for asked in (None, authorize):
        exchange = Exchange(index=1, hops=hops[1:3], authorize=asked, authz_response=None, callback=sign_in_page)
        assert list(RULES["callback-malformed"].check(exchange, ctx)) == []
    # after its authorization request, an empty callback (no provider redirect recorded) is still named
    late = make_hop(9, "GET", sign_in_page.url.split("?")[0] + "?session=x", started=1010.0)
    exchange = Exchange(index=1, hops=[authorize, late], authorize=authorize, authz_response=None, callback=late)
    [hit] = RULES["callback-malformed"].check(exchange, ctx)
    assert hit.evidence["problem"] == "neither code nor error" and hit.evidence["mode"] == "callback"


def test_a_request_without_response_type_answered_without_code_or_error_is_not_judged():
    """Entra's admin consent endpoint (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent)
    is asked like GitHub's authorize, `GET …/v2.0/adminconsent?client_id&scope&redirect_uri&state`, and answers
    `?admin_consent=True&tenant=…&state=…`: nothing says a code was asked for, so no malformed response."""
    asked, back = entra_admin_consent("12345abcdef67890ghijk")
    assert only([asked, back], "callback-malformed") == []
    # GitHub's, answered with a code: nothing to say either
    from github_hops import github_login

    assert only(list(github_login()), "callback-malformed") == []
