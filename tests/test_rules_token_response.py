"""Family G (token response format, scope, refresh): fires at the token hop with evidence, quiet when correct."""

from __future__ import annotations

import base64
import json

import pytest

from hops import exchange_of, flow, make_hop, rule_hits
from oauthtrace.analysis.registry import RULES, Context
from oauthtrace.analysis.rules import token_response  # noqa: F401  registers family G
from oauthtrace.model import Exchange

GOOD = {"access_token": "at-1f2e3d4c5b6a79880", "token_type": "Bearer", "expires_in": 3600,
        "refresh_token": "rt-0a9b8c7d6e5f4"}
NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def token_flow(body=GOOD, *, headers=NO_STORE, **kwargs):
    f = flow(token_json=body, **kwargs)
    f.token.resp_headers += list(headers)
    return f


def fake_jwt(claims: dict) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'at+jwt'})}.{part(claims)}.c2lnbmF0dXJl"


def refresh_hop(seq, refresh_token, *, response=None, status=200, scope=None, auth="none", started=None):
    form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", "plugin-client")]
    if scope:
        form.append(("scope", scope))
    headers = [("Authorization", "Basic cGx1Z2luLWNsaWVudDpzM2NyZXQ=")] if auth == "basic" else []
    return make_hop(seq, "POST", "https://auth.example.com/token", started=started or 2000.0 + seq,
                    listener="reverse:https://auth.example.com@8081", form=form, req_headers=headers,
                    status=status, resp_json=response if response is not None else {"error": "invalid_grant"},
                    resp_headers=list(NO_STORE))


def test_family_g_metadata():
    expected = {"token-response-not-json": "error", "token-fields-missing": "error",
                "expires-in-not-number": "error", "token-cache-headers": "error",
                "scope-changed-unreported": "warning", "refresh-misuse": "error"}
    for rule_id, severity in expected.items():
        registered = RULES[rule_id]
        assert (registered.family, registered.severity, registered.needs) == ("G", severity, "B")
        assert registered.spec and registered.quote and registered.fix
    assert RULES["refresh-misuse"].blame == "C" and RULES["token-fields-missing"].blame == "AS"


# token-response-not-json

def test_form_encoded_token_response_github_style():
    f = flow(token_resp_body=b"access_token=gho_abc&scope=repo&token_type=bearer",
             token_content_type="application/x-www-form-urlencoded")
    [hit] = rule_hits("token-response-not-json", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"status": 200, "content_type": "application/x-www-form-urlencoded",
                            "body": "form-encoded fields"}
    assert "gho_abc" not in hit.message


@pytest.mark.parametrize("body, content_type, kind", [
    (b"", "application/json", "empty"),
    (b"<html><body>Bad gateway</body></html>", "text/html", "HTML"),
    (b"[1]", "application/json", "JSON but a list, not an object"),
    (b"\xff\xfe\xfd", "application/octet-stream", "binary, not UTF-8"),
    (json.dumps(GOOD).encode(), "text/plain", "a JSON object"),
])
def test_not_json_describes_the_body(body, content_type, kind):
    f = flow(token_resp_body=body, token_content_type=content_type)
    [hit] = rule_hits("token-response-not-json", exchange_of(f))
    assert hit.evidence["body"] == kind


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON"])
def test_not_json_quiet_for_json(content_type):
    f = flow(token_json=GOOD, token_content_type=content_type)
    assert rule_hits("token-response-not-json", exchange_of(f)) == []
    error = flow(token_status=400, token_json={"error": "invalid_grant"}, token_content_type=content_type)
    assert rule_hits("token-response-not-json", exchange_of(error)) == []


# token-fields-missing

def test_missing_token_type_is_an_error():
    body = {k: v for k, v in GOOD.items() if k != "token_type"}
    f = token_flow(body)
    [hit] = rule_hits("token-fields-missing", exchange_of(f))
    assert hit.hop is f.token and hit.severity is None
    assert hit.evidence["missing"] == ["token_type"]
    assert "token_type = ∅" in hit.message


def test_missing_and_empty_access_token():
    f = token_flow({"access_token": "", "token_type": "Bearer"})
    [hit] = rule_hits("token-fields-missing", exchange_of(f))
    assert hit.evidence["missing"] == ["access_token"]


