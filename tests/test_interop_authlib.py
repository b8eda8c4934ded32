"""No false alarms on Authlib: its authorization server and its requests client, recorded through the real proxy.

Authorization code + PKCE S256 with RFC 8414 metadata, RFC 9207 `iss`, a bearer-protected userinfo call, and an
OpenID Connect variant (nonce, Authlib's RS256 id_token with at_hash). The
consent step is walked by urllib through the browser proxy; the client's server-side calls go either through the
proxy (as HTTP_PROXY would send them) or through a reverse listener in front of the provider.
"""

from __future__ import annotations

import pytest

from oauthtrace.demo.agent import BuiltinAgent
from tests.interop.authlib_client import AuthlibClient
from tests.interop.authlib_provider import AuthlibProvider
from tests.interop.harness import PROXY_ENV, recording

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    # urllib's ProxyHandler honours NO_PROXY even for an explicit proxy; loopback must not bypass the recorder.
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def provider():
    started = AuthlibProvider().start()
    yield started
    started.stop()


@pytest.mark.parametrize(("back_channel", "auth_method", "scope"), [
    ("proxy", "client_secret_basic", "profile email"),
    ("reverse", "client_secret_post", "profile email"),
    ("reverse", "none", "profile email"),
    ("proxy", "client_secret_basic", "openid profile"),
], ids=["proxy-basic", "reverse-post", "reverse-public", "proxy-basic-openid"])
def test_authlib_login_has_no_error_or_warning(provider, back_channel, auth_method, scope, db_path, confdir):
    reverse = back_channel == "reverse"
    with recording(db_path, confdir, name=f"authlib {back_channel} {auth_method}",
                   reverse_to=provider.url if reverse else None) as (listening, recorded):
        client = AuthlibClient(provider.url, client_id="interop-app",
                               proxy_url=None if reverse else listening.proxy_url,
                               back_channel_url=listening.reverse_url() if reverse else None, scope=scope)
        client.auth_method = auth_method
        client.client_secret = provider.register("interop-app", client.redirect_uri, auth_method).client_secret
        client.start()
        try:
            BuiltinAgent(listening.proxy_url).run(f"{client.url}/start")
            assert client.done.wait(10), "the client's callback was never reached"
        finally:
            client.stop()
    assert client.outcome == {"message": "Connected", "sub": "alice", "token_type": "Bearer"}

    assert recorded.roles() == [
        ("other", "/start"),
        ("metadata", "/.well-known/oauth-authorization-server"),
        ("authorize", "/authorize"),
        ("consent", "/authorize"),
        ("callback", "/auth/callback"),
        ("metadata", "/.well-known/oauth-authorization-server"),
        ("token", "/token"),
        ("resource", "/userinfo"),
    ]
    report = recorded.report
    assert len(report.exchanges) == 1
    exchange = report.exchanges[0]
    assert exchange.callback is not None and len(exchange.tokens) == 1, "front and back channel are joined"
    assert report.sides == {"F", "B", "M"}
    assert (b"id_token" in exchange.tokens[0].resp_body) == ("openid" in scope)
    assert report.not_evaluated == [], "every rule ran"
    assert recorded.loud() == []
