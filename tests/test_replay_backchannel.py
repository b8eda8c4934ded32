"""The client server's side of a replay: the recorded token request's shape, then refresh and userinfo with the
live tokens."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from oauthtrace.analysis.oauth import basic_credentials, param
from oauthtrace.demo.provider import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DemoProvider
from oauthtrace.demo.scenario import run_demo
from oauthtrace.replay.job import Source, replay
from oauthtrace.replay.secrets import Secrets
from oauthtrace.replay.session import BACK_CHANNEL, Targets
from oauthtrace.store import Store

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A good PKCE login (token request with client_secret in the body, then userinfo), recorded via the proxy."""
    base = tmp_path_factory.mktemp("backchannel")
    db = str(base / "oauthtrace.db")
    result = run_demo(db, bug="good", pkce=True, confdir=str(base / "ca"))
    with Store.open(db) as store:
        hops = store.hops(result.trace_id)
    return hops, result.provider_url


@pytest.fixture
def fixed():
    provider = DemoProvider("good").start()
    yield provider
    provider.stop()


def _with_basic_and_refresh(hops):
    """The same recording as if the client had used HTTP Basic and refreshed once after userinfo."""
    token = next(hop for hop in hops if param(hop.form, "grant_type") == "authorization_code")
    basic = "Basic " + base64.b64encode(f"{DEMO_CLIENT_ID}:old-secret".encode()).decode()
    token.form = [(k, v) for k, v in token.form if k not in ("client_id", "client_secret")]
    token.req_headers = token.req_headers + [("Authorization", basic)]
    refresh = dataclasses.replace(
        token, seq=max(hop.seq for hop in hops) + 1, started=max(hop.started for hop in hops) + 1, id=None,
        form=[("grant_type", "refresh_token"), ("refresh_token", token.resp_json()["refresh_token"])])
    return hops + [refresh]


def test_token_refresh_and_userinfo_are_replayed_with_live_values(recording, fixed, tmp_path):
    hops, recorded_url = recording
    source = Source("test recording", _with_basic_and_refresh(list(hops)))
    with Store.open(str(tmp_path / "replays.db")) as store:
        result = replay(source, store, targets=Targets.parse([f"{recorded_url}={fixed.url}"]),
                        secrets=Secrets({}, {"OAUTHTRACE_SECRET_CLIENT_SECRET": DEMO_CLIENT_SECRET}))
    assert result.run.problems == [] and result.passed
    back = [hop for hop in result.run.hops if hop.listener == BACK_CHANNEL]
    token, userinfo, refresh = back
    assert basic_credentials(token) == (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)  # Basic kept, secret from the env
    assert param(token.form, "client_secret") is None
    live_tokens = token.resp_json()
    assert param(token.form, "code_verifier")  # the fresh verifier the live challenge was made from
    assert userinfo.req_header("authorization") == f"Bearer {live_tokens['access_token']}"
    assert userinfo.status == 200
    assert param(refresh.form, "refresh_token") == live_tokens["refresh_token"]
    assert refresh.status == 200 and refresh.resp_json()["access_token"]