def test_unknown_token_type_is_a_warning_and_case_variant_is_info():
    [hit] = rule_hits("token-fields-missing", exchange_of(token_flow({**GOOD, "token_type": "jwt"})))
    assert hit.severity == "warning" and hit.evidence == {"token_type": "jwt"}
    [hit] = rule_hits("token-fields-missing", exchange_of(token_flow({**GOOD, "token_type": "bearer"})))
    assert hit.severity == "info" and hit.evidence["canonical"] == "Bearer"


def test_fields_quiet_for_good_response_dpop_and_errors():
    assert rule_hits("token-fields-missing", exchange_of(token_flow())) == []
    assert rule_hits("token-fields-missing", exchange_of(token_flow({**GOOD, "token_type": "DPoP"}))) == []
    # a 200 error body is token-error-status's finding, not a missing access_token
    assert rule_hits("token-fields-missing", exchange_of(token_flow({"error": "invalid_grant"}))) == []


# expires-in-not-number

def test_expires_in_as_string():
    f = token_flow({**GOOD, "expires_in": "3600"})
    [hit] = rule_hits("expires-in-not-number", exchange_of(f))
    assert hit.hop is f.token
    assert hit.evidence == {"field": "expires_in", "value": "3600"}
    assert 'expires_in = "3600" (a JSON string) ≠ 3600 (a JSON number)' in hit.message


def test_other_numeric_members_and_non_numeric_strings():
    f = token_flow({**GOOD, "refresh_expires_in": "1h"})
    [hit] = rule_hits("expires-in-not-number", exchange_of(f))
    assert hit.evidence["field"] == "refresh_expires_in" and "not even numeric" in hit.message


def test_expires_in_quiet_for_numbers_and_absence():
    assert rule_hits("expires-in-not-number", exchange_of(token_flow())) == []
    assert rule_hits("expires-in-not-number", exchange_of(token_flow({**GOOD, "expires_in": 3599.5}))) == []
    no_expiry = {k: v for k, v in GOOD.items() if k != "expires_in"}
    assert rule_hits("expires-in-not-number", exchange_of(token_flow(no_expiry))) == []


# token-cache-headers

def test_missing_cache_headers_error_and_warning():
    f = token_flow(headers=[("Cache-Control", "public, max-age=60")])
    found = {hit.evidence["header"]: hit for hit in rule_hits("token-cache-headers", exchange_of(f))}
    assert found["Cache-Control"].hop is f.token and found["Cache-Control"].severity is None
    assert found["Cache-Control"].evidence["value"] == "public, max-age=60"
    assert found["Pragma"].severity == "warning"


def test_a_private_token_response_without_no_store_is_information():
    """GitHub's token endpoint answers `Cache-Control: max-age=0, private, must-revalidate`: no shared cache may
    store it (RFC 9111 §5.2.2.7), so no attacker gains what RFC 6749 §5.1's no-store guards against; the MUST
    is still unmet, and said."""
    f = token_flow(headers=[("Cache-Control", "max-age=0, private, must-revalidate")])
    found = {hit.evidence["header"]: hit for hit in rule_hits("token-cache-headers", exchange_of(f))}
    assert found["Cache-Control"].severity == "info" and "private" in found["Cache-Control"].message
    assert found["Pragma"].severity == "info"


def test_missing_pragma_is_info_under_oauth21():
    f = token_flow(headers=[])
    found = {hit.evidence["header"]: hit for hit in rule_hits("token-cache-headers", exchange_of(f), profile="oauth21")}
    assert found["Pragma"].severity == "info" and found["Cache-Control"].severity is None


def test_missing_pragma_next_to_no_store_is_info():
    # node oidc-provider 9 sends only Cache-Control: no-store (RFC 9111 deprecated Pragma): not a warning
    f = token_flow(headers=[("Cache-Control", "no-store")])
    [hit] = rule_hits("token-cache-headers", exchange_of(f))
    assert hit.evidence["header"] == "Pragma" and hit.severity == "info"


def test_cache_headers_quiet_when_present_or_no_tokens():
    assert rule_hits("token-cache-headers", exchange_of(token_flow(headers=[("cache-control", "No-Store"),
                                                                            ("pragma", "no-cache")]))) == []
    error = flow(token_status=400, token_json={"error": "invalid_grant"})
    assert rule_hits("token-cache-headers", exchange_of(error)) == []


# scope-changed-unreported

