"""`oauthtrace serve`: a real OAuth client library logs in against a stub answering from a recorded flow."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from authlib.integrations.requests_client import OAuth2Session

from oauthtrace.demo.provider import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from oauthtrace.demo.scenario import run_demo
from oauthtrace.replay.stub import StubProvider
from tests import hops as h

REDIRECT_URI = "http://127.0.0.1:9/app/callback"  # the client under test; the stub never calls it


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser(url: str) -> tuple[int, str | None, bytes]:
    """The user agent's part: load the authorization URL and report where it is sent (not following it)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        with opener.open(url, timeout=10) as reply:
            return reply.status, reply.headers.get("location"), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("location"), exc.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`oauthtrace serve` (a real process) answering from a good PKCE login recorded through the proxy."""
    base = tmp_path_factory.mktemp("serve")
    db = str(base / "oauthtrace.db")
    recorded = run_demo(db, bug="good", pkce=True, confdir=str(base / "ca"))
    assert recorded.outcome["message"] == "Connected"
    process = subprocess.Popen([sys.executable, "-m", "oauthtrace", "serve", str(recorded.trace_id), "--db", db],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()
        match = re.search(r" at (http://127\.0\.0\.1:\d+)", first)
        assert match, first + process.stdout.read() if process.poll() is not None else first
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(10)


def test_authlib_logs_in_against_the_stub_and_verifies_its_own_state(served):
    client = OAuth2Session(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, scope="profile", redirect_uri=REDIRECT_URI,
                           code_challenge_method="S256")
    verifier = generate_token(64)
    url, state = client.create_authorization_url(f"{served}/authorize", code_verifier=verifier)
    status, location, _ = browser(url)
    assert status in (302, 303) and location.startswith(REDIRECT_URI + "?")
    # Authlib compares the callback's state with the one it generated (MismatchingStateException otherwise)
    token = client.fetch_token(f"{served}/token", authorization_response=location, state=state,
                               code_verifier=verifier)
    assert token["access_token"] and token["token_type"] == "Bearer" and token["expires_in"] == 3600
    profile = client.get(f"{served}/userinfo").json()  # answered as recorded, for a token the stub issued
    assert profile["preferred_username"] == "demo"


def test_authlib_rejects_a_callback_whose_state_is_not_its_own(served):
    client = OAuth2Session(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, scope="profile", redirect_uri=REDIRECT_URI)
    url, state = client.create_authorization_url(f"{served}/authorize")
    _, location, _ = browser(url)
    forged = location.replace(f"state={state}", "state=forged")
    with pytest.raises(MismatchingStateException):
        client.fetch_token(f"{served}/token", authorization_response=forged, state=state)


def test_the_stub_checks_pkce_like_a_provider(served):
    client = OAuth2Session(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, scope="profile", redirect_uri=REDIRECT_URI,
                           code_challenge_method="S256")
    url, state = client.create_authorization_url(f"{served}/authorize", code_verifier=generate_token(64))
    _, location, _ = browser(url)
    with pytest.raises(OAuthError, match="invalid_grant"):
        client.fetch_token(f"{served}/token", authorization_response=location, state=state,
                           code_verifier=generate_token(64))


def test_unknown_request_gets_a_404_that_says_what_the_recording_holds(served):
    status, _, body = browser(f"{served}/admin")
    answer = json.loads(body)
    assert status == 404 and answer["message"] == "the recording has no answer for GET /admin"
    assert any(line.startswith("POST /token") for line in answer["recorded"])


# -- the recorded shape, quirks included (hand-made recordings, stub in process) --------------------------------


def _login(stub: StubProvider, **params) -> dict:
    query = {"response_type": "code", "client_id": h.CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "live-1",
             **params}
    status, location, body = browser(f"{stub.url}/authorize?{urlencode(query)}")
    return {"status": status, "location": location, "body": body}


def _token(stub: StubProvider, code: str) -> tuple[int, str, bytes]:
    data = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}).encode()
    request = urllib.request.Request(f"{stub.url}/token", data=data)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as reply:
            return reply.status, reply.headers.get("content-type"), reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type"), exc.read()


@pytest.fixture
def stub_of():
    started = []

    def start(recording) -> StubProvider:
        started.append(StubProvider.from_hops(recording).start())
        return started[-1]

    yield start
    for stub in started:
        stub.stop()


def _code(location: str) -> str:
    return dict(parse_qsl(urlsplit(location).query))["code"]


def test_form_encoded_token_response_is_served_form_encoded(stub_of):
    body = b"access_token=recorded-at&token_type=bearer&expires_in=3600"
    stub = stub_of(h.flow(token_resp_body=body, token_content_type="application/x-www-form-urlencoded"))
    login = _login(stub)
    status, content_type, answer = _token(stub, _code(login["location"]))
    fields = dict(parse_qsl(answer.decode()))
    assert status == 200 and content_type == "application/x-www-form-urlencoded"
    assert fields["token_type"] == "bearer" and fields["access_token"] != "recorded-at"  # fresh, same shape


def test_expires_in_as_a_string_stays_a_string_and_a_code_works_once(stub_of):
    stub = stub_of(h.flow(token_json={"access_token": "a", "token_type": "Bearer", "expires_in": "3600"}))
    code = _code(_login(stub)["location"])
    status, _, answer = _token(stub, code)
    assert status == 200 and json.loads(answer)["expires_in"] == "3600"
    again, _, answer = _token(stub, code)
    assert again == 400 and json.loads(answer)["error"] == "invalid_grant"


def test_form_post_response_mode_answers_with_an_auto_submitting_form(stub_of):
    stub = stub_of(h.flow(response_mode="form_post"))
    login = _login(stub)
    page = login["body"].decode()
    assert login["status"] == 200 and f'action="{REDIRECT_URI}"' in page
    assert 'name="state" value="live-1"' in page and 'name="code"' in page


def test_the_live_state_is_echoed_even_where_the_recording_dropped_it(stub_of):
    stub = stub_of(h.flow(returned_state=None))
    location = _login(stub, state="echo-me")["location"]
    assert dict(parse_qsl(urlsplit(location).query))["state"] == "echo-me"


# -- OpenID Connect: a recorded id_token is issued afresh, signed with the stub's own published key ---------------


def _expired_id_token(issuer: str, **extra) -> str:
    """What a provider issued months ago, with a signature the stub cannot make (HS256 under the provider's key)."""
    from authlib.jose import jwt as jose_jwt

    claims = {"iss": issuer, "sub": "user-42", "aud": "recorded-client", "iat": 1_600_000_000,
              "exp": 1_600_000_600, "nonce": "recorded-nonce", "at_hash": "recorded", "email": "demo@example.com",
              **extra}
    return jose_jwt.encode({"alg": "HS256"}, claims, b"the provider's own secret").decode()


@pytest.mark.parametrize("recorded_jwks_uri, served_path", [
    (f"{h.PROVIDER}/oauth/jwks", "/oauth/jwks"),
    ("https://www.googleapis.com/oauth2/v3/certs", "/jwks"),  # keys on another host: the stub's own stand in
])
def test_an_openid_client_verifies_a_fresh_id_token_against_the_stubs_published_key(stub_of, recorded_jwks_uri,
                                                                                     served_path):
    from authlib.jose import JsonWebKey
    from authlib.jose import jwt as jose_jwt
    from authlib.oidc.core import CodeIDToken

    recording = [h.metadata_hop(0, jwks_uri=recorded_jwks_uri, started=900.0)] + list(h.flow(
        seq=2, scope="openid email", token_json={"access_token": "recorded-at", "token_type": "Bearer",
                                                 "expires_in": 3600, "id_token": _expired_id_token(h.PROVIDER)}))
    stub = stub_of(recording)
    client = OAuth2Session("live-client", "secret", scope="openid email", redirect_uri=REDIRECT_URI)
    metadata = client.get(f"{stub.url}/.well-known/oauth-authorization-server", withhold_token=True).json()
    url, state = client.create_authorization_url(metadata["authorization_endpoint"], nonce="live-nonce")
    _, location, _ = browser(url)
    token = client.fetch_token(metadata["token_endpoint"], authorization_response=location, state=state)

    keys = JsonWebKey.import_key_set(client.get(metadata["jwks_uri"], withhold_token=True).json())
    claims = jose_jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                             claims_options={"iss": {"values": [metadata["issuer"]]}},
                             claims_params={"nonce": "live-nonce", "client_id": "live-client"})
    claims.validate()  # iss, aud, exp, iat, nonce and at_hash, as an OpenID client checks them (OIDC Core §3.1.3.7)
    assert claims["sub"] == "user-42" and claims["email"] == "demo@example.com", "the recorded user stays"
    assert metadata["jwks_uri"] == f"{stub.url}{served_path}"


