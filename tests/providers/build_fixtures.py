"""Writes tests/providers/<provider>.har: one good, documented login per provider, as a user would capture it.

    python3 tests/providers/build_fixtures.py        # (re)writes every .har next to this file

Each login follows its provider's public documentation: the URL next to a shape is the page that shows it. JWTs are
signed for real (RS256 with a key whose JWKS the same capture serves); keys derive from a fixed seed, so a run
writes the same bytes again. The browser's entries have Chrome's DevTools HAR shape; the client's server calls
(discovery, JWKS, token, userinfo / API) are merged into the same log as a recording proxy on that server's path
writes them (browsers never see the back channel). The provider's own sign-in pages are not documented: each is
kept to what the login needs (a page with a form, its post), marked "sign-in UI" below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.providers.har_shape import (  # noqa: E402
    Capture, dumps, ec_key, guid, half_hash, html_page, jwk, jwt_es256, jwt_hs, jwt_rs256, login_page, pkce_pair,
    rsa_key, token,
)

HERE = Path(__file__).resolve().parent
USER = {"given": "Dana", "family": "Whitfield", "email": "dana.whitfield@example.com"}


@dataclass(frozen=True)
class Flow:
    """Where a fixture's three recognisable hops are: the tests check the roles land on these URLs."""

    authorize: str
    redirect_uri: str
    token: str


FLOWS: dict[str, Flow] = {}
BUILDERS = {}


def provider(name: str, flow: Flow):
    def register(build):
        FLOWS[name] = flow
        BUILDERS[name] = build
        return build
    return register


def basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: both form-urlencoded before joining
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def url(base: str, params: list[tuple[str, str]]) -> str:
    return base + "?" + urlencode(params, quote_via=quote)


def json_headers(*extra) -> list[tuple[str, str]]:
    return [("cache-control", "no-store"), ("pragma", "no-cache"), *extra]


def app_start(cap: Capture, app: str, authorize: str, cookie_name: str, cookie_value: str) -> str:
    """The user clicks "Sign in" on the client app, which sets its state cookie and redirects to the provider."""
    cap.navigate("GET", f"{app}/login", status=302, referer=f"{app}/", site="same-origin",
                 resp_headers=[("location", authorize), ("cache-control", "no-store"),
                               ("set-cookie", f"{cookie_name}={cookie_value}; Path=/; Secure; HttpOnly; "
                                              f"SameSite=Lax; Max-Age=600")], ms=95)
    return f"{app}/"


def clock_after_start_of(cap: Capture, entry: dict, ms: float) -> None:
    """Sets the capture's clock `ms` after `entry` started: the client's server calls run while the browser's
    callback request waits for its answer, and the browser goes on once that is answered."""
    cap.clock = cap.clock.__class__.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00"))
    cap.wait(ms)


def app_lands(cap: Capture, app: str, cookie: str, referer: str) -> None:
    cap.navigate("GET", f"{app}/", status=200, referer=referer, cookie=cookie, site="cross-site",
                 body="<!DOCTYPE html><html><head><title>Dashboard</title></head><body>Welcome back</body></html>",
                 ms=120)


# ===============================================================================================================
# Auth0
# ===============================================================================================================
AUTH0 = "https://dev-7sgd2kqj.us.auth0.com"
AUTH0_APP = "https://orders.example.com"


@provider("auth0", Flow(f"{AUTH0}/authorize", f"{AUTH0_APP}/callback", f"{AUTH0}/oauth/token"))
def auth0() -> dict:
    cap = Capture("2026-11-18T09:14:03.120+00:00", f"{AUTH0_APP}/")
    key, kid = rsa_key("auth0"), "kR9pJx3V1sQmYw7cT2bN8"
    client_id, secret = "Yq3Zp8Lk2Nw7Vr5Tx1Bc9Hd4Jf6Gm0Ss", token("auth0-secret", 64)
    issuer = f"{AUTH0}/"  # "https://{yourDomain}/": the issuer ends with "/" (OIDC discovery document below)
    # Discovery: https://auth0.com/docs/get-started/applications/configure-applications-with-oidc-discovery
    # (served at https://{yourDomain}/.well-known/openid-configuration)
    cap.server("GET", f"{AUTH0}/.well-known/openid-configuration", headers=[("User-Agent", "openid-client"),
               ("Accept", "application/json")], status=200, resp_headers=[("cache-control", "public, max-age=15")],
               body=dumps({
                   "issuer": issuer, "authorization_endpoint": f"{AUTH0}/authorize",
                   "token_endpoint": f"{AUTH0}/oauth/token",
                   "device_authorization_endpoint": f"{AUTH0}/oauth/device/code",
                   "userinfo_endpoint": f"{AUTH0}/userinfo", "mfa_challenge_endpoint": f"{AUTH0}/mfa/challenge",
                   "jwks_uri": f"{AUTH0}/.well-known/jwks.json", "registration_endpoint": f"{AUTH0}/oidc/register",
                   "revocation_endpoint": f"{AUTH0}/oauth/revoke",
                   "scopes_supported": ["openid", "profile", "offline_access", "name", "given_name", "family_name",
                                        "nickname", "email", "email_verified", "picture", "created_at",
                                        "identities", "phone", "address"],
                   "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                                "token id_token", "code token id_token"],
                   "code_challenge_methods_supported": ["S256", "plain"],
                   "response_modes_supported": ["query", "fragment", "form_post"],
                   "subject_types_supported": ["public"],
                   "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                             "private_key_jwt"],
                   "claims_supported": ["aud", "auth_time", "created_at", "email", "email_verified", "exp",
                                        "family_name", "given_name", "iat", "identities", "iss", "name",
                                        "nickname", "phone_number", "picture", "sub"],
                   "request_uri_parameter_supported": False, "request_parameter_supported": False,
                   "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
                   "end_session_endpoint": f"{AUTH0}/oidc/logout"}))
    cap.server("GET", f"{AUTH0}/.well-known/jwks.json", headers=[("User-Agent", "openid-client"),
               ("Accept", "application/json")], status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(4200)
    # Authorization request: https://auth0.com/docs/api/authentication/authorization-code-flow/authorize-application
    # (response_type, client_id, redirect_uri, scope, audience, state; nonce for OIDC; PKCE per
    # https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow-with-pkce)
    state, nonce = token("auth0-state", 43), token("auth0-nonce", 43)
    verifier, challenge = pkce_pair("auth0")
    redirect_uri = f"{AUTH0_APP}/callback"
    authorize = url(f"{AUTH0}/authorize", [
        ("client_id", client_id), ("scope", "openid profile email offline_access"), ("response_type", "code"),
        ("redirect_uri", redirect_uri), ("audience", "https://api.orders.example.com"), ("nonce", nonce),
        ("state", state), ("code_challenge_method", "S256"), ("code_challenge", challenge)])
    app_cookie = f"appSession.txn={token('auth0-txn', 48)}"
    referer = app_start(cap, AUTH0_APP, authorize, "appSession.txn", token("auth0-txn", 48))
    # Universal Login (sign-in UI): /authorize redirects to /u/login?state=..., which posts back and resumes
    login_state = "hKFo2SB" + token("auth0-ulstate", 60)
    auth0_cookie = f"auth0={token('auth0-session', 40)}; did={token('auth0-did', 36)}"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", f"/u/login?state={login_state}"),
        ("set-cookie", f"auth0={token('auth0-session', 40)}; Path=/; Secure; HttpOnly; SameSite=None"),
        ("set-cookie", f"did={token('auth0-did', 36)}; Path=/; Secure; HttpOnly; SameSite=None")])
    login_url = f"{AUTH0}/u/login?state={login_state}"
    cap.navigate("GET", login_url, status=200, referer=referer, cookie=auth0_cookie, site="cross-site",
                 body=login_page("Log in | Orders", f"/u/login?state={login_state}", [("state", login_state)]))
    cap.wait(6500)
    resume = f"{AUTH0}/authorize/resume?state={login_state}"
    cap.navigate("POST", login_url, status=302, referer=login_url, cookie=auth0_cookie, site="same-origin",
                 form=[("state", login_state), ("username", USER["email"]), ("password", "correct horse 42"),
                       ("action", "default")],
                 resp_headers=[("location", f"/authorize/resume?state={login_state}")])
    # The authorization response: https://auth0.com/docs/api/authentication/authorization-code-flow/authorize-application
    # ("HTTP/1.1 302 Found / Location: {https://yourApp/callback}?code=AUTHORIZATION_CODE&state=STATE")
    code = token("auth0-code", 43)
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("GET", resume, status=302, referer=login_url, cookie=auth0_cookie, site="same-origin",
                 resp_headers=[("location", callback)])
    callback_entry = cap.navigate("GET", callback, status=302, referer=f"{AUTH0}/", cookie=app_cookie,
                                  site="cross-site", resp_headers=[
                                      ("location", "/"), ("set-cookie", f"appSession={token('a0-app', 120)}; "
                                                                        f"Path=/; Secure; HttpOnly; SameSite=Lax")],
                                  ms=620)
    clock_after_start_of(cap, callback_entry, 40)
    # Token request: https://auth0.com/docs/api/authentication/authorization-code-flow/get-token
    # (POST /oauth/token, application/x-www-form-urlencoded: grant_type, client_id, client_secret, code,
    # redirect_uri; code_verifier with PKCE). Response fields as documented there:
    # access_token, refresh_token, id_token, token_type "Bearer", expires_in 86400 (plus scope).
    now = cap.now()
    access = jwt_rs256(key, {"typ": "JWT", "kid": kid}, {
        "iss": issuer, "sub": "auth0|6734b2f1c9e8a1d0f4a2b3c5",
        "aud": ["https://api.orders.example.com", f"{AUTH0}/userinfo"], "iat": now, "exp": now + 86400,
        "scope": "openid profile email offline_access", "azp": client_id})
    id_token = jwt_rs256(key, {"typ": "JWT", "kid": kid}, {
        "given_name": USER["given"], "family_name": USER["family"], "nickname": "dana.whitfield",
        "name": f"{USER['given']} {USER['family']}", "picture": "https://s.gravatar.com/avatar/7f3c2e1b?s=480",
        "updated_at": "2026-11-18T09:14:10.512Z", "email": USER["email"], "email_verified": True,
        "iss": issuer, "aud": client_id, "sub": "auth0|6734b2f1c9e8a1d0f4a2b3c5", "iat": now, "exp": now + 36000,
        "sid": token("auth0-sid", 32), "nonce": nonce})
    cap.server("POST", f"{AUTH0}/oauth/token", headers=[("User-Agent", "openid-client"),
               ("Accept", "application/json")], status=200, resp_headers=json_headers(),
               form=[("grant_type", "authorization_code"), ("client_id", client_id), ("client_secret", secret),
                     ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)],
               body=dumps({"access_token": access, "refresh_token": token("auth0-refresh", 48),
                           "id_token": id_token, "scope": "openid profile email offline_access",
                           "expires_in": 86400, "token_type": "Bearer"}))
    # Userinfo: https://auth0.com/docs/api/authentication/user-profile/get-user-info
    # (GET /userinfo, Authorization: Bearer {ACCESS_TOKEN}; the token's aud lists https://{yourDomain}/userinfo)
    cap.server("GET", f"{AUTH0}/userinfo", headers=[("User-Agent", "openid-client"), ("Accept", "application/json"),
               ("Authorization", f"Bearer {access}")], status=200,
               body=dumps({"sub": "auth0|6734b2f1c9e8a1d0f4a2b3c5", "given_name": USER["given"],
                           "family_name": USER["family"], "nickname": "dana.whitfield",
                           "name": f"{USER['given']} {USER['family']}", "email": USER["email"],
                           "email_verified": True}))
    cap.wait(300)
    app_lands(cap, AUTH0_APP, f"appSession={token('a0-app', 120)}", f"{AUTH0}/")
    return cap.har()


# ===============================================================================================================
# Okta (custom authorization server "default")
# ===============================================================================================================
OKTA = "https://dev-48213377.okta.com"
OKTA_ISSUER = f"{OKTA}/oauth2/default"
OKTA_APP = "https://crm.example.com"


@provider("okta", Flow(f"{OKTA_ISSUER}/v1/authorize", f"{OKTA_APP}/authorization-code/callback",
                       f"{OKTA_ISSUER}/v1/token"))
