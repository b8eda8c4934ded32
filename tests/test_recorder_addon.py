"""The Recorder addon without a proxy: mitmproxy's own test harness drives its hooks."""

from __future__ import annotations

import gzip

import pytest
from mitmproxy.test import taddons, tflow, tutils

from oauthtrace.capture.recorder import Recorder
from oauthtrace.store import Store


@pytest.fixture
def recorded(db_path):
    """Run flows through a Recorder; return the hops it stored."""

    def run(*flows, **options):
        recorder = Recorder()
        with taddons.context(recorder) as tctx:
            tctx.configure(recorder, oauthtrace_db=db_path, oauthtrace_name="unit", **options)
            for flow in flows:
                recorder.requestheaders(flow)
                if flow.response is not None:
                    recorder.responseheaders(flow)
                    recorder.response(flow)
                if flow.error is not None:
                    recorder.error(flow)
            recorder.done()
        with Store.open(db_path) as store:
            traces = store.traces()
            return store.hops(traces[0].id) if traces else []

    return run


def _flow(url: str, *, method="GET", body=b"", headers=(), status=200, resp_body=b"", resp_headers=()):
    flow = tflow.tflow(resp=True)
    flow.request = tutils.treq(method=method.encode(), content=body)
    flow.request.url = url
    flow.request.headers.clear()
    for k, v in headers:
        flow.request.headers.add(k, v)
    flow.response = tutils.tresp(status_code=status, content=resp_body)
    flow.response.headers.clear()
    for k, v in resp_headers:
        flow.response.headers.add(k, v)
    return flow


def test_every_field_of_a_callback_hop_is_kept(recorded):
    flow = _flow("http://client.test/cb?code=abc&state=xyz&state=dup",
                 headers=[("Cookie", "a=1"), ("X-Two", "1"), ("X-Two", "2")],
                 status=302, resp_headers=[("Location", "http://client.test/done")])
    [hop] = recorded(flow)
    assert hop.seq == 1 and hop.method == "GET" and hop.status == 302
    assert hop.query == [("code", "abc"), ("state", "xyz"), ("state", "dup")]
    assert hop.req_headers == [("Cookie", "a=1"), ("X-Two", "1"), ("X-Two", "2")]
    assert hop.location == "http://client.test/done"
    assert hop.listener == "browser"


def test_form_body_becomes_ordered_pairs(recorded):
    flow = _flow("http://as.test/token", method="POST", body=b"grant_type=authorization_code&code=c1&scope=a+b",
                 headers=[("Content-Type", "application/x-www-form-urlencoded")])
    [hop] = recorded(flow)
    assert hop.form == [("grant_type", "authorization_code"), ("code", "c1"), ("scope", "a b")]


def test_gzip_body_is_stored_decoded(recorded):
    payload = b'{"access_token": "t", "token_type": "Bearer"}'
    flow = _flow("http://as.test/token", method="POST", resp_headers=[("Content-Encoding", "gzip")],
                 resp_body=gzip.compress(payload))
    [hop] = recorded(flow)
    assert hop.resp_body == payload


def test_binary_body_comes_back_byte_for_byte(recorded):
    blob = bytes(range(256)) * 4
    [hop] = recorded(_flow("http://as.test/logo.png", resp_body=blob))
    assert hop.resp_body == blob


def test_body_over_the_cap_is_cut_and_flagged(recorded):
    [hop] = recorded(_flow("http://as.test/big", resp_body=b"x" * 5000), oauthtrace_body_cap=1000)
    assert hop.resp_body == b"x" * 1000 and hop.resp_truncated
    assert not hop.req_truncated


def test_failed_flow_is_stored_with_its_error(recorded):
    flow = tflow.tflow(err=True)
    flow.request.url = "http://down.test/token"
    [hop] = recorded(flow)
    assert hop.status is None and hop.error


def test_a_flow_is_recorded_once_even_when_error_follows_response(recorded):
    flow = _flow("http://as.test/stream")
    flow.error = tflow.terr()
    assert len(recorded(flow)) == 1


def test_only_and_ignore_hosts(recorded):
    flows = [_flow("http://as.test/a"), _flow("http://noise.test/b"), _flow("http://client.test/c")]
    hops = recorded(*flows, oauthtrace_ignore_hosts=["noise"])
    assert [h.url for h in hops] == ["http://as.test/a", "http://client.test/c"]


def test_only_hosts(db_path, recorded):
    hops = recorded(_flow("http://as.test/a"), _flow("http://noise.test/b"), oauthtrace_only_hosts=[r"^as\."])
    assert [h.url for h in hops] == ["http://as.test/a"]


def test_event_stream_is_streamed_through_and_kept(db_path):
    recorder = Recorder()
    flow = _flow("http://mcp.test/sse", resp_headers=[("Content-Type", "text/event-stream")])
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, oauthtrace_db=db_path)
        recorder.requestheaders(flow)
        recorder.responseheaders(flow)
        assert callable(flow.response.stream), "an event stream must not be buffered"
        passed = [flow.response.stream(chunk) for chunk in (b"event: a\n\n", b"data: 1\n\n")]
        assert passed == [b"event: a\n\n", b"data: 1\n\n"]
        flow.response.content = b""
        recorder.response(flow)
        recorder.done()
    with Store.open(db_path) as store:
        [hop] = store.hops(store.traces()[0].id)
    assert hop.resp_body == b"event: a\n\ndata: 1\n\n"