def _metadata_and_id_token(stub: StubProvider) -> tuple[dict, dict]:
    """The discovery document the stub serves, and the claims of the id_token it issues at one login."""
    from authlib.jose import jwt as jose_jwt

    metadata = json.loads(browser(f"{stub.url}/.well-known/openid-configuration")[2])
    _, _, answer = _token(stub, _code(_login(stub)["location"]))
    return metadata, jose_jwt.decode(json.loads(answer)["id_token"], stub._id_tokens.jwks())


@pytest.mark.parametrize("discovery_recorded", [True, False])
def test_an_issuer_on_another_host_is_the_same_in_the_discovery_document_and_the_id_token(stub_of,
                                                                                          discovery_recorded):
    issuer = "https://cognito-idp.example.net/pool-1"  # the login pages on one host, the issuer named on another
    discovery = h.make_hop(0, "GET", f"{h.PROVIDER}/.well-known/openid-configuration", started=900.0,
                           resp_json={"issuer": issuer, "authorization_endpoint": f"{h.PROVIDER}/authorize",
                                      "token_endpoint": f"{h.PROVIDER}/token", "jwks_uri": f"{h.PROVIDER}/jwks"})
    recording = ([discovery] if discovery_recorded else []) + list(h.flow(
        seq=2, scope="openid", token_json={"access_token": "recorded-at", "token_type": "Bearer",
                                           "id_token": _expired_id_token(issuer)}))
    metadata, claims = _metadata_and_id_token(stub_of(recording))
    assert metadata["issuer"] == claims["iss"] == issuer