def okta() -> dict:
    cap = Capture("2026-11-18T10:02:41.377+00:00", f"{OKTA_APP}/")
    key, kid = rsa_key("okta"), "Xq0d5C8mR2vN7tLw3yKp9Hs1Bf4Gj6Ue"
    client_id, secret = "0oa9x3k2m8QwErTy5d7", token("okta-secret", 40)
    ua = [("User-Agent", "okhttp/4.12.0"), ("Accept", "application/json")]
    # Discovery: https://developer.okta.com/docs/reference/api/oidc/#well-known-openid-configuration
    # (custom authorization server: https://${yourOktaDomain}/oauth2/${authorizationServerId}/.well-known/...)
    cap.server("GET", f"{OKTA_ISSUER}/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "issuer": OKTA_ISSUER, "authorization_endpoint": f"{OKTA_ISSUER}/v1/authorize",
        "token_endpoint": f"{OKTA_ISSUER}/v1/token", "userinfo_endpoint": f"{OKTA_ISSUER}/v1/userinfo",
        "registration_endpoint": f"{OKTA}/oauth2/v1/clients", "jwks_uri": f"{OKTA_ISSUER}/v1/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "code token", "id_token token",
                                     "code id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post", "okta_post_message"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password",
                                  "urn:ietf:params:oauth:grant-type:device_code"],
        "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access", "device_sso"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "client_secret_jwt", "private_key_jwt", "none"],
        "claims_supported": ["iss", "ver", "sub", "aud", "iat", "exp", "jti", "auth_time", "amr", "idp", "nonce",
                             "name", "email", "email_verified", "preferred_username", "at_hash"],
        "code_challenge_methods_supported": ["S256"], "introspection_endpoint": f"{OKTA_ISSUER}/v1/introspect",
        "revocation_endpoint": f"{OKTA_ISSUER}/v1/revoke", "end_session_endpoint": f"{OKTA_ISSUER}/v1/logout",
        "request_parameter_supported": True, "request_object_signing_alg_values_supported": ["HS256", "RS256"],
        "device_authorization_endpoint": f"{OKTA_ISSUER}/v1/device/authorize",
        "pushed_authorization_request_endpoint": f"{OKTA_ISSUER}/v1/par"}))
    cap.server("GET", f"{OKTA_ISSUER}/v1/keys", headers=ua, status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(3100)
    # Authorization request: https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/
    # (client_id, response_type=code, scope=openid ..., redirect_uri, state; PKCE per
    # https://developer.okta.com/docs/guides/implement-grant-type/authcodepkce/main/)
    state, nonce = token("okta-state", 32), token("okta-nonce", 32)
    verifier, challenge = pkce_pair("okta")
    redirect_uri = f"{OKTA_APP}/authorization-code/callback"
    authorize = url(f"{OKTA_ISSUER}/v1/authorize", [
        ("client_id", client_id), ("response_type", "code"), ("scope", "openid profile email"),
        ("redirect_uri", redirect_uri), ("state", state), ("nonce", nonce), ("code_challenge", challenge),
        ("code_challenge_method", "S256")])
    referer = app_start(cap, OKTA_APP, authorize, "okta-oidc-state", token("okta-app-txn", 44))
    app_cookie = f"okta-oidc-state={token('okta-app-txn', 44)}"
    # sign-in UI: the hosted sign-in page is served at /oauth2/default/v1/authorize and posts the credentials
    state_token = "02.id." + token("okta-statetoken", 40)
    okta_cookie = f"DT={token('okta-dt', 22)}; JSESSIONID={token('okta-js', 32, '0123456789ABCDEF')}"
    cap.navigate("GET", authorize, status=200, referer=referer, site="cross-site",
                 resp_headers=[("set-cookie", f"DT={token('okta-dt', 22)}; Path=/; Secure; HttpOnly; SameSite=None"),
                               ("set-cookie", f"JSESSIONID={token('okta-js', 32, '0123456789ABCDEF')}; Path=/; "
                                              f"Secure; HttpOnly")],
                 body=login_page("dev-48213377 - Sign In", f"{OKTA}/login/step-up/redirect",
                                 [("stateToken", state_token)], user_field="identifier",
                                 password_field="credentials.passcode"))
    cap.wait(5400)
    # The authorization response: https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/
    # ("http://localhost:8080/authorization-code/callback?code=P5I7mdxxdv13_JfXrCSq&state=state-eb4...")
    code = token("okta-code", 43)
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("POST", f"{OKTA}/login/step-up/redirect", status=302, referer=f"{OKTA}/", cookie=okta_cookie,
                 site="same-origin", form=[("stateToken", state_token), ("identifier", USER["email"]),
                                           ("credentials.passcode", "correct horse 42")],
                 resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer=f"{OKTA}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "connect.sid=s%3A" + token("okta-app", 60) +
                                                   "; Path=/; Secure; HttpOnly; SameSite=Lax")], ms=540)
    cap.wait(-520)
    # Token request: https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/#exchange-the-code-for-tokens
    # ("--header 'authorization: Basic ZGVmYXVsdC...' ... grant_type=authorization_code&redirect_uri=...&code=...")
    # Response: {"token_type": "Bearer", "expires_in": 3600, "access_token": "eyJraWQ...", "scope": "openid
    # profile", "id_token": "eyJraWQ..."}; the access token is a JWT whose aud is the server's audience
    # (api://default: https://developer.okta.com/docs/guides/customize-authz-server/main/)
    now = cap.now()
    uid = "00u8f2k1s9QwErTy5d7"
    access = jwt_rs256(key, {"kid": kid}, {
        "ver": 1, "jti": "AT." + token("okta-jti", 43), "iss": OKTA_ISSUER, "aud": "api://default", "iat": now,
        "exp": now + 3600, "cid": client_id, "uid": uid, "scp": ["openid", "profile", "email"],
        "auth_time": now - 4, "sub": USER["email"]})
    id_token = jwt_rs256(key, {"kid": kid}, {
        "sub": uid, "name": f"{USER['given']} {USER['family']}", "email": USER["email"], "ver": 1,
        "iss": OKTA_ISSUER, "aud": client_id, "iat": now, "exp": now + 3600, "jti": "ID." + token("okta-idjti", 43),
        "amr": ["pwd"], "idp": "00o1k2j3h4g5f6d7s8a9", "nonce": nonce, "preferred_username": USER["email"],
        "auth_time": now - 4, "at_hash": half_hash(access)})
    cap.server("POST", f"{OKTA_ISSUER}/v1/token", headers=[*ua, ("Authorization", basic(client_id, secret))],
               status=200, resp_headers=json_headers(),
               form=[("grant_type", "authorization_code"), ("redirect_uri", redirect_uri), ("code", code),
                     ("code_verifier", verifier)],
               body=dumps({"token_type": "Bearer", "expires_in": 3600, "access_token": access,
                           "scope": "openid profile email", "id_token": id_token}))
    # Userinfo: https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS/#tag/CustomAS/operation/userinfoCustomAS
    # (GET /oauth2/{authorizationServerId}/v1/userinfo with "Authorization: Bearer ${access_token}")
    cap.server("GET", f"{OKTA_ISSUER}/v1/userinfo", headers=[*ua, ("Authorization", f"Bearer {access}")],
               status=200, body=dumps({"sub": uid, "name": f"{USER['given']} {USER['family']}",
                                       "email": USER["email"], "preferred_username": USER["email"],
                                       "email_verified": True}))
    cap.wait(300)
    app_lands(cap, OKTA_APP, "connect.sid=s%3A" + token("okta-app", 60), f"{OKTA}/")
    return cap.har()


# ===============================================================================================================
# Microsoft Entra ID, v2.0 endpoint
# ===============================================================================================================
ENTRA = "https://login.microsoftonline.com"
ENTRA_TID = "5a3c9e1f-8b42-4d6e-9f07-2c81b4d7e6a3"
ENTRA_APP = "https://portal.example.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"



def entra_sign_in_page(cap: Capture, authorize: str, referer: str, seed: str, flow_token: str) -> None:
    """sign-in UI: Entra serves its sign-in page at the authorize URL (v1.0 and v2.0 alike), posting to
    /{tenant}/login with the flow token and context it holds."""
    cap.navigate("GET", authorize, status=200, referer=referer, site="cross-site", resp_headers=[
        ("set-cookie", f"esctx={token(seed + '-esctx', 60)}; domain=.login.microsoftonline.com; path=/; secure; "
                       f"HttpOnly; SameSite=None")],
        body=login_page("Sign in to your account", f"{ENTRA}/{ENTRA_TID}/login",
                        [("flowToken", flow_token), ("ctx", token(seed + "-ctx", 80))],
                        user_field="login", password_field="passwd"))

@provider("entra-v2", Flow(f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/authorize", f"{ENTRA_APP}/signin-oidc",
                           f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/token"))
def entra_v2() -> dict:
    cap = Capture("2026-11-18T11:27:12.904+00:00", f"{ENTRA_APP}/")
    key, kid = rsa_key("entra"), "3PaK4EfyBNQu3CtjYsa3YmhQ5E0"
    client_id, secret = "6f1d2c3b-7a8e-4f90-b1c2-d3e4f5a6b7c8", "Qx8Q~" + token("entra-secret", 35)
    issuer = f"{ENTRA}/{ENTRA_TID}/v2.0"
    ua = [("User-Agent", "Microsoft.IdentityModel.Protocols.OpenIdConnect/8.2.0"), ("Accept", "application/json")]
    # Discovery: https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#find-your-apps-openid-configuration-document-uri
    # ("https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"; issuer
    # "https://login.microsoftonline.com/{tenant}/v2.0")
    cap.server("GET", f"{ENTRA}/{ENTRA_TID}/v2.0/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "token_endpoint": f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{ENTRA}/{ENTRA_TID}/discovery/v2.0/keys", "response_modes_supported": ["query", "fragment",
                                                                                               "form_post"],
        "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"], "issuer": issuer,
        "request_uri_parameter_supported": False, "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                             "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                             "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": f"{ENTRA}/{ENTRA_TID}/kerberos", "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com", "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com", "rbac_url": "https://pas.windows.net"}))
    cap.server("GET", f"{ENTRA}/{ENTRA_TID}/discovery/v2.0/keys", headers=ua, status=200,
               body=dumps({"keys": [jwk(key, kid, x5t=kid, issuer=issuer)]}))
    cap.wait(2600)
    # Authorization request: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code
    # (client_id, response_type=code, redirect_uri, response_mode=query, scope, state, code_challenge,
    # code_challenge_method=S256; nonce per v2-protocols-oidc)
    state, nonce = token("entra-state", 48), token("entra-nonce", 48)
    verifier, challenge = pkce_pair("entra-v2")
    redirect_uri = f"{ENTRA_APP}/signin-oidc"
    authorize = url(f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/authorize", [
        ("client_id", client_id), ("response_type", "code"), ("redirect_uri", redirect_uri),
        ("response_mode", "query"), ("scope", "openid profile offline_access User.Read"), ("state", state),
        ("nonce", nonce), ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ("client-request-id", guid("entra-crid")), ("x-client-SKU", "ID_NET8_0"), ("x-client-ver", "8.2.0")])
    referer = app_start(cap, ENTRA_APP, authorize, ".AspNetCore.Correlation.oidc", token("entra-corr", 43))
    app_cookie = f".AspNetCore.Correlation.oidc={token('entra-corr', 43)}; .AspNetCore.OpenIdConnect.Nonce=N"
    # sign-in UI: the sign-in page is served at the authorize URL and posts to /{tenant}/login
    flow_token = token("entra-flowtoken", 120)
    ms_cookie = f"esctx={token('entra-esctx', 60)}; buid={token('entra-buid', 40)}; fpc={token('entra-fpc', 30)}"
    login_post = f"{ENTRA}/{ENTRA_TID}/login"
    entra_sign_in_page(cap, authorize, referer, "entra", flow_token)
    cap.wait(7200)
    # The authorization response: same page, "Successful response" (code, state; and session_state)
    code = "1.AVEA" + token("entra-code", 220)
    session_state = guid("entra-session")
    callback = url(redirect_uri, [("code", code), ("state", state), ("session_state", session_state)])
    cap.navigate("POST", login_post, status=302, referer=f"{ENTRA}/", cookie=ms_cookie, site="same-origin",
                 form=[("login", USER["email"]), ("passwd", "correct horse 42"), ("ctx", token("entra-ctx", 80)),
                       ("flowToken", flow_token), ("type", "11"), ("LoginOptions", "3")],
                 resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer=f"{ENTRA}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", ".AspNetCore.Cookies=" + token("entra-app", 140) +
                                                   "; path=/; secure; samesite=lax; httponly")], ms=700)
    cap.wait(-680)
    # Token request: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
    # (client_id, scope, code, redirect_uri, grant_type, code_verifier, client_secret in the body). Successful
    # response there: token_type "Bearer", scope, expires_in, ext_expires_in, access_token, refresh_token,
    # id_token. The scope granted is the resource's (Graph's) short names with the OIDC ones; offline_access
    # is answered by the refresh_token, not listed.
    now = cap.now()
    oid = guid("entra-oid")
    # Graph's tokens are v1.0 tokens: aud is Graph's application id, iss https://sts.windows.net/{tid}/
    # (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference: "aud ... can be
    # ... the application ID (GUID)"; "ver ... Either 1.0 or 2.0")
    access = jwt_rs256(key, {"typ": "JWT", "x5t": kid, "kid": kid}, {
        "aud": GRAPH_APP_ID, "iss": f"https://sts.windows.net/{ENTRA_TID}/", "iat": now - 300, "nbf": now - 300,
        "exp": now + 4493, "acct": 0, "acr": "1", "aio": token("entra-aio", 60), "amr": ["pwd"],
        "app_displayname": "Contoso Portal", "appid": client_id, "appidacr": "1", "family_name": USER["family"],
        "given_name": USER["given"], "idtyp": "user", "ipaddr": "203.0.113.24",
        "name": f"{USER['given']} {USER['family']}", "oid": oid, "platf": "3", "puid": "10032003A1B2C3D4",
        "rh": "1.AVEA" + token("entra-rh", 40), "scp": "User.Read profile openid email",
        "sub": token("entra-sub", 43), "tenant_region_scope": "EU", "tid": ENTRA_TID,
        "unique_name": USER["email"], "upn": USER["email"], "uti": token("entra-uti", 22), "ver": "1.0",
        "xms_tcdt": 1591182923})
    id_token = jwt_rs256(key, {"typ": "JWT", "kid": kid}, {
        "aud": client_id, "iss": issuer, "iat": now - 300, "nbf": now - 300, "exp": now + 3300,
        "name": f"{USER['given']} {USER['family']}", "nonce": nonce, "oid": oid,
        "preferred_username": USER["email"], "rh": "1.AVEA" + token("entra-rh2", 40),
        "sid": guid("entra-sid"), "sub": token("entra-idsub", 43), "tid": ENTRA_TID,
        "uti": token("entra-uti2", 22), "ver": "2.0"})
    cap.server("POST", f"{ENTRA}/{ENTRA_TID}/oauth2/v2.0/token", headers=ua, status=200,
               resp_headers=json_headers(("x-ms-request-id", guid("entra-req")), ("x-ms-ests-server",
                                                                                  "2.1.19223.5 - NEULR1 ProdSlices")),
               form=[("client_id", client_id), ("redirect_uri", redirect_uri), ("client_secret", secret),
                     ("code", code), ("code_verifier", verifier), ("grant_type", "authorization_code"),
                     ("scope", "openid profile offline_access User.Read")],
               body=dumps({"token_type": "Bearer", "scope": "User.Read profile openid email", "expires_in": 4493,
                           "ext_expires_in": 4493, "access_token": access,
                           "refresh_token": "1.AVEA" + token("entra-refresh", 300), "id_token": id_token}))
    # Graph: https://learn.microsoft.com/en-us/graph/api/user-get ("GET /me", "Authorization: Bearer {token}")
    cap.server("GET", "https://graph.microsoft.com/v1.0/me", headers=[
        ("User-Agent", "Microsoft Graph .NET SDK"), ("Accept", "application/json"),
        ("Authorization", f"Bearer {access}")], status=200, resp_headers=[("request-id", guid("graph-req"))],
        mime="application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
        body=dumps({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
                    "businessPhones": [], "displayName": f"{USER['given']} {USER['family']}",
                    "givenName": USER["given"], "jobTitle": None, "mail": USER["email"], "mobilePhone": None,
                    "officeLocation": None, "preferredLanguage": "en-US", "surname": USER["family"],
                    "userPrincipalName": USER["email"], "id": oid}))
    cap.wait(300)
    app_lands(cap, ENTRA_APP, ".AspNetCore.Cookies=" + token("entra-app", 140), f"{ENTRA}/")
    return cap.har()