def test_scope_narrowed_without_scope_member_seen_in_jwt_access_token():
    body = {**GOOD, "access_token": fake_jwt({"sub": "alice", "scope": "read"})}
    f = token_flow(body, scope="read write")
    [hit] = rule_hits("scope-changed-unreported", exchange_of(f))
    assert hit.hop is f.token and hit.severity is None
    assert hit.evidence == {"requested": "read write", "granted": "read", "source": "access_token.scope"}
    assert "not granted: write" in hit.message


def test_scope_narrowed_seen_through_later_insufficient_scope():
    f = token_flow(scope="read write")
    api = make_hop(30, "POST", "https://api.example.com/notes", status=403,
                   resp_headers=[("WWW-Authenticate", 'Bearer error="insufficient_scope", scope="write"')])
    [hit] = rule_hits("scope-changed-unreported", exchange_of(f, resources=[api]))
    assert hit.evidence["granted"] == "read" and "insufficient_scope" in hit.evidence["source"]


def test_scope_reported_and_different_is_info():
    f = token_flow({**GOOD, "scope": "read"}, scope="read write")
    [hit] = rule_hits("scope-changed-unreported", exchange_of(f))
    assert hit.severity == "info" and hit.evidence["source"] == "token response"


def test_refresh_without_scope_is_compared_with_the_original_grant():
    f = token_flow({**GOOD, "scope": "read"}, scope="read write")  # narrowed, and said so
    narrowed_jwt = fake_jwt({"scope": "read"})
    refresh = refresh_hop(20, GOOD["refresh_token"], response={**GOOD, "access_token": narrowed_jwt})
    found = rule_hits("scope-changed-unreported", exchange_of(f, refreshes=[refresh]))
    assert [hit.hop for hit in found] == [f.token]  # the info on the code exchange only
    widened = refresh_hop(21, GOOD["refresh_token"], response={**GOOD, "access_token": fake_jwt({"scope": "x"})})
    [_, hit] = rule_hits("scope-changed-unreported", exchange_of(f, refreshes=[widened]))
    assert hit.hop is widened and hit.evidence["requested"] == "read" and hit.severity is None


@pytest.mark.parametrize("body, scope", [
    ({**GOOD, "scope": "write read"}, "read write"),  # same set, other order
    ({**GOOD, "access_token": fake_jwt({"scp": ["read", "write"]})}, "read write"),
    (GOOD, "read write"),  # nothing shows a difference
    ({**GOOD, "access_token": fake_jwt({"scope": "openid"})}, None),  # default scope, nothing requested
])
def test_scope_quiet(body, scope):
    assert rule_hits("scope-changed-unreported", exchange_of(token_flow(body, scope=scope))) == []


def test_scope_narrowed_behind_a_pushed_request_is_compared_with_the_pushed_scope():
    # The shape of oidc-provider with PAR (tests/test_interop_oidc_provider.py): the browser's URL carries only
    # client_id and request_uri; the scope asked for is in the pushed request (RFC 9126 §2.1).
    request_uri = "urn:ietf:params:oauth:request_uri:abc"
    par = make_hop(1, "POST", "https://auth.example.com/par", started=900.0,
                   form=[("client_id", "c"), ("response_type", "code"), ("scope", "openid profile")],
                   status=201, resp_json={"request_uri": request_uri, "expires_in": 60})
    f = token_flow({**GOOD, "scope": "openid"},
                   authorize_url=f"https://auth.example.com/authorize?client_id=c&request_uri={request_uri}")
    [hit] = rule_hits("scope-changed-unreported", exchange_of(f, hops=[par, *f]))
    assert hit.severity == "info" and hit.evidence["requested"] == "openid profile"
    assert "not granted: profile" in hit.message
    # A granted scope equal to the pushed one is quiet.
    same = token_flow({**GOOD, "scope": "profile openid"},
                      authorize_url=f"https://auth.example.com/authorize?client_id=c&request_uri={request_uri}")
    assert rule_hits("scope-changed-unreported", exchange_of(same, hops=[par, *same])) == []


# refresh-misuse

def test_refresh_beyond_original_scope_granted_blames_provider():
    f = token_flow({**GOOD, "scope": "read"}, scope="read")
    refresh = refresh_hop(20, GOOD["refresh_token"], scope="read admin",
                          response={**GOOD, "access_token": "at-2", "refresh_token": "rt-2"})
    [hit] = rule_hits("refresh-misuse", exchange_of(f, refreshes=[refresh]))
    assert hit.hop is refresh and hit.blame == "AS"
    assert hit.evidence["beyond"] == ["admin"] and hit.evidence["granted"] is True


