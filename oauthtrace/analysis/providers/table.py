"""The providers oauthtrace recognises, with their documented deviations: plain data, read by the modules next to
this one and rendered as docs/providers.md. Every link is the provider's own documentation of what the row says.

Order matters where URLs overlap: the first provider whose pattern matches is the one named (Entra's v2.0
endpoints before its v1.0 ones, Firebase before Google).
"""

from __future__ import annotations

from oauthtrace.analysis.providers.model import Deviation, Provider

# OpenID Connect's own scopes: they ask for an ID token, userinfo claims and a refresh token, not for access to an API
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})

ENTRA_V2_CODE_FLOW = "https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow"
ENTRA_SCOPES = "https://learn.microsoft.com/entra/identity-platform/scopes-oidc"
ENTRA_ACCESS_TOKENS = "https://learn.microsoft.com/entra/identity-platform/access-tokens"
ENTRA_V1_CODE_FLOW = ("https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/"
                      "v1-protocols-oauth-code")
GITHUB_AUTHORIZING = "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps"
GITHUB_TOKEN_ERRORS = ("https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/"
                       "troubleshooting-oauth-app-access-token-request-errors")

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        key="auth0", name="Auth0", docs="https://auth0.com/docs/authenticate/protocols/oauth",
        urls=("https://{tenant}.auth0.com/",),
        issuers=("https://{tenant}.auth0.com/",),
        userinfo=("https://{tenant}.auth0.com/userinfo",),
        deviations=(
            Deviation(
                key="audience",
                what="The API a token is for is named by the `audience` parameter; without it the access token is "
                "opaque and only good for the tenant's /userinfo.",
                docs="https://support.auth0.com/center/s/article/"
                "value-of-the-audience-attribute-in-access-token-requests-and-its-significance",
                effect="A client that sends only RFC 8707 `resource` may get a token its API cannot validate.",
                says="Nothing by itself; bearer-misuse stays quiet on the tenant's own /userinfo.",
                fix="send audience=<your API identifier> in the authorization request",
            ),
            Deviation(
                key="issuer-slash",
                what="The issuer ends in `/` (`https://TENANT.auth0.com/`), its metadata served at "
                "`/.well-known/openid-configuration`.",
                docs="https://auth0.com/docs/get-started/applications/configure-applications-with-oidc-discovery",
                effect="None for a client that removes the terminating `/` before adding the well-known segment "
                "(RFC 8414 §3.1).",
                says="metadata-issuer-mismatch stays quiet: the document is where RFC 8414 §3.1 puts it.",
            ),
        ),
    ),
    Provider(
        key="okta", name="Okta", docs="https://developer.okta.com/docs/concepts/auth-servers",
        urls=("https://{org}.okta.com/", "https://{org}.oktapreview.com/", "https://{org}.okta-emea.com/"),
        issuers=("https://{org}.okta.com", "https://{org}.okta.com/oauth2/{server}",
                 "https://{org}.oktapreview.com", "https://{org}.oktapreview.com/oauth2/{server}",
                 "https://{org}.okta-emea.com", "https://{org}.okta-emea.com/oauth2/{server}"),
        userinfo=("https://{org}.okta.com/oauth2/v1/userinfo", "https://{org}.okta.com/oauth2/{server}/v1/userinfo"),
        deviations=(
            Deviation(
                key="org-server",
                what="Two kinds of authorization server: the org server (issuer `https://ORG.okta.com`) mints "
                "tokens for Okta's own APIs; a custom server (`…/oauth2/default` or `…/oauth2/{id}`) for yours.",
                docs="https://developer.okta.com/docs/concepts/auth-servers",
                effect="An API that validates org-server access tokens fails: they are not meant for it.",
                says="Nothing by itself.",
                fix="use a custom authorization server (issuer …/oauth2/default) for tokens your own API accepts",
            ),
        ),
    ),
    Provider(
        key="entra-v2", name="Microsoft Entra ID (v2.0 endpoint)", docs=ENTRA_V2_CODE_FLOW,
        urls=("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/", "https://login.microsoftonline.com/{tenant}/v2.0/"),
        issuers=("https://login.microsoftonline.com/{tenant}/v2.0",),
        userinfo=("https://graph.microsoft.com/oidc/userinfo",),
        scope_default_resource="https://graph.microsoft.com/",
        token_scope_omits=OIDC_SCOPES,
        deviations=(
            Deviation(
                key="pkce-not-advertised",
                what='Its v2.0 discovery document has no `code_challenge_methods_supported`, though its code flow documents `code_challenge` (S256) as "recommended for all application types".',
                docs='https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow',
                effect='A client that reads the metadata (RFC 8414 §2: omitted means no PKCE; MCP clients MUST refuse) skips PKCE or refuses the server.',
                says='pkce-not-advertised, warning (error under the mcp profile), naming Entra: true, and a client of the metadata fails.',
                fix='send code_challenge with code_challenge_method=S256 anyway: Entra enforces it when sent',
            ),
            Deviation(
                key="resource-v2",
                what="The v2.0 endpoint refuses the `resource` parameter (AADSTS901002); the API is named in "
                "`scope` as `{application ID URI}/.default` or `{application ID URI}/{permission}`.",
                docs=ENTRA_SCOPES,
                effect="A client following RFC 8707 (every MCP client) is refused with invalid_request.",
                says="resource-mismatch, error, naming Entra and the scope to ask for instead.",
                fix="drop `resource` and ask for scope=api://<application ID>/.default (or the permission's full "
                "name) instead",
            ),
            Deviation(
                key="token-scope",
                what="The token response's `scope` lists \"the scopes that the access_token is valid for\": not "
                "`offline_access` (it grants the refresh token), and `openid`/`profile`/`email` only for a "
                "Microsoft Graph token; a permission asked for without a resource (`User.Read`) is Graph's "
                "(`https://graph.microsoft.com/User.Read`); `{resource}/.default` comes back as the permissions "
                "granted.",
                docs=ENTRA_V2_CODE_FLOW,
                effect="None: MSAL and other clients read the granted scopes from it.",
                says="scope-changed-unreported stays quiet on those differences.",
            ),
            Deviation(
                key="audience-guid",
                what="Access tokens name their API by application ID (a GUID, e.g. Microsoft Graph's "
                "`00000003-0000-0000-c000-000000000000`) or application ID URI (`api://…`), not by its URL; "
                "Graph's tokens are for Graph alone and opaque to clients.",
                docs=ENTRA_ACCESS_TOKENS,
                effect="None for the API that checks its own ID.",
                says="bearer-misuse does not compare a non-URL audience with the API's URL.",
            ),
        ),
    ),
    Provider(
        key="entra-v1", name="Microsoft Entra ID (v1.0 endpoint)", docs=ENTRA_V1_CODE_FLOW,
        urls=("https://login.microsoftonline.com/{tenant}/oauth2/authorize",
              "https://login.microsoftonline.com/{tenant}/oauth2/token",
              "https://login.microsoftonline.com/{tenant}/.well-known/openid-configuration",
              "https://login.windows.net/{tenant}/oauth2/", "https://sts.windows.net/{tenant}/"),
        issuers=("https://sts.windows.net/{tenant}/",),
        userinfo=("https://graph.microsoft.com/oidc/userinfo",),
        string_numbers=frozenset({"expires_in", "ext_expires_in", "expires_on", "not_before"}),
        deviations=(
            Deviation(
                key="resource-v1",
                what="`resource` names the API by its application ID URI or application ID (a GUID), not by an "
                "RFC 8707 absolute URI.",
                docs=ENTRA_V1_CODE_FLOW,
                effect="None with Entra v1; the value is no RFC 8707 resource, so a move to the v2.0 endpoint "
                "needs `scope={resource}/.default` instead.",
                says="resource-mismatch, info, naming Entra v1 (no error for a GUID `resource`).",
                fix="on the v2.0 endpoint, ask for scope=<application ID URI>/.default instead of resource",
            ),
            Deviation(
                key="expires-in-string",
                what="The token response carries `expires_in`, `ext_expires_in` and `expires_on` as JSON strings "
                "(`\"expires_in\": \"3600\"`).",
                docs=ENTRA_V1_CODE_FLOW,
                effect="ADAL and clients written for Entra read the strings; a strict RFC 6749 client that wants a "
                "number may not.",
                says="expires-in-not-number, info, naming Entra v1.",
                fix="parse expires_in as an integer whether it is a JSON number or a string",
            ),
        ),
    ),
    Provider(
        key="firebase", name="Google Firebase Authentication",
        docs="https://firebase.google.com/docs/reference/rest/auth",
        urls=("https://securetoken.googleapis.com/", "https://identitytoolkit.googleapis.com/"),
        issuers=("https://securetoken.google.com/{project}",),
        string_numbers=frozenset({"expires_in"}),
        deviations=(
            Deviation(
                key="expires-in-string",
                what="securetoken.googleapis.com answers a refresh with `expires_in` as a JSON string "
                "(`\"3600\"`), as its REST reference documents.",
                docs="https://firebase.google.com/docs/reference/rest/auth#section-refresh-token",
                effect="The Firebase SDKs (its clients) read it; a strict RFC 6749 client that wants a number may "
                "not.",
                says="expires-in-not-number, info, naming Firebase.",
                fix="parse expires_in as an integer whether it is a JSON number or a string",
            ),
        ),
    ),
    Provider(
        key="google", name="Google", docs="https://developers.google.com/identity/protocols/oauth2/openid-connect",
        urls=("https://accounts.google.com/", "https://oauth2.googleapis.com/",
              "https://openidconnect.googleapis.com/", "https://www.googleapis.com/oauth2/"),
        issuers=("https://accounts.google.com", "accounts.google.com"),
        userinfo=("https://openidconnect.googleapis.com/v1/userinfo", "https://www.googleapis.com/oauth2/v3/userinfo",
                  "https://www.googleapis.com/oauth2/v2/userinfo"),
        scope_aliases={"email": "https://www.googleapis.com/auth/userinfo.email",
                       "profile": "https://www.googleapis.com/auth/userinfo.profile"},
        deviations=(
            Deviation(
                key="scope-urls",
                what="`email` and `profile` are granted as `https://www.googleapis.com/auth/userinfo.email` and "
                "`…/userinfo.profile`, and the token response's `scope` says so.",
                docs="https://developers.google.com/identity/protocols/oauth2/scopes#oauth2",
                effect="None for a client that treats the two spellings as the same scope.",
                says="scope-changed-unreported stays quiet on them.",
            ),
        ),
    ),
    Provider(
        key="github", name="GitHub (OAuth apps)", docs=GITHUB_AUTHORIZING,
        urls=("https://github.com/login/oauth/", "https://{host}/login/oauth/access_token",
              "https://{host}/login/oauth/authorize"),
        deviations=(
            Deviation(
                key="no-response-type",
                what="The authorization request has no `response_type` and the token request no `grant_type`; "
                "the token response is form-encoded unless the request says `Accept: application/json`.",
                docs=GITHUB_AUTHORIZING,
                effect="None for a client written for GitHub; a generic client must send Accept: application/json.",
                says="Recognised by its shape (client_id and a redirect URI; a token POST carrying a code), "
                "without response_type or grant_type.",
            ),
            Deviation(
                key="error-200",
                what="A bad code is answered with HTTP 200 and `{\"error\": \"bad_verification_code\", …}`.",
                docs=GITHUB_TOKEN_ERRORS,
                effect="A client that trusts the status takes the error for tokens and fails later.",
                says="The 200 answer carrying `error` is an error response, not tokens.",
                fix="read `error` in every token response body, whatever its status",
            ),
        ),
    ),
    Provider(
        key="keycloak", name="Keycloak", docs="https://www.keycloak.org/docs/latest/securing_apps/#_oidc",
        urls=("https://{host}/realms/{realm}/protocol/openid-connect/", "https://{host}/realms/{realm}/.well-known/",
              "https://{host}/auth/realms/{realm}/protocol/openid-connect/",
              "https://{host}/auth/realms/{realm}/.well-known/"),
        issuers=("https://{host}/realms/{realm}", "https://{host}/auth/realms/{realm}"),
        userinfo=("https://{host}/realms/{realm}/protocol/openid-connect/userinfo",
                  "https://{host}/auth/realms/{realm}/protocol/openid-connect/userinfo"),
        deviations=(
            Deviation(
                key="audience-account",
                what="Access tokens say `aud: account` on a new realm: its Audience Resolve mapper adds every client "
                "the user holds a client role of (the account console's, by default), and an audience mapper adds "
                "an API; the realm's own userinfo endpoint takes them.",
                docs="https://www.keycloak.org/docs/latest/server_admin/#_audience",
                effect="None at the realm's userinfo; an API of your own must be added with an audience mapper.",
                says="bearer-misuse stays quiet on the realm's userinfo and on a non-URL audience.",
                fix="add an audience mapper naming your API's client to the client's dedicated scope",
            ),
        ),
    ),
    Provider(
        key="cognito", name="Amazon Cognito",
        docs="https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-userpools-server-contract-reference.html",
        urls=("https://{domain}.auth.{region}.amazoncognito.com/", "https://cognito-idp.{region}.amazonaws.com/{pool}/"),
        issuers=("https://cognito-idp.{region}.amazonaws.com/{pool}",),
        userinfo=("https://{domain}.auth.{region}.amazoncognito.com/oauth2/userInfo",),
        deviations=(
            Deviation(
                key="pkce-not-advertised",
                what='Its discovery document has no `code_challenge_methods_supported`, though "Amazon Cognito supports Proof Key for Code Exchange (PKCE) authentication in authorization code grants".',
                docs='https://docs.aws.amazon.com/cognito/latest/developerguide/using-pkce-in-authorization-code.html',
                effect='A client that reads the metadata (MCP clients MUST refuse without it) skips PKCE or refuses the server.',
                says='pkce-not-advertised, warning (error under the mcp profile), naming Cognito.',
                fix='send code_challenge with code_challenge_method=S256 anyway; for an MCP client, a metadata proxy that adds it',
            ),
            Deviation(
                key="no-aud",
                what="The issuer is `https://cognito-idp.REGION.amazonaws.com/POOL` while the endpoints are on the "
                "user pool domain (`https://DOMAIN.auth.REGION.amazoncognito.com/oauth2/…`); access tokens carry "
                "`client_id`, not `aud`.",
                docs="https://docs.aws.amazon.com/cognito/latest/developerguide/"
                "amazon-cognito-user-pools-using-the-access-token.html",
                effect="An API checking `aud` finds none; it must check `client_id` and `token_use`.",
                says="bearer-misuse says nothing of a token without `aud`.",
                fix="validate access tokens by client_id and token_use=access, not aud",
            ),
        ),
    ),
    Provider(
        key="hydra", name="Ory Hydra (Ory Network)", docs="https://www.ory.sh/docs/oauth2-oidc",
        urls=("https://{project}.projects.oryapis.com/",),
        issuers=("https://{project}.projects.oryapis.com", "https://{project}.projects.oryapis.com/"),
        userinfo=("https://{project}.projects.oryapis.com/userinfo",),
        deviations=(
            Deviation(
                key="opaque-tokens",
                what="Access tokens are opaque by default (the `jwt` strategy is a per-client option).",
                docs="https://www.ory.sh/docs/oauth2-oidc/jwt-access-token",
                effect="An API must introspect the token rather than read it.",
                says="Nothing: rules that read JWT claims skip opaque tokens.",
            ),
        ),
    ),
    Provider(
        key="slack", name="Slack", docs="https://docs.slack.dev/authentication/installing-with-oauth",
        urls=("https://slack.com/oauth/", "https://slack.com/api/oauth.", "https://slack.com/openid/connect/",
              "https://slack.com/api/openid.connect.", "https://{workspace}.slack.com/oauth/"),
        issuers=("https://slack.com",),
        userinfo=("https://slack.com/api/openid.connect.userInfo",),
        token_types=frozenset({"bot", "user"}),
        deviations=(
            Deviation(
                key="oauth-v2-access",
                what="`oauth.v2.access` answers HTTP 200 with `\"ok\": false, \"error\": \"invalid_code\"` for a "
                "bad code; scopes are comma-separated and a success carries `\"ok\": true` and "
                "`\"token_type\": \"bot\"` (`\"user\"` for a user token).",
                docs="https://docs.slack.dev/reference/methods/oauth.v2.access",
                effect="A client that trusts the status or expects RFC 6749's `token_type: Bearer` fails.",
                says="token-fields-missing says `token_type` bot/user at info, naming Slack.",
                fix="check `ok` in every Slack Web API answer",
            ),
        ),
    ),
    Provider(
        key="salesforce", name="Salesforce",
        docs="https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
        "intro_understanding_web_server_oauth_flow.htm",
        urls=("https://login.salesforce.com/", "https://test.salesforce.com/", "https://{domain}.my.salesforce.com/"),
        issuers=("https://login.salesforce.com", "https://test.salesforce.com", "https://{domain}.my.salesforce.com"),
        userinfo=("https://login.salesforce.com/services/oauth2/userinfo",
                  "https://{domain}.my.salesforce.com/services/oauth2/userinfo"),
        deviations=(
            Deviation(
                key="pkce-not-advertised",
                what='Its discovery document has no `code_challenge_methods_supported`, though its web server flow documents `code_challenge` and compares it with `code_verifier`.',
                docs='https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_web_server_oauth_flow.htm',
                effect='A client that reads the metadata (MCP clients MUST refuse without it) skips PKCE or refuses the server.',
                says='pkce-not-advertised, warning (error under the mcp profile), naming Salesforce.',
                fix='send code_challenge with code_challenge_method=S256 anyway',
            ),
            Deviation(
                key="no-expires-in",
                what="The token response has no `expires_in`; it carries `issued_at` (milliseconds, as a string), "
                "`instance_url`, `id` and `signature`.",
                docs="https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
                "intro_understanding_web_server_oauth_flow.htm",
                effect="A client must learn the session timeout otherwise (RFC 6749 §5.1 makes expires_in "
                "RECOMMENDED).",
                says="Nothing.",
            ),
        ),
    ),
    Provider(
        key="apple", name="Sign in with Apple",
        docs="https://developer.apple.com/documentation/sign_in_with_apple/sign_in_with_apple_js/"
        "incorporating_sign_in_with_apple_into_other_platforms",
        urls=("https://appleid.apple.com/",),
        issuers=("https://appleid.apple.com",),
        deviations=(
            Deviation(
                key="form-post",
                what="`response_mode` must be `form_post` when `name` or `email` is asked for; the user's name "
                "arrives once, as a `user` JSON form field of the first authorization; the client secret is a "
                "JWT the client signs.",
                docs="https://developer.apple.com/documentation/sign_in_with_apple/sign_in_with_apple_js/"
                "incorporating_sign_in_with_apple_into_other_platforms",
                effect="A client that only reads the query, or asks for the name on later logins, gets nothing.",
                says="Nothing by itself.",
            ),
        ),
    ),
    Provider(
        key="discord", name="Discord", docs="https://discord.com/developers/docs/topics/oauth2",
        urls=("https://discord.com/oauth2/", "https://discord.com/api/oauth2/", "https://discord.com/api/v{n}/oauth2/"),
        issuers=("https://discord.com",),
        deviations=(
            Deviation(
                key="plain-oauth",
                what="OAuth 2.0 without OpenID Connect for user logins: no ID token; the user is read from "
                "`/api/users/@me` with the access token.",
                docs="https://discord.com/developers/docs/topics/oauth2",
                effect="None; a client must not wait for an id_token.",
                says="Nothing.",
            ),
        ),
    ),
)
