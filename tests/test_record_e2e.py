"""`oauthtrace record` as a user runs it: a real process, real Chromium, the demo provider and client."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oauthtrace.demo.agent import run_chromium
from oauthtrace.demo.client import MISSING_STATE, DemoClient
from oauthtrace.demo.provider import DemoProvider
from oauthtrace.params import path, query_pairs
from oauthtrace.store import Store
from tests.support.recording import recording

pytestmark = pytest.mark.e2e


@pytest.fixture
def provider_factory():
    started = []

    def make(bug):
        provider = DemoProvider(bug).start()
        started.append(provider)
        return provider

    yield make
    for provider in started:
        provider.stop()


def _login(chromium, record, provider, *, via_reverse: bool):
    """One login: the client's server calls go via the reverse listener, or via the proxy as HTTP_PROXY."""
    if via_reverse:
        client = DemoClient(provider.url, back_channel_url=record.reverse[provider.url])
    else:
        client = DemoClient(provider.url, back_channel_proxy=record.proxy_url)
    client.start()
    provider.redirect_uris.append(client.redirect_uri)
    try:
        run_chromium(f"{client.url}/start", record.proxy_url, None, binary=chromium)
        assert client.done.wait(10), "the client's callback was never reached"
        return client.outcome
    finally:
        client.stop()


def _oauth_hops(db_path):
    with Store.open(db_path) as store:
        traces = store.traces()
        assert len(traces) == 1, "both channels must land in one trace"
        # Chromium asks for /favicon.ico after each page; that is the browser's noise, not the flow.
        return [h for h in store.hops(traces[0].id) if path(h.url) != "/favicon.ico"]


@pytest.mark.parametrize("via_reverse", [True, False], ids=["reverse", "http_proxy"])
def test_good_and_drop_state_logins_land_in_one_trace(chromium, provider_factory, db_path, confdir, via_reverse):
    good, dropping = provider_factory("good"), provider_factory("drop-state")
    reverse_args = [arg for p in (good, dropping) for arg in ("--reverse", f"{p.url}@0")] if via_reverse else []
    with recording(db_path, *reverse_args, "--name", "e2e", confdir=confdir) as record:
        assert _login(chromium, record, good, via_reverse=via_reverse)["message"] == "Connected"
        assert _login(chromium, record, dropping, via_reverse=via_reverse) == {**MISSING_STATE, "status": 400}
        output = record.stop()
    assert "Stored" in output

    hops = _oauth_hops(db_path)
    shape = [(h.method, path(h.url), h.listener != "browser") for h in hops]
    back = via_reverse
    assert shape == [
        ("GET", "/start", False),
        ("GET", "/authorize", False),
        ("POST", "/login", False),
        ("GET", "/aip/plugin-demo/oauth/callback", False),
        ("POST", "/token", back),
        ("GET", "/userinfo", back),
        ("GET", "/start", False),
        ("GET", "/authorize", False),
        ("POST", "/login", False),
        ("GET", "/aip/plugin-demo/oauth/callback", False),
    ]
    good_authorize, good_callback, token = hops[1], hops[3], hops[4]
    sent_state = dict(good_authorize.query)["state"]
    assert dict(good_callback.query)["state"] == sent_state
    assert ("grant_type", "authorization_code") in token.form
    assert token.status == 200 and b"access_token" in token.resp_body

    dropped_authorize, login_post, dropped_callback = hops[7], hops[8], hops[9]
    assert dict(dropped_authorize.query).get("state")
    assert [k for k, _ in query_pairs(login_post.location)] == ["code"]
    assert "state=" not in dropped_callback.url and "code=" in dropped_callback.url
    assert b"Missing `state` param" in dropped_callback.resp_body


def test_reverse_hop_keeps_the_url_the_client_used(chromium, provider_factory, db_path, confdir):
    provider = provider_factory("good")
    with recording(db_path, "--reverse", f"{provider.url}@0", confdir=confdir) as record:
        _login(chromium, record, provider, via_reverse=True)
        listener_url = record.reverse[provider.url]
    token = next(h for h in _oauth_hops(db_path) if path(h.url) == "/token")
    assert token.url == f"{listener_url}/token"
    assert token.upstream_url == f"{provider.url}/token"
    assert token.listener == f"reverse:{provider.url}@{listener_url.rsplit(':', 1)[1]}"


def test_a_client_that_bypasses_the_reverse_listener_is_told_where_to_point(chromium, provider_factory, db_path,
                                                                             confdir):
    """The usual slip: --reverse is running, but the client's token URL still names the provider itself."""
    provider = provider_factory("good")
    with recording(db_path, "--reverse", f"{provider.url}@0", confdir=confdir) as record:
        client = DemoClient(provider.url)  # its server calls go straight to the provider, past the proxy
        client.start()
        provider.redirect_uris.append(client.redirect_uri)
        try:
            run_chromium(f"{client.url}/start", record.proxy_url, None, binary=chromium)
            assert client.done.wait(10)
        finally:
            client.stop()
        listener_port = record.reverse[provider.url].rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-m", "oauthtrace", "check", "--db", db_path], capture_output=True,
                          text=True, timeout=60)
    hint = (f"no back-channel capture (the reverse listener on port {listener_port} for {provider.url} saw no "
            f"request: point the client's token URL at it instead of at the provider)")
    assert hint in done.stdout, done.stdout
