"""Family F (error responses): fires at the hop at fault with the key evidence, quiet on correct errors."""

from __future__ import annotations

import pytest

from hops import assert_registered, exchange_of, flow, hits_by_exchange, make_hop, rule_hits
from oauthtrace.analysis.registry import RULES
from oauthtrace.analysis.rules import errors

GITHUB_STYLE = (b"error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."
                b"&error_uri=https%3A%2F%2Fdocs.github.com%2Fapps")


def token_error(status, body, **kwargs):
    return flow(token_status=status, token_json=body, **kwargs)


def test_family_f_metadata():
    expected = {"authz-error": ("info", "AS", "F"), "error-code-unknown": ("warning", "AS", "F/B"),
                "error-charset": ("warning", "AS", "F/B"), "token-error-status": ("error", "AS", "B"),
                "invalid-client-challenge": ("warning", "AS", "B")}
    assert_registered("F", expected)


# authz-error

def test_authz_error_after_omitted_scope_ends_the_flow_and_suggests_a_default_scope():
    f = flow(scope=None, error="invalid_scope", error_description="Scope is required")
    [hit] = rule_hits("authz-error", exchange_of(f))
    assert hit.hop is f.authz_response
    assert hit.severity == "error"
    assert hit.evidence["error"] == "invalid_scope"
    assert hit.evidence["error_description"] == "Scope is required"
    assert "default scope" in hit.evidence["cause"]
    assert "callback.error = invalid_scope — Scope is required" in hit.message


def test_authz_error_followed_by_a_successful_login_is_info():
    silent = flow(error="login_required", extra_authorize=[("prompt", "none")])
    interactive = flow(seq=20, t0=2000.0)
    found = hits_by_exchange("authz-error", exchange_of(silent, 0), exchange_of(interactive, 1))
    [(index, hit)] = found
    assert index == 0 and hit.severity is None  # the rule's default, info
    assert hit.evidence["recovered"] is True
    assert "prompt=none" in hit.evidence["cause"]


def test_authz_error_read_from_the_callback_when_the_provider_response_was_not_recorded():
    f = flow(error="access_denied")
    [hit] = rule_hits("authz-error", exchange_of(f, authz_response=None))
    assert hit.hop is f.callback and "declined" in hit.evidence["cause"]


def test_authz_error_quiet_on_success():
    assert rule_hits("authz-error", exchange_of(flow())) == []


@pytest.mark.parametrize("code, blame, severity", [
    # RFC 6749 §4.1.2.1: "access_denied: The resource owner or authorization server denied the request" — the
    # Deny button, usually: the user's answer, information even when the flow ends there
    ("access_denied", "user", None),
    # the client's request or what it asks of its registration
    ("invalid_request", "C", "error"), ("unauthorized_client", "C", "error"),
    ("unsupported_response_type", "C", "error"), ("invalid_scope", "C", "error"),
    ("invalid_request_object", "C", "error"),
    # "server_error: The authorization server encountered an unexpected condition", "temporarily_unavailable"
    ("server_error", "AS", "error"), ("temporarily_unavailable", "AS", "error"),
    # OpenID Connect Core §3.1.2.6 without prompt=none: the provider asks for interaction it could have shown
    ("login_required", "AS", "error"),
    ("made_up_error", "AS", "error"),
])
def test_authz_error_blame_and_severity_follow_the_error_code(code, blame, severity):
    f = flow(error=code)
    [hit] = rule_hits("authz-error", exchange_of(f))
    assert (hit.blame, hit.severity) == (blame, severity)
    assert hit.evidence["recovered"] is False and hit.message.endswith("the flow ended here")


@pytest.mark.parametrize("code", ["login_required", "interaction_required", "consent_required",
                                  "account_selection_required"])
def test_an_interaction_error_answering_prompt_none_is_the_clients_information(code):
    """OpenID Connect Core §3.1.2.6: these "MAY be returned when the prompt parameter value in the Authentication
    Request is none": the answer a silent login asks for; the client goes on with an interactive one."""
    [hit] = rule_hits("authz-error", exchange_of(flow(error=code, extra_authorize=[("prompt", "none")])))
    assert (hit.blame, hit.severity) == ("C", None)
    assert "prompt=none" in hit.evidence["cause"]


def test_a_denied_github_login_is_information_blamed_on_the_user_in_every_output():
    """GitHub redirects a denial as error=access_denied (github_hops.py); check says so as information, the user
    named as the one who decided, in the text, JSON, Markdown and terminal views alike."""
    from github_hops import github_login
    from hops import analyze
    from oauthtrace.exporters.check_formats import format_text
    from oauthtrace.exporters.markdown_sections import findings_section
    from oauthtrace.model import Trace, finding_dict
    from oauthtrace.tui.findings_view import finding_line

    report = analyze(list(github_login(error="access_denied")))
    [finding] = [found for found in report.findings if found.rule == "authz-error"]
    assert (finding.severity, finding.blame) == ("info", "user")
    assert "access_denied" in finding.message and "declined" in finding.evidence["cause"]
    assert "  info  user  " in format_text([report], [Trace(id=1, name="github", created=0.0)])
    assert f"`authz-error` · info · user · hop #{finding.hop}" in "\n".join(findings_section(report))
    assert finding_line(finding).plain.split()[1:4] == ["info", "authz-error", "user"]
    assert finding_dict(finding)["blame"] == "user"