def test_refresh_beyond_scope_refused_blames_client():
    f = token_flow(scope="read")
    refresh = refresh_hop(20, GOOD["refresh_token"], scope="read admin", status=400,
                          response={"error": "invalid_scope"})
    [hit] = rule_hits("refresh-misuse", exchange_of(f, refreshes=[refresh]))
    assert hit.blame is None and hit.evidence["granted"] is False


def test_reuse_of_rotated_out_refresh_token():
    f = token_flow()
    first = refresh_hop(20, GOOD["refresh_token"], response={**GOOD, "access_token": "at-2", "refresh_token": "rt-2"})
    again = refresh_hop(21, GOOD["refresh_token"], status=400, response={"error": "invalid_grant"})
    [hit] = rule_hits("refresh-misuse", exchange_of(f, refreshes=[first, again]))
    assert hit.hop is again
    assert hit.evidence == {"case": "rotated-out-reuse", "replaced_by_hop": 20, "provider_accepted": False}


def test_public_client_never_rotated_is_info_for_the_provider():
    f = token_flow(client_auth="none")
    first = refresh_hop(20, GOOD["refresh_token"], response={"access_token": "at-2", "token_type": "Bearer"})
    second = refresh_hop(21, GOOD["refresh_token"], response={"access_token": "at-3", "token_type": "Bearer"})
    [hit] = rule_hits("refresh-misuse", exchange_of(f, refreshes=[first, second]))
    assert hit.severity == "info" and hit.blame == "AS" and hit.hop is first
    assert hit.evidence == {"case": "not-rotated", "refreshes": 2}


def test_refresh_quiet_when_rotated_and_used_in_order_or_confidential():
    f = token_flow(client_auth="none")
    first = refresh_hop(20, GOOD["refresh_token"], response={**GOOD, "access_token": "at-2", "refresh_token": "rt-2"})
    second = refresh_hop(21, "rt-2", response={**GOOD, "access_token": "at-3", "refresh_token": "rt-3"})
    assert rule_hits("refresh-misuse", exchange_of(f, refreshes=[first, second])) == []
    confidential = refresh_hop(20, GOOD["refresh_token"], auth="basic",
                               response={"access_token": "at-2", "token_type": "Bearer"})
    assert rule_hits("refresh-misuse", exchange_of(token_flow(), refreshes=[confidential])) == []
    narrower = refresh_hop(22, GOOD["refresh_token"], scope="read", response={**GOOD, "refresh_token": "rt-9"})
    assert rule_hits("refresh-misuse", exchange_of(token_flow(scope="read write"), refreshes=[narrower])) == []


# malformed input

@pytest.mark.parametrize("body, content_type", [
    (b"", "application/json"), (b"\xff\xfe", "application/json"), (b"null", "application/json"),
    (b'{"access_token": 5, "token_type": ["x"], "expires_in": {"a": 1}, "scope": 7}', "application/json"),
    (b'{"access_token": "a.b.c", "token_type": "Bearer"}', "application/json"),
    (b'{"access_token": "' + b"A" * 2_000_000 + b'", "token_type": "Bearer"}', "application/json"),
    (b"access_token=%ff&token_type=", "application/x-www-form-urlencoded"),
])
def test_malformed_token_responses_do_not_raise(body, content_type):
    f = flow(token_resp_body=body, token_content_type=content_type)
    f.token.resp_headers.append(("WWW-Authenticate", 'Bearer error="x", scope="\\"unterminated'))
    refresh = make_hop(20, "POST", "https://auth.example.com/token", form=[("grant_type", "refresh_token")],
                       status=200, resp_body=body, content_type=content_type)
    ex = exchange_of(f, refreshes=[refresh], resources=[f.token])
    for rule_id in [r for r in RULES if RULES[r].family == "G"]:
        rule_hits(rule_id, ex)


def test_engine_follows_refreshes_and_reports_rotated_out_reuse():
    from hops import findings

    f = token_flow(client_auth="none")
    first = refresh_hop(len(f) + 1, GOOD["refresh_token"], response={**GOOD, "access_token": "at-2",
                                                                      "refresh_token": "rt-2"})
    again = refresh_hop(len(f) + 2, GOOD["refresh_token"], status=400, response={"error": "invalid_grant"})
    [finding] = findings(list(f) + [first, again], "refresh-misuse")
    assert finding.hop == again.seq and finding.evidence["case"] == "rotated-out-reuse"


