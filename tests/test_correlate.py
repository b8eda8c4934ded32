"""Hops join into exchanges across both channels; concurrent and repeated exchanges stay apart."""

from __future__ import annotations

import pytest

from github_hops import APP_CALLBACK, GITHUB_CODE, GITHUB_STATE, github_login
from hops import CHATGPT_CALLBACK, STATE, VERIFIER, flow, interleave, make_hop, metadata_hop, sequential
from oauthtrace.analysis.classify import classify
from oauthtrace.analysis.correlate import correlate, s256
from test_classify import sharepoint_login


def exchanges_of(hops):
    return correlate(hops, classify(hops))


def only_exchange_with_every_part(f, authz_response):
    """`f`'s hops make one exchange holding each part of the login."""
    [ex] = exchanges_of(f)
    assert ex.authorize is f.authorize
    assert ex.authz_response is authz_response, "the provider response whose Location carried code+state"
    assert ex.callback is f.callback
    assert ex.tokens == [f.token]
    assert [h.seq for h in ex.hops] == [h.seq for h in f]
    return ex


def test_one_flow_one_exchange_with_every_part():
    f = flow()
    ex = only_exchange_with_every_part(f, f.login_post)
    assert ex.roles[f.token.seq] == "token"


def test_token_during_open_callback_request_is_joined():
    """The client's server calls /token while the browser's callback request is still waiting."""
    f = flow()
    assert f.callback.started < f.token.started and f.token.ended < f.callback.ended
    [ex] = exchanges_of(f)
    assert ex.tokens == [f.token]


def test_back_channel_through_http_proxy_listener_is_joined():
    f = flow(back_listener="browser")
    [ex] = exchanges_of(f)
    assert ex.tokens == [f.token]


def test_two_interleaved_exchanges_stay_apart():
    a = flow(state="A" * 32, code="codeA" * 5, client_id="one")
    b = flow(state="B" * 32, code="codeB" * 5, client_id="two", t0=1000.3)
    hops = interleave(a, b)
    assert sorted(h.seq for h in a) != [1, 2, 3, 4, 5], "the two flows' hops really alternate"
    ex1, ex2 = exchanges_of(hops)
    for ex, f in ((ex1, a), (ex2, b)):
        assert ex.authorize is f.authorize
        assert ex.authz_response is f.login_post
        assert ex.callback is f.callback
        assert ex.tokens == [f.token]
        assert {h.seq for h in ex.hops} == {h.seq for h in f}


def test_a_state_from_another_flow_does_not_move_hops_between_exchanges():
    a = flow(state="A" * 32, code="codeA" * 5, login=False)
    b = flow(state="B" * 32, code="codeB" * 5, login=False, returned_state="A" * 32, t0=1000.2)
    ex1, ex2 = exchanges_of(interleave(a, b))
    assert ex1.authorize is a.authorize and ex1.callback is a.callback
    assert ex2.authorize is b.authorize and ex2.authz_response is b.authorize and ex2.callback is b.callback


def test_interleaved_without_referer_still_joins_callbacks_by_state():
    a = flow(state="A" * 32, code="codeA" * 5)
    b = flow(state="B" * 32, code="codeB" * 5, t0=1000.1)
    for f in (a, b):
        f.login_post.req_headers = [h for h in f.login_post.req_headers if h[0] != "Referer"]
    hops = interleave(a, b)
    ex1, ex2 = exchanges_of(hops)
    assert ex1.callback is a.callback and ex2.callback is b.callback
    assert ex1.authz_response is a.login_post and ex2.authz_response is b.login_post
    assert ex1.tokens == [a.token] and ex2.tokens == [b.token]


def test_repeated_exchanges_one_after_another():
    hops = sequential(flow(state="A" * 32, code="c1" * 10), flow(state="B" * 32, code="c2" * 10))
    exchanges = exchanges_of(hops)
    assert len(exchanges) == 2
    assert [len(ex.hops) for ex in exchanges] == [5, 5]