def test_an_issuer_on_the_providers_host_is_the_stubs_in_the_discovery_document_and_the_id_token(stub_of):
    recording = list(h.flow(scope="openid", token_json={
        "access_token": "recorded-at", "token_type": "Bearer", "id_token": _expired_id_token(f"{h.PROVIDER}/v2")}))
    stub = stub_of(recording)
    metadata, claims = _metadata_and_id_token(stub)
    assert metadata["issuer"] == claims["iss"] == f"{stub.url}/v2"


def test_a_hybrid_responses_id_token_is_issued_afresh_and_bound_to_the_fresh_code(stub_of):
    from authlib.jose import jwt as jose_jwt
    from authlib.oidc.core import HybridIDToken

    recorded = _expired_id_token(h.PROVIDER, c_hash="recorded")
    stub = stub_of(h.flow(scope="openid", response_type="code id_token", response_mode="form_post",
                          extra_response=[("id_token", recorded)]))
    page = _login(stub, response_type="code id_token", nonce="live-nonce", client_id="live-client")["body"].decode()
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    assert fields["id_token"] != recorded
    claims = jose_jwt.decode(fields["id_token"], stub._id_tokens.jwks(), claims_cls=HybridIDToken,
                             claims_options={"iss": {"values": [stub.issuer]}},
                             claims_params={"nonce": "live-nonce", "client_id": "live-client", "code": fields["code"]})
    claims.validate()  # iss, aud, exp, nonce and c_hash of the fresh code (OIDC Core §3.3.2.11)
    assert claims["sub"] == "user-42"