# ===============================================================================================================
# Microsoft Entra ID, v1.0 endpoint, as SharePoint Online signs a user in
# ===============================================================================================================
SHAREPOINT = "https://contoso.sharepoint.com"
SHAREPOINT_APP_ID = "00000003-0000-0ff1-ce00-000000000000"


@provider("entra-v1-sharepoint", Flow(f"{ENTRA}/{ENTRA_TID}/oauth2/authorize", f"{SHAREPOINT}/_forms/default.aspx",
                                      f"{ENTRA}/{ENTRA_TID}/oauth2/token"))
def entra_v1_sharepoint() -> dict:
    cap = Capture("2026-11-18T12:45:30.018+00:00", f"{SHAREPOINT}/")
    key, kid = rsa_key("entra"), "3PaK4EfyBNQu3CtjYsa3YmhQ5E0"
    cert_key = rsa_key("sharepoint-client-cert")
    redirect_uri = f"{SHAREPOINT}/_forms/default.aspx"
    # The app's own sign-in page lives at its redirect URI: the user's first request reaches it with ?ReturnUrl=
    # and it redirects to the authorization endpoint (before any authorization request was made).
    start = f"{redirect_uri}?ReturnUrl=%2f_layouts%2f15%2fAuthenticate.aspx%3fSource%3d%252F&Source=cookie"
    # Authorization request, v1.0 with OpenID Connect:
    # https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/v1-protocols-openid-connect-code
    # (response_type "code id_token", response_mode form_post, resource, scope openid, nonce, state)
    state, nonce = token("sp-state", 160), guid("sp-nonce") + "." + token("sp-nonce2", 20)
    authorize = url(f"{ENTRA}/{ENTRA_TID}/oauth2/authorize", [
        ("client_id", SHAREPOINT_APP_ID), ("response_mode", "form_post"), ("response_type", "code id_token"),
        ("resource", SHAREPOINT_APP_ID), ("scope", "openid"), ("nonce", nonce), ("redirect_uri", redirect_uri),
        ("state", state), ("wsucxt", "1"), ("client-request-id", guid("sp-crid"))])
    cap.navigate("GET", start, status=302, site="none", resp_headers=[
        ("location", authorize), ("x-sharepointhealthscore", "1"), ("sprequestguid", guid("sp-req1")),
        ("set-cookie", f"nSGt-{token('sp-c', 8)}={token('sp-ck', 60)}; path=/; secure; HttpOnly")], ms=240)
    ms_cookie = f"esctx={token('sp-esctx', 60)}; buid={token('sp-buid', 40)}"
    login_post = f"{ENTRA}/{ENTRA_TID}/login"
    flow_token = token("sp-flowtoken", 120)
    entra_sign_in_page(cap, authorize, f"{SHAREPOINT}/", "sp", flow_token)
    cap.wait(6100)
    # The authorization response (form_post): same page, "Successful response" (id_token, code, state,
    # session_state posted to the redirect URI); the id_token carries c_hash for the code (OIDC Core §3.3.2.11)
    code = "0.AVEA" + token("sp-code", 300)
    now = cap.now()
    oid = guid("entra-oid")
    front_id_token = jwt_rs256(key, {"typ": "JWT", "x5t": kid, "kid": kid}, {
        "aud": SHAREPOINT_APP_ID, "iss": f"https://sts.windows.net/{ENTRA_TID}/", "iat": now - 300,
        "nbf": now - 300, "exp": now + 3600, "amr": ["pwd"], "c_hash": half_hash(code),
        "family_name": USER["family"], "given_name": USER["given"], "ipaddr": "203.0.113.24",
        "name": f"{USER['given']} {USER['family']}", "nonce": nonce, "oid": oid,
        "rh": "0.AVEA" + token("sp-rh", 40), "sub": token("sp-sub", 43), "tid": ENTRA_TID,
        "unique_name": USER["email"], "upn": USER["email"], "uti": token("sp-uti", 22), "ver": "1.0"})
    session_state = guid("sp-session")
    form_post = html_page("Working...", redirect_uri, [
        ("hidden", "code", code), ("hidden", "id_token", front_id_token), ("hidden", "state", state),
        ("hidden", "session_state", session_state), ("hidden", "correlation_id", guid("sp-corr"))],
        auto_submit=True)
    cap.navigate("POST", login_post, status=200, referer=f"{ENTRA}/", cookie=ms_cookie, site="same-origin",
                 form=[("login", USER["email"]), ("passwd", "correct horse 42"), ("ctx", token("sp-ctx", 80)),
                       ("flowToken", flow_token), ("type", "11")], body=form_post)
    callback = cap.navigate("POST", redirect_uri, status=302, referer=f"{ENTRA}/", site="cross-site",
                            form=[("code", code), ("id_token", front_id_token), ("state", state),
                                  ("session_state", session_state), ("correlation_id", guid("sp-corr"))],
                            resp_headers=[("location", "/_layouts/15/Authenticate.aspx?Source=%2F"),
                                          ("set-cookie", "FedAuth=" + token("sp-fedauth", 200) +
                                                         "; path=/; SameSite=None; secure; HttpOnly"),
                                          ("set-cookie", "rtFa=" + token("sp-rtfa", 120) +
                                                         "; domain=sharepoint.com; path=/; secure; HttpOnly")],
                            ms=820)
    cap.wait(-800)
    # Token request, v1.0 with a certificate credential:
    # https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code#use-the-authorization-code-to-request-an-access-token
    # (grant_type, client_id, code, redirect_uri, resource; the client's credential) and
    # https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials (client_assertion_type
    # urn:ietf:params:oauth:client-assertion-type:jwt-bearer, an RS256 assertion aud = the token endpoint).
    token_url = f"{ENTRA}/{ENTRA_TID}/oauth2/token"
    assertion = jwt_rs256(cert_key, {"typ": "JWT", "x5t": "hOBcHZi846VCHSJbFAs26Go9VTQ"}, {
        "aud": token_url, "exp": now + 600, "iss": SHAREPOINT_APP_ID, "jti": guid("sp-jti"), "nbf": now,
        "sub": SHAREPOINT_APP_ID, "iat": now})
    access = jwt_rs256(key, {"typ": "JWT", "x5t": kid, "kid": kid}, {
        "aud": SHAREPOINT_APP_ID, "iss": f"https://sts.windows.net/{ENTRA_TID}/", "iat": now - 300,
        "nbf": now - 300, "exp": now + 3600, "acr": "1", "amr": ["pwd"], "appid": SHAREPOINT_APP_ID,
        "appidacr": "2", "family_name": USER["family"], "given_name": USER["given"], "ipaddr": "203.0.113.24",
        "name": f"{USER['given']} {USER['family']}", "oid": oid, "scp": "user_impersonation",
        "sub": token("sp-atsub", 43), "tid": ENTRA_TID, "unique_name": USER["email"], "upn": USER["email"],
        "uti": token("sp-uti2", 22), "ver": "1.0"})
    back_id_token = jwt_rs256(key, {"typ": "JWT", "x5t": kid, "kid": kid}, {
        "aud": SHAREPOINT_APP_ID, "iss": f"https://sts.windows.net/{ENTRA_TID}/", "iat": now - 300,
        "nbf": now - 300, "exp": now + 3600, "amr": ["pwd"], "family_name": USER["family"],
        "given_name": USER["given"], "name": f"{USER['given']} {USER['family']}", "nonce": nonce, "oid": oid,
        "sub": token("sp-sub", 43), "tid": ENTRA_TID, "unique_name": USER["email"], "upn": USER["email"],
        "ver": "1.0"})
    # Response as that page's "Successful response" example: token_type, expires_in, expires_on, resource,
    # refresh_token, scope, id_token, access_token; the numbers are JSON strings there ("expires_in": "3600").
    cap.server("POST", token_url, headers=[("User-Agent", "Microsoft.SharePoint"), ("Accept", "application/json"),
               ("client-request-id", guid("sp-crid2"))], status=200,
               resp_headers=json_headers(("x-ms-request-id", guid("sp-req2"))),
               form=[("grant_type", "authorization_code"), ("client_id", SHAREPOINT_APP_ID), ("code", code),
                     ("redirect_uri", redirect_uri), ("resource", SHAREPOINT_APP_ID),
                     ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                     ("client_assertion", assertion)],
               body=dumps({"access_token": access, "token_type": "Bearer", "expires_in": "3599",
                           "expires_on": str(now + 3299), "resource": SHAREPOINT_APP_ID,
                           "refresh_token": "0.AVEA" + token("sp-refresh", 300), "scope": "user_impersonation",
                           "id_token": back_id_token}))
    clock_after_start_of(cap, callback, callback["time"] + 30)
    cap.navigate("GET", f"{SHAREPOINT}/_layouts/15/Authenticate.aspx?Source=%2F", status=302,
                 referer=f"{ENTRA}/", cookie="FedAuth=" + token("sp-fedauth", 200), site="cross-site",
                 resp_headers=[("location", f"{SHAREPOINT}/")], ms=150)
    app_lands(cap, SHAREPOINT, "FedAuth=" + token("sp-fedauth", 200), f"{ENTRA}/")
    return cap.har()


# ===============================================================================================================
# Google
# ===============================================================================================================
GOOGLE_APP = "https://notes.example.com"


@provider("google", Flow("https://accounts.google.com/o/oauth2/v2/auth", f"{GOOGLE_APP}/oauth2callback",
                         "https://oauth2.googleapis.com/token"))