def test_dropped_state_still_joins_through_the_redirect_chain():
    f = flow(returned_state=None)
    [ex] = exchanges_of(f)
    assert ex.callback is f.callback and ex.authz_response is f.login_post


def test_error_response_without_state_points_at_the_providers_redirect():
    f = flow(error="invalid_scope", returned_state=None, login=False)
    [ex] = exchanges_of(f)
    assert ex.authz_response is f.authorize and ex.callback is f.callback


def test_token_joined_by_pkce_when_the_code_was_not_seen():
    f = flow(pkce=True, token_code="code-the-front-channel-never-saw")
    [ex] = exchanges_of(f)
    assert ex.tokens == [f.token]
    assert s256(VERIFIER) == f.authorize.query[[k for k, _ in f.authorize.query].index("code_challenge")][1]


def test_token_joined_by_client_and_redirect_uri_as_last_resort():
    f = flow(token_code="unknown-code")
    [ex] = exchanges_of(f)
    assert ex.tokens == [f.token]


def test_two_token_requests_with_the_same_code_land_in_one_exchange():
    f = flow()
    again = make_hop(50, "POST", f.token.url, started=f.token.started + 5, listener=f.token.listener,
                     form=list(f.token.form), status=400, resp_json={"error": "invalid_grant"})
    [ex] = exchanges_of(list(f) + [again])
    assert ex.tokens == [f.token, again]


def test_back_channel_only_trace_makes_an_exchange_per_token_request():
    f1, f2 = flow(code="x" * 20), flow(code="y" * 20, client_id="other", t0=2000)
    exchanges = exchanges_of([f1.token, f2.token])
    assert [ex.tokens for ex in exchanges] == [[f1.token], [f2.token]]
    assert all(ex.authorize is None for ex in exchanges)


def test_refresh_and_resource_calls_join_by_the_tokens_issued():
    f = flow()
    refresh = make_hop(60, "POST", "https://auth.example.com/token", started=1100,
                       form=[("grant_type", "refresh_token"), ("refresh_token", "rt-0a9b8c7d6e5f4")],
                       resp_json={"access_token": "at-2", "token_type": "Bearer", "refresh_token": "rt-2"})
    call = make_hop(61, "GET", "https://api.example.com/me", started=1101,
                    req_headers=[("Authorization", "Bearer at-2")], resp_json={"name": "alice"})
    first_call = make_hop(59, "GET", "https://api.example.com/me", started=1050,
                          req_headers=[("Authorization", "Bearer at-1f2e3d4c5b6a79880")])
    [ex] = exchanges_of(list(f) + [first_call, refresh, call])
    assert ex.refreshes == [refresh]
    assert ex.resources == [first_call, call]


def test_metadata_goes_with_the_flow_that_follows_it():
    meta = metadata_hop(100, started=990.0)
    other_meta = metadata_hop(101, "https://other-as.test", started=991.0)
    f = flow()
    exchanges = exchanges_of([meta, other_meta] + list(f))
    assert len(exchanges) == 1
    [ex] = exchanges
    assert meta in ex.metadata


def test_metadata_only_trace_is_one_exchange():
    [ex] = exchanges_of([metadata_hop(1), metadata_hop(2, started=991)])
    assert len(ex.metadata) == 2 and ex.authorize is None


def test_callback_without_authorize_is_an_exchange_of_its_own():
    f = flow()
    [ex] = exchanges_of([f.callback])
    assert ex.callback is f.callback and ex.authorize is None


def test_return_to_authorize_after_login_is_the_same_exchange():
    """/authorize → /login → POST /login → 302 back to /authorize (same params) → 302 to the callback."""
    f = flow(login_status=302)
    again_url = f.authorize.url
    f.login_post.location = again_url
    f.login_post.resp_headers = [("Location", again_url)]
    back = make_hop(40, "GET", again_url, started=f.login_post.started + 0.1, status=302,
                    location=f"https://chat.openai.com/aip/p-1/oauth/callback?code=abc1234567890xyz&state={STATE}")
    [ex] = exchanges_of(list(f) + [back])
    assert ex.authorize is f.authorize
    assert ex.authz_response is back
    assert ex.callback is f.callback


