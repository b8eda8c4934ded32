"""Hop roles come from the traffic itself: parameters, methods, content types and redirects — never hosts."""

from __future__ import annotations

import json
import random
import re
from urllib.parse import quote

import pytest

from github_hops import APP_CALLBACK, BAD_CODE_JSON, github_login
from hops import CHATGPT_CALLBACK, NO_STORE, flow, interleave, make_hop
from oauthtrace.analysis import classify as classify_module
from oauthtrace.analysis.classify import (
    RESPONSE_KEYS, classify, classify_with_sources, is_mcp_call, jsonrpc_request, may_hold_response_input,
    redirect_sources,
)
from oauthtrace.analysis.mcp import protocol_version, rpc_method
from oauthtrace.analysis.oauth import param, request_has_response_key, request_params


def roles_by_path(hops):
    roles = classify(hops)
    return [(hop.method, hop.url.split("?")[0].split("#")[0], roles[hop.seq]) for hop in hops]


def test_chatgpt_plugin_flow():
    f = flow()
    roles = classify(f)
    assert roles[f.authorize.seq] == "authorize"
    assert roles[f.login_page.seq] == "login"
    assert roles[f.login_post.seq] == "login"
    assert roles[f.callback.seq] == "callback"
    assert roles[f.token.seq] == "token"


@pytest.mark.parametrize("provider,callback", [
    ("https://idp.other.test", "https://app.other.test/oauth2/cb"),
    ("http://127.0.0.1:4455", "http://127.0.0.1:9000/auth/callback"),
])
def test_no_host_is_special(provider, callback):
    f = flow(provider=provider, redirect_uri=callback)
    roles = classify(f)
    assert [roles[h.seq] for h in f] == ["authorize", "login", "login", "callback", "token"]


def test_token_request_as_json_and_basic_auth():
    f = flow(token_format="json", client_auth="basic")
    assert classify(f)[f.token.seq] == "token"