def google() -> dict:
    cap = Capture("2026-11-18T13:08:55.641+00:00", f"{GOOGLE_APP}/")
    key, kid = rsa_key("google"), "c37da75c9fbe18c2ce9125b9aa1f300dcb31e8d9"
    client_id = "418203917342-k2v8d1m5q9r3t6w0y4b7n1h5j8f2c6x0.apps.googleusercontent.com"
    secret = "GOCSPX-" + token("google-secret", 28)
    ua = [("User-Agent", "google-api-python-client/2.149.0"), ("Accept", "application/json")]
    # Discovery: https://developers.google.com/identity/openid-connect/openid-connect#discovery
    # ("https://accounts.google.com/.well-known/openid-configuration"; issuer "https://accounts.google.com")
    cap.server("GET", "https://accounts.google.com/.well-known/openid-configuration", headers=ua, status=200,
               body=dumps({
                   "issuer": "https://accounts.google.com",
                   "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
                   "device_authorization_endpoint": "https://oauth2.googleapis.com/device/code",
                   "token_endpoint": "https://oauth2.googleapis.com/token",
                   "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
                   "revocation_endpoint": "https://oauth2.googleapis.com/revoke",
                   "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
                   "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                                "token id_token", "code token id_token", "none"],
                   "response_modes_supported": ["query", "fragment", "form_post"],
                   "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                   "scopes_supported": ["openid", "email", "profile"],
                   "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                   "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name",
                                        "iat", "iss", "name", "picture", "sub"],
                   "code_challenge_methods_supported": ["plain", "S256"],
                   "grant_types_supported": ["authorization_code", "refresh_token",
                                             "urn:ietf:params:oauth:grant-type:device_code",
                                             "urn:ietf:params:oauth:grant-type:jwt-bearer"]}))
    cap.server("GET", "https://www.googleapis.com/oauth2/v3/certs", headers=ua, status=200,
               resp_headers=[("cache-control", "public, max-age=23005, must-revalidate, no-transform")],
               body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(1900)
    # Authorization request: https://developers.google.com/identity/openid-connect/openid-connect#sendauthrequest
    # (client_id, response_type=code, scope "openid email", redirect_uri, state, nonce; login_hint optional)
    state, nonce = token("google-state", 30), token("google-nonce", 32)
    redirect_uri = f"{GOOGLE_APP}/oauth2callback"
    authorize = url("https://accounts.google.com/o/oauth2/v2/auth", [
        ("response_type", "code"), ("client_id", client_id), ("scope", "openid email profile"),
        ("redirect_uri", redirect_uri), ("state", state), ("nonce", nonce), ("access_type", "online")])
    referer = app_start(cap, GOOGLE_APP, authorize, "oauth_state", token("google-app-txn", 32))
    app_cookie = f"oauth_state={token('google-app-txn', 32)}"
    # sign-in UI: accounts.google.com's identifier page, and the password challenge posting to it
    signin = url("https://accounts.google.com/v3/signin/identifier", [
        ("continue", authorize), ("flowName", "GeneralOAuthFlow"), ("service", "lso"), ("o2v", "2")])
    g_cookie = f"__Host-GAPS=1:{token('google-gaps', 80)}; NID={token('google-nid', 100)}"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", signin), ("set-cookie", f"__Host-GAPS=1:{token('google-gaps', 80)}; Path=/; Secure; HttpOnly; "
                                             f"Priority=HIGH")])
    challenge = "https://accounts.google.com/v3/signin/challenge/pwd"
    cap.navigate("GET", signin, status=200, referer=referer, cookie=g_cookie, site="cross-site",
                 body=login_page("Sign in - Google Accounts", challenge, [("TL", token("google-tl", 40))],
                                 user_field="identifier", password_field="Passwd"))
    cap.wait(8300)
    # The authorization response: https://developers.google.com/identity/openid-connect/openid-connect#confirmxsrftoken
    # ("https://oauth2-login-demo.example.com/code?state=security_token%3D138r5719ru3e1%26url%3D...
    # &code=4/P7q7W91a-oMsCeLvIaQm6bTrgtp7&scope=openid%20email%20https://www.googleapis.com/auth/userinfo.email")
    code = "4/0AeanS0" + token("google-code", 64)
    granted = ("email profile openid https://www.googleapis.com/auth/userinfo.email "
               "https://www.googleapis.com/auth/userinfo.profile")
    callback = (f"{redirect_uri}?state={state}&code={quote(code, safe='/')}&scope={quote(granted, safe='/:')}"
                f"&authuser=0&prompt=consent")
    cap.navigate("POST", challenge, status=302, referer="https://accounts.google.com/", cookie=g_cookie,
                 site="same-origin", form=[("TL", token("google-tl", 40)), ("identifier", USER["email"]),
                                           ("Passwd", "correct horse 42")],
                 resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer="https://accounts.google.com/", cookie=app_cookie,
                 site="cross-site", resp_headers=[("location", "/"), ("set-cookie", "session=" +
                                                  token("google-app", 90) + "; Path=/; Secure; HttpOnly")], ms=610)
    cap.wait(-590)
    # Token request: https://developers.google.com/identity/openid-connect/openid-connect#exchangecode
    # (POST https://oauth2.googleapis.com/token: code, client_id, client_secret, redirect_uri, grant_type).
    # Response fields there: access_token, expires_in, id_token, scope, token_type ("Bearer"), refresh_token
    # (only with access_type=offline); scope is "space-delimited", the userinfo scopes in their URL form.
    now = cap.now()
    access = "ya29.a0" + token("google-access", 180)
    sub = "110248495921238986420"
    id_token = jwt_rs256(key, {"kid": kid, "typ": "JWT"}, {
        "iss": "https://accounts.google.com", "azp": client_id, "aud": client_id, "sub": sub,
        "email": USER["email"], "email_verified": True, "at_hash": half_hash(access), "nonce": nonce,
        "name": f"{USER['given']} {USER['family']}",
        "picture": "https://lh3.googleusercontent.com/a/ACg8ocK" + token("google-pic", 40) + "=s96-c",
        "given_name": USER["given"], "family_name": USER["family"], "iat": now, "exp": now + 3600})
    cap.server("POST", "https://oauth2.googleapis.com/token", headers=ua, status=200,
               resp_headers=json_headers(("vary", "Origin, X-Origin, Referer"), ("server", "scaffolding on HTTPServer2")),
               form=[("code", code), ("client_id", client_id), ("client_secret", secret),
                     ("redirect_uri", redirect_uri), ("grant_type", "authorization_code")],
               body=json.dumps({"access_token": access, "expires_in": 3599, "scope": (
                   "https://www.googleapis.com/auth/userinfo.profile https://www.googleapis.com/auth/userinfo.email "
                   "openid"), "token_type": "Bearer", "id_token": id_token}, indent=2))
    # Userinfo: the discovery document's userinfo_endpoint, called with the access token as a Bearer
    # (https://developers.google.com/identity/openid-connect/openid-connect#obtaininguserprofileinformation)
    cap.server("GET", "https://openidconnect.googleapis.com/v1/userinfo", headers=[
        *ua, ("Authorization", f"Bearer {access}")], status=200, body=json.dumps({
            "sub": sub, "name": f"{USER['given']} {USER['family']}", "given_name": USER["given"],
            "family_name": USER["family"], "email": USER["email"], "email_verified": True}, indent=2))
    cap.wait(300)
    app_lands(cap, GOOGLE_APP, "session=" + token("google-app", 90), "https://accounts.google.com/")
    return cap.har()


# ===============================================================================================================
# GitHub OAuth app
# ===============================================================================================================
GITHUB_APP = "https://ci.example.com"


GITHUB_FLOW = Flow("https://github.com/login/oauth/authorize", f"{GITHUB_APP}/auth/github/callback",
                   "https://github.com/login/oauth/access_token")


@provider("github", GITHUB_FLOW)
def github() -> dict:
    return _github(bad_code=False)


def github_bad_code() -> dict:
    """The same login whose code GitHub no longer accepts: GitHub answers HTTP 200 with an error body.
    https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors#bad-verification-code
    ("If the authorization code you pass is incorrect, expired, or doesn't match what you received in the first
    request for authorization you will receive this error": {"error": "bad_verification_code", "error_description":
    "The code passed is incorrect or expired.", "error_uri": ".../#bad-verification-code"})"""
    return _github(bad_code=True)


