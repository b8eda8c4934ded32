"""Family B: redirect_uri. Each rule fires on its fault and stays quiet on the same shape done right."""

from __future__ import annotations

import pytest

from hops import CHATGPT_CALLBACK, PROVIDER, flow, findings, make_hop


def only(hops, rule, **kwargs):
    return findings(hops, rule, **kwargs)


def registration(seq, uris, *, status=201, answer=None, started=990.0):
    return make_hop(seq, "POST", f"{PROVIDER}/register", started=started, listener="reverse:x",
                    json_body={"redirect_uris": uris, "client_name": "c"}, status=status,
                    resp_json=answer if answer is not None else {"client_id": "plugin-client", "redirect_uris": uris})


# redirect-uri-mismatch

@pytest.mark.parametrize("used,how", [
    (CHATGPT_CALLBACK + "/", "trailing slash"),
    (CHATGPT_CALLBACK.replace("https:", "http:"), "scheme"),
    (CHATGPT_CALLBACK.replace("chat.openai.com", "Chat.OpenAI.com"), "host case"),
    (CHATGPT_CALLBACK.replace("chat.openai.com", "chat.openai.com:8443"), "port"),
    (CHATGPT_CALLBACK + "?x=1", "query"),
    (CHATGPT_CALLBACK.replace("/oauth/", "/o%61uth/"), "percent-encoding"),
])
def test_redirect_uri_mismatch_says_how(used, how):
    f = flow(token_redirect_uri=used)
    [finding] = only(f, "redirect-uri-mismatch")
    assert finding.hop == f.token.seq and finding.blame == "C"
    assert finding.evidence["difference"] == how and how in finding.message


def test_identical_redirect_uri_rejected_blames_the_provider():
    f = flow(token_status=400, token_json={"error": "invalid_grant",
                                           "error_description": "redirect_uri does not match"})
    [finding] = only(f, "redirect-uri-mismatch")
    assert finding.blame == "AS" and finding.evidence["difference"] == "identical"


def test_identical_redirect_uri_is_quiet():
    assert only(flow(), "redirect-uri-mismatch") == []
    f = flow(token_status=400, token_json={"error": "invalid_grant", "error_description": "code expired"})
    assert only(f, "redirect-uri-mismatch") == []


# redirect-uri-omitted-at-token

def test_redirect_uri_omitted_at_token():
    f = flow(token_redirect_uri=None)
    [finding] = only(f, "redirect-uri-omitted-at-token")
    assert finding.hop == f.token.seq and finding.severity == "error"


def test_omitted_redirect_uri_is_info_under_oauth21():
    [finding] = only(flow(token_redirect_uri=None), "redirect-uri-omitted-at-token", profile="oauth21")
    assert finding.severity == "info"


def test_redirect_uri_sent_at_token_or_never_sent_is_quiet():
    assert only(flow(), "redirect-uri-omitted-at-token") == []
    assert only(flow(redirect_uri=None, token_redirect_uri=None), "redirect-uri-omitted-at-token") == []


# callback-target-mismatch

def test_provider_redirects_elsewhere():
    f = flow(redirect_to="https://chat.openai.com/aip/p-1/oauth/callback/")
    [finding] = only(f, "callback-target-mismatch")
    assert finding.hop == f.login_post.seq and finding.evidence["difference"] == "trailing slash"


def test_target_outside_the_registered_set():
    f = flow(redirect_uri=None, redirect_to="https://elsewhere.test/cb")
    hops = [registration(90, ["https://client.test/cb"])] + list(f)
    [finding] = only(hops, "callback-target-mismatch")
    assert finding.evidence["difference"] == "not registered"


def test_target_as_requested_is_quiet():
    assert only(flow(), "callback-target-mismatch") == []
    assert only(flow(response_mode="form_post"), "callback-target-mismatch") == []
    f = flow(redirect_uri=None, redirect_to="https://client.test/cb")
    assert only([registration(90, ["https://client.test/cb"])] + list(f), "callback-target-mismatch") == []


# redirect-on-invalid-client

def test_error_about_redirect_uri_redirected_to_it():
    f = flow(error="invalid_request", error_description="redirect_uri not registered for this client",
             login=False)
    [finding] = only(f, "redirect-on-invalid-client")
    assert finding.hop == f.authorize.seq and finding.evidence["about"] == "redirect_uri"


def test_invalid_client_redirected():
    f = flow(error="invalid_client", login=False)
    [finding] = only(f, "redirect-on-invalid-client")
    assert finding.evidence["about"] == "client_id"


def test_unregistered_redirect_uri_accepted():
    f = flow(redirect_uri="https://attacker.test/cb")
    hops = [registration(90, ["https://client.test/cb"])] + list(f)
    [finding] = only(hops, "redirect-on-invalid-client")
    assert finding.evidence["registered"] == ["https://client.test/cb"]


