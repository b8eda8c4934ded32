"""resource-mismatch on Microsoft Entra ID: v1.0's `resource` is an application ID URI or application ID (a GUID)
— Entra's documented parameter, not RFC 8707's absolute URI — and says so at info; v2.0's refusal of RFC 8707
`resource` (AADSTS901002) is an error that names Entra and the scope to ask for instead."""

from __future__ import annotations

from tests.hops import findings, flow

TENANT = "contoso.onmicrosoft.com"
SHAREPOINT_APP_ID = "00000003-0000-0ff1-ce00-000000000000"
NONCE = "7362CAEA-9CA5-4B43-9BA3-34D7C303EBA7"


def entra_v1_sign_in(resource: str, provider: str = f"https://login.microsoftonline.com/{TENANT}/oauth2"):
    """The v1.0 hybrid sign-in of a SharePoint-style app, as v1-protocols-oauth-code documents it: response_type
    `code id_token`, form_post, a nonce, and `resource` in both the authorization and the token request."""
    return flow(provider=provider, response_type="code id_token", response_mode="form_post", nonce=NONCE,
                scope="openid", client_auth="post", extra_authorize=[("resource", resource)],
                extra_token=[("resource", resource)])


def test_entra_v1s_guid_resource_is_information_naming_entra():
    found = findings(entra_v1_sign_in(SHAREPOINT_APP_ID), "resource-mismatch")
    assert [f.severity for f in found] == ["info"]
    [finding] = found
    assert finding.evidence["provider"] == "Microsoft Entra ID (v1.0 endpoint)"
    assert finding.evidence["resource"] == SHAREPOINT_APP_ID
    assert "/.default" in finding.evidence["provider_fix"]
    assert "v1-protocols-oauth-code" in finding.evidence["provider_docs"]


def test_the_same_guid_sent_to_another_provider_is_still_malformed():
    [finding] = findings(entra_v1_sign_in(SHAREPOINT_APP_ID, provider="https://auth.example.com"), "resource-mismatch")
    assert finding.severity == "error" and finding.evidence["problem"] == "not an absolute URI"
    assert "provider" not in finding.evidence


def test_entra_v2_refusing_rfc_8707_resource_is_named_with_the_scope_to_ask_for():
    hops = flow(provider="https://login.microsoftonline.com/common/oauth2/v2.0", pkce=True,
                scope="openid offline_access", extra_authorize=[("resource", "https://mcp.example.com/mcp")],
                error="invalid_request",
                error_description="AADSTS901002: The 'resource' request parameter is not supported.")
    [finding] = findings(hops, "resource-mismatch")
    assert (finding.severity, finding.blame) == ("error", "C")
    assert finding.evidence["provider"] == "Microsoft Entra ID (v2.0 endpoint)"
    assert "AADSTS901002" in finding.message and "/.default" in finding.message


def test_the_same_error_text_from_another_provider_is_not_taken_for_entras():
    hops = flow(pkce=True, extra_authorize=[("resource", "https://mcp.example.com/mcp")], error="invalid_request",
                error_description="AADSTS901002: The 'resource' request parameter is not supported.")
    assert findings(hops, "resource-mismatch") == []
