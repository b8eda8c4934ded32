"""The providers table: each provider recognised by the endpoint URLs and the issuer its own documentation gives,
nothing recognised that is not one of them, scopes compared as each provider spells them, and a hit naming the
provider with its documented fix."""

from __future__ import annotations

import pytest

from oauthtrace.analysis.providers import (
    PROVIDERS, is_known_userinfo, named, provider_of, provider_of_issuer, provider_of_url, same_grant,
)
from oauthtrace.model import Hit
from tests.hops import flow

# (provider key, endpoint URLs as the provider documents them, its issuer)
DOCUMENTED = [
    ("auth0", ["https://dev-abc123.us.auth0.com/authorize?client_id=x", "https://dev-abc123.us.auth0.com/oauth/token"],
     "https://dev-abc123.us.auth0.com/"),
    ("okta", ["https://dev-133337.okta.com/oauth2/default/v1/authorize", "https://dev-133337.okta.com/oauth2/v1/token"],
     "https://dev-133337.okta.com/oauth2/default"),
    ("entra-v2", ["https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                  "https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/oauth2/v2.0/token"],
     "https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0"),
    ("entra-v1", ["https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/authorize",
                  "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/token"],
     "https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/"),
    ("google", ["https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token"],
     "https://accounts.google.com"),
    ("firebase", ["https://securetoken.googleapis.com/v1/token?key=AIzaSyExample"],
     "https://securetoken.google.com/my-project"),
    ("github", ["https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token"], None),
    ("keycloak", ["https://sso.example.com/realms/demo/protocol/openid-connect/auth",
                  "http://localhost:8080/auth/realms/master/protocol/openid-connect/token"],
     "https://sso.example.com/realms/demo"),
    ("cognito", ["https://myapp.auth.us-east-1.amazoncognito.com/oauth2/authorize",
                 "https://myapp.auth.us-east-1.amazoncognito.com/oauth2/token"],
     "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_1a2b3c4d5"),
    ("hydra", ["https://hopeful-wozniak-abc123.projects.oryapis.com/oauth2/auth",
               "https://hopeful-wozniak-abc123.projects.oryapis.com/oauth2/token"],
     "https://hopeful-wozniak-abc123.projects.oryapis.com"),
    ("slack", ["https://slack.com/oauth/v2/authorize", "https://slack.com/api/oauth.v2.access"], "https://slack.com"),
    ("salesforce", ["https://login.salesforce.com/services/oauth2/authorize",
                    "https://acme.my.salesforce.com/services/oauth2/token"], "https://login.salesforce.com"),
    ("apple", ["https://appleid.apple.com/auth/authorize", "https://appleid.apple.com/auth/token"],
     "https://appleid.apple.com"),
    ("discord", ["https://discord.com/oauth2/authorize", "https://discord.com/api/oauth2/token",
                 "https://discord.com/api/v10/oauth2/token"], "https://discord.com"),
]


@pytest.mark.parametrize("key,urls,issuer", DOCUMENTED, ids=[row[0] for row in DOCUMENTED])
def test_each_provider_is_recognised_by_its_documented_endpoints_and_issuer(key, urls, issuer):
    for url in urls:
        assert provider_of_url(url).key == key, url
    if issuer is not None:
        assert provider_of_issuer(issuer).key == key


def test_every_provider_of_the_table_has_a_test_above():
    assert {row[0] for row in DOCUMENTED} == {provider.key for provider in PROVIDERS}


@pytest.mark.parametrize("url", [
    "https://auth.example.com/authorize", "https://login.example.com/oauth2/v2.0/authorize",
    "https://auth0.com.evil.example/authorize", "https://example.com/realms", "https://notgithub.com/login",
])
def test_other_servers_are_no_known_provider(url):
    assert provider_of(url) is None


def test_an_exchange_is_its_authorization_requests_provider():
    hops = flow(provider="https://login.microsoftonline.com/common/oauth2/v2.0",
                token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token")
    from tests.hops import analyze

    [exchange] = analyze(hops).exchanges
    assert provider_of(exchange).key == "entra-v2"
    assert provider_of(analyze(flow()).exchanges[0]) is None


def test_the_providers_own_userinfo_endpoints_are_known():
    assert is_known_userinfo("https://sso.example.com/realms/demo/protocol/openid-connect/userinfo").key == "keycloak"
    assert is_known_userinfo("https://graph.microsoft.com/oidc/userinfo").key == "entra-v2"
    assert is_known_userinfo("https://openidconnect.googleapis.com/v1/userinfo").key == "google"
    assert is_known_userinfo("https://graph.microsoft.com/v1.0/me") is None


def test_google_answers_email_and_profile_in_their_url_forms():
    google = provider_of("https://oauth2.googleapis.com/token")
    answered = ("openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile"
                .split())
    assert same_grant(google, ["openid", "email", "profile"], answered)
    assert not same_grant(google, ["openid", "email", "profile"], answered[:2])  # profile not granted
    assert not same_grant(None, ["openid", "email", "profile"], answered)  # only Google's answer means that


def test_entra_lists_the_access_tokens_scopes_and_graphs_permissions_without_their_resource():
    entra = provider_of("https://login.microsoftonline.com/common/oauth2/v2.0/token")
    assert same_grant(entra, ["openid", "offline_access", "https://graph.microsoft.com/User.Read"],
                      ["User.Read", "profile", "openid", "email"])
    assert same_grant(entra, ["openid", "api://11112222-bbbb/.default"], ["api://11112222-bbbb/Files.Read"])
    assert same_grant(entra, ["https://graph.microsoft.com/.default"], ["User.Read", "Mail.Read"])
    assert not same_grant(entra, ["User.Read"], ["User.Read", "Mail.ReadWrite"])  # more than asked for
    assert not same_grant(entra, ["api://11112222-bbbb/.default"], ["api://other/Files.Read"])


def test_a_hit_named_for_a_deviation_carries_the_providers_docs_and_fix():
    entra = provider_of("https://login.microsoftonline.com/common/oauth2/v2.0/token")
    hit = named(Hit(hop=None, message="token response: AADSTS901002", evidence={"error": "AADSTS901002"}),
                entra, "resource-v2", severity="info")
    assert hit.severity == "info" and hit.evidence["error"] == "AADSTS901002"
    assert hit.evidence["provider"] == "Microsoft Entra ID (v2.0 endpoint)"
    assert hit.evidence["provider_docs"].startswith("https://learn.microsoft.com/")
    assert "/.default" in hit.evidence["provider_fix"] and "/.default" in hit.message


def test_a_captured_document_holding_a_list_or_an_object_names_no_provider():
    """A metadata document's issuer or endpoint may be any JSON value in a capture; the lookups are cached, and an
    unhashable value once crashed pkce-not-advertised (found by the fuzz test under CI's derandomized profile)."""
    for junk in (["https://accounts.google.com"], {"issuer": "x"}, 3, None, ""):
        assert provider_of_issuer(junk) is None and provider_of_url(junk) is None