# error-code-unknown

@pytest.mark.parametrize("body, shown", [
    ({"error": "Invalid_Grant"}, "case differs from invalid_grant"),
    ({"error": {"message": "bad code"}}, "a JSON dict"),
    ({"error": "code_expired"}, "not a registered code"),
])
def test_unknown_token_error_codes(body, shown):
    f = token_error(400, body)
    [hit] = rule_hits("error-code-unknown", exchange_of(f))
    assert hit.hop is f.token and hit.evidence["error"] == body["error"]
    assert shown in hit.message


def test_unknown_error_in_form_encoded_token_response_and_authorization_response():
    gh = flow(token_resp_body=GITHUB_STYLE, token_content_type="application/x-www-form-urlencoded")
    [hit] = rule_hits("error-code-unknown", exchange_of(gh))
    assert hit.evidence == {"where": "token", "error": "bad_verification_code"}

    f = flow(error="denied")
    [hit] = rule_hits("error-code-unknown", exchange_of(f))
    assert hit.hop is f.authz_response and hit.evidence["where"] == "callback"


@pytest.mark.parametrize("body", [{"error": "invalid_grant"}, {"error": "invalid_target"},
                                  {"error": "authorization_pending"}])
def test_known_error_codes_are_quiet(body):
    assert rule_hits("error-code-unknown", exchange_of(token_error(400, body))) == []
    assert rule_hits("error-code-unknown", exchange_of(flow(error="consent_required"))) == []


def test_registration_error_codes_are_checked_too():
    bad = make_hop(60, "POST", "https://auth.example.com/register", json_body={"redirect_uris": ["x"]},
                   status=400, resp_json={"error": "redirect_uri_not_allowed"})
    good = make_hop(61, "POST", "https://auth.example.com/register", json_body={"redirect_uris": ["x"]},
                    status=400, resp_json={"error": "invalid_redirect_uri"})
    [hit] = rule_hits("error-code-unknown", exchange_of(flow(), registrations=[bad, good]))
    assert hit.hop is bad and hit.evidence["where"] == "registration"


# error-charset

def test_error_charset_non_ascii_description_in_authorization_response():
    f = flow(error="access_denied", error_description="Zugriff verweigert – Ungültig")
    [hit] = rule_hits("error-charset", exchange_of(f))
    assert hit.hop is f.authz_response
    assert hit.evidence["param"] == "error_description"
    assert hit.evidence["bad_characters"] == ["–", "ü"]


def test_error_charset_quote_in_token_error_and_space_in_error_uri():
    f = token_error(400, {"error": "invalid_grant", "error_description": 'Invalid "code"',
                          "error_uri": "https://auth.example.com/errors/invalid grant"})
    found = {hit.evidence["param"]: hit for hit in rule_hits("error-charset", exchange_of(f))}
    assert set(found) == {"error_description", "error_uri"}
    assert found["error_description"].evidence["bad_characters"] == ['"']
    assert found["error_uri"].evidence["bad_characters"] == [" "]
    assert found["error_uri"].hop is f.token


def test_error_charset_quiet_for_plain_ascii():
    f = token_error(400, {"error": "invalid_grant", "error_description": "Code expired (after 600s); retry.",
                          "error_uri": "https://auth.example.com/errors#invalid_grant"})
    assert rule_hits("error-charset", exchange_of(f)) == []
    assert rule_hits("error-charset", exchange_of(flow(error="access_denied", error_description="User said no"))) == []


# token-error-status

def test_error_with_200_is_an_error():
    f = token_error(200, {"error": "invalid_grant"})
    [hit] = rule_hits("token-error-status", exchange_of(f))
    assert hit.hop is f.token and hit.severity is None  # error, the rule's default
    assert hit.evidence == {"status": 200, "error": "invalid_grant", "expected": "400"}


def test_github_style_200_form_error_is_an_error():
    gh = flow(token_resp_body=GITHUB_STYLE, token_content_type="application/x-www-form-urlencoded")
    [hit] = rule_hits("token-error-status", exchange_of(gh))
    assert hit.evidence["status"] == 200 and hit.evidence["error"] == "bad_verification_code"


def test_error_with_401_other_than_invalid_client_is_a_warning():
    [hit] = rule_hits("token-error-status", exchange_of(token_error(401, {"error": "invalid_grant"})))
    assert hit.severity == "warning"


@pytest.mark.parametrize("status, body", [(400, {"error": "invalid_grant"}), (401, {"error": "invalid_client"}),
                                          (400, {"error": "invalid_client"})])
def test_token_error_status_quiet_for_400_and_401_invalid_client(status, body):
    assert rule_hits("token-error-status", exchange_of(token_error(status, body))) == []
    assert rule_hits("token-error-status", exchange_of(flow())) == []


# invalid-client-challenge

