"""Sanitized captures: a rule that needs a value the capture cannot hold is reported as not evaluated, with why.

Chrome DevTools exports "Export HAR (sanitized)" by default, without Cookie, Set-Cookie and Authorization headers
(https://chromium.googlesource.com/devtools/devtools-frontend/+/acd96a60464188fbf7c4476ec883ec65bba3dfdf);
Cloudflare's har-sanitizer replaces listed values by `[<name> redacted]` and a JWT's signature by `redacted`
(https://github.com/cloudflare/har-sanitizer, src/lib/har_sanitize.tsx).

The Keycloak login is shaped as Keycloak documents its endpoints (/realms/{realm}/protocol/openid-connect/auth,
…/token, https://www.keycloak.org/securing-apps/oidc-layers), the confidential client authenticating with HTTP
Basic (client_secret_basic).
"""

from __future__ import annotations

import base64
import json

from click.testing import CliRunner
from hops import analyze, flow, make_hop

from oauthtrace.analysis.sanitized import HEADERS_STRIPPED, is_placeholder
from oauthtrace.cli import cli
from oauthtrace.interchange.har_export import har_document
from oauthtrace.model import Trace

KEYCLOAK = "https://sso.example.com/realms/demo"
APP = "https://app.example.com"
CALLBACK = f"{APP}/oidc/callback"
STATE = "q3Vx8bL0mZr7TfK2pWn5YcJ9hDs4GuA1"
CODE = "c4f6b2e0-9a7d-4e1b-8c3f-2d5a6b7c8d9e.1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b.portal"


def keycloak_login(*, basic: bool = True, client_id_in_body: bool = False) -> list:
    """A Keycloak login as the browser and the app's server made it, cookies and all."""
    metadata = {
        "issuer": KEYCLOAK,
        "authorization_endpoint": f"{KEYCLOAK}/protocol/openid-connect/auth",
        "token_endpoint": f"{KEYCLOAK}/protocol/openid-connect/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post",
                                                  "tls_client_auth", "client_secret_jwt"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["plain", "S256"],
    }
    authorize = (f"{KEYCLOAK}/protocol/openid-connect/auth?response_type=code&client_id=portal"
                 f"&redirect_uri={CALLBACK}&scope=openid&state={STATE}&nonce=n0nce-8f7e6d5c4b3a")
    back = f"{CALLBACK}?state={STATE}&session_state=5e1c&iss={KEYCLOAK}&code={CODE}"
    form = [("grant_type", "authorization_code"), ("code", CODE), ("redirect_uri", CALLBACK)]
    if client_id_in_body:
        form.append(("client_id", "portal"))
    token_headers = [("Authorization", "Basic " + base64.b64encode(b"portal:7Rk2Qn9Lw4Zs1Xv8").decode())] \
        if basic else []
    return [
        make_hop(1, "GET", f"{KEYCLOAK}/.well-known/openid-configuration", started=1000.0, resp_json=metadata),
        make_hop(2, "GET", authorize, started=1001.0, status=200, resp_body="<form>login</form>",
                 content_type="text/html",
                 resp_headers=[("Set-Cookie", "AUTH_SESSION_ID=a1b2.kc; Path=/realms/demo/; Secure; HttpOnly")]),
        make_hop(3, "POST", f"{KEYCLOAK}/login-actions/authenticate?session_code=x1&client_id=portal",
                 started=1002.0, form=[("username", "alice"), ("password", "pw")], status=302, location=back,
                 req_headers=[("Cookie", "AUTH_SESSION_ID=a1b2.kc")],
                 resp_headers=[("Set-Cookie", "KEYCLOAK_SESSION=demo/5e1c; Path=/realms/demo/; Secure")]),
        make_hop(4, "GET", back, started=1003.0, status=302, location=f"{APP}/",
                 resp_headers=[("Set-Cookie", "app_session=s9; Path=/; Secure; HttpOnly")]),
        make_hop(5, "POST", f"{KEYCLOAK}/protocol/openid-connect/token", started=1003.5, form=form,
                 req_headers=token_headers,
                 resp_headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")],
                 resp_json={"access_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "expires_in": 300,
                            "refresh_expires_in": 1800, "refresh_token": "eyJhbGciOiJIUzUxMiJ9.eyJ0IjoxfQ.c2ln",
                            "token_type": "Bearer", "not-before-policy": 0, "session_state": "5e1c",
                            "scope": "openid profile email"}),
    ]