def test_engine_good_flow_has_no_token_response_findings():
    from hops import findings

    assert [f.rule for f in findings(list(token_flow())) if RULES[f.rule].family == "G"] == []


# --- the token_answer_flaw trait (the precondition of three rules above) ---------------------------------


@pytest.mark.parametrize("token, flawed", [
    ({}, False),
    ({"token_json": {**GOOD, "error": "ignored: an error in disguise is not a success"}}, False),
    ({"token_status": 400, "token_json": {"error": "invalid_grant"}}, False),
    ({"token_content_type": "text/plain"}, True),
    ({"token_status": 400, "token_resp_body": b"<html>", "token_content_type": "text/html"}, True),
    ({"token_json": {**GOOD, "token_type": "bearer"}}, True),
    ({"token_json": {"token_type": "Bearer"}}, True),
    ({"token_json": {**GOOD, "refresh_expires_in": "600"}}, True),
])
def test_the_token_answer_flaw_trait_holds_where_its_rules_may_report(token, flawed):
    from oauthtrace.analysis.registry import TRAITS

    exchange = exchange_of(flow(**token))
    ctx = Context(trace_id=1, hops=list(exchange.hops), exchanges=[exchange], roles={}, sides={"F", "B", "M"})
    assert TRAITS["token_answer_flaw"](exchange, ctx) is flawed
    reported = [rule for rule in ("token-response-not-json", "token-fields-missing", "expires-in-not-number")
                if rule_hits(rule, exchange)]
    assert bool(reported) is flawed


# Real providers' documented token responses (providers table): what they document is not a fault of theirs

GOOGLE_AUTH = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
ENTRA_V2 = "https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/oauth2/v2.0"


def google_flow(scope: str, body: dict):
    """Google's OpenID Connect code flow (developers.google.com/identity/protocols/oauth2/openid-connect)."""
    from hops import CHATGPT_CALLBACK, CLIENT_ID, STATE, with_params

    authorize = with_params(GOOGLE_AUTH, [("response_type", "code"), ("client_id", CLIENT_ID),
                                          ("redirect_uri", CHATGPT_CALLBACK), ("scope", scope), ("state", STATE)])
    return token_flow(body, authorize_url=authorize, token_url=GOOGLE_TOKEN, scope=scope)


def test_google_granting_email_and_profile_as_their_url_forms_is_quiet():
    """Google answers `openid email profile` with the userinfo.* URL forms in the token response's scope
    (developers.google.com/identity/protocols/oauth2/scopes, Google OAuth2 API v2)."""
    from tests.signed_jwt import rs256

    id_token = rs256({"iss": "https://accounts.google.com", "aud": "plugin-client", "sub": "110169484474386276334",
                      "email": "jane@example.com", "email_verified": True, "iat": 1733560000, "exp": 1733563600})
    body = {"access_token": "ya29.a0AfH6SMBx-example", "expires_in": 3599, "token_type": "Bearer",
            "scope": "https://www.googleapis.com/auth/userinfo.profile openid "
                     "https://www.googleapis.com/auth/userinfo.email", "id_token": id_token}
    assert rule_hits("scope-changed-unreported", exchange_of(google_flow("openid email profile", body))) == []