def test_hop_belongs_to_at_most_one_exchange():
    hops = interleave(*(flow(state=f"{n:02d}" + "S" * 30, code=f"{n:02d}" + "C" * 20, t0=1000 + n * 0.05)
                        for n in range(10)))
    exchanges = exchanges_of(hops)
    assert len(exchanges) == 10
    seen = [h.seq for ex in exchanges for h in ex.hops]
    assert len(seen) == len(set(seen)) == len(hops)


def _joined(exchanges):
    """What a user reads of each exchange: its number, its hops, and which hop plays each part."""
    seq = lambda hop: hop.seq if hop is not None else None  # noqa: E731
    return [(ex.index, [h.seq for h in ex.hops], seq(ex.authorize), seq(ex.authz_response), seq(ex.callback),
             [h.seq for h in ex.tokens], [h.seq for h in ex.metadata], ex.roles) for ex in exchanges]


def test_hops_listed_out_of_start_order_join_as_when_in_order():
    """A merged or re-imported trace need not list its hops by start time; the joins follow start time."""
    a = flow(state="A" * 32, code="codeA" * 5, client_id="one")
    b = flow(state="B" * 32, code="codeB" * 5, client_id="two", t0=1000.3)
    hops = [metadata_hop(100, started=990.0)] + interleave(a, b)
    roles = classify(hops)
    in_order = correlate(hops, roles)
    assert [ex.index for ex in in_order] == [1, 2] and in_order[0].metadata
    for shuffled in (hops[::-1], hops[1::2] + hops[::2]):
        assert _joined(correlate(shuffled, roles)) == _joined(in_order)


def test_hops_without_a_start_time_count_as_the_earliest():
    """A hop imported without a start time counts as starting at 0: before every timed hop, by seq among
    themselves."""
    untimed = flow()
    timed = flow(state="T" * 32, code="timed" * 5, client_id="timed-client", t0=5000)
    interleave(untimed, timed)  # seqs 1-5, then 6-10
    for hop in untimed:
        hop.started = None
    first, second = exchanges_of(list(timed) + list(untimed))
    assert first.authorize is untimed.authorize and second.authorize is timed.authorize
    assert first.callback is untimed.callback and first.tokens == [untimed.token]
    assert [h.seq for h in first.hops] == [1, 2, 3, 4, 5]


def test_exchanges_are_numbered_by_their_earliest_hop_even_one_joined_last():
    """A client's metadata document fetched before both flows goes with that client's flow, which is then
    numbered first though its authorization request came second."""
    a = flow(state="A" * 32, code="codeA" * 5, client_id="one")
    b = flow(state="B" * 32, code="codeB" * 5, client_id="two", t0=1000.3)
    document = metadata_hop(100, started=990.0, client_id="two")
    first, second = exchanges_of([document] + interleave(a, b))
    assert first.authorize is b.authorize and first.metadata == [document]
    assert second.authorize is a.authorize and (first.index, second.index) == (1, 2)


def _provider_page(seq, started):
    """A page at the provider the browser opened itself: no redirect led there, no form was posted from it."""
    return make_hop(seq, "GET", "https://auth.example.com/account", started=started,
                    resp_headers=[("Content-Type", "text/html")], resp_body=b"<html>account</html>")


def test_provider_page_opened_directly_joins_the_flow_awaiting_its_callback_there():
    f = flow()
    during = _provider_page(90, f.authorize.started + 0.01)
    after = _provider_page(91, f.callback.started + 0.5)
    exchanges = exchanges_of(list(f) + [during, after])
    assert len(exchanges) == 1
    assert during in exchanges[0].hops, "opened while the flow waited for its callback"
    assert after not in exchanges[0].hops, "opened after the callback came: not that flow's any more"