def _github(bad_code: bool) -> dict:
    cap = Capture("2026-11-18T14:31:07.255+00:00", f"{GITHUB_APP}/")
    client_id, secret = "Ov23liT3kW9mQ2xY7bZ4", token("github-secret", 40, "0123456789abcdef")
    # Authorization request: https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#1-request-a-users-github-identity
    # (GET https://github.com/login/oauth/authorize: client_id, redirect_uri, scope, state; no response_type)
    # and PKCE (https://github.blog/changelog/2025-07-14-pkce-support-for-oauth-and-github-app-authentication:
    # "include the code_challenge_method and code_challenge query parameters ... Only the S256 ... is accepted")
    state = token("github-state", 32, "0123456789abcdef")
    verifier, challenge = pkce_pair("github")
    redirect_uri = f"{GITHUB_APP}/auth/github/callback"
    authorize = url("https://github.com/login/oauth/authorize", [
        ("client_id", client_id), ("redirect_uri", redirect_uri), ("scope", "read:user user:email"),
        ("state", state), ("code_challenge", challenge), ("code_challenge_method", "S256")])
    referer = app_start(cap, GITHUB_APP, authorize, "oauth_state", state)
    app_cookie = f"oauth_state={state}"
    # sign-in UI: github.com/login, the session post, then the "Authorize" consent page and its post
    return_to = "/login/oauth/authorize?" + authorize.split("?", 1)[1]
    login = url("https://github.com/login", [("client_id", client_id), ("return_to", return_to)])
    gh_cookie = f"_gh_sess={token('github-sess', 120)}; _octo=GH1.1.{token('github-octo', 20, '0123456789')}"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", login), ("set-cookie", f"_gh_sess={token('github-sess', 120)}; path=/; secure; HttpOnly; "
                                            f"SameSite=Lax")])
    authenticity = token("github-csrf", 86)
    cap.navigate("GET", login, status=200, referer=referer, cookie=gh_cookie, site="cross-site",
                 body=login_page("Sign in to GitHub · GitHub", "/session",
                                 [("authenticity_token", authenticity), ("return_to", return_to),
                                  ("client_id", client_id)], user_field="login"))
    cap.wait(5800)
    cap.navigate("POST", "https://github.com/session", status=302, referer=login, cookie=gh_cookie,
                 site="same-origin", form=[("commit", "Sign in"), ("authenticity_token", authenticity),
                                           ("client_id", client_id), ("return_to", return_to),
                                           ("login", "dwhitfield"), ("password", "correct horse 42")],
                 resp_headers=[("location", "https://github.com" + return_to),
                               ("set-cookie", f"user_session={token('github-us', 48)}; path=/; secure; HttpOnly; "
                                              f"SameSite=Lax")])
    gh_cookie += f"; user_session={token('github-us', 48)}; logged_in=yes"
    consent_token = token("github-consent", 86)
    cap.navigate("GET", "https://github.com" + return_to, status=200, referer=login, cookie=gh_cookie,
                 site="same-origin",
                 body=html_page("Authorize application", "/login/oauth/authorize",
                                [("hidden", "authenticity_token", consent_token), ("hidden", "authorize", "1")]))
    cap.wait(2400)
    # The authorization response: same page, "2. Users are redirected back to your site by GitHub" ("GitHub
    # redirects back to your site with a temporary code in a code parameter as well as the state you provided")
    code = token("github-code", 20, "0123456789abcdef")
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("POST", "https://github.com/login/oauth/authorize", status=302,
                 referer="https://github.com" + return_to, cookie=gh_cookie, site="same-origin",
                 form=[("authenticity_token", consent_token), ("authorize", "1")],
                 resp_headers=[("location", callback)])
    landing = "/login?error=github" if bad_code else "/"
    cap.navigate("GET", callback, status=302, referer="https://github.com/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", landing), ("set-cookie", "ci_session=" + token("github-app", 64) +
                                                       "; Path=/; Secure; HttpOnly")], ms=480)
    cap.wait(-460)
    token_request = [("client_id", client_id), ("client_secret", secret), ("code", code),
                     ("redirect_uri", redirect_uri), ("code_verifier", verifier)]
    if bad_code:
        cap.server("POST", "https://github.com/login/oauth/access_token",
                   headers=[("User-Agent", "ci.example.com-oauth/1.4"), ("Accept", "application/json")], status=200,
                   resp_headers=[("cache-control", "max-age=0, private, must-revalidate")],
                   form=token_request,
                   body=dumps({"error": "bad_verification_code",
                               "error_description": "The code passed is incorrect or expired.",
                               "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth"
                                            "-app-access-token-request-errors/#bad-verification-code"}))
        cap.wait(300)
        cap.navigate("GET", f"{GITHUB_APP}/login?error=github", status=200, referer="https://github.com/",
                     cookie="ci_session=" + token("github-app", 64), site="cross-site",
                     body="<!DOCTYPE html><html><head><title>Sign in</title></head><body>GitHub sign-in failed"
                          "</body></html>")
        return cap.har()
    # Token request: same page, "2. ... exchange this code for an access token" (POST
    # https://github.com/login/oauth/access_token: client_id, client_secret, code, redirect_uri; code_verifier
    # with PKCE; no grant_type). "By default, the response takes the following form:
    # access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer" -- this client
    # sends no Accept: application/json, so it gets that default form.
    access = "gho_" + token("github-access", 36, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    cap.server("POST", "https://github.com/login/oauth/access_token",
               headers=[("User-Agent", "ci.example.com-oauth/1.4"), ("Accept", "*/*")], status=200,
               resp_headers=[("cache-control", "max-age=0, private, must-revalidate"), ("vary", "X-PJAX, X-PJAX-Container, Turbo-Visit, Turbo-Frame, Accept-Encoding, Accept, X-Requested-With")],
               form=token_request, mime="application/x-www-form-urlencoded; charset=utf-8",
               body=urlencode([("access_token", access), ("scope", "read:user,user:email"),
                               ("token_type", "bearer")]))
    # API call: same page, "3. Use the access token to access the API" ("Authorization: Bearer OAUTH-TOKEN
    # GET https://api.github.com/user")
    cap.server("GET", "https://api.github.com/user", headers=[
        ("User-Agent", "ci.example.com-oauth/1.4"), ("Accept", "application/vnd.github+json"),
        ("X-GitHub-Api-Version", "2022-11-28"), ("Authorization", f"Bearer {access}")], status=200,
        resp_headers=[("x-oauth-scopes", "read:user, user:email"), ("x-accepted-oauth-scopes", ""),
                      ("x-github-api-version-selected", "2022-11-28")],
        body=dumps({"login": "dwhitfield", "id": 48213377, "node_id": "MDQ6VXNlcjQ4MjEzMzc3",
                    "avatar_url": "https://avatars.githubusercontent.com/u/48213377?v=4", "type": "User",
                    "name": f"{USER['given']} {USER['family']}", "email": USER["email"]}))
    cap.wait(300)
    app_lands(cap, GITHUB_APP, "ci_session=" + token("github-app", 64), "https://github.com/")
    return cap.har()


# ===============================================================================================================
# Keycloak
# ===============================================================================================================
KEYCLOAK = "https://sso.example.com"
KC_REALM = f"{KEYCLOAK}/realms/acme"
KC_OIDC = f"{KC_REALM}/protocol/openid-connect"
KC_APP = "https://wiki.example.com"


@provider("keycloak", Flow(f"{KC_OIDC}/auth", f"{KC_APP}/oauth2/callback", f"{KC_OIDC}/token"))
def keycloak() -> dict:
    cap = Capture("2026-11-18T15:11:48.730+00:00", f"{KC_APP}/")
    key, kid = rsa_key("keycloak"), "Jq2yXb8vN0pL5tR3wK7mF1cH9dS4gA6eZ2uY8iO0xV"
    client_id, secret = "wiki", token("kc-secret", 32)
    ua = [("User-Agent", "Go-http-client/1.1"), ("Accept", "application/json")]
    # Endpoints and discovery: https://www.keycloak.org/securing-apps/oidc-layers#_oidc_available_endpoints
    # (/realms/{realm-name}/.well-known/openid-configuration; .../protocol/openid-connect/auth, /token,
    # /userinfo, /certs; issuer https://{host}/realms/{realm-name})
    cap.server("GET", f"{KC_REALM}/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "issuer": KC_REALM, "authorization_endpoint": f"{KC_OIDC}/auth", "token_endpoint": f"{KC_OIDC}/token",
        "introspection_endpoint": f"{KC_OIDC}/token/introspect", "userinfo_endpoint": f"{KC_OIDC}/userinfo",
        "end_session_endpoint": f"{KC_OIDC}/logout", "frontchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True, "jwks_uri": f"{KC_OIDC}/certs",
        "check_session_iframe": f"{KC_OIDC}/login-status-iframe.html",
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password",
                                  "client_credentials", "urn:openid:params:grant-type:ciba",
                                  "urn:ietf:params:oauth:grant-type:device_code"],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token",
                                     "code token", "code id_token token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256",
                                                  "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"],
        "userinfo_signing_alg_values_supported": ["PS384", "RS384", "EdDSA", "ES384", "HS256", "HS512", "ES256",
                                                  "RS256", "HS384", "ES512", "PS256", "PS512", "RS512", "none"],
        "response_modes_supported": ["query", "fragment", "form_post", "query.jwt", "fragment.jwt",
                                     "form_post.jwt", "jwt"],
        "registration_endpoint": f"{KC_REALM}/clients-registrations/openid-connect",
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic", "client_secret_post",
                                                  "tls_client_auth", "client_secret_jwt"],
        "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
                             "preferred_username", "email", "acr"],
        "claim_types_supported": ["normal"], "claims_parameter_supported": True,
        "scopes_supported": ["openid", "offline_access", "profile", "email", "roles", "web-origins", "acr",
                             "basic", "address", "phone", "microprofile-jwt", "organization"],
        "request_parameter_supported": True, "request_uri_parameter_supported": True,
        "require_request_uri_registration": True, "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": True, "revocation_endpoint": f"{KC_OIDC}/revoke",
        "backchannel_logout_supported": True, "backchannel_logout_session_supported": True,
        "device_authorization_endpoint": f"{KC_OIDC}/auth/device",
        "pushed_authorization_request_endpoint": f"{KC_OIDC}/ext/par/request",
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True}))
    cap.server("GET", f"{KC_OIDC}/certs", headers=ua, status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(2300)
    # Authorization request: https://www.keycloak.org/securing-apps/oidc-layers#_oidc_auth_endpoint (client_id,
    # redirect_uri, response_type=code, scope=openid ..., state, nonce; PKCE S256, listed above in
    # code_challenge_methods_supported)
    state, nonce = token("kc-state", 22), token("kc-nonce", 22)
    verifier, challenge = pkce_pair("keycloak")
    redirect_uri = f"{KC_APP}/oauth2/callback"
    authorize = url(f"{KC_OIDC}/auth", [
        ("client_id", client_id), ("redirect_uri", redirect_uri), ("response_type", "code"),
        ("scope", "openid email profile"), ("state", state), ("nonce", nonce), ("code_challenge", challenge),
        ("code_challenge_method", "S256")])
    referer = app_start(cap, KC_APP, authorize, "_oauth2_proxy_csrf", token("kc-app-csrf", 60))
    app_cookie = f"_oauth2_proxy_csrf={token('kc-app-csrf', 60)}"
    # sign-in UI: the realm's login page, its form posting to /login-actions/authenticate
    tab_id, session_code = token("kc-tab", 11), token("kc-sc", 43)
    action = url(f"{KC_REALM}/login-actions/authenticate", [
        ("session_code", session_code), ("execution", guid("kc-exec")), ("client_id", client_id),
        ("tab_id", tab_id)])
    kc_cookie = f"AUTH_SESSION_ID={guid('kc-auth')}.sso-1; KC_RESTART={token('kc-restart', 200)}"
    cap.navigate("GET", authorize, status=200, referer=referer, site="cross-site", resp_headers=[
        ("set-cookie", f"AUTH_SESSION_ID={guid('kc-auth')}.sso-1; Version=1; Path=/realms/acme/; SameSite=None; "
                       f"Secure; HttpOnly"),
        ("set-cookie", f"KC_RESTART={token('kc-restart', 200)}; Version=1; Path=/realms/acme/; Secure; HttpOnly")],
        body=login_page("Sign in to acme", action, [("credentialId", "")]))
    cap.wait(5600)
    # The authorization response carries iss (RFC 9207), advertised above as
    # authorization_response_iss_parameter_supported: https://www.keycloak.org/docs/latest/upgrading/#issuer-in-authorization-response
    code = f"{guid('kc-code1')}.{guid('kc-code2')}.{guid('kc-code3')}"
    session_state = guid("kc-session")
    callback = url(redirect_uri, [("state", state), ("session_state", session_state), ("iss", KC_REALM),
                                  ("code", code)])
    cap.navigate("POST", action, status=302, referer=authorize, cookie=kc_cookie, site="same-origin",
                 form=[("username", "dwhitfield"), ("password", "correct horse 42"), ("credentialId", "")],
                 resp_headers=[("location", callback),
                               ("set-cookie", f"KEYCLOAK_IDENTITY={token('kc-identity', 300)}; Version=1; "
                                              f"Path=/realms/acme/; SameSite=None; Secure; HttpOnly")])
    cap.navigate("GET", callback, status=302, referer=f"{KEYCLOAK}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "_oauth2_proxy=" + token("kc-app", 200) +
                                                   "; Path=/; Secure; HttpOnly; SameSite=Lax")], ms=420)
    cap.wait(-400)
    # Token request for a confidential client, "Client ID and Secret" credential sent as HTTP Basic
    # (https://www.keycloak.org/securing-apps/oidc-layers#_client_authentication: "client_secret_basic").
    # Response: org.keycloak.representations.AccessTokenResponse
    # (https://www.keycloak.org/docs-api/latest/javadocs/org/keycloak/representations/AccessTokenResponse.html):
    # access_token, expires_in, refresh_expires_in, refresh_token, token_type, id_token, not-before-policy,
    # session_state, scope. Keycloak's access tokens say aud "account" (the realm's account client) and azp the
    # client; its userinfo endpoint accepts them.
    now = cap.now()
    sub = guid("kc-sub")
    sid = guid("kc-sid")
    user_claims = {"email_verified": True, "name": f"{USER['given']} {USER['family']}",
                   "preferred_username": "dwhitfield", "given_name": USER["given"], "family_name": USER["family"],
                   "email": USER["email"]}
    access = jwt_rs256(key, {"typ": "JWT", "kid": kid}, {
        "exp": now + 300, "iat": now, "auth_time": now - 3, "jti": "onrtac:" + guid("kc-jti"), "iss": KC_REALM,
        "aud": "account", "sub": sub, "typ": "Bearer", "azp": client_id, "sid": sid, "acr": "1",
        "allowed-origins": [KC_APP], "realm_access": {"roles": ["offline_access", "default-roles-acme",
                                                                "uma_authorization"]},
        "resource_access": {"account": {"roles": ["manage-account", "manage-account-links", "view-profile"]}},
        "scope": "openid email profile", **user_claims})
    id_token = jwt_rs256(key, {"typ": "JWT", "kid": kid}, {
        "exp": now + 300, "iat": now, "auth_time": now - 3, "jti": guid("kc-idjti"), "iss": KC_REALM,
        "aud": client_id, "sub": sub, "typ": "ID", "azp": client_id, "nonce": nonce, "sid": sid,
        "at_hash": half_hash(access), "acr": "1", **user_claims})
    refresh = jwt_hs(hashlib.sha512(b"kc-realm-hmac").digest(), {"typ": "JWT", "kid": guid("kc-hmac-kid")}, {
        "exp": now + 1800, "iat": now, "jti": guid("kc-rjti"), "iss": KC_REALM, "aud": KC_REALM, "sub": sub,
        "typ": "Refresh", "azp": client_id, "sid": sid, "scope": "openid email profile web-origins acr basic roles"})
    cap.server("POST", f"{KC_OIDC}/token", headers=[*ua, ("Authorization", basic(client_id, secret))], status=200,
               resp_headers=json_headers(("referrer-policy", "no-referrer")),
               form=[("code", code), ("code_verifier", verifier), ("grant_type", "authorization_code"),
                     ("redirect_uri", redirect_uri)],
               body=dumps({"access_token": access, "expires_in": 300, "refresh_expires_in": 1800,
                           "refresh_token": refresh, "token_type": "Bearer", "id_token": id_token,
                           "not-before-policy": 0, "session_state": sid, "scope": "openid email profile"}))
    cap.server("GET", f"{KC_OIDC}/userinfo", headers=[*ua, ("Authorization", f"Bearer {access}")], status=200,
               body=dumps({"sub": sub, **user_claims}))
    cap.wait(300)
    app_lands(cap, KC_APP, "_oauth2_proxy=" + token("kc-app", 200), f"{KEYCLOAK}/")
    return cap.har()


# ===============================================================================================================
# Amazon Cognito
# ===============================================================================================================
COGNITO = "https://acme-prod.auth.eu-west-1.amazoncognito.com"
COGNITO_POOL = "eu-west-1_Xb7Kp2QzR"
COGNITO_ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{COGNITO_POOL}"
COGNITO_APP = "https://shop.example.com"


