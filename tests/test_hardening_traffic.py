"""Traffic the recorder must survive and store sensibly, sent through the real proxy (mitmproxy in-process).

HTTP/2 over TLS, chunked and compressed bodies, bodies over the cap, binary bodies, bytes that are not UTF-8 in
URLs and headers, duplicate parameters, a WebSocket upgrade, a 100 KB URL and a 1,000-hop redirect loop. Every
test asks what a user reading the stored hop would check: the body as the application saw it, the flag that says
it was cut, the parameters in order, the proxy still forwarding afterwards.
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import zlib

import brotli
import pytest
import wsproto
import wsproto.events
import zstandard

from oauthtrace.analysis.engine import analyze
from oauthtrace.capture.proxy import ProxyConfig, ProxyRunner, ReverseTarget
from oauthtrace.flows import DEFAULT_BODY_CAP
from oauthtrace.store import Store
from tests.support.h2 import h2_request, h2_server, make_server_cert
from tests.support.upstreams import raw_server, response, scripted_server, wait_until

pytestmark = pytest.mark.e2e

PLAIN = json.dumps({"access_token": "at-" + "x" * 2000, "token_type": "Bearer", "expires_in": 3600}).encode()
BINARY = bytes(range(256)) * 64
LOOP_HOPS = 1000


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


ENCODINGS = {
    "gzip": ("gzip", gzip.compress),
    "br": ("br", brotli.compress),
    "zstd": ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    "deflate": ("deflate", zlib.compress),
    "deflate-raw": ("deflate", _raw_deflate),
    "not-really-gzip": ("gzip", lambda data: data),  # says gzip, is not: kept as sent
}


def answer(request) -> bytes:
    """The scripted upstream: what each path answers."""
    path = request.target.decode("latin-1").split("?", 1)[0]
    got = [(b"X-Got-Length", b"%d" % len(request.body))]
    if path.startswith("/chunked"):
        return response(200, PLAIN, [(b"Content-Type", b"application/json"), *got], chunked=True)
    if path.startswith("/enc/"):
        name, encode = ENCODINGS[path.rsplit("/", 1)[1]]
        return response(200, encode(PLAIN), [(b"Content-Type", b"application/json"),
                                             (b"Content-Encoding", name.encode())])
    if path.startswith("/big"):
        return response(200, b"b" * (DEFAULT_BODY_CAP + DEFAULT_BODY_CAP // 2), got)
    if path.startswith("/bin"):
        return response(200, BINARY, [(b"Content-Type", b"application/octet-stream"), *got])
    if path.startswith("/dup"):
        return response(200, b"ok", [(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"a=2"), *got])
    if path.startswith("/latin"):
        return response(200, b"ok", [(b"Content-Disposition", b"attachment; filename=caf\xe9.txt"),
                                     (b"X-Bin", b"\xff\xfe")])
    if path.startswith("/loop"):
        return response(302, b"", [(b"Location", b"/loop")], reason=b"Found")
    return response(200, b"ok", got)


def websocket_echo(conn: socket.socket) -> None:
    ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    while data := conn.recv(65536):
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, wsproto.events.Request):
                conn.sendall(ws.send(wsproto.events.AcceptConnection()))
            elif isinstance(event, wsproto.events.TextMessage):
                conn.sendall(ws.send(wsproto.events.Message(data=f"echo {event.data}")))
            elif isinstance(event, wsproto.events.CloseConnection):
                conn.sendall(ws.send(event.response()))
                return


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One proxy (browser listener + a reverse listener) in front of the scripted, HTTP/2 and WebSocket servers."""
    root = tmp_path_factory.mktemp("traffic")
    upstream_ca, cert, key = make_server_cert(root / "upstream-ca")
    with scripted_server(answer) as origin, h2_server(cert, key) as h2_port, raw_server(websocket_echo) as ws_port:
        config = ProxyConfig(db_path=str(root / "oauthtrace.db"), port=0, confdir=str(root / "conf"),
                             reverse=[ReverseTarget(origin, 0)],
                             mitm_options={"ssl_verify_upstream_trusted_ca": str(upstream_ca)})
        runner = ProxyRunner(config)
        listening = runner.start_in_thread()
        yield Env(runner, listening, origin, h2_port, ws_port, config.db_path)
        stats = runner.stop()
        assert stats.failed == 0, stats.last_error


class Env:
    def __init__(self, runner, listening, origin, h2_port, ws_port, db_path):
        self.runner, self.listening, self.origin = runner, listening, origin
        self.h2_port, self.ws_port, self.db_path = h2_port, ws_port, db_path

    @property
    def ca_cert(self) -> str:
        return str(self.listening.ca_cert)

    def proxy_connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(*self.listening.proxy, timeout=30)

    def send(self, method: str, path: str, body=None, headers=None, *, chunked=False):
        """A request through the browser proxy (absolute-form); returns (response, body)."""
        conn = self.proxy_connection()
        conn.request(method, self.origin + path, body=body, headers=headers or {}, encode_chunked=chunked)
        reply = conn.getresponse()
        data = reply.read()
        conn.close()
        return reply, data

    def hops(self, marker: str, count: int = 1):
        """The stored hops whose URL contains `marker`, once `count` of them are there."""
        def found():
            with Store.open(self.db_path) as store:
                return [hop for trace in store.traces() for hop in store.hops(trace.id) if marker in hop.url]

        assert wait_until(lambda: len(found()) >= count), f"{marker}: {len(found())} of {count} hops stored"
        return found()


