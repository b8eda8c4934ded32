"""No false alarms on node's oidc-provider, logged into by headless Chromium through the real proxy.

oidc-provider (npm, default configuration plus one client) with its devInteractions login and consent pages;
Chromium is driven by Playwright with oauthtrace's own test flags (only loopback resolves, and it goes through the
recorder); the relying party at the loopback redirect_uri does discovery, the token exchange (PKCE S256, Basic or
public), an optional refresh and userinfo with urllib, through the proxy or a reverse listener.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from oauthtrace.capture.browser import chromium_args
from tests.interop import node_provider
from tests.interop.harness import PROXY_ENV, recording
from tests.interop.node_provider import NodeProvider
from tests.interop.oidc_client import OidcClient

pytestmark = pytest.mark.e2e

CLIENT_ID = "interop-rp"
USER = "interop-user"


@pytest.fixture(scope="module")
def node_ready():
    if node_provider.node_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("node is required in CI for the oidc-provider interop test")
        pytest.skip("node is not installed: the oidc-provider interop test needs Node.js 20+")
    if not node_provider.installed():  # a fresh clone: the packages are not in git (.ci/run installs them)
        reason = f"oidc-provider is not installed: run `{node_provider.INSTALL_HINT}`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


@contextmanager
def _browser(chromium: str, proxy_url: str, profile_dir: str):
    """A headless Chromium page whose every request goes through the recorder."""
    from playwright.sync_api import sync_playwright

    # Playwright owns the profile directory and headless mode; the rest are the flags oauthtrace's tests use.
    args = [arg for arg in chromium_args(proxy_url, profile_dir, None, headless=False, loopback_only=True)
            if not arg.startswith("--user-data-dir")]
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile_dir, executable_path=chromium, headless=True, args=args)
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            context.close()


def _open(page, url: str) -> str:
    """Load a page that ends at the relying party without interaction; return what it shows."""
    page.goto(url)
    return page.inner_text("#result")


def _sign_in(page, start_url: str) -> str:
    """Walk the devInteractions login and consent pages; return what the relying party shows at the end."""
    page.goto(start_url)
    page.fill("input[name=login]", USER)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")
    page.click("button[autofocus], button[type=submit]")  # the consent page's "Continue"
    return page.inner_text("#result")


@contextmanager
def _session(client: OidcClient, db_path: str, confdir: str, *, name: str, reverse: bool = False):
    """oidc-provider for `client`, the recorder in front; yields the recorder's `Recorded` (filled in on exit)."""
    provider = NodeProvider(client_id=CLIENT_ID, client_secret=client.client_secret,
                            redirect_uri=client.redirect_uri).start()
    try:
        with recording(db_path, confdir, name=name,
                       reverse_to=provider.issuer if reverse else None) as (listening, recorded):
            client.issuer = provider.issuer
            client.use(proxy_url=None if reverse else listening.proxy_url,
                       back_channel_url=listening.reverse_url() if reverse else None)
            client.start()
            try:
                yield listening, recorded
            finally:
                client.stop()
    finally:
        provider.stop()


@dataclass(frozen=True)
class Shape:
    public: bool  # token_endpoint_auth_method none, else client_secret_basic
    response_mode: str
    refresh: bool  # offline_access, then one refresh_token grant
    back_channel: str  # "proxy" (HTTP_PROXY style) or "reverse" (a listener in front of the provider)
    par: bool = False  # the request is pushed (RFC 9126); the browser carries only client_id and request_uri


SHAPES = {
    "confidential-query-proxy": Shape(public=False, response_mode="query", refresh=False, back_channel="proxy"),
    "public-form_post-refresh-reverse": Shape(public=True, response_mode="form_post", refresh=True,
                                              back_channel="reverse"),
    # response_mode only in the pushed request: this shape made response-mode-mismatch a false alarm once.
    "confidential-par-form_post-proxy": Shape(public=False, response_mode="form_post", refresh=False,
                                              back_channel="proxy", par=True),
}


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_oidc_provider_login_has_no_error_or_warning(shape, node_ready, chromium, db_path, confdir, tmp_path):
    client = OidcClient(client_id=CLIENT_ID, client_secret="" if shape.public else secrets.token_urlsafe(32),
                        response_mode=shape.response_mode, refresh=shape.refresh, par=shape.par)
    with _session(client, db_path, confdir, name=f"oidc-provider {shape}",
                  reverse=shape.back_channel == "reverse") as (listening, recorded):
        with _browser(chromium, listening.proxy_url, str(tmp_path / "profile")) as page:
            shown = _sign_in(page, f"{client.url}/start")
        assert client.done.wait(10), "the relying party's callback was never reached"
    assert client.outcome == {"message": "Connected", "sub": USER}
    assert "Connected" in shown

    report = recorded.report
    assert len(report.exchanges) == 1
    exchange = report.exchanges[0]
    assert exchange.callback is not None and len(exchange.tokens) == 1, "front and back channel are joined"
    assert exchange.callback.method == ("POST" if shape.response_mode == "form_post" else "GET")
    assert len(exchange.refreshes) == (1 if shape.refresh else 0)
    assert ("request_uri=" in exchange.authorize.url) == shape.par
    assert report.not_evaluated == [], "every rule ran"
    assert recorded.loud() == []
    # oidc-provider's default claims know no `profile` scope, so it grants less and says so in the token
    # response's `scope`: RFC 6749 §3.3 is met, which leaves the difference as information only.
    changed = [f for f in report.findings if f.rule == "scope-changed-unreported"]
    assert changed and {f.severity for f in changed} == {"info"}
    assert "not granted: profile" in changed[0].message