def chrome_sanitized(hops: list) -> list:
    """What Chrome's default "Export HAR (sanitized)" keeps: every header but Authorization, Cookie and Set-Cookie."""
    stripped = {"authorization", "cookie", "set-cookie"}
    for hop in hops:
        hop.req_headers = [(name, value) for name, value in hop.req_headers if name.lower() not in stripped]
        hop.resp_headers = [(name, value) for name, value in hop.resp_headers if name.lower() not in stripped]
    return hops


def not_evaluated(report, rule: str) -> list:
    return [item for item in report.not_evaluated if item.rule == rule]


# -- headers stripped ---------------------------------------------------------------------------------------


def test_a_keycloak_login_with_its_basic_header_stripped_leaves_public_client_secret_not_evaluated():
    report = analyze(chrome_sanitized(keycloak_login()), source="import:har")
    assert [f for f in report.findings if f.rule == "public-client-secret"] == []
    [item] = not_evaluated(report, "public-client-secret")
    assert item.reason == HEADERS_STRIPPED
    assert "Authorization" in item.reason and "Chrome" in item.reason
    # every rule that decides on the Authorization header is left alone the same way
    assert {n.rule for n in report.not_evaluated if n.reason == HEADERS_STRIPPED} >= {
        "client-auth-multiple", "client-auth-method-mismatch", "basic-auth-encoding"}


def test_the_same_login_with_its_headers_is_evaluated_and_clean():
    report = analyze(keycloak_login(), source="import:har")
    assert not_evaluated(report, "public-client-secret") == []
    assert [f for f in report.findings if f.rule == "public-client-secret"] == []


def test_an_unauthenticated_token_request_is_still_named_where_the_capture_holds_the_headers():
    """Cookies were kept, so the missing Authorization header was really missing."""
    report = analyze(keycloak_login(basic=False), source="import:har")
    [finding] = [f for f in report.findings if f.rule == "public-client-secret"]
    assert finding.severity == "error" and finding.message == "unauthenticated token request: client_id = ∅"


def test_a_recording_by_the_proxy_is_never_taken_for_a_sanitized_export():
    report = analyze(chrome_sanitized(keycloak_login(basic=False)), source="record")
    assert [f.rule for f in report.findings if f.rule == "public-client-secret"] == ["public-client-secret"]
    assert not_evaluated(report, "public-client-secret") == []


