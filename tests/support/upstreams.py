"""Upstream servers on loopback that misbehave on purpose, and small helpers to talk through the proxy."""

from __future__ import annotations

import os
import socket
import sqlite3
import ssl
import struct
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Callable

Handler = Callable[[socket.socket], None]


@contextmanager
def raw_server(handler: Handler):
    """A TCP server on 127.0.0.1 that runs `handler(connection)` in a thread per connection; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()

    def serve(conn: socket.socket):
        with conn:
            try:
                handler(conn)
            except OSError:
                pass

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def read_head(conn: socket.socket) -> bytes:
    """The request line and headers (up to the blank line)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def speaks_garbage(conn: socket.socket) -> None:
    conn.recv(65536)  # a request head or a TLS ClientHello: either way, answer nonsense
    conn.sendall(b"\x16\x03\x00garbage\xff" * 50)
    time.sleep(0.5)


def never_answers(conn: socket.socket) -> None:
    read_head(conn)
    time.sleep(15)


def resets(conn: socket.socket) -> None:
    read_head(conn)
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_opener(proxy_url: str, ca_cert: str | None = None) -> urllib.request.OpenerDirector:
    handlers: list = [urllib.request.ProxyHandler({"http": proxy_url, "https": proxy_url})]
    if ca_cert:
        handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_cert)))
    return urllib.request.build_opener(*handlers)


def fetch(opener, url: str, *, data: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    """(status, body); HTTP errors are answers too. Network errors raise."""
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def stored_urls(db_path: str) -> list[str]:
    """URLs of every stored hop, read as another process would (a fresh connection)."""
    if not os.path.exists(db_path):  # connecting would create an empty file, hiding a deleted database
        return []
    try:
        with sqlite3.connect(db_path, timeout=10) as conn:
            return [row[0] for row in conn.execute("SELECT url FROM hops ORDER BY trace_id, seq")]
    except sqlite3.OperationalError:
        return []


def wait_until(condition: Callable[[], bool], timeout: float = 15, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


class Request:
    """One request as the scripted server read it, bytes untouched."""

    def __init__(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes):
        self.method, self.target, self.headers, self.body = method, target, headers, body

    def header(self, name: bytes) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def read_request(stream) -> Request | None:
    """Read one HTTP/1.1 request (Content-Length or chunked body) from a binary file object; None at EOF."""
    line = stream.readline(1 << 20)
    if not line:
        return None
    method, target, _ = line.rstrip(b"\r\n").split(b" ", 2)
    headers = []
    while (header := stream.readline(1 << 20).rstrip(b"\r\n")):
        name, _, value = header.partition(b":")
        headers.append((name.strip(), value.strip()))
    request = Request(method, target, headers, b"")
    if (request.header(b"transfer-encoding") or b"").lower() == b"chunked":
        request.body = _read_chunks(stream)
    elif length := int(request.header(b"content-length") or 0):
        request.body = stream.read(length)
    return request


def _read_chunks(stream) -> bytes:
    body = b""
    while (size := int(stream.readline().split(b";")[0], 16)):
        body += stream.read(size)
        stream.readline()
    while stream.readline().rstrip(b"\r\n"):  # trailers
        pass
    return body


def response(status: int, body: bytes = b"", headers: list[tuple[bytes, bytes]] = (), *, chunked: bool = False,
             reason: bytes = b"OK") -> bytes:
    """Raw response bytes; Content-Length unless `chunked` (then the body goes out in 3 chunks)."""
    head = [b"HTTP/1.1 %d %s" % (status, reason), *(k + b": " + v for k, v in headers)]
    if chunked:
        head.append(b"Transfer-Encoding: chunked")
        third = max(1, len(body) // 3)
        parts = [body[i:i + third] for i in range(0, len(body), third)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    else:
        head.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


@contextmanager
def scripted_server(answer: Callable[[Request], bytes]):
    """A keep-alive HTTP/1.1 server whose answers are raw bytes from `answer(request)`; yields its origin."""

    def handle(conn: socket.socket):
        stream = conn.makefile("rb")
        while (request := read_request(stream)) is not None:
            conn.sendall(answer(request))

    with raw_server(handle) as port:
        yield f"http://127.0.0.1:{port}"