@provider("cognito", Flow(f"{COGNITO}/oauth2/authorize", f"{COGNITO_APP}/auth/callback", f"{COGNITO}/oauth2/token"))
def cognito() -> dict:
    cap = Capture("2026-11-18T16:40:19.402+00:00", f"{COGNITO_APP}/")
    key, kid = rsa_key("cognito"), "Wc1hF8s0p2yQ3v7kN5bX9mJ4tR6dL0gA+eZ8uY2iO1k="
    client_id, secret = "5k2v8d1m9q3r6t0w4y7b1n5h8j", token("cognito-secret", 52, "abcdefghijklmnopqrstuvwxyz0123456789")
    ua = [("User-Agent", "aws-amplify/6.6.0"), ("Accept", "application/json")]
    # Discovery: https://docs.aws.amazon.com/cognito/latest/developerguide/federation-endpoints.html
    # (https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/openid-configuration; the issuer is
    # that URL, the endpoints live on the user pool domain)
    cap.server("GET", f"{COGNITO_ISSUER}/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "authorization_endpoint": f"{COGNITO}/oauth2/authorize", "end_session_endpoint": f"{COGNITO}/logout",
        "id_token_signing_alg_values_supported": ["RS256"], "issuer": COGNITO_ISSUER,
        "jwks_uri": f"{COGNITO_ISSUER}/.well-known/jwks.json", "response_types_supported": ["code", "token"],
        "revocation_endpoint": f"{COGNITO}/oauth2/revoke",
        "scopes_supported": ["openid", "email", "phone", "profile"], "subject_types_supported": ["public"],
        "token_endpoint": f"{COGNITO}/oauth2/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": f"{COGNITO}/oauth2/userInfo"}))
    cap.server("GET", f"{COGNITO_ISSUER}/.well-known/jwks.json", headers=ua, status=200,
               body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(2800)
    # Authorization request: https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
    # (response_type, client_id, redirect_uri, state, scope, code_challenge_method, code_challenge, nonce)
    state, nonce = token("cognito-state", 40), token("cognito-nonce", 40)
    verifier, challenge = pkce_pair("cognito")
    redirect_uri = f"{COGNITO_APP}/auth/callback"
    params = [("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
              ("state", state), ("scope", "openid email"), ("nonce", nonce), ("code_challenge_method", "S256"),
              ("code_challenge", challenge)]
    authorize = url(f"{COGNITO}/oauth2/authorize", params)
    referer = app_start(cap, COGNITO_APP, authorize, "cognito_txn", token("cognito-txn", 40))
    app_cookie = f"cognito_txn={token('cognito-txn', 40)}"
    # The authorize endpoint sends the user to the managed login page:
    # https://docs.aws.amazon.com/cognito/latest/developerguide/login-endpoint.html (GET /login with the same
    # parameters; the sign-in form posts back to it)
    login = url(f"{COGNITO}/login", params)
    csrf = guid("cognito-csrf")
    cg_cookie = f"XSRF-TOKEN={csrf}"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", login), ("set-cookie", f"XSRF-TOKEN={csrf}; Path=/; Secure; HttpOnly; SameSite=Lax")])
    cap.navigate("GET", login, status=200, referer=referer, cookie=cg_cookie, site="cross-site",
                 body=login_page("Signin", login, [("_csrf", csrf)]))
    cap.wait(6900)
    # The authorization response: authorization-endpoint.html, "Example positive responses" ("HTTP/1.1 302 Found
    # Location: https://www.example.com?code=a1b2c3d4-5678-90ab-cdef-EXAMPLE11111&state=abcdefg")
    code = guid("cognito-code")
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("POST", login, status=302, referer=login, cookie=cg_cookie, site="same-origin",
                 form=[("_csrf", csrf), ("username", USER["email"]), ("password", "correct horse 42"),
                       ("signInSubmitButton", "Sign in")],
                 resp_headers=[("location", callback),
                               ("set-cookie", f"cognito={token('cognito-sess', 80)}; Path=/; Secure; HttpOnly")])
    cap.navigate("GET", callback, status=302, referer=f"{COGNITO}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "sid=" + token("cognito-app", 80) +
                                                   "; Path=/; Secure; HttpOnly")], ms=510)
    cap.wait(-490)
    # Token request: https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html ("Authorization:
    # Basic ..." with client_id:client_secret; grant_type, client_id, code, redirect_uri, code_verifier).
    # Response there: {"access_token": "eyJra1example", "id_token": "eyJra2example", "refresh_token":
    # "eyJj3example", "token_type": "Bearer", "expires_in": 3600}. Cognito access tokens carry client_id and
    # token_use "access", no aud (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html)
    now = cap.now()
    sub = guid("cognito-sub")
    origin_jti, event_id = guid("cognito-ojti"), guid("cognito-event")
    access = jwt_rs256(key, {"kid": kid}, {
        "sub": sub, "iss": COGNITO_ISSUER, "version": 2, "client_id": client_id, "origin_jti": origin_jti,
        "event_id": event_id, "token_use": "access", "scope": "openid email", "auth_time": now - 2,
        "exp": now + 3600, "iat": now, "jti": guid("cognito-jti"), "username": sub})
    id_token = jwt_rs256(key, {"kid": kid}, {
        "at_hash": half_hash(access), "sub": sub, "email_verified": True, "iss": COGNITO_ISSUER,
        "cognito:username": sub, "nonce": nonce, "origin_jti": origin_jti, "aud": client_id,
        "event_id": event_id, "token_use": "id", "auth_time": now - 2, "exp": now + 3600, "iat": now,
        "jti": guid("cognito-idjti"), "email": USER["email"]})
    cap.server("POST", f"{COGNITO}/oauth2/token", headers=[*ua, ("Authorization", basic(client_id, secret))],
               status=200, resp_headers=json_headers(("x-amz-cognito-request-id", guid("cognito-req"))),
               form=[("grant_type", "authorization_code"), ("client_id", client_id), ("code", code),
                     ("redirect_uri", redirect_uri), ("code_verifier", verifier)],
               body=dumps({"id_token": id_token, "access_token": access,
                           "refresh_token": "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ."
                                            + token("cognito-refresh", 340),
                           "expires_in": 3600, "token_type": "Bearer"}))
    # Userinfo: https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html
    # ("GET /oauth2/userInfo", "Authorization: Bearer <access_token>")
    cap.server("GET", f"{COGNITO}/oauth2/userInfo", headers=[*ua, ("Authorization", f"Bearer {access}")],
               status=200, body=dumps({"sub": sub, "email_verified": "true", "email": USER["email"],
                                       "username": sub}))
    cap.wait(300)
    app_lands(cap, COGNITO_APP, "sid=" + token("cognito-app", 80), f"{COGNITO}/")
    return cap.har()


# ===============================================================================================================
# Ory Hydra (Ory Network)
# ===============================================================================================================
ORY = "https://festive-noether-x5b2kq.projects.oryapis.com"
ORY_APP = "https://forum.example.com"


@provider("ory-hydra", Flow(f"{ORY}/oauth2/auth", f"{ORY_APP}/callback", f"{ORY}/oauth2/token"))
def ory_hydra() -> dict:
    cap = Capture("2026-11-18T17:03:26.115+00:00", f"{ORY_APP}/")
    key, kid = rsa_key("ory"), guid("ory-kid")
    client_id, secret = guid("ory-client"), token("ory-secret", 32)
    ua = [("User-Agent", "node-fetch"), ("Accept", "application/json")]
    # Discovery: https://www.ory.sh/docs/oauth2-oidc/openid-connect-discovery (GET /.well-known/openid-configuration)
    cap.server("GET", f"{ORY}/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "issuer": ORY, "authorization_endpoint": f"{ORY}/oauth2/auth",
        "registration_endpoint": f"{ORY}/oauth2/register", "token_endpoint": f"{ORY}/oauth2/token",
        "jwks_uri": f"{ORY}/.well-known/jwks.json", "subject_types_supported": ["public"],
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token",
                                     "token id_token code"],
        "claims_supported": ["sub"],
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
        "response_modes_supported": ["query", "fragment", "form_post"], "userinfo_endpoint": f"{ORY}/userinfo",
        "scopes_supported": ["offline_access", "offline", "openid"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt",
                                                  "none"],
        "userinfo_signing_alg_values_supported": ["none", "RS256"],
        "id_token_signing_alg_values_supported": ["RS256"], "request_parameter_supported": True,
        "request_uri_parameter_supported": True, "require_request_uri_registration": True,
        "claims_parameter_supported": False, "revocation_endpoint": f"{ORY}/oauth2/revoke",
        "backchannel_logout_supported": True, "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True, "frontchannel_logout_session_supported": True,
        "end_session_endpoint": f"{ORY}/oauth2/sessions/logout",
        "request_object_signing_alg_values_supported": ["none", "RS256", "ES256"],
        "code_challenge_methods_supported": ["plain", "S256"]}))
    cap.server("GET", f"{ORY}/.well-known/jwks.json", headers=ua, status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(2100)
    # Authorization code flow: https://www.ory.sh/docs/oauth2-oidc/authorization-code-flow
    # (GET /oauth2/auth: client_id, response_type=code, scope, redirect_uri, state; PKCE recommended)
    state, nonce = token("ory-state", 24), token("ory-nonce", 24)
    verifier, challenge = pkce_pair("ory")
    redirect_uri = f"{ORY_APP}/callback"
    query = [("client_id", client_id), ("response_type", "code"), ("scope", "openid offline_access"),
             ("redirect_uri", redirect_uri), ("state", state), ("nonce", nonce), ("code_challenge", challenge),
             ("code_challenge_method", "S256")]
    authorize = url(f"{ORY}/oauth2/auth", query)
    referer = app_start(cap, ORY_APP, authorize, "oauth_txn", token("ory-txn", 40))
    app_cookie = f"oauth_txn={token('ory-txn', 40)}"
    # The login and consent challenges: https://www.ory.sh/docs/oauth2-oidc/custom-login-consent/flow
    # (/oauth2/auth -> login UI ?login_challenge= -> /oauth2/auth?...&login_verifier= -> consent UI
    # ?consent_challenge= -> /oauth2/auth?...&consent_verifier= -> redirect_uri). sign-in UI: Ory's Account
    # Experience pages, one form each.
    login_challenge, consent_challenge = token("ory-lc", 64), token("ory-cc", 64)
    login_ui = f"{ORY}/ui/login?login_challenge={login_challenge}"
    consent_ui = f"{ORY}/ui/consent?consent_challenge={consent_challenge}"
    ory_cookie = f"ory_hydra_login_csrf_dev_{token('ory-n', 8, '0123456789')}={token('ory-lcsrf', 40)}"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", login_ui), ("set-cookie", f"{ory_cookie}; Path=/; Secure; HttpOnly; SameSite=None")])
    cap.navigate("GET", login_ui, status=200, referer=referer, cookie=ory_cookie, site="cross-site",
                 body=login_page("Sign in", f"{ORY}/self-service/login?flow={guid('ory-flow')}",
                                 [("csrf_token", token("ory-csrf", 40)), ("method", "password")],
                                 user_field="identifier"))
    cap.wait(5200)
    after_login = url(f"{ORY}/oauth2/auth", [*query, ("login_verifier", token("ory-lv", 64))])
    cap.navigate("POST", f"{ORY}/self-service/login?flow={guid('ory-flow')}", status=303, referer=login_ui,
                 cookie=ory_cookie, site="same-origin",
                 form=[("csrf_token", token("ory-csrf", 40)), ("method", "password"),
                       ("identifier", USER["email"]), ("password", "correct horse 42")],
                 resp_headers=[("location", after_login),
                               ("set-cookie", f"ory_session_festivenoether={token('ory-sess', 60)}; Path=/; "
                                              f"Secure; HttpOnly; SameSite=Lax")])
    cap.navigate("GET", after_login, status=302, referer=login_ui, cookie=ory_cookie, site="same-origin",
                 resp_headers=[("location", consent_ui)])
    cap.navigate("GET", consent_ui, status=200, referer=login_ui, cookie=ory_cookie, site="same-origin",
                 body=html_page("Allow access", f"{ORY}/ui/consent",
                                [("hidden", "consent_challenge", consent_challenge),
                                 ("checkbox", "grant_scope", "openid"),
                                 ("checkbox", "grant_scope", "offline_access"), ("hidden", "remember", "true")]))
    cap.wait(1900)
    after_consent = url(f"{ORY}/oauth2/auth", [*query, ("consent_verifier", token("ory-cv", 64))])
    cap.navigate("POST", f"{ORY}/ui/consent", status=303, referer=consent_ui, cookie=ory_cookie,
                 site="same-origin", form=[("consent_challenge", consent_challenge), ("grant_scope", "openid"),
                                           ("grant_scope", "offline_access"), ("remember", "true")],
                 resp_headers=[("location", after_consent)])
    code = "ory_ac_" + token("ory-code", 43) + "." + token("ory-code-sig", 43)
    callback = url(redirect_uri, [("code", code), ("scope", "openid offline_access"), ("state", state)])
    cap.navigate("GET", after_consent, status=303, referer=consent_ui, cookie=ory_cookie, site="same-origin",
                 resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer=f"{ORY}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "forum_session=" + token("ory-app", 80) +
                                                   "; Path=/; Secure; HttpOnly")], ms=460)
    cap.wait(-440)
    # Token request: same page ("POST /oauth2/token", client_secret_basic by default: "Authorization: Basic";
    # grant_type, code, redirect_uri, code_verifier). Response: access_token (ory_at_...), expires_in, id_token,
    # refresh_token (ory_rt_...), scope, token_type "bearer".
    now = cap.now()
    access = "ory_at_" + token("ory-access", 43) + "." + token("ory-access-sig", 43)
    sub = guid("ory-sub")
    id_token = jwt_rs256(key, {"kid": kid, "typ": "JWT"}, {
        "at_hash": half_hash(access), "aud": [client_id], "auth_time": now - 4, "exp": now + 3600, "iat": now,
        "iss": ORY, "jti": guid("ory-jti"), "nonce": nonce, "rat": now - 12, "sid": guid("ory-sid"), "sub": sub})
    cap.server("POST", f"{ORY}/oauth2/token", headers=[*ua, ("Authorization", basic(client_id, secret))],
               status=200, resp_headers=json_headers(),
               form=[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri),
                     ("code_verifier", verifier)],
               body=dumps({"access_token": access, "expires_in": 3599, "id_token": id_token,
                           "refresh_token": "ory_rt_" + token("ory-refresh", 43) + "." + token("ory-rs", 43),
                           "scope": "openid offline_access", "token_type": "bearer"}))
    # Userinfo: https://www.ory.sh/docs/oauth2-oidc/userinfo-oidc (GET /userinfo with the access token)
    cap.server("GET", f"{ORY}/userinfo", headers=[*ua, ("Authorization", f"Bearer {access}")], status=200,
               body=dumps({"sub": sub, "email": USER["email"], "email_verified": True}))
    cap.wait(300)
    app_lands(cap, ORY_APP, "forum_session=" + token("ory-app", 80), f"{ORY}/")
    return cap.har()


# ===============================================================================================================
# Slack: Sign in with Slack (OpenID Connect)
# ===============================================================================================================
SLACK_APP = "https://standup.example.com"


@provider("slack", Flow("https://slack.com/openid/connect/authorize", f"{SLACK_APP}/slack/callback",
                        "https://slack.com/api/openid.connect.token"))