def test_check_of_an_imported_sanitized_har_says_why_public_client_secret_was_not_evaluated(tmp_path):
    """The user's path: Chrome's sanitized HAR imported, then `check`."""
    har = har_document(Trace(id=0, name="kc", created=0.0), chrome_sanitized(keycloak_login()), redacted=False)
    path = tmp_path / "keycloak-sanitized.har"
    path.write_text(json.dumps(har))
    db = str(tmp_path / "t.db")
    runner = CliRunner()
    imported = runner.invoke(cli, ["import", "--db", db, str(path)])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(cli, ["check", "--db", db, "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert not [f for f in document["findings"] if f["rule"] == "public-client-secret"]
    assert {"rule": "public-client-secret", "exchange": None, "reason": HEADERS_STRIPPED,
            "trace": document["traces"][0]["id"]} in document["not_evaluated"]
    text = runner.invoke(cli, ["check", "--db", db, "--fail-on", "never"]).output
    assert "Not evaluated, sanitized capture: no Authorization, Cookie or Set-Cookie header anywhere" in text


# -- placeholders -------------------------------------------------------------------------------------------


def test_placeholders_of_sanitizers_are_recognised_and_ordinary_values_are_not():
    for value in ("[state redacted]", "[code redacted]", "[Authorization redacted]", "REDACTED", "obfuscated",
                  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.redacted", "‹redacted:3f9a1c›"):
        assert is_placeholder(value), value
    for value in (STATE, "redacted-by-design-7Hk2", "abc", "", None, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"):
        assert not is_placeholder(value), value


def test_a_state_placeholder_is_unknown_not_low_entropy():
    report = analyze(list(flow(state="[state redacted]", code="[code redacted]")), source="import:har")
    assert [f for f in report.findings if f.rule.startswith("state-")] == []
    [item] = not_evaluated(report, "state-low-entropy")
    assert item.exchange == 1
    assert item.reason == "sanitized capture: authorize.state is a placeholder ([state redacted])"
    assert not_evaluated(report, "code-weak")  # a rule of another module, told by sanitized.READS


def test_a_short_state_is_still_low_entropy():
    report = analyze(list(flow(state="abc")), source="import:har")
    assert [f.rule for f in report.findings if f.rule == "state-low-entropy"] == ["state-low-entropy"]
    assert not_evaluated(report, "state-low-entropy") == []


def test_two_logins_whose_states_were_both_replaced_are_not_a_reused_state():
    from hops import sequential

    hops = sequential(flow(state="[state redacted]"), flow(state="[state redacted]", code="other-code-4Fj8sQ2n"))
    report = analyze(hops, source="import:har")
    assert [f for f in report.findings if f.rule == "state-reused"] == []
    assert [item.exchange for item in not_evaluated(report, "state-reused")] == [1, 2]


def test_a_capture_that_names_the_client_connection_was_made_by_a_proxy_and_kept_its_headers():
    """oauthtrace's own HAR export carries each hop's client address; a browser's export cannot know it."""
    hops = chrome_sanitized(keycloak_login(basic=False))
    for hop in hops:
        hop.client_addr = "127.0.0.1:50412"
    report = analyze(hops, source="import:har")
    assert [f.rule for f in report.findings if f.rule == "public-client-secret"] == ["public-client-secret"]
    assert not [n for n in report.not_evaluated if n.reason == HEADERS_STRIPPED]


GOOGLE_AUTH = "https://accounts.google.com/o/oauth2/v2/auth"  # developers.google.com/identity/protocols/oauth2/web-server
GOOGLE_CALLBACK = f"{APP}/auth/google/callback"


def cloudflare_sanitized_google_login() -> list:
    """A Google sign-in as Cloudflare's har-sanitizer leaves it with its default word list: state, code,
    client_id and code_challenge replaced by `[<name> redacted]`; other parameters and the cookies' names kept."""
    authorize = (f"{GOOGLE_AUTH}?client_id=[client_id redacted]&redirect_uri={GOOGLE_CALLBACK}&response_type=code"
                 "&scope=openid%20email%20profile&state=[state redacted]&code_challenge=[code_challenge redacted]"
                 "&code_challenge_method=S256&nonce=n-0S6_WzA2Mj7hQ4")
    back = (f"{GOOGLE_CALLBACK}?state=[state redacted]&iss=https://accounts.google.com&code=[code redacted]"
            "&scope=email%20profile%20openid%20https://www.googleapis.com/auth/userinfo.email"
            "%20https://www.googleapis.com/auth/userinfo.profile&authuser=0&prompt=none")
    return [
        make_hop(1, "GET", authorize, started=1000.0, status=302, location=back,
                 req_headers=[("Cookie", "__Host-GAPS=[__Host-GAPS redacted]; NID=[NID redacted]")]),
        make_hop(2, "GET", back, started=1001.0, status=302, location=f"{APP}/",
                 resp_headers=[("Set-Cookie", "session=[session redacted]; Path=/; Secure; HttpOnly")]),
    ]


def test_a_cloudflare_sanitized_google_login_decides_nothing_on_its_placeholders():
    report = analyze(cloudflare_sanitized_google_login(), source="import:har")
    placeholder_rules = {"state-low-entropy", "state-unprotected-data", "state-altered", "state-reused", "code-weak",
                         "code-reuse", "pkce-challenge-reused", "pkce-verifier-mismatch", "pkce-verifier-malformed"}
    assert [f for f in report.findings if f.rule in placeholder_rules] == []
    reasons = {item.rule: item.reason for item in report.not_evaluated}
    assert reasons["state-low-entropy"] == "sanitized capture: authorize.state is a placeholder ([state redacted])"
    assert reasons["code-weak"].startswith("sanitized capture: ")
    assert "state-missing" not in reasons  # a placeholder stands for a state that was sent


def test_an_authorization_header_a_sanitizer_replaced_is_unknown_all_over_the_capture():
    hops = keycloak_login()
    token = hops[-1]
    token.req_headers = [(name, "[Authorization redacted]" if name == "Authorization" else value)
                         for name, value in token.req_headers]
    report = analyze(hops, source="import:har")
    assert [f for f in report.findings if f.rule.startswith(("public-client", "client-auth", "basic-auth"))] == []
    [item] = not_evaluated(report, "public-client-secret")
    assert item.reason == "sanitized capture: Authorization headers are placeholders ([Authorization redacted])"