def test_refresh_registration_metadata_resource():
    hops = [
        make_hop(1, "GET", "https://mcp.example.com/mcp", status=401,
                 resp_headers=[("WWW-Authenticate", 'Bearer resource_metadata="https://mcp.example.com/.well-known/'
                                                     'oauth-protected-resource/mcp"')]),
        make_hop(2, "GET", "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                 resp_json={"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://a.test"]}),
        make_hop(3, "GET", "https://a.test/.well-known/oauth-authorization-server/tenant1", resp_json={}),
        make_hop(4, "GET", "https://a.test/tenant1/.well-known/openid-configuration", resp_json={}),
        make_hop(5, "POST", "https://a.test/register", json_body={"redirect_uris": ["https://c.test/cb"]},
                 status=201, resp_json={"client_id": "dyn-1"}),
        make_hop(6, "POST", "https://a.test/token", form=[("grant_type", "refresh_token"), ("refresh_token", "r")],
                 resp_json={"access_token": "a", "token_type": "Bearer"}),
        make_hop(7, "POST", "https://mcp.example.com/mcp", req_headers=[("Authorization", "Bearer a")],
                 json_body={"jsonrpc": "2.0", "method": "tools/list", "id": 1}),
    ]
    roles = classify(hops)
    assert [roles[h.seq] for h in hops] == [
        "resource", "metadata", "metadata", "metadata", "registration", "refresh", "resource"]


def test_a_jsonrpc_batch_is_read_one_way_by_classify_and_by_the_mcp_readers():
    """MCP 2025-03-26 (https://modelcontextprotocol.io/specification/2025-03-26/basic/transports): "The body of the
    POST request MUST be one of the following: A single JSON-RPC request, notification, or response; An array
    batching one or more requests and/or notifications; An array batching one or more responses". A batch of
    requests is an MCP call whose first request is the one read; the client's answers alone are no request."""
    mcp = "https://mcp.example.com/mcp"
    batch = make_hop(1, "POST", mcp, json_body=[
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26"}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}])
    assert is_mcp_call(batch) and jsonrpc_request(batch)["id"] == 1
    assert (rpc_method(batch), protocol_version(batch)) == ("initialize", "2025-03-26")
    answers = make_hop(2, "POST", mcp, json_body=[{"jsonrpc": "2.0", "id": "s1", "result": {}}])
    assert not is_mcp_call(answers) and jsonrpc_request(answers) is None
    assert (rpc_method(answers), protocol_version(answers)) == (None, None)

def test_rejected_registration_is_still_registration():
    hop = make_hop(1, "POST", "https://a.test/reg", json_body={"redirect_uris": ["http://evil.test/cb"]},
                   status=400, resp_json={"error": "invalid_redirect_uri"})
    assert classify([hop])[1] == "registration"


def test_pushed_authorization_request_is_not_an_authorization_request():
    par = make_hop(1, "POST", "https://a.test/par",
                   form=[("response_type", "code"), ("client_id", "c"), ("redirect_uri", "https://c.test/cb")],
                   status=201, resp_json={"request_uri": "urn:example:1", "expires_in": 60})
    authorize = make_hop(2, "GET", "https://a.test/authorize?client_id=c&request_uri=urn%3Aexample%3A1",
                         started=1001, status=302, location="https://c.test/cb?code=abc&state=xyz")
    roles = classify([par, authorize])
    assert roles == {1: "other", 2: "authorize"}


def test_form_post_callback():
    f = flow(response_mode="form_post")
    roles = classify(f)
    assert f.callback.method == "POST"
    assert roles[f.callback.seq] == "callback"
    assert roles[f.login_post.seq] == "login"


def test_fragment_response_reaches_callback_with_empty_query():
    f = flow(response_mode="fragment", back_channel=False)
    assert "?" not in f.callback.url
    assert classify(f)[f.callback.seq] == "callback"


def test_error_response_callback():
    f = flow(error="access_denied")
    assert classify(f)[f.callback.seq] == "callback"


def test_callback_to_unexpected_target_is_still_a_callback():
    """The provider redirected somewhere else than the redirect_uri: the code it carries still marks it."""
    f = flow(redirect_to="https://chat.openai.com/aip/p-2/oauth/callback")
    assert classify(f)[f.callback.seq] == "callback"


def test_consent_after_login():
    f = flow()
    consent_page = make_hop(20, "GET", "https://auth.example.com/consent?ticket=1", started=1001.1,
                            content_type="text/html", resp_body="<form method=post><button name=allow>Allow</button>")
    consent_post = make_hop(21, "POST", "https://auth.example.com/consent", started=1001.2,
                            form=[("ticket", "1"), ("allow", "yes")], status=302,
                            location="https://auth.example.com/x")
    roles = classify(list(f) + [consent_page, consent_post])
    assert roles[20] == "consent" and roles[21] == "consent"


def test_consent_form_reposting_the_authorization_request_is_consent():
    """Django OAuth Toolkit style: the consent form posts the authorize parameters back to /authorize."""
    get = make_hop(1, "GET", "https://a.test/o/authorize/?response_type=code&client_id=c&state=s1234567890abcdef"
                             "&redirect_uri=https%3A%2F%2Fc.test%2Fcb", content_type="text/html",
                   resp_body="<form method=post>")
    post = make_hop(2, "POST", "https://a.test/o/authorize/", started=1001,
                    form=[("response_type", "code"), ("client_id", "c"), ("state", "s1234567890abcdef"),
                          ("redirect_uri", "https://c.test/cb"), ("allow", "Authorize")],
                    status=302, location="https://c.test/cb?code=abc&state=s1234567890abcdef")
    callback = make_hop(3, "GET", "https://c.test/cb?code=abc&state=s1234567890abcdef", started=1002)
    assert classify([get, post, callback]) == {1: "authorize", 2: "consent", 3: "callback"}


def test_login_form_reposting_the_authorization_request_is_login():
    """The demo provider's shape: the sign-in form carries the authorize parameters along with the password."""
    params = [("response_type", "code"), ("client_id", "c"), ("state", "s1234567890abcdef")]
    get = make_hop(1, "GET", "https://a.test/authorize?response_type=code&client_id=c&state=s1234567890abcdef",
                   content_type="text/html", resp_body='<form method="post"><input type="password" name="pw">')
    post = make_hop(2, "POST", "https://a.test/login", started=1001, form=params + [("password", "x")],
                    status=303, location="https://c.test/cb?code=abc")
    assert classify([get, post])[2] == "login"


def test_assets_and_unrelated_pages_are_other():
    f = flow()
    noise = [
        make_hop(30, "GET", "https://auth.example.com/static/app.css", started=1000.3, content_type="text/css"),
        make_hop(31, "GET", "https://cdn.test/logo.png", started=1000.4, content_type="image/png"),
        make_hop(32, "GET", "https://news.test/?code=42", started=1000.5, content_type="text/html"),
        make_hop(33, "GET", "https://chat.openai.com/gpts", started=1003, content_type="text/html"),
    ]
    roles = classify(list(f) + noise)
    assert [roles[n] for n in (30, 31, 32, 33)] == ["other"] * 4


def test_interleaved_flows_are_classified_alike():
    hops = interleave(flow(state="A" * 32, code="c" * 20), flow(state="B" * 32, code="d" * 20, t0=1000.3))
    roles = classify(hops)
    assert sorted(roles.values()) == sorted(["authorize", "login", "login", "callback", "token"] * 2)


def test_malformed_bodies_do_not_raise():
    hops = [
        make_hop(1, "POST", "https://a.test/token", body=b"\xff\xfe{not json", status=200,
                 req_headers=[("Content-Type", "application/json")], resp_body=b"\xff", content_type="application/json"),
        make_hop(2, "POST", "https://a.test/token", body=b"", req_headers=[("Content-Type", "application/json")],
                 resp_body=b"", content_type="application/json"),
        make_hop(3, "GET", "https://a.test/authorize?client_id=c&client_id=d&response_type=code", status=200,
                 content_type="text/html", resp_body=b"<form action='\xff"),
    ]
    roles = classify(hops)
    assert roles == {1: "other", 2: "other", 3: "authorize"}


def test_token_request_with_duplicate_grant_type_is_read_by_its_first_value():
    hop = make_hop(1, "POST", "https://a.test/token",
                   form=[("grant_type", "authorization_code"), ("grant_type", "refresh_token"), ("code", "x")],
                   resp_json={"access_token": "a"}, resp_headers=NO_STORE)
    assert classify([hop]) == {1: "token"}


def test_callback_url_mentioned_in_authorize_matches_even_without_redirect_seen():
    """The provider's redirect was not recorded (another browser tab, say): redirect_uri + code still tell."""
    f = flow(login=False)
    hops = [f.authorize, f.callback]
    f.authorize.location = None
    f.authorize.resp_headers = []
    assert classify(hops)[f.callback.seq] == "callback"
    assert f.callback.url.startswith(CHATGPT_CALLBACK)


# The shortcuts classify takes at scale answer what the straightforward computation answers (seeded random inputs).

def _random_pairs(rng: random.Random) -> list[tuple[str, str]]:
    names = ["code", "error", "access_token", "id_token", "state", "Code", "code ", "v", "client_id"]
    return [(rng.choice(names), rng.choice(["", "", "x", "0"])) for _ in range(rng.randint(0, 5))]


def test_response_keys_of_a_request_are_read_as_param_reads_them():
    """A response key's first value decides, as param() reads it: code= then code=x delivers nothing."""
    rng = random.Random(7)
    for _ in range(5000):
        hop = make_hop(1, "GET", "https://c.test/cb", form=None)
        hop.query, hop.form = _random_pairs(rng), _random_pairs(rng)
        expected = any(param(request_params(hop), key) for key in RESPONSE_KEYS)
        assert request_has_response_key(hop) == expected, (hop.query, hop.form)


def _random_page(rng: random.Random) -> bytes:
    parts = [b"name", b"NAME", b"Name", b"nAmE", b"=", b" = ", b"\t", b"\n", b'"', b"'", b"code", b"CODE", b"Error",
             b"access_token", b"ID_TOKEN", b"id_token", b">", b"/", b" ", b"<input ", b"x", b"\xc4\xb0", b"\xff"]
    return b"".join(rng.choice(parts) for _ in range(rng.randint(0, 12)))


def test_response_input_test_matches_a_case_insensitive_search():
    """A lowercased copy searched with the pattern matches where re.IGNORECASE matches, the scan limit included."""
    ignorecase = re.compile(classify_module._RESPONSE_INPUT.pattern, re.IGNORECASE)
    limit = classify_module._HTML_SCAN
    rng = random.Random(11)
    bodies = [_random_page(rng) for _ in range(20000)]
    bodies += [b"x" * (limit - 9) + b'NAME="CODE"', b"x" * (limit - 12) + b'name="code"', None, b""]
    for body in bodies:
        expected = bool(body) and ignorecase.search(body, 0, limit) is not None
        assert may_hold_response_input(body) == expected, body[-40:] if body else body


@pytest.mark.parametrize("body", [
    b'{"redirect\\u005furis": ["https://c.test/cb"]}',  # a JSON escape in the member's name
    json.dumps({"redirect_uris": ["https://c.test/cb"]}).encode("utf-16"),  # json.loads reads UTF-16 too
    json.dumps({"redirect_uris": ["https://c.test/cb"]}).encode("utf-8-sig"),
])
def test_registration_spelt_any_way_json_reads_it_is_registration(body):
    hop = make_hop(1, "POST", "https://a.test/register", body=body,
                   req_headers=[("Content-Type", "application/json")], status=201, resp_json={"client_id": "c"})
    assert classify([hop]) == {1: "registration"}


def test_a_login_form_is_not_parsed_as_json():
    """'ticket=...' begins like JSON's true; a form posted to a login page is no registration, known unparsed."""
    f = flow()
    assert classify(f)[f.login_post.seq] == "login"
    assert f.login_post.req_body.startswith(b"t") and not (f.login_post.derived or {}).get("_req_json")


def test_classify_finds_the_redirect_sources_redirect_sources_finds():
    """The walk that names roles also finds where each hop's browser came from, as redirect_sources does."""
    flows = [flow(state="A" * 32, code="c" * 20), flow(state="B" * 32, code="d" * 20, t0=1000.3),
             flow(response_mode="form_post", state="C" * 32, t0=1000.6)]
    hops = interleave(*flows)
    _, sources = classify_with_sources(hops)
    assert sources == redirect_sources(hops)
    assert {seq: source.seq for seq, source in sources.items()} == {
        seq: source for f in flows for seq, source in ((f.login_page.seq, f.authorize.seq),
                                                         (f.callback.seq, f.login_post.seq))}


# OAuth recognised by its shape: GitHub's OAuth apps send neither response_type nor grant_type (github_hops.py).

@pytest.mark.parametrize("redirect_uri", [APP_CALLBACK, None], ids=["redirect_uri", "registered-callback"])
def test_github_login_is_recognised_without_response_type_or_grant_type(redirect_uri):
    """Signed out: authorize → /login?client_id=… → POST /session → back to authorize → the callback → token."""
    f = github_login(redirect_uri=redirect_uri)
    roles = classify(f)
    assert roles[f.authorize.seq] == "authorize"
    assert roles[f.login_page.seq] == "login", "GitHub's /login?client_id=…&return_to=… is a step, not a request"
    assert roles[f.login_post.seq] == "login"
    assert roles[f.callback.seq] == "callback"
    assert roles[f.token.seq] == "token"
    # the return to /login/oauth/authorize after signing in, redirected there by GitHub itself: a step of the flow
    assert roles[f.authz_response.seq] == "consent"


@pytest.mark.parametrize("redirect_uri", [APP_CALLBACK, None], ids=["redirect_uri", "registered-callback"])
def test_github_login_already_signed_in_through_the_authorization_page(redirect_uri):
    """The authorization page's form posts client_id and redirect_uri back, answered by the redirect with the
    code: the user's consent, not a second authorization request (even when the GET named no redirect_uri)."""
    f = github_login(redirect_uri=redirect_uri, signed_in=True, accept_json=False)
    roles = classify(f)
    assert [roles[h.seq] for h in f] == ["authorize", "consent", "callback", "token"]


def test_github_denial_is_a_callback():
    f = github_login(error="access_denied")
    roles = classify(f)
    assert roles[f.authorize.seq] == "authorize" and roles[f.callback.seq] == "callback"


@pytest.mark.parametrize("answer", [BAD_CODE_JSON, {"access_token": "gho_x", "token_type": "bearer"}])
def test_a_code_posted_with_the_client_id_and_answered_like_a_token_endpoint_is_a_token_request(answer):
    hop = make_hop(1, "POST", "https://github.com/login/oauth/access_token",
                   form=[("client_id", "c"), ("client_secret", "s"), ("code", "abc")], resp_json=answer)
    assert classify([hop]) == {1: "token"}


@pytest.mark.parametrize("form, answer, role", [
    ([("refresh_token", "r1"), ("client_id", "c")], {"access_token": "a2", "token_type": "Bearer"}, "refresh"),
    ([("grant_type", "client_credentials"), ("scope", "api")], {"access_token": "a", "token_type": "Bearer"},
     "token"),
    ([("client_id", "c"), ("client_secret", "s")], {"error": "invalid_client"}, "token"),
    # a code with state but without the client's identity: a form_post callback; answered by a page: no token
    ([("code", "abc"), ("state", "s")], {"access_token": "a"}, "callback"),
    ([("code", "abc"), ("client_id", "c")], None, "other"),
    # revocation and introspection carry the client's credentials and a token
    ([("token", "a"), ("client_id", "c"), ("client_secret", "s")], {"error": "unsupported_token_type"}, "other"),
    # a login form answered by JSON
    ([("username", "alice"), ("password", "pw"), ("client_id", "c")], {"error": "invalid_grant"}, "other"),
])
def test_token_requests_are_read_by_their_shape(form, answer, role):
    kwargs = {"resp_json": answer} if answer is not None else {"content_type": "text/html", "resp_body": "<p>ok"}
    hop = make_hop(1, "POST", "https://as.test/oauth/token", form=form, **kwargs)
    assert classify([hop]) == {1: role}


def test_client_id_alone_is_not_an_authorization_request_unless_its_answer_is_seen():
    """client_id names a client in many places that are not OAuth (widgets, analytics, a provider's own login
    steps): without redirect_uri it takes the provider redirecting the browser with a code, later, to count."""
    widget = make_hop(1, "GET", "https://widgets.test/embed?client_id=abc", content_type="text/html",
                      resp_body="<div>")
    api = make_hop(2, "GET", "https://api.test/v1/things?client_id=abc&redirect_uri=https%3A%2F%2Fc.test%2Fcb",
                   resp_json={"things": []})
    # another origin's redirect with a code does not answer the widget
    other = make_hop(3, "GET", "https://idp.test/authorize?client_id=x&scope=a", started=1001, status=302,
                     location="https://c.test/cb?code=abcdef&state=s")
    assert classify([widget, api]) == {1: "other", 2: "other"}
    assert classify([widget, api, other])[1] == "other"


def test_client_id_with_redirect_uri_is_an_authorization_request_once_the_provider_answers_it():
    """Slack's authorize names no response_type (https://docs.slack.dev/authentication/installing-with-oauth):
    its page, then the user's Allow, answered by the redirect with the code."""
    callback = "https://app.test/slack/cb?code=1234.5678.abcdef&state=s1"
    hop = make_hop(1, "GET", "https://slack.com/oauth/v2/authorize?client_id=1.2&scope=chat%3Awrite"
                             "&redirect_uri=https%3A%2F%2Fapp.test%2Fslack%2Fcb&state=s1", content_type="text/html",
                   resp_body="<form method=post>")
    allow = make_hop(2, "POST", "https://slack.com/oauth/v2/authorize", started=1002, form=[("allow", "1")],
                     req_headers=[("Referer", hop.url)], status=302, location=callback)
    back = make_hop(3, "GET", callback, started=1002.2, content_type="text/html", resp_body="<p>installed")
    roles = classify([hop, allow, back])
    assert (roles[1], roles[3]) == ("authorize", "callback")
    assert classify([hop]) == {1: "other"}, "no answer seen: nothing says it asked for a code"


def test_client_id_with_redirect_uri_answered_without_a_code_is_not_an_authorization_request():
    """A payment checkout names the shop's client_id and return URL; the shop's return page gets no code, error
    or token. Taken for an authorization request it was told state-missing, an error, about a payment page."""
    checkout = make_hop(1, "GET", "https://pay.test/checkout?client_id=shop1&amount=10"
                                  "&redirect_uri=https%3A%2F%2Fshop.test%2Freturn", content_type="text/html",
                        resp_body="<form method=post>")
    back = make_hop(2, "GET", "https://shop.test/return?status=paid&order=42", started=1003,
                    req_headers=[("Referer", "https://pay.test/")], content_type="text/html", resp_body="<p>thanks")
    assert classify([checkout, back]) == {1: "other", 2: "other"}


def test_a_provider_step_carrying_client_id_before_the_answer_is_not_a_second_request():
    """Keycloak's login action posts to `/login-actions/authenticate?…&client_id=…` and is answered by the
    redirect with the code: a step of the authorization request before it, not a request of its own."""
    authorize = make_hop(1, "GET", "https://kc.test/realms/r/protocol/openid-connect/auth?client_id=app"
                                   "&response_type=code&redirect_uri=https%3A%2F%2Fapp.test%2Fcb&state=s1234567890",
                         content_type="text/html", resp_body='<form method="post"><input type="password" name="p">')
    action = make_hop(2, "POST", "https://kc.test/realms/r/login-actions/authenticate?session_code=x&client_id=app"
                                 "&tab_id=t", started=1001, form=[("username", "a"), ("password", "b")],
                      req_headers=[("Referer", authorize.url)], status=302,
                      location="https://app.test/cb?code=abcdef&state=s1234567890")
    callback = make_hop(3, "GET", "https://app.test/cb?code=abcdef&state=s1234567890", started=1002)
    assert classify([authorize, action, callback]) == {1: "authorize", 2: "login", 3: "callback"}


def test_the_redirect_uri_hit_before_any_authorization_request_is_not_a_callback():
    """Entra ID v1 behind SharePoint: the app's sign-in page `/_forms/default.aspx?ReturnUrl=…` is also its
    redirect_uri; the browser reaches it from the app's own redirect before any authorization request, and it
    sends the browser on to /oauth2/authorize (response_type=code id_token, response_mode=form_post, resource,
    nonce: https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/
    v1-protocols-openid-connect-code). Only the form_post that comes back is the callback."""
    hops = sharepoint_login()
    roles = classify(hops)
    assert [roles[h.seq] for h in hops] == ["other", "other", "authorize", "login", "callback"]


def sharepoint_login():
    site, login = "https://contoso.sharepoint.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    redirect_uri = f"{site}/_forms/default.aspx"
    authorize_url = (f"{login}/oauth2/authorize?client_id=00000003-0000-0ff1-ce00-000000000000"
                     "&response_mode=form_post&response_type=code%20id_token"
                     "&resource=00000003-0000-0ff1-ce00-000000000000&scope=openid"
                     "&nonce=9A1B2C3D4E5F60718293A4B5C6D7E8F9&redirect_uri=" + quote(redirect_uri, safe="")
                     + "&state=0Q2W3E4R5T6Y7U8I9O0P1A2S3D4F5G6H")
    posted = [("code", "0.AAAA-code-from-entra-v1-abcdefghijklmnop"), ("id_token", "eyJ0eXAiOiJKV1QifQ.e30.sig"),
              ("state", "0Q2W3E4R5T6Y7U8I9O0P1A2S3D4F5G6H"), ("session_state", "5e6f7a8b")]
    inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in posted)
    return [
        make_hop(1, "GET", f"{site}/", started=1000.0, status=302, location="/_forms/default.aspx?ReturnUrl=%2f"),
        make_hop(2, "GET", f"{redirect_uri}?ReturnUrl=%2f", started=1000.1, status=302, location=authorize_url),
        make_hop(3, "GET", authorize_url, started=1000.2, content_type="text/html",
                 resp_body='<form method="post" action="/login"><input type="password" name="passwd"></form>'),
        make_hop(4, "POST", f"{login}/login", started=1003.0, form=[("login", "a@contoso.com"), ("passwd", "pw")],
                 req_headers=[("Referer", authorize_url)], content_type="text/html",
                 resp_body=f'<html><body onload="document.forms[0].submit()"><form method="POST" '
                           f'action="{redirect_uri}">{inputs}</form></body></html>'),
        make_hop(5, "POST", redirect_uri, started=1003.5, form=posted, status=302, location="/"),
    ]


ADMIN_CONSENT_REDIRECT = "http://localhost/myapp/permissions"


def entra_admin_consent(state: str) -> tuple:
    """Entra's admin consent endpoint is asked like GitHub's authorize, `GET …/v2.0/adminconsent?client_id&scope
    &redirect_uri&state`, and answers `?admin_consent=True&tenant=…&state=…`
    (https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent): the request, and the browser's
    visit to the redirect_uri it sent back to."""
    asked = make_hop(1, "GET", "https://login.microsoftonline.com/common/v2.0/adminconsent?client_id=00001111-aaaa-"
                               "2222-bbbb-3333cccc4444&scope=https%3A%2F%2Fgraph.microsoft.com%2FCalendars.Read"
                               f"&redirect_uri={quote(ADMIN_CONSENT_REDIRECT, safe='')}&state={state}", status=302,
                     location=f"{ADMIN_CONSENT_REDIRECT}?admin_consent=True&tenant=fa15d692-e9c7-4460-a743-"
                              f"29f2956fd429&state={state}")
    back = make_hop(2, "GET", asked.location, started=1001.0, content_type="text/html", resp_body="<p>ok")
    return asked, back


def test_a_request_shaped_like_github_answered_without_code_or_error_is_not_an_authorization_request():
    """Entra's admin consent (entra_admin_consent) asked for no code."""
    state, redirect_uri = "12345", ADMIN_CONSENT_REDIRECT
    asked, back = entra_admin_consent(state)
    assert classify([asked, back]) == {1: "other", 2: "other"}
    # refused, it answers with an OAuth error: then it was one
    asked.location = back.url = f"{redirect_uri}?error=access_denied&state={state}"
    back.query = [("error", "access_denied"), ("state", state)]
    assert classify([asked, back]) == {1: "authorize", 2: "callback"}


@pytest.mark.parametrize("body, status, answer", [
    # a site's own API refreshing its session: no grant_type, no client
    ({"refresh_token": "r1"}, 200, {"access_token": "a2", "refresh_token": "r2"}),
    ({"refresh_token": "r1"}, 401, {"error": "Unauthorized", "message": "jwt expired"}),
    # a one-time code checked by the site's own API, refused in its own words
    ({"code": "123456", "client_id": "web"}, 422, {"error": "Invalid code"}),
    # an app's own backend taking the code from its page (GitHub's, say) and answering its own session
    ({"code": "4d3c2b1a0f9e8d7c6b5a", "client_id": "Ov23li"}, 200, {"access_token": "eyJ.app.session",
                                                                     "user": {"login": "octocat"}}),
], ids=["own-refresh", "own-refresh-refused", "otp-refused", "own-backend-session"])
def test_a_sites_own_api_carrying_code_or_refresh_token_is_not_a_token_request(body, status, answer):
    """Recognition by shape must not take ordinary API traffic for OAuth: a token request without grant_type
    carries the client's identity, and its error is an OAuth error code (RFC 6749 §5.2), not a sentence."""
    hop = make_hop(1, "POST", "https://app.test/api/auth/refresh", json_body=body, status=status, resp_json=answer)
    assert classify([hop]) == {1: "other"}