def _one(env: Env, marker: str):
    [hop] = env.hops(marker)
    return hop


def test_http2_request_and_response_are_stored(env):
    form = b"grant_type=authorization_code&code=h2-code&code=dup"
    status, headers, body, alpn = h2_request(
        env.listening.proxy, env.h2_port, env.ca_cert, "POST", "/h2/token?via=h2", form,
        [("content-type", "application/x-www-form-urlencoded")])
    assert (status, alpn) == (200, "h2")
    seen_upstream = json.loads(body)
    assert seen_upstream["alpn"] == "h2" and seen_upstream["body"] == form.decode(), "HTTP/2 on both sides"

    hop = _one(env, "/h2/token")
    assert hop.http_version == "HTTP/2.0"
    assert hop.url == f"https://127.0.0.1:{env.h2_port}/h2/token?via=h2"
    assert hop.form == [("grant_type", "authorization_code"), ("code", "h2-code"), ("code", "dup")]
    assert hop.status == 200 and json.loads(hop.resp_body) == seen_upstream


def test_chunked_request_and_response_bodies_are_stored_whole(env):
    parts = [b"grant_type=client_credentials", b"&scope=a", b"+b"]
    reply, body = env.send("POST", "/chunked", body=iter(parts), chunked=True,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and body == PLAIN
    assert reply.getheader("X-Got-Length") == str(len(b"".join(parts)))

    hop = _one(env, "/chunked")
    assert hop.req_body == b"".join(parts)
    assert hop.form == [("grant_type", "client_credentials"), ("scope", "a b")]
    assert hop.resp_body == PLAIN and not hop.resp_truncated


@pytest.mark.parametrize("kind", ["gzip", "br", "zstd", "deflate", "deflate-raw"])
def test_compressed_response_is_stored_decoded_and_forwarded_as_sent(env, kind):
    reply, body = env.send("GET", f"/enc/{kind}", headers={"Accept-Encoding": "gzip, br, zstd, deflate"})
    assert body == ENCODINGS[kind][1](PLAIN), "the client gets the compressed bytes untouched"
    hop = _one(env, f"/enc/{kind}")
    assert hop.resp_body == PLAIN
    assert hop.resp_json()["token_type"] == "Bearer"


def test_a_body_that_lies_about_its_encoding_is_kept_as_sent(env):
    env.send("GET", "/enc/not-really-gzip")
    assert _one(env, "/enc/not-really-gzip").resp_body == PLAIN


def test_gzip_request_body_is_stored_decoded_with_its_form(env):
    form = b"grant_type=authorization_code&code=zipped"
    env.send("POST", "/zipped-token", body=gzip.compress(form),
             headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"})
    hop = _one(env, "/zipped-token")
    assert hop.req_body == form
    assert hop.form == [("grant_type", "authorization_code"), ("code", "zipped")]


def test_bodies_over_the_cap_are_cut_and_flagged_but_forwarded_whole(env):
    upload = b"u" * (DEFAULT_BODY_CAP + 1000)
    reply, body = env.send("POST", "/big", body=upload, headers={"Content-Type": "application/octet-stream"})
    assert len(body) == DEFAULT_BODY_CAP + DEFAULT_BODY_CAP // 2, "the client gets every byte"
    assert reply.getheader("X-Got-Length") == str(len(upload)), "the server gets every byte"

    hop = _one(env, "/big")
    assert hop.req_truncated and hop.req_body == upload[:DEFAULT_BODY_CAP]
    assert hop.resp_truncated and len(hop.resp_body) == DEFAULT_BODY_CAP


def test_binary_bodies_come_back_byte_for_byte(env):
    reply, body = env.send("PUT", "/bin", body=BINARY, headers={"Content-Type": "application/octet-stream"})
    assert body == BINARY
    hop = _one(env, "/bin")
    assert hop.req_body == BINARY and hop.resp_body == BINARY


def _raw(address, request: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


def test_bytes_that_are_not_utf8_in_urls_and_headers_are_stored_as_readable_escapes(env):
    # Origin-form, as a client talks to the reverse listener: raw bytes are accepted and forwarded.
    reply = _raw(env.listening.reverse[0][1], b"GET /latin/caf\xe9?q=\xff\xfe&r=%C3%A9&s=%FF HTTP/1.1\r\n"
                                              b"Host: x\r\nX-Latin: caf\xe9\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")

    hop = _one(env, "/latin/caf")
    assert hop.url.endswith("/latin/caf\\xe9?q=\\xff\\xfe&r=%C3%A9&s=%FF")
    assert hop.query == [("q", "\\xff\\xfe"), ("r", "é"), ("s", "\ufffd")]
    assert ("X-Latin", "caf\\xe9") in hop.req_headers
    assert ("Content-Disposition", "attachment; filename=caf\\xe9.txt") in hop.resp_headers
    assert ("X-Bin", "\\xff\\xfe") in hop.resp_headers
    json.dumps([hop.url, hop.query, hop.req_headers, hop.resp_headers])  # exportable as is


def test_raw_bytes_in_an_absolute_url_are_refused_by_mitmproxy_and_the_proxy_goes_on(env):
    # mitmproxy parses a proxy request's absolute URL strictly and answers 400 itself: there is no flow to store.
    reply = _raw(env.listening.proxy, b"GET " + env.origin.encode() + b"/refused/caf\xe9 HTTP/1.1\r\n"
                                      b"Host: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    assert env.send("GET", "/after-refused")[0].status == 200
    assert _one(env, "/after-refused").status == 200


def test_duplicate_parameters_and_headers_survive_in_order(env):
    env.send("POST", "/dup?a=1&b=&a=2", body=b"x=1&y=2&x=3",
             headers={"Content-Type": "application/x-www-form-urlencoded"})
    hop = _one(env, "/dup")
    assert hop.query == [("a", "1"), ("b", ""), ("a", "2")]
    assert hop.form == [("x", "1"), ("y", "2"), ("x", "3")]
    assert [v for k, v in hop.resp_headers if k == "Set-Cookie"] == ["a=1", "a=2"]


def test_duplicate_request_headers_survive(env):
    reply = _raw(env.listening.proxy, b"GET " + env.origin.encode() + b"/dup-headers HTTP/1.1\r\nHost: x\r\n"
                                      b"X-Dup: one\r\nX-Dup: two\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    assert [v for k, v in _one(env, "/dup-headers").req_headers if k == "X-Dup"] == ["one", "two"]


def test_websocket_upgrade_is_one_hop_and_its_frames_are_ignored(env):
    echoed = []
    with socket.create_connection(env.listening.proxy, timeout=10) as sock:
        # Browsers reach ws:// through a proxy with CONNECT; mitmproxy sees the upgrade inside the tunnel.
        sock.sendall(f"CONNECT 127.0.0.1:{env.ws_port} HTTP/1.1\r\nHost: 127.0.0.1:{env.ws_port}\r\n\r\n".encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        sock.sendall(ws.send(wsproto.events.Request(host=f"127.0.0.1:{env.ws_port}", target="/ws/chat")))
        accepted = False
        while not accepted and (data := sock.recv(65536)):
            ws.receive_data(data)
            accepted = any(isinstance(e, wsproto.events.AcceptConnection) for e in ws.events())
        assert accepted
        for i in range(3):
            sock.sendall(ws.send(wsproto.events.Message(data=f"frame {i}")))
        while len(echoed) < 3 and (data := sock.recv(65536)):
            ws.receive_data(data)
            echoed += [e.data for e in ws.events() if isinstance(e, wsproto.events.TextMessage)]
        sock.sendall(ws.send(wsproto.events.CloseConnection(code=1000)))
        sock.recv(65536)  # the server's close frame
    assert echoed == ["echo frame 0", "echo frame 1", "echo frame 2"]

    hop = _one(env, "/ws/chat")
    assert hop.status == 101 and hop.req_header("upgrade").lower() == "websocket"
    assert not hop.resp_body, "frames are not stored as a body"
    assert env.send("GET", "/after-ws")[0].status == 200
    assert len(env.hops("/ws/chat")) == 1, "one hop, even after the connection closed"


def test_a_100_kb_url_is_stored_whole(env):
    value = "v" * 100_000
    reply, _ = env.send("GET", f"/long?state={value}&code=c")
    assert reply.status == 200
    hop = _one(env, "/long?")
    assert len(hop.url) > 100_000
    assert hop.query == [("state", value), ("code", "c")]


def test_a_1000_hop_redirect_loop_stores_every_hop_and_the_proxy_stays_fine(env):
    conn = env.proxy_connection()  # one keep-alive connection, as a client following redirects would use
    url = env.origin + "/loop"
    for _ in range(LOOP_HOPS):
        conn.request("GET", url)
        reply = conn.getresponse()
        reply.read()
        assert reply.status == 302
        url = env.origin + reply.getheader("Location")
    conn.close()
    hops = env.hops("/loop", LOOP_HOPS)
    assert len(hops) == LOOP_HOPS
    assert len({hop.seq for hop in hops}) == LOOP_HOPS, "each hop stored once, with its own sequence number"
    assert all(hop.location == "/loop" for hop in hops)
    assert env.send("GET", "/after-loop")[0].status == 200

    report = analyze(hops, trace_id=hops[0].trace_id)  # the analysis copes with the loop too
    assert not [n for n in report.not_evaluated if n.reason.startswith("rule failed")]