def slack() -> dict:
    cap = Capture("2026-11-18T18:22:14.883+00:00", f"{SLACK_APP}/")
    key, kid = rsa_key("slack"), "mB2MAyKSn555isd0EbdhKx6nkyAi9xLq8rvCEb_nOyY"
    client_id, secret = "2141029472.691202649728", token("slack-secret", 32, "0123456789abcdef")
    ua = [("User-Agent", "Slack-OIDC-Client/1.0"), ("Accept", "application/json")]
    # The discovery document's endpoints and issuer as Slack's page names them; its list fields could not be read
    # from Slack's documentation. No code_challenge_methods_supported: Slack documents no PKCE parameter for
    # /openid/connect/authorize.
    # Sign in with Slack: https://api.slack.com/authentication/sign-in-with-slack (OpenID Connect; discovery at
    # https://slack.com/.well-known/openid-configuration; authorize at https://slack.com/openid/connect/authorize;
    # token exchange with openid.connect.token; user info with openid.connect.userInfo)
    cap.server("GET", "https://slack.com/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "issuer": "https://slack.com", "authorization_endpoint": "https://slack.com/openid/connect/authorize",
        "token_endpoint": "https://slack.com/api/openid.connect.token",
        "userinfo_endpoint": "https://slack.com/api/openid.connect.userInfo",
        "jwks_uri": "https://slack.com/openid/connect/keys", "scopes_supported": ["openid", "profile", "email"],
        "response_types_supported": ["code"], "response_modes_supported": ["form_post"],
        "grant_types_supported": ["authorization_code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "auth_time", "iss"], "claims_parameter_supported": False,
        "request_parameter_supported": False, "request_uri_parameter_supported": True,
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"]}))
    cap.server("GET", "https://slack.com/openid/connect/keys", headers=ua, status=200,
               body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(1600)
    # Authorization request: same page ("https://slack.com/openid/connect/authorize?response_type=code&
    # scope=openid%20profile%20email&client_id=...&state=...&team=...&nonce=...&redirect_uri=...")
    state, nonce = token("slack-state", 30), token("slack-nonce", 30)
    redirect_uri = f"{SLACK_APP}/slack/callback"
    authorize = url("https://slack.com/openid/connect/authorize", [
        ("response_type", "code"), ("scope", "openid profile email"), ("client_id", client_id), ("state", state),
        ("team", "T0R7GR"), ("nonce", nonce), ("redirect_uri", redirect_uri)])
    referer = app_start(cap, SLACK_APP, authorize, "slack_oidc_state", state)
    app_cookie = f"slack_oidc_state={state}"
    # sign-in UI: the user is already signed in to the workspace; Slack shows its consent page, whose form posts
    sl_cookie = f"d={token('slack-d', 120)}; b={token('slack-b', 24)}"
    crumb = token("slack-crumb", 60)
    cap.navigate("GET", authorize, status=200, referer=referer, cookie=sl_cookie, site="cross-site",
                 body=html_page("Sign in to Standup | Slack", "https://acme-corp.slack.com/openid/connect/approve",
                                [("hidden", "crumb", crumb), ("hidden", "allow", "1")]))
    cap.wait(3100)
    code = "4724469134.4644010092847." + token("slack-code", 64, "0123456789abcdef")
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("POST", "https://acme-corp.slack.com/openid/connect/approve", status=302,
                 referer="https://slack.com/", cookie=sl_cookie, site="same-site",
                 form=[("crumb", crumb), ("allow", "1")], resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer="https://acme-corp.slack.com/", cookie=app_cookie,
                 site="cross-site", resp_headers=[("location", "/"), ("set-cookie", "standup=" +
                                                  token("slack-app", 60) + "; Path=/; Secure; HttpOnly")], ms=530)
    cap.wait(-510)
    # Token request: https://api.slack.com/methods/openid.connect.token (POST, application/x-www-form-urlencoded:
    # client_id, client_secret, code, redirect_uri, grant_type). Its example response:
    # {"ok": true, "access_token": "xoxp-1234", "token_type": "Bearer", "id_token": "eyJhbGcMjY5OTA2MzYwfQ..."}
    now = cap.now()
    access = "xoxp-" + "-".join(token(f"slack-at{i}", n, "0123456789") for i, n in ((1, 10), (2, 13), (3, 13))) \
        + "-" + token("slack-at4", 32, "0123456789abcdef")
    id_token = jwt_rs256(key, {"kid": kid, "typ": "JWT"}, {
        "iss": "https://slack.com", "sub": "U0R7MFMJM", "aud": client_id, "exp": now + 3600, "iat": now,
        "auth_time": now, "nonce": nonce, "at_hash": half_hash(access),
        "https://slack.com/team_id": "T0R7GR", "https://slack.com/user_id": "U0R7MFMJM",
        "email": USER["email"], "email_verified": True, "date_email_verified": 1622128723,
        "locale": "en-US", "name": f"{USER['given']} {USER['family']}",
        "picture": "https://secure.gravatar.com/avatar/bc.png", "given_name": USER["given"],
        "family_name": USER["family"], "https://slack.com/team_name": "Acme Corp",
        "https://slack.com/team_domain": "acme-corp"})
    cap.server("POST", "https://slack.com/api/openid.connect.token", headers=ua, status=200,
               resp_headers=[("x-slack-req-id", token("slack-req", 32, "0123456789abcdef")),
                             ("cache-control", "private, no-cache, no-store, must-revalidate")],
               form=[("client_id", client_id), ("client_secret", secret), ("code", code),
                     ("redirect_uri", redirect_uri), ("grant_type", "authorization_code")],
               body=dumps({"ok": True, "access_token": access, "token_type": "Bearer", "id_token": id_token}))
    # Userinfo: https://api.slack.com/methods/openid.connect.userInfo (token as "Authorization: Bearer")
    cap.server("POST", "https://slack.com/api/openid.connect.userInfo", headers=[
        *ua, ("Authorization", f"Bearer {access}")], status=200, body=dumps({
            "ok": True, "sub": "U0R7MFMJM", "https://slack.com/user_id": "U0R7MFMJM",
            "https://slack.com/team_id": "T0R7GR", "email": USER["email"], "email_verified": True,
            "date_email_verified": 1622128723, "name": f"{USER['given']} {USER['family']}",
            "picture": "https://secure.gravatar.com/avatar/bc.png", "given_name": USER["given"],
            "family_name": USER["family"], "locale": "en-US", "https://slack.com/team_name": "Acme Corp",
            "https://slack.com/team_domain": "acme-corp"}))
    cap.wait(300)
    app_lands(cap, SLACK_APP, "standup=" + token("slack-app", 60), "https://acme-corp.slack.com/")
    return cap.har()


# ===============================================================================================================
# Salesforce
# ===============================================================================================================
SALESFORCE = "https://login.salesforce.com"
SF_INSTANCE = "https://acme.my.salesforce.com"
SF_APP = "https://quotes.example.com"


@provider("salesforce", Flow(f"{SALESFORCE}/services/oauth2/authorize", f"{SF_APP}/oauth/callback",
                             f"{SALESFORCE}/services/oauth2/token"))
def salesforce() -> dict:
    cap = Capture("2026-11-18T19:48:02.566+00:00", f"{SF_APP}/")
    key, kid = rsa_key("salesforce"), "250"
    client_id = "3MVG9" + token("sf-client", 80, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")
    secret = token("sf-secret", 64, "0123456789ABCDEF")
    ua = [("User-Agent", "simple-salesforce/1.12.6"), ("Accept", "application/json")]
    # No discovery fetch: the client is configured with Salesforce's documented endpoints (as simple-salesforce is).
    # The discovery document (https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_using_openid_discovery_endpoint.htm)
    # was not written here: the part of its documented example that could be read stops before the fields that
    # would say whether it advertises PKCE, and guessing them would decide pkce-not-advertised.
    # JWKS: the id_token's keys at https://login.salesforce.com/id/keys (that document's jwks_uri)
    cap.server("GET", f"{SALESFORCE}/id/keys", headers=ua, status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(2000)
    # Authorization request: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
    # (response_type=code, client_id, redirect_uri; optional scope, state, code_challenge, nonce ...)
    state, nonce = token("sf-state", 32), token("sf-nonce", 32)
    verifier, challenge = pkce_pair("salesforce")
    redirect_uri = f"{SF_APP}/oauth/callback"
    authorize = url(f"{SALESFORCE}/services/oauth2/authorize", [
        ("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
        ("scope", "openid api refresh_token"), ("state", state), ("nonce", nonce),
        ("code_challenge", challenge), ("code_challenge_method", "S256")])
    referer = app_start(cap, SF_APP, authorize, "sf_state", state)
    app_cookie = f"sf_state={state}"
    # sign-in UI: login.salesforce.com's login page, then the remote-access approval page on the org's domain
    start_url = "/setup/secur/RemoteAccessAuthorizationPage.apexp?source=" + token("sf-source", 200)
    login = url(f"{SALESFORCE}/", [("ec", "302"), ("startURL", start_url)])
    sf_cookie = f"BrowserId={token('sf-bid', 22)}; CookieConsentPolicy=0:1"
    cap.navigate("GET", authorize, status=302, referer=referer, site="cross-site", resp_headers=[
        ("location", login), ("set-cookie", f"BrowserId={token('sf-bid', 22)}; domain=.salesforce.com; path=/; "
                                            f"secure; SameSite=None")])
    cap.navigate("GET", login, status=200, referer=referer, cookie=sf_cookie, site="cross-site",
                 body=login_page("Login | Salesforce", f"{SALESFORCE}/",
                                 [("startURL", start_url), ("un", "")], password_field="pw"))
    cap.wait(6600)
    approval = SF_INSTANCE + start_url
    cap.navigate("POST", f"{SALESFORCE}/", status=302, referer=login, cookie=sf_cookie, site="same-origin",
                 form=[("startURL", start_url), ("un", USER["email"]), ("username", USER["email"]),
                       ("pw", "correct horse 42")],
                 resp_headers=[("location", approval),
                               ("set-cookie", f"sid={token('sf-sid', 100)}; domain=.salesforce.com; path=/; "
                                              f"secure; HttpOnly")])
    # The authorization response: web server flow page ("https://www.mycustomerorderstatus.com/oauth2/callback?
    # code=aPrx4sgoM2Nd1zWeFVlOWveD0HhYmiDiLmlLnXEBgX01tpVOQMWVSUuafFPHu3kCSjzk4CUTZg==")
    code = "aPrx" + token("sf-code", 80) + "=="
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("GET", approval, status=302, referer=login, cookie=f"sid={token('sf-sid', 100)}",
                 site="same-site", resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer=f"{SF_INSTANCE}/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "quotes_session=" + token("sf-app", 80) +
                                                   "; Path=/; Secure; HttpOnly")], ms=590)
    cap.wait(-570)
    # Token request: same page (POST /services/oauth2/token: grant_type, code, client_id, client_secret,
    # redirect_uri, code_verifier). Response fields there: access_token, refresh_token (with the refresh_token
    # scope), signature ("Base64-encoded HMAC-SHA256 signature signed with the client_secret ... the
    # concatenated ID and issued_at value"), scope, id_token, instance_url, id, token_type "Bearer", issued_at
    # (milliseconds); no expires_in.
    now = cap.now()
    issued_at = str(now * 1000 + 417)
    identity = f"{SALESFORCE}/id/00D5e000001N20QEAS/0055e000003E8ooAAC"
    signature = base64.b64encode(hmac.new(secret.encode(), (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    access = "00D5e000001N20Q!AQ0AQ" + token("sf-access", 96)
    id_token = jwt_rs256(key, {"kid": kid, "typ": "JWT"}, {
        "at_hash": half_hash(access), "sub": identity, "aud": client_id, "iss": SALESFORCE, "exp": now + 300,
        "iat": now, "nonce": nonce})
    cap.server("POST", f"{SALESFORCE}/services/oauth2/token", headers=ua, status=200,
               resp_headers=json_headers(),
               form=[("grant_type", "authorization_code"), ("code", code), ("client_id", client_id),
                     ("client_secret", secret), ("redirect_uri", redirect_uri), ("code_verifier", verifier)],
               body=dumps({"access_token": access, "refresh_token": "5Aep861" + token("sf-refresh", 80),
                           "signature": signature, "scope": "refresh_token openid api", "id_token": id_token,
                           "instance_url": SF_INSTANCE, "id": identity, "token_type": "Bearer",
                           "issued_at": issued_at}))
    # Userinfo: https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm
    # (GET /services/oauth2/userinfo with "Authorization: Bearer")
    cap.server("GET", f"{SALESFORCE}/services/oauth2/userinfo", headers=[*ua, ("Authorization", f"Bearer {access}")],
               status=200, body=dumps({
                   "sub": identity, "user_id": "0055e000003E8ooAAC", "organization_id": "00D5e000001N20QEAS",
                   "preferred_username": USER["email"], "nickname": "dwhitfield",
                   "name": f"{USER['given']} {USER['family']}", "email": USER["email"], "email_verified": True,
                   "given_name": USER["given"], "family_name": USER["family"], "zoneinfo": "Europe/London",
                   "active": True, "user_type": "STANDARD", "language": "en_US", "locale": "en_GB",
                   "utcOffset": 0, "updated_at": "2026-10-02T08:15:26Z"}))
    cap.wait(300)
    app_lands(cap, SF_APP, "quotes_session=" + token("sf-app", 80), f"{SF_INSTANCE}/")
    return cap.har()


# ===============================================================================================================
# Sign in with Apple (web)
# ===============================================================================================================
APPLE = "https://appleid.apple.com"
APPLE_APP = "https://recipes.example.com"


@provider("apple", Flow(f"{APPLE}/auth/authorize", f"{APPLE_APP}/auth/apple/callback", f"{APPLE}/auth/token"))
def apple() -> dict:
    cap = Capture("2026-11-18T20:05:51.209+00:00", f"{APPLE_APP}/")
    key, kid = rsa_key("apple"), "Sf2lFqwkpX"
    team_id, key_id, client_id = "A1B2C3D4E5", "ZYX9W8V7U6", "com.example.recipes.web"
    ua = [("User-Agent", "okhttp/4.12.0"), ("Accept", "application/json")]
    # Discovery: served at https://appleid.apple.com/.well-known/openid-configuration; Apple's documentation does
    # not reproduce it, so the fields are limited to what the REST API pages document (endpoints, response modes,
    # scopes name/email, client_secret_post). No code_challenge_methods_supported: the documented /auth/authorize
    # parameters have no code_challenge.
    cap.server("GET", f"{APPLE}/.well-known/openid-configuration", headers=ua, status=200, body=dumps({
        "issuer": APPLE, "authorization_endpoint": f"{APPLE}/auth/authorize",
        "token_endpoint": f"{APPLE}/auth/token", "revocation_endpoint": f"{APPLE}/auth/revoke",
        "jwks_uri": f"{APPLE}/auth/keys", "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"], "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"], "scopes_supported": ["openid", "email", "name"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "is_private_email", "iss", "nonce",
                             "nonce_supported", "real_user_status", "sub", "transfer_sub"]}))
    # JWKS: https://developer.apple.com/documentation/sign_in_with_apple/fetch_apple_s_public_key_for_verifying_token_signature
    cap.server("GET", f"{APPLE}/auth/keys", headers=ua, status=200, body=dumps({"keys": [jwk(key, kid)]}))
    cap.wait(1500)
    # Authorization request: https://developer.apple.com/documentation/sign_in_with_apple/request_an_authorization_to_the_sign_in_with_apple_server
    # (client_id, redirect_uri, response_type "code id_token", scope "name email", response_mode form_post,
    # state, nonce; "When requesting an id_token response type, response_mode must be either fragment or
    # form_post" and form_post when name or email is requested)
    state, nonce = token("apple-state", 32), token("apple-nonce", 32)
    redirect_uri = f"{APPLE_APP}/auth/apple/callback"
    authorize = url(f"{APPLE}/auth/authorize", [
        ("client_id", client_id), ("redirect_uri", redirect_uri), ("response_type", "code id_token"),
        ("scope", "name email"), ("response_mode", "form_post"), ("state", state), ("nonce", nonce)])
    referer = app_start(cap, APPLE_APP, authorize, "apple_state", state)
    # sign-in UI: Apple's sign-in page, then the "Continue" confirmation that answers the form_post page
    ap_cookie = f"aasp={token('apple-aasp', 120, '0123456789ABCDEF')}; dslang=US-EN"
    confirm = f"{APPLE}/appleauth/auth/oauth/authorize"
    cap.navigate("GET", authorize, status=200, referer=referer, site="cross-site", resp_headers=[
        ("set-cookie", f"aasp={token('apple-aasp', 120, '0123456789ABCDEF')}; Domain=apple.com; Path=/; Secure; "
                       f"HttpOnly")],
        body=login_page("Sign in with Apple ID", confirm, [("frame_id", guid("apple-frame"))],
                        user_field="accountName"))
    cap.wait(9100)
    # Apple's id_token claims email_verified, is_private_email and nonce_supported are strings ("true"): "A string
    # or Boolean value" in https://developer.apple.com/documentation/signinwithapple/authenticating-users-with-sign-in-with-apple
    # and strings in real tokens.
    # The authorization response (form_post) with, on the first sign-in, "user": "A JSON string containing the
    # data requested in the scope property ... { "name": { "firstName": string, "lastName": string },
    # "email": string }" (same page, "Handle the response"). The front-channel id_token has c_hash.
    code = "c" + token("apple-code", 32, "0123456789abcdef") + ".0.rrvxw." + token("apple-code2", 22)
    now = cap.now()
    sub = "001234." + token("apple-sub", 32, "0123456789abcdef") + ".1024"
    relay = "x7k2p9q4m1@privaterelay.appleid.com"
    front_id_token = jwt_rs256(key, {"kid": kid}, {
        "iss": APPLE, "aud": client_id, "exp": now + 86400, "iat": now, "sub": sub, "nonce": nonce,
        "c_hash": half_hash(code), "email": relay, "email_verified": "true", "is_private_email": "true",
        "auth_time": now, "nonce_supported": "true"})
    user = dumps({"name": {"firstName": USER["given"], "lastName": USER["family"]}, "email": relay})
    cap.navigate("POST", confirm, status=200, referer=f"{APPLE}/", cookie=ap_cookie, site="same-origin",
                 form=[("frame_id", guid("apple-frame")), ("accountName", USER["email"]),
                       ("password", "correct horse 42")],
                 body=html_page("Sign in with Apple", redirect_uri, [
                     ("hidden", "state", state), ("hidden", "code", code), ("hidden", "id_token", front_id_token),
                     ("hidden", "user", user)], auto_submit=True))
    callback = cap.navigate("POST", redirect_uri, status=302, referer=f"{APPLE}/", site="cross-site",
                            form=[("state", state), ("code", code), ("id_token", front_id_token), ("user", user)],
                            resp_headers=[("location", "/"), ("set-cookie", "recipes_sid=" + token("apple-app", 64)
                                                              + "; Path=/; Secure; HttpOnly; SameSite=Lax")],
                            ms=640)
    cap.wait(-620)
    # Token request: https://developer.apple.com/documentation/sign_in_with_apple/generate_and_validate_tokens
    # (client_id, client_secret, code, grant_type, redirect_uri; client_secret is a JWT the developer signs
    # with ES256: header alg ES256 and kid, claims iss (team id), iat, exp, aud "https://appleid.apple.com",
    # sub (client_id)). Response (TokenResponse): access_token, expires_in, id_token, refresh_token,
    # token_type "bearer".
    client_secret = jwt_es256(ec_key("apple-developer-key"), {"kid": key_id}, {
        "iss": team_id, "iat": now, "exp": now + 15552000, "aud": APPLE, "sub": client_id})
    access = "a" + token("apple-access", 32, "0123456789abcdef") + ".0.rrvxw." + token("apple-access2", 22)
    back_id_token = jwt_rs256(key, {"kid": kid}, {
        "iss": APPLE, "aud": client_id, "exp": now + 86400, "iat": now, "sub": sub, "nonce": nonce,
        "at_hash": half_hash(access), "email": relay, "email_verified": "true", "is_private_email": "true",
        "auth_time": now, "nonce_supported": "true"})
    cap.server("POST", f"{APPLE}/auth/token", headers=ua, status=200, resp_headers=json_headers(),
               form=[("client_id", client_id), ("client_secret", client_secret), ("code", code),
                     ("grant_type", "authorization_code"), ("redirect_uri", redirect_uri)],
               body=dumps({"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                           "refresh_token": "r" + token("apple-refresh", 32, "0123456789abcdef") + ".0.rrvxw."
                                            + token("apple-refresh2", 22), "id_token": back_id_token}))
    clock_after_start_of(cap, callback, callback["time"] + 30)
    app_lands(cap, APPLE_APP, "recipes_sid=" + token("apple-app", 64), f"{APPLE}/")
    return cap.har()


# ===============================================================================================================
# Discord
# ===============================================================================================================
DISCORD_APP = "https://guildstats.example.com"


@provider("discord", Flow("https://discord.com/oauth2/authorize", f"{DISCORD_APP}/auth/discord/callback",
                          "https://discord.com/api/oauth2/token"))
def discord() -> dict:
    cap = Capture("2026-11-18T21:17:38.054+00:00", f"{DISCORD_APP}/")
    client_id, secret = "1190381237462716416", token("discord-secret", 32)
    # Authorization URL: https://discord.com/developers/docs/topics/oauth2#authorization-code-grant
    # ("https://discord.com/oauth2/authorize?response_type=code&client_id=157730590492196864&scope=identify%20
    # guilds.join&state=15773059ghq9183habn&redirect_uri=https%3A%2F%2Fnicememe.website&prompt=consent")
    # PKCE: Discord accepts S256 (only), with a code_verifier of at least 43 characters; its OAuth2 topic does not
    # say so yet, its maintainers point to the Social SDK docs for it
    # (https://github.com/discord/discord-api-docs/issues/5254, https://github.com/discord/discord-api-docs/pull/7046)
    state = token("discord-state", 32)
    verifier, challenge = pkce_pair("discord")
    redirect_uri = f"{DISCORD_APP}/auth/discord/callback"
    authorize = url("https://discord.com/oauth2/authorize", [
        ("response_type", "code"), ("client_id", client_id), ("scope", "identify email"), ("state", state),
        ("redirect_uri", redirect_uri), ("prompt", "consent"), ("code_challenge", challenge),
        ("code_challenge_method", "S256")])
    referer = app_start(cap, DISCORD_APP, authorize, "discord_state", state)
    app_cookie = f"discord_state={state}"
    # sign-in UI: the user is signed in to Discord; its "Authorize" page, whose form posts
    dc_cookie = f"__dcfduid={token('discord-dcf', 32, '0123456789abcdef')}; __sdcfduid={token('discord-sdcf', 96, '0123456789abcdef')}"
    approve = "https://discord.com/oauth2/authorize/approve"
    cap.navigate("GET", authorize, status=200, referer=referer, cookie=dc_cookie, site="cross-site",
                 body=html_page("Discord", approve, [("hidden", "authorize", "true"), ("hidden", "permissions", "0")]))
    cap.wait(2700)
    # The authorization response: same section ("https://nicememe.website/?code=NhhvTDYsFcdgNLnnLijcl7Ku7bEEeee&
    # state=15773059ghq9183habn")
    code = token("discord-code", 30)
    callback = url(redirect_uri, [("code", code), ("state", state)])
    cap.navigate("POST", approve, status=302, referer="https://discord.com/", cookie=dc_cookie, site="same-origin",
                 form=[("authorize", "true"), ("permissions", "0")], resp_headers=[("location", callback)])
    cap.navigate("GET", callback, status=302, referer="https://discord.com/", cookie=app_cookie, site="cross-site",
                 resp_headers=[("location", "/"), ("set-cookie", "gs_session=" + token("discord-app", 64) +
                                                   "; Path=/; Secure; HttpOnly")], ms=450)
    cap.wait(-430)
    # Token request: same page, "Access Token Exchange Example" (POST https://discord.com/api/oauth2/token,
    # application/x-www-form-urlencoded grant_type, code, redirect_uri, with the client credentials as HTTP Basic:
    # "requests.post('%s/oauth2/token' % API_ENDPOINT, data=data, headers=headers, auth=(CLIENT_ID,
    # CLIENT_SECRET))"). "Access Token Response": {"access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG",
    # "token_type": "Bearer", "expires_in": 604800, "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue",
    # "scope": "identify"}
    access = token("discord-access", 30)
    cap.server("POST", "https://discord.com/api/oauth2/token", headers=[
        ("User-Agent", "python-requests/2.32.3"), ("Accept", "*/*"), ("Authorization", basic(client_id, secret))],
        status=200, resp_headers=[("cache-control", "no-store")],
        form=[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri),
              ("code_verifier", verifier)],
        body=dumps({"token_type": "Bearer", "access_token": access, "expires_in": 604800,
                    "refresh_token": token("discord-refresh", 30), "scope": "identify email"}))
    # API call: same page ("make requests to the API on behalf of a user ... Authorization: Bearer") and
    # https://discord.com/developers/docs/resources/user#get-current-user (GET /users/@me)
    cap.server("GET", "https://discord.com/api/users/@me", headers=[
        ("User-Agent", "python-requests/2.32.3"), ("Accept", "*/*"), ("Authorization", f"Bearer {access}")],
        status=200, body=dumps({"id": "80351110224678912", "username": "dwhitfield", "discriminator": "0",
                                "global_name": USER["given"], "avatar": "8342729096ea3675442027381ff50dfe",
                                "verified": True, "email": USER["email"], "flags": 0, "mfa_enabled": True,
                                "locale": "en-US", "premium_type": 0}))
    cap.wait(300)
    app_lands(cap, DISCORD_APP, "gs_session=" + token("discord-app", 64), "https://discord.com/")
    return cap.har()


# Logins that go wrong the way a provider documents, with where their three hops are (not in FLOWS: the good-login
# tests run over FLOWS only)
DEVIATIONS = {"github-bad-code": (GITHUB_FLOW, github_bad_code)}


def write_all(directory: Path = HERE, names=None) -> list[Path]:
    builders = {**BUILDERS, **{name: build for name, (_, build) in DEVIATIONS.items()}}
    written = []
    for name in names or builders:
        path = directory / f"{name}.har"
        path.write_text(json.dumps(builders[name](), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(names=sys.argv[1:] or None):
        print(written_path)