def test_google_leaving_out_a_scope_asked_for_is_still_said():
    body = {"access_token": "ya29.a0AfH6SMBx-example", "expires_in": 3599, "token_type": "Bearer",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email"}
    [hit] = rule_hits("scope-changed-unreported", exchange_of(google_flow("openid email profile", body)))
    assert hit.severity == "info" and "not granted: profile" in hit.message


def test_entras_scope_lists_the_access_tokens_scopes_and_is_quiet():
    """Entra's token response `scope`: "The scopes that the access_token is valid for" (v2-oauth2-auth-code-flow);
    offline_access grants the refresh token, openid/profile/email are Graph-hosted, User.Read is Graph's."""
    asked = "openid offline_access https://graph.microsoft.com/User.Read"
    reported = {**GOOD, "scope": "openid profile email https://graph.microsoft.com/User.Read", "ext_expires_in": 3599}
    f = token_flow(reported, provider=ENTRA_V2, scope=asked)
    assert rule_hits("scope-changed-unreported", exchange_of(f)) == []
    # scope left out ("if omitted, the token is for the scopes requested"), the token's scp as Graph writes it
    from tests.signed_jwt import rs256

    token = rs256({"aud": "00000003-0000-0000-c000-000000000000", "scp": "User.Read openid profile email",
                   "iat": 1733560000, "exp": 1733563599})
    f = token_flow({**GOOD, "access_token": token}, provider=ENTRA_V2, scope=asked)
    assert rule_hits("scope-changed-unreported", exchange_of(f)) == []


def test_entra_granting_more_than_asked_is_still_said():
    f = token_flow({**GOOD, "scope": "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Mail.Read"},
                   provider=ENTRA_V2, scope="openid https://graph.microsoft.com/User.Read")
    [hit] = rule_hits("scope-changed-unreported", exchange_of(f))
    assert "added: https://graph.microsoft.com/Mail.Read" in hit.message


FIREBASE_REFRESH = "https://securetoken.googleapis.com/v1/token?key=AIzaSyDOCAbC123dEf456GhI789jKl01-MnO"


def firebase_refresh(seq: int, expires_in) -> "Hop":
    """A refresh at securetoken.googleapis.com, answered as Firebase's REST reference documents
    (firebase.google.com/docs/reference/rest/auth#section-refresh-token): expires_in is a string."""
    from tests.signed_jwt import rs256

    id_token = rs256({"iss": "https://securetoken.google.com/my-project", "aud": "my-project",
                      "user_id": "tRcfmLH7o2XrNELi7X5aeT3ZExr1", "sub": "tRcfmLH7o2XrNELi7X5aeT3ZExr1",
                      "iat": 1733560000, "exp": 1733563600})
    return make_hop(seq, "POST", FIREBASE_REFRESH, started=1000.0 + seq, listener="browser",
                    form=[("grant_type", "refresh_token"), ("refresh_token", "AMf-vBx-refresh")],
                    resp_headers=NO_STORE,
                    resp_json={"access_token": id_token, "expires_in": expires_in, "token_type": "Bearer",
                               "refresh_token": "AMf-vBx-refresh", "id_token": id_token,
                               "user_id": "tRcfmLH7o2XrNELi7X5aeT3ZExr1", "project_id": "1234567890"})


def test_firebase_securetokens_documented_string_expires_in_is_information_naming_it():
    hop = firebase_refresh(1, "3600")
    [hit] = rule_hits("expires-in-not-number", Exchange(index=0, hops=[hop], refreshes=[hop]))
    assert hit.severity == "info" and hit.evidence["field"] == "expires_in"
    assert hit.evidence["provider"] == "Google Firebase Authentication"
    assert hit.evidence["provider_docs"].endswith("#section-refresh-token")
    assert "Google Firebase Authentication" in hit.message


def test_a_non_numeric_string_stays_an_error_even_at_firebase():
    hop = firebase_refresh(1, "one hour")
    [hit] = rule_hits("expires-in-not-number", Exchange(index=0, hops=[hop], refreshes=[hop]))
    assert hit.severity is None and "provider" not in hit.evidence


def test_entra_v1s_documented_string_expires_in_is_information():
    """v1-protocols-oauth-code's token response: "expires_in": "3600", "expires_on": "1388444763"."""
    body = {"access_token": "eyJ0eXAiOiJKV1Qi-example", "token_type": "Bearer", "expires_in": "3600",
            "expires_on": "1388444763", "resource": "https://service.contoso.com/", "refresh_token": "AwABAAAA-rt"}
    f = token_flow(body, provider="https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2")
    [hit] = rule_hits("expires-in-not-number", exchange_of(f))
    assert hit.severity == "info" and hit.evidence["provider"] == "Microsoft Entra ID (v1.0 endpoint)"


def test_slacks_documented_bot_token_type_is_information():
    """docs.slack.dev/reference/methods/oauth.v2.access: a success says "token_type": "bot"."""
    body = {"ok": True, "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "token_type": "bot", "scope": "commands,incoming-webhook", "app_id": "A0KRD7HC3"}
    f = token_flow(body, authorize_url="https://slack.com/oauth/v2/authorize?client_id=plugin-client&scope=commands",
                   token_url="https://slack.com/api/oauth.v2.access")
    [hit] = rule_hits("token-fields-missing", exchange_of(f))
    assert hit.severity == "info" and hit.evidence["provider"] == "Slack"