def test_invalid_client_after_basic_without_401():
    f = token_error(400, {"error": "invalid_client"}, client_auth="basic")
    [hit] = rule_hits("invalid-client-challenge", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"status": 400, "www_authenticate": None, "scheme": "Basic"}


def test_invalid_client_401_without_challenge_header():
    f = token_error(401, {"error": "invalid_client"}, client_auth="basic")
    [hit] = rule_hits("invalid-client-challenge", exchange_of(f))
    assert hit.evidence["status"] == 401 and "WWW-Authenticate = ∅" in hit.message


def test_invalid_client_challenge_quiet_when_correct_or_not_header_auth():
    f = token_error(401, {"error": "invalid_client"}, client_auth="basic")
    f.token.resp_headers.append(("WWW-Authenticate", 'Basic realm="token"'))
    assert rule_hits("invalid-client-challenge", exchange_of(f)) == []
    posted = token_error(400, {"error": "invalid_client"}, client_auth="post")
    assert rule_hits("invalid-client-challenge", exchange_of(posted)) == []


# malformed input

@pytest.mark.parametrize("body, content_type", [
    (b"", "application/json"), (b"\xff\xfe\xfd", "application/json"), (b"{", "application/json"),
    (b"error=%ff%fe&error_description=%00%01", "application/x-www-form-urlencoded"),
    (b'{"error": "' + b"x" * 1_000_000 + b'"}', "application/json"), (b"[1, 2]", "application/json"),
    (b'{"error": null, "error_description": 5}', "application/json"),
])
def test_malformed_error_bodies_do_not_raise(body, content_type):
    f = flow(token_status=400, token_resp_body=body, token_content_type=content_type)
    front = flow(error="access_denied", error_description="\x00\x1b[2J" + "é" * 10_000)
    for rule_id in [r for r in RULES if RULES[r].family == "F"]:
        rule_hits(rule_id, exchange_of(f))
        rule_hits(rule_id, exchange_of(front))


def test_known_errors_cover_the_rfc_lists():
    assert errors.KNOWN_ERRORS >= errors.TOKEN_ERRORS | errors.AUTHORIZATION_ERRORS | errors.OIDC_ERRORS


@pytest.mark.parametrize("accept_json", [True, False], ids=["json", "form-encoded"])
def test_github_answers_a_bad_code_with_200_and_it_is_named_at_its_token_request(accept_json):
    """GitHub's `POST /login/oauth/access_token` names no grant_type; a bad code is answered
    `bad_verification_code` ("If the verification code you pass is incorrect, expired, or doesn't match what you
    received in the first request for authorization you will receive this error.",
    https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors)
    with HTTP 200 (octokit/auth-oauth-app.js#13: "The server returns a 200 status, not a 4xx as expected"), JSON
    with `Accept: application/json`, form-encoded without."""
    from github_hops import BAD_CODE_JSON, github_login
    from hops import findings

    f = github_login(token_answer=BAD_CODE_JSON, accept_json=accept_json)
    [finding] = findings(list(f), "token-error-status")
    assert finding.hop == f.token.seq and finding.severity == "error" and finding.blame == "AS"
    assert {k: finding.evidence[k] for k in ("status", "error", "expected")} == {
        "status": 200, "error": "bad_verification_code", "expected": "400"}
    assert finding.evidence["provider"] == "GitHub (OAuth apps)"  # named, with the fix in GitHub's terms
    assert "read `error` in every token response body" in finding.evidence["provider_fix"]
    assert findings(list(github_login()), "token-error-status") == []


def test_engine_reports_a_200_token_error_at_the_token_hop():
    from hops import NO_STORE, findings

    f = flow(token_status=200, token_json={"error": "invalid_grant"}, token_headers=NO_STORE)
    [finding] = findings(list(f), "token-error-status")
    assert finding.hop == f.token.seq and finding.severity == "error" and finding.blame == "AS"
    assert findings(list(flow(token_status=400, token_json={"error": "invalid_grant"})), "token-error-status") == []


@pytest.mark.parametrize("body", [
    b'{"error": "invalid_grant"}', b'{"\\u0065rror": "invalid_grant"}', b"%65rror=invalid_grant", b"error=x",
    '{"error": "x"}'.encode("utf-16"), '{"error": "x"}'.encode("utf-16-le"), b'\xef\xbb\xbf{"error": "x"}',
])
def test_a_body_token_fields_reads_an_error_from_may_spell_it(body):
    from oauthtrace.analysis.oauth import token_fields

    content_type = "application/x-www-form-urlencoded" if b"=" in body else "application/json"
    hop = make_hop(1, "POST", "https://as.example/token", resp_body=body, content_type=content_type)
    fields = token_fields(hop) or {}
    assert fields.get("error") not in (None, ""), "the sample itself must carry an error"
    assert errors.may_spell(hop.resp_body, b"error")


def test_may_spell_rules_out_a_plain_success_answer():
    assert not errors.may_spell(b'{"access_token": "at", "token_type": "Bearer"}', b"error")
    assert not errors.may_spell(None, b"error") and not errors.may_spell(b"", b"error")
