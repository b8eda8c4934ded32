"""HTTP/2 over TLS on loopback with the `h2` library (installed with mitmproxy): a server and a client that goes
through an explicit proxy with CONNECT, as a browser does.

The server's certificate comes from a CA of its own, made here; the proxy is told to trust that CA for upstream
connections, so upstream verification stays on.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from contextlib import contextmanager
from pathlib import Path

import h2.config
import h2.connection
import h2.events
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy.certs import CertStore

from tests.support.upstreams import raw_server


def make_server_cert(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    store = CertStore.from_store(directory, "upstream", 2048)
    entry = store.get_cert("127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert, key = directory / "server-cert.pem", directory / "server-key.pem"
    cert.write_bytes(entry.cert.to_pem())
    key.write_bytes(entry.privatekey.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return directory / "upstream-ca-cert.pem", cert, key


@contextmanager
def h2_server(cert: Path, key: Path):
    """Answers every stream with JSON: the method, path, protocol and request body it saw. Yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])

    def handle(conn: socket.socket):
        with context.wrap_socket(conn, server_side=True) as tls:
            _serve(tls)

    with raw_server(handle) as port:
        yield port


def _serve(tls: ssl.SSLSocket) -> None:
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    connection.initiate_connection()
    tls.sendall(connection.data_to_send())
    requests: dict[int, dict] = {}
    while data := tls.recv(65535):
        for event in connection.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                requests[event.stream_id] = {"headers": dict(event.headers), "body": b""}
            elif isinstance(event, h2.events.DataReceived):
                requests[event.stream_id]["body"] += event.data
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                seen = requests.pop(event.stream_id)
                body = json.dumps({"method": seen["headers"][":method"], "path": seen["headers"][":path"],
                                   "alpn": tls.selected_alpn_protocol(),
                                   "body": seen["body"].decode("utf-8", "replace")}).encode()
                connection.send_headers(event.stream_id, [(":status", "200"), ("content-type", "application/json"),
                                                          ("content-length", str(len(body)))])
                connection.send_data(event.stream_id, body, end_stream=True)
        tls.sendall(connection.data_to_send())


def h2_request(proxy: tuple[str, int], port: int, ca_cert: str, method: str, path: str,
               body: bytes = b"", headers: list[tuple[str, str]] = ()) -> tuple[int, dict, bytes, str]:
    """One HTTP/2 request to https://127.0.0.1:port through the proxy: (status, headers, body, ALPN agreed)."""
    sock = socket.create_connection(proxy, timeout=10)
    sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    context = ssl.create_default_context(cafile=ca_cert)
    context.set_alpn_protocols(["h2"])
    with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
        return (*_exchange(tls, port, method, path, body, headers), tls.selected_alpn_protocol())


def _exchange(tls, port, method, path, body, headers):
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    connection.initiate_connection()
    request = [(":method", method), (":path", path), (":authority", f"127.0.0.1:{port}"), (":scheme", "https"),
               *headers]
    connection.send_headers(1, request, end_stream=not body)
    if body:
        connection.send_data(1, body, end_stream=True)
    tls.sendall(connection.data_to_send())
    status, response_headers, data = 0, {}, b""
    while chunk := tls.recv(65535):
        for event in connection.receive_data(chunk):
            if isinstance(event, h2.events.ResponseReceived):
                response_headers = dict(event.headers)
                status = int(response_headers[":status"])
            elif isinstance(event, h2.events.DataReceived):
                data += event.data
                connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                connection.close_connection()
                tls.sendall(connection.data_to_send())
                return status, response_headers, data
        tls.sendall(connection.data_to_send())
    raise ConnectionError("the proxy closed the HTTP/2 connection before the response ended")
