"""bearer-misuse on real providers' documented logins: an audience that is not a URL (Entra's application IDs,
Keycloak's `account`) is no evidence that a token meant for another server was accepted, and the provider's own
userinfo endpoint is no third-party resource. A token naming another server by URL is still reported."""

from __future__ import annotations

from tests.hops import REVERSE, findings, flow, make_hop
from tests.signed_jwt import rs256, verifies

TENANT = "aaaabbbb-0000-cccc-1111-dddd2222eeee"
ENTRA_V2 = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # Microsoft Graph's application ID, the aud of its tokens
KEYCLOAK_REALM = "https://sso.example.com/realms/demo"
KEYCLOAK_OIDC = f"{KEYCLOAK_REALM}/protocol/openid-connect"


def login_then_call(provider: str, access_token: str, call_url: str, *, token_url: str | None = None, **kwargs):
    """The provider's documented code flow, then the client's server calling `call_url` with the token (200)."""
    hops = flow(provider=provider, token_url=token_url, client_auth="basic",
                token_json={"access_token": access_token, "token_type": "Bearer", "expires_in": 3599,
                            "refresh_token": "0.AXEA-refresh"}, **kwargs)
    last = hops[-1]
    hops.append(make_hop(last.seq + 1, "GET", call_url, started=last.started + 1.0, listener=REVERSE,
                         req_headers=[("Authorization", f"Bearer {access_token}")],
                         resp_json={"sub": "248289761001", "name": "Jane Doe"}))
    return hops


def test_a_microsoft_graph_call_with_graphs_application_id_as_audience_is_not_misuse():
    """learn.microsoft.com/entra/identity-platform/access-tokens: APIs are named by application ID; Graph's token
    says aud 00000003-0000-0000-c000-000000000000 and is accepted by https://graph.microsoft.com."""
    token = rs256({"aud": GRAPH_APP_ID, "iss": f"https://sts.windows.net/{TENANT}/", "tid": TENANT,
                   "scp": "User.Read openid profile email", "appid": "11112222-bbbb-3333-cccc-4444dddd5555",
                   "iat": 1733560000, "exp": 1733563599})
    assert verifies(token)
    hops = login_then_call(ENTRA_V2, token, "https://graph.microsoft.com/v1.0/me",
                           scope="openid offline_access https://graph.microsoft.com/User.Read")
    assert findings(hops, "bearer-misuse") == []


def test_an_api_uri_audience_is_not_compared_with_the_servers_url():
    token = rs256({"aud": "api://11112222-bbbb-3333-cccc-4444dddd5555", "iss": f"https://sts.windows.net/{TENANT}/",
                   "scp": "Files.Read", "iat": 1733560000, "exp": 1733563599})
    hops = login_then_call(ENTRA_V2, token, "https://api.contoso.com/files",
                           scope="api://11112222-bbbb-3333-cccc-4444dddd5555/Files.Read")
    assert findings(hops, "bearer-misuse") == []


def test_keycloaks_own_userinfo_called_with_its_access_token_is_not_misuse():
    """Keycloak's access tokens say aud "account" (server admin guide, "Audience support": its Audience Resolve mapper); its realm's userinfo
    endpoint (…/protocol/openid-connect/userinfo) takes them: the provider's own endpoint."""
    token = rs256({"iss": KEYCLOAK_REALM, "aud": "account", "azp": "demo-app", "typ": "Bearer",
                   "scope": "openid profile email", "sub": "f1b6a2c0-1d1e-4c55-9a66-0c6f0e7c1a11",
                   "iat": 1733560000, "exp": 1733560300})
    hops = login_then_call(KEYCLOAK_OIDC, token, f"{KEYCLOAK_OIDC}/userinfo", authorize_url=None,
                           token_url=f"{KEYCLOAK_OIDC}/token", scope="openid profile email")
    assert findings(hops, "bearer-misuse") == []
    # with an audience mapper adding the client's API by URL, the realm's userinfo still takes the token
    mapped = rs256({"iss": KEYCLOAK_REALM, "aud": ["https://api.example.com", "account"], "azp": "demo-app",
                    "sub": "f1b6a2c0-1d1e-4c55-9a66-0c6f0e7c1a11", "iat": 1733560000, "exp": 1733560300})
    hops = login_then_call(KEYCLOAK_OIDC, mapped, f"{KEYCLOAK_OIDC}/userinfo", token_url=f"{KEYCLOAK_OIDC}/token",
                           scope="openid profile email")
    assert findings(hops, "bearer-misuse") == []


def test_the_userinfo_endpoint_a_discovery_document_names_is_the_providers_own():
    """A provider the table does not know: its discovery document in the trace names its userinfo endpoint."""
    from tests.hops import metadata_hop

    token = rs256({"iss": "https://idp.example.net", "aud": ["https://api.example.net"], "sub": "u1",
                   "iat": 1733560000, "exp": 1733563600})
    hops = login_then_call("https://idp.example.net", token, "https://idp.example.net/oidc/me", scope="openid")
    hops.insert(0, metadata_hop(0, "https://idp.example.net", userinfo_endpoint="https://idp.example.net/oidc/me"))
    assert findings(hops, "bearer-misuse") == []


def test_a_token_naming_another_server_by_url_accepted_is_still_reported():
    token = rs256({"iss": "https://idp.example.net", "aud": "https://billing.example.net", "sub": "u1",
                   "iat": 1733560000, "exp": 1733563600})
    hops = login_then_call("https://idp.example.net", token, "https://reports.example.net/v1/summary", scope="read")
    [finding] = findings(hops, "bearer-misuse")
    assert finding.severity == "error" and finding.evidence["aud"] == ["https://billing.example.net"]
    assert finding.evidence["server"] == "https://reports.example.net/v1/summary"