def test_second_callback_without_state_after_delivery_is_an_exchange_of_its_own():
    f = flow()
    again = make_hop(92, "GET", f"{CHATGPT_CALLBACK}?code=another-code-1234567890", started=f.callback.started + 3)
    first, second = exchanges_of(list(f) + [again])
    assert first.callback is f.callback
    assert second.callback is again and second.authorize is None


# GitHub's OAuth apps: neither response_type nor grant_type (github_hops.py)

@pytest.mark.parametrize("redirect_uri, signed_in", [(APP_CALLBACK, False), (None, False), (None, True),
                                                     (APP_CALLBACK, True)],
                         ids=["redirect_uri", "registered-callback", "signed-in", "signed-in-redirect_uri"])
def test_a_github_login_is_one_exchange_with_every_part(redirect_uri, signed_in):
    f = github_login(redirect_uri=redirect_uri, signed_in=signed_in)
    only_exchange_with_every_part(f, f.authz_response)


def test_github_logins_one_after_another_and_at_once_stay_apart():
    """Two logins without redirect_uri: each answer goes to the request whose state it returns."""
    for arrange in (sequential, interleave):
        a = github_login(redirect_uri=None, signed_in=True)
        b = github_login(redirect_uri=None, signed_in=True, t0=1000.5, seq=20)
        _restate(b, "B" * 32, "b" * 20)
        exchanges = exchanges_of(arrange(a, b))
        assert [(ex.authorize, ex.callback, ex.tokens) for ex in exchanges] == [
            (a.authorize, a.callback, [a.token]), (b.authorize, b.callback, [b.token])]


def _restate(f, state, code):
    """The flow with another state and code everywhere (a second login)."""
    for hop in f:
        for old, new in ((GITHUB_STATE, state), (GITHUB_CODE, code)):
            hop.url = hop.url.replace(old, new)
            hop.query = [(k, v.replace(old, new)) for k, v in hop.query]
            hop.form = [(k, v.replace(old, new)) for k, v in hop.form]
            hop.req_headers = [(k, v.replace(old, new)) for k, v in hop.req_headers]  # the Referer
            if hop.location:
                hop.location = hop.location.replace(old, new)
                hop.resp_headers = [(k, v.replace(old, new)) for k, v in hop.resp_headers]
            if hop.req_body:
                hop.req_body = hop.req_body.replace(old.encode(), new.encode())
            if hop.resp_body:
                hop.resp_body = hop.resp_body.replace(old.encode(), new.encode())


def test_the_redirect_uri_hit_before_the_authorization_request_joins_no_exchange():
    """SharePoint's sign-in page is its redirect_uri (test_classify.sharepoint_login): the exchange is the
    authorization request, the login and the form_post callback, not a callback of its own before them."""
    hops = sharepoint_login()
    [ex] = exchanges_of(hops)
    assert ex.authorize is hops[2] and ex.callback is hops[4] and ex.authz_response is hops[3]
    assert [h.seq for h in ex.hops] == [3, 4, 5]


@pytest.mark.parametrize("grant", [[("grant_type", "client_credentials")], []], ids=["grant_type", "by-shape"])
def test_a_client_credentials_request_of_the_same_client_is_an_exchange_of_its_own(grant):
    """RFC 6749 §4.4: the client asks for a token for itself; a login of the same client (GitHub's, whose
    authorization request names no redirect_uri) is another flow."""
    f = github_login(redirect_uri=None)
    own = make_hop(40, "POST", "https://github.com/login/oauth/access_token", started=1100.0,
                   form=grant + [("client_id", f.token.form[0][1]), ("client_secret", "s3cret")],
                   resp_json={"access_token": "a" * 40, "token_type": "bearer"})
    exchanges = exchanges_of(list(f) + [own])
    assert [(ex.authorize, ex.tokens) for ex in exchanges] == [(f.authorize, [f.token]), (None, [own])]