def test_oidc_provider_session_with_silent_logins_has_no_error_or_warning(node_ready, chromium, db_path, confdir,
                                                                         tmp_path):
    """What a single-page app does: try prompt=none, log in, log in again on the provider's session, silently.

    The first silent try ends in login_required (OpenID Connect Core §3.1.2.6), which the client answers with an
    interactive login: an error that the flow recovered from is information, not a problem.
    """
    client = OidcClient(client_id=CLIENT_ID, client_secret=secrets.token_urlsafe(32))
    with _session(client, db_path, confdir, name="oidc-provider session") as (listening, recorded):
        with _browser(chromium, listening.proxy_url, str(tmp_path / "profile")) as page:
            shown = [_open(page, f"{client.url}/start?prompt=none"),
                     _sign_in(page, f"{client.url}/start"),
                     _open(page, f"{client.url}/start"),
                     _open(page, f"{client.url}/start?prompt=none")]
    assert ["login_required" in shown[0]] + ["Connected" in text for text in shown[1:]] == [True] * 4

    report = recorded.report
    assert [(len(e.tokens), e.callback is not None) for e in report.exchanges] == [(0, True)] + [(1, True)] * 3, \
        "four logins, four exchanges, each token request with its own login"
    assert recorded.loud() == []
    error = next(f for f in report.findings if f.rule == "authz-error")
    assert error.severity == "info" and error.exchange == report.exchanges[0].index
    assert "login_required" in error.message


@pytest.fixture
def pushed_login(node_ready, chromium, db_path, confdir, tmp_path):
    """A PAR login recorded through the real proxy: (db path, Recorded). The browser's /authorize URL carries only
    client_id and request_uri; state, redirect_uri and PKCE travel in the pushed request (RFC 9126 §4)."""
    client = OidcClient(client_id=CLIENT_ID, client_secret=secrets.token_urlsafe(32), par=True)
    with _session(client, db_path, confdir, name="oidc-provider par") as (listening, recorded):
        with _browser(chromium, listening.proxy_url, str(tmp_path / "profile")) as page:
            assert "Connected" in _sign_in(page, f"{client.url}/start")
    return db_path, recorded


async def test_a_pushed_login_shows_one_verdict_for_state_in_the_ui_show_markdown_and_check(pushed_login):
    """The UI and the Markdown report once re-checked `state` on the /authorize URL alone and said "not sent"
    of a PAR login, while `check` (whose rules read the pushed request) found nothing: now every view shows the
    verdict of the rules — sent in the pushed request, came back unchanged."""
    from click.testing import CliRunner

    from oauthtrace.cli import cli
    from oauthtrace.tui.app import build_app
    from oauthtrace.tui.widgets.detail_tabs import DetailTabs
    from tests.tui_support import flat, settle, widget_text

    db, recorded = pushed_login
    [exchange] = recorded.report.exchanges
    assert "state=" not in exchange.authorize.url and exchange.pushed, "state travels in the pushed request only"
    trace = str(recorded.trace_id)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, [*args, trace, "--db", db])
        assert result.exit_code == 0, result.output
        return result.output

    checked = json.loads(run("check", "--format", "json"))
    assert [f["rule"] for f in checked["findings"] if f["rule"].startswith("state-")] == []
    assert "state-" not in run("show")
    markdown = run("export", "--format", "markdown")
    state_line = next(line for line in markdown.splitlines() if line.startswith("**`state`:**"))
    assert state_line.startswith("**`state`:** sent `") and state_line.endswith("— ✅ came back unchanged")

    app = build_app(db, trace)
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot, lambda: getattr(app.screen, "analysis", None) is not None)
        app.screen.jump_to_hop(exchange.authorize.seq)
        await settle(pilot)
        params = flat(widget_text(app, app.screen.query_one(DetailTabs)))
    assert f"authorize #{exchange.authorize.seq} (pushed #" in params
    assert "not sent" not in params
    assert "state sent " in params and "✓" in params.split("state sent ", 1)[1].split("code")[0]
