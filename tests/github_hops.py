"""Hand-made hops of a GitHub OAuth app login, shaped as GitHub documents it (no response_type, no grant_type).

https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps ("Web application flow"):
1. `GET https://github.com/login/oauth/authorize` with client_id, redirect_uri (optional: the registered callback
   URL is used without it), scope, state;
2. "GitHub redirects back to your site with a temporary code in a code parameter as well as the state you provided";
3. `POST https://github.com/login/oauth/access_token` with client_id, client_secret, code, redirect_uri; "By default,
   the response takes the following form: access_token=…&scope=…&token_type=bearer", JSON with
   `Accept: application/json`.
A bad code is answered `{"error": "bad_verification_code", "error_description": "The code passed is incorrect or
expired.", "error_uri": …}` (https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/
troubleshooting-oauth-app-access-token-request-errors) with HTTP 200 (octokit/auth-oauth-app.js#13: "The server
returns a 200 status, not a 4xx as expected").
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from hops import Flow, make_hop

GITHUB = "https://github.com"
APP_CALLBACK = "https://app.example.org/auth/github/callback"
GITHUB_CLIENT_ID = "Ov23liAbCdEfGh123456"
GITHUB_SECRET = "3f0c1e2d4b5a69788796a5b4c3d2e1f00f1e2d3c"
GITHUB_STATE = "q8Zr2LmX0vBnT6yHs4KpW1cJd9FeGa3U"
GITHUB_CODE = "4d3c2b1a0f9e8d7c6b5a"  # GitHub's codes are 20 hex characters
GITHUB_TOKEN = "gho_16C7e42F292c6912E7710c838347Ae178B4a"
BAD_CODE_JSON = {"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired.",
                 "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                              "troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}


def github_login(*, redirect_uri: str | None = APP_CALLBACK, signed_in: bool = False, accept_json: bool = True,
                 token_answer: dict | None = None, error: str | None = None, t0: float = 1000.0,
                 seq: int = 1) -> Flow:
    """A GitHub OAuth app login.

    signed_in=False: authorize → 302 /login?client_id=…&return_to=… → login page → POST /session → 302 back to
    authorize → 302 to the callback. signed_in=True: authorize answers its authorization page at once, whose form
    posts back to /login/oauth/authorize (with the callback URL filled in) → 302 to the callback.
    error="access_denied": the user pressed Cancel.
    """
    hops = Flow()
    n = iter(range(seq, seq + 100))
    params = [("client_id", GITHUB_CLIENT_ID)]
    if redirect_uri:
        params.append(("redirect_uri", redirect_uri))
    params += [("scope", "read:user user:email"), ("state", GITHUB_STATE)]
    authorize_url = f"{GITHUB}/login/oauth/authorize?{urlencode(params, quote_via=quote)}"
    target = redirect_uri or APP_CALLBACK  # without redirect_uri, GitHub uses the registered callback URL
    answer = ([("error", error), ("error_description", "The user has denied your application access."),
               ("state", GITHUB_STATE)] if error else [("code", GITHUB_CODE), ("state", GITHUB_STATE)])
    callback_url = f"{target}?{urlencode(answer)}"
    t = t0

    def hop(*args, **kwargs):
        return make_hop(next(n), *args, **kwargs)

    if signed_in:
        hops.authorize = hop("GET", authorize_url, started=t, content_type="text/html; charset=utf-8",
                             resp_body=_AUTHORIZE_PAGE.format(client_id=GITHUB_CLIENT_ID, state=GITHUB_STATE))
        hops.login_post = hops.authz_response = hop(
            "POST", f"{GITHUB}/login/oauth/authorize", started=t + 2.0,
            form=[("authenticity_token", "x1y2z3"), ("client_id", GITHUB_CLIENT_ID), ("redirect_uri", target),
                  ("state", GITHUB_STATE), ("scope", "read:user user:email"), ("authorize", "1")],
            req_headers=[("Referer", authorize_url)], status=302, location=callback_url)
        hops += [hops.authorize, hops.login_post]
    else:
        return_to = authorize_url[len(GITHUB):]
        login_url = f"{GITHUB}/login?{urlencode([('client_id', GITHUB_CLIENT_ID), ('return_to', return_to)])}"
        hops.authorize = hop("GET", authorize_url, started=t, status=302, location=login_url)
        hops.login_page = hop("GET", login_url, started=t + 0.2, content_type="text/html; charset=utf-8",
                              resp_body=_LOGIN_PAGE.format(return_to=return_to))
        hops.login_post = hop("POST", f"{GITHUB}/session", started=t + 2.0,
                              form=[("login", "octocat"), ("password", "correct horse"), ("return_to", return_to)],
                              req_headers=[("Referer", login_url)], status=302, location=authorize_url)
        hops.authz_response = hop("GET", authorize_url, started=t + 2.3, status=302, location=callback_url)
        hops += [hops.authorize, hops.login_page, hops.login_post, hops.authz_response]
    t += 3.0
    hops.callback = hop("GET", callback_url, started=t, ended=t + 1.0, content_type="text/html",
                        resp_body="<p>Signed in</p>")
    hops.append(hops.callback)
    if error:
        return hops
    form = [("client_id", GITHUB_CLIENT_ID), ("client_secret", GITHUB_SECRET), ("code", GITHUB_CODE)]
    if redirect_uri:
        form.append(("redirect_uri", redirect_uri))
    answer = token_answer or {"access_token": GITHUB_TOKEN, "scope": "read:user,user:email", "token_type": "bearer"}
    if accept_json:
        reply = {"resp_body": json.dumps(answer), "content_type": "application/json; charset=utf-8"}
    else:
        reply = {"resp_body": urlencode(answer), "content_type": "application/x-www-form-urlencoded; charset=utf-8"}
    hops.token = hop("POST", f"{GITHUB}/login/oauth/access_token", started=t + 0.1, ended=t + 0.3,
                     listener="reverse:https://github.com@8082", form=form, status=200,
                     req_headers=[("Accept", "application/json")] if accept_json else [], **reply)
    hops.append(hops.token)
    return hops


_AUTHORIZE_PAGE = (
    '<html><body><form method="post" action="/login/oauth/authorize">'
    '<input type="hidden" name="client_id" value="{client_id}"><input type="hidden" name="state" value="{state}">'
    '<button name="authorize" value="1">Authorize</button></form></body></html>'
)
_LOGIN_PAGE = (
    '<html><body><form method="post" action="/session"><input name="login">'
    '<input type="password" name="password"><input type="hidden" name="return_to" value="{return_to}">'
    "<button>Sign in</button></form></body></html>"
)
