"""A POST answered by an event stream, through the real proxy: MCP 2026-07-28's `subscriptions/listen` is such a POST
("The server's response is itself an SSE stream that stays open", streamable-http "Receiving Messages"). The stream
reaches the client event by event (buffered, the client would wait for an end that never comes), and its hop is
recorded whether the stream ends or the recording stops first — saying then that the recording cut it."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from oauthtrace.capture.proxy import ProxyConfig, ProxyRunner
from oauthtrace.capture.recorder import STOPPED_WHILE_STREAMING
from oauthtrace.store import Store
from tests.interop.harness import PROXY_ENV
from tests.support.upstreams import proxy_opener, raw_server, read_head

pytestmark = pytest.mark.e2e

LISTEN = {"jsonrpc": "2.0", "id": 7, "method": "subscriptions/listen",
          "params": {"notifications": {"toolsListChanged": True}}}
ACK = b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged"}\n\n'
CLOSED = b'event: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"resultType":"complete"}}\n\n'


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.fixture
def listen_server():
    """Answers each POST with an event stream: the acknowledgment at once, the closing result once `release` is
    set (or never, within the test)."""
    release = threading.Event()

    def handler(conn: socket.socket) -> None:
        head = read_head(conn)
        length = int(next((line.split(b":", 1)[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), b"0"))
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < length:
            body += conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + _chunk(ACK))
        if release.wait(30):
            conn.sendall(_chunk(CLOSED) + b"0\r\n\r\n")

    with raw_server(handler) as port:
        yield f"http://127.0.0.1:{port}/mcp", release


def _open_stream(opener, url: str):
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(LISTEN).encode(), method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "Mcp-Method": "subscriptions/listen", "MCP-Protocol-Version": "2026-07-28"})
    return opener.open(request, timeout=20)


def _hops(db_path: str, trace_id: int):
    with Store.open(db_path) as store:
        return store.hops(trace_id)


def test_a_post_event_stream_is_streamed_and_recorded_when_it_ends(listen_server, db_path, confdir):
    url, release = listen_server
    runner = ProxyRunner(ProxyConfig(db_path=db_path, port=0, confdir=confdir, name="listen ends"))
    listening = runner.start_in_thread()
    try:
        with _open_stream(proxy_opener(listening.proxy_url), url) as stream:
            # the acknowledgment arrives while the server still holds the stream open
            assert stream.readline() + stream.readline() + stream.readline() == ACK
            release.set()
            assert stream.read() == CLOSED
    finally:
        stats = runner.stop()
    [hop] = _hops(db_path, stats.trace_id)
    assert (hop.method, hop.status, hop.resp_content_type, hop.error) == ("POST", 200, "text/event-stream", None)
    assert hop.resp_body == ACK + CLOSED


def test_a_post_event_stream_still_open_when_the_recording_stops_is_recorded_saying_so(listen_server, db_path,
                                                                                       confdir):
    url, release = listen_server
    runner = ProxyRunner(ProxyConfig(db_path=db_path, port=0, confdir=confdir, name="listen open"))
    listening = runner.start_in_thread()
    stream = _open_stream(proxy_opener(listening.proxy_url), url)
    try:
        assert stream.readline() + stream.readline() + stream.readline() == ACK
        stats = runner.stop()
    finally:
        release.set()
        stream.close()
    [hop] = _hops(db_path, stats.trace_id)
    assert (hop.method, hop.status, hop.resp_content_type) == ("POST", 200, "text/event-stream")
    assert hop.resp_body == ACK and hop.error == STOPPED_WHILE_STREAMING and hop.ended >= hop.started