def test_ordinary_errors_may_be_redirected():
    assert only(flow(error="access_denied"), "redirect-on-invalid-client") == []
    assert only(flow(error="invalid_scope", error_description="scope foo unknown"), "redirect-on-invalid-client") == []
    assert only(flow(), "redirect-on-invalid-client") == []


# redirect-uri-query-dropped

def test_redirect_uri_query_lost():
    uri = "https://client.test/cb?tenant=acme"
    f = flow(redirect_uri=uri, redirect_to="https://client.test/cb")
    [finding] = only(f, "redirect-uri-query-dropped")
    assert finding.hop == f.login_post.seq and finding.evidence["missing"] == ["tenant"]


def test_redirect_uri_query_kept():
    uri = "https://client.test/cb?tenant=acme"
    assert only(flow(redirect_uri=uri), "redirect-uri-query-dropped") == []


# redirect-uri-insecure

@pytest.mark.parametrize("uri,problem", [
    ("http://client.test/cb", "plain http"),
    ("https://client.test/cb#frag", "fragment"),
])
def test_insecure_redirect_uri(uri, problem):
    f = flow(redirect_uri=uri)
    [finding] = only(f, "redirect-uri-insecure")
    assert finding.hop == f.authorize.seq and finding.evidence["problem"] == problem


def test_insecure_redirect_uri_accepted_at_registration_blames_provider():
    hop = registration(1, ["http://client.test/cb"])
    [finding] = only([hop], "redirect-uri-insecure")
    assert finding.hop == 1 and finding.blame == "AS"


def test_loopback_http_and_custom_schemes_are_fine():
    for uri in ("http://127.0.0.1:8765/cb", "http://localhost:3000/cb", "com.example.app:/oauth2redirect",
                CHATGPT_CALLBACK):
        assert only(flow(redirect_uri=uri), "redirect-uri-insecure") == [], uri
    assert only([registration(1, ["http://client.test/cb"], status=400, answer={"error": "invalid_redirect_uri"})],
                "redirect-uri-insecure") == []


# redirect-uri-rejected

def test_registration_rejects_chatgpt_connector_callback():
    uri = "https://chatgpt.com/connector_platform_oauth_redirect"
    hop = registration(1, [uri], status=400, answer={"error": "invalid_redirect_uri",
                                                      "error_description": "does not match allowed patterns"})
    [finding] = only([hop], "redirect-uri-rejected")
    assert finding.evidence["client"] == "ChatGPT" and finding.hop == 1


def test_authorize_page_rejects_chatgpt_callback():
    f = flow(login=False, callback=False, back_channel=False)
    f.authorize.status, f.authorize.location = 400, None
    f.authorize.resp_headers = [("Content-Type", "text/html")]
    f.authorize.resp_body = b"<h1>Error</h1><p>The redirect_uri is not allowed for this client.</p>"
    [finding] = only(list(f), "redirect-uri-rejected")
    assert finding.hop == f.authorize.seq and finding.severity == "error"
    assert "chatgpt.com" in finding.fix and "chat.openai.com" in finding.fix


def test_unknown_clients_and_accepted_callbacks_are_quiet():
    hop = registration(1, ["https://client.test/cb"], status=400, answer={"error": "invalid_redirect_uri"})
    assert only([hop], "redirect-uri-rejected") == []
    assert only([registration(1, [CHATGPT_CALLBACK])], "redirect-uri-rejected") == []
    assert only(flow(), "redirect-uri-rejected") == []


# redirect-307

def test_login_post_answered_with_307_to_the_client():
    f = flow(login_status=307)
    [finding] = only(f, "redirect-307")
    assert finding.hop == f.login_post.seq and "password" in finding.evidence["form_fields"]


def test_login_post_answered_with_303_or_302_is_quiet():
    assert only(flow(login_status=303), "redirect-307") == []
    assert only(flow(), "redirect-307") == []


def test_login_page_mentioning_redirect_uri_is_not_a_rejection():
    f = flow(callback=False, back_channel=False)
    f.login_page.resp_body += b'<input type="hidden" name="redirect_uri" value="x"><p>Invalid password?</p>'
    f.login_post.location = None
    f.login_post.resp_headers = [("Content-Type", "text/html")]
    f.login_post.status = 200
    f.login_post.resp_body = b"<p>Wrong password</p>"
    assert only(list(f), "redirect-uri-rejected") == []


def test_user_errors_mentioning_the_client_are_redirected_rightly():
    f = flow(error="access_denied", error_description="The user denied client_id plugin-client access")
    assert only(f, "redirect-on-invalid-client") == []
    f = flow(error="unauthorized_client", error_description="client_id plugin-client may not use response_type code")
    assert only(f, "redirect-on-invalid-client") == []
