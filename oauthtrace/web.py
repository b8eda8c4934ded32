"""A tiny threaded HTTP server with routing (stdlib only): the demo's provider and client, the stub provider of
`oauthtrace serve` and the tests' fixed servers all answer through it, so it sits below both demo and replay."""

from __future__ import annotations

import json
import socketserver
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Self
from urllib.parse import parse_qsl, urlsplit


class Request:
    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes):
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.path = parts.path
        self.query = parse_qsl(parts.query, keep_blank_values=True)
        self.headers = handler.headers
        self.body = body

    def arg(self, name: str) -> str | None:
        return dict(self.query).get(name)

    @property
    def form(self) -> dict[str, str]:
        content_type = (self.headers.get("content-type") or "").lower()
        if content_type.startswith("application/json"):
            try:
                data = json.loads(self.body or b"{}")
            except ValueError:
                return {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


class Response:
    """`stream`, when given, writes the body after the headers, piece by piece (`stream(write)`, each piece sent as
    a chunk at once), for as long as it runs: an event stream held open."""

    def __init__(self, status: int = 200, body: bytes | str = b"", content_type: str = "text/plain",
                 headers: dict[str, str] | None = None, stream: Callable[[Callable[[bytes], None]], None] | None = None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = {"Content-Type": content_type, **(headers or {})}
        self.stream = stream

    @classmethod
    def json(cls, data, status: int = 200, headers: dict[str, str] | None = None) -> "Response":
        return cls(status, json.dumps(data), "application/json", headers)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Response":
        return cls(status, b"", "text/plain", {"Location": location})


Route = Callable[[Request], Response]


class ServedInThread:
    """start() serves `self._server` (any socketserver server: ours, werkzeug's) from a daemon thread, so a test or
    the demo keeps its own thread; stop() ends it and frees the port."""

    _server: socketserver.BaseServer
    _thread: threading.Thread | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class App(ServedInThread):
    """Routes (method, path prefix) to functions; the longest matching prefix wins."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.routes: list[tuple[str, str, Route]] = []
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._scheme = "http"

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self._scheme}://{host}:{port}"

    def serve_tls(self, context: ssl.SSLContext) -> "App":
        """Answer over HTTPS (call before start): a provider behind a private CA, as many are under development.

        The handshake runs in the connection's own thread (on its first read), so a client that refuses the
        certificate cannot stall the others; such a refusal is the client's news, not this server's error.
        """
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self._scheme = "https"
        report = self._server.handle_error
        self._server.handle_error = lambda request, address: (
            None if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)) else report(request, address))
        return self

    def route(self, method: str, prefix: str, fn: Route) -> None:
        self.routes.append((method, prefix, fn))
        self.routes.sort(key=lambda r: len(r[1]), reverse=True)

    def dispatch(self, request: Request) -> Response:
        for method, prefix, fn in self.routes:
            if request.method == method and (request.path == prefix or request.path.startswith(prefix.rstrip("/") + "/")):
                return fn(request)
        return Response.json({"error": "not_found", "path": request.path}, 404)

    def _handler_class(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                response = app.dispatch(Request(self, body))
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if response.stream is not None:
                    self._stream(response)
                    return
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def _stream(self, response: Response):
                # chunked, so that a stream cut short (a proxy stopping) reads as cut, not as a body that ended
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.close_connection = True

                def write(piece: bytes) -> None:
                    if piece:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.flush()

                try:
                    response.stream(write)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:  # the client went away: the stream is over
                    pass

            do_GET = do_POST = do_DELETE = do_PUT = _serve

            def log_message(self, *args):  # the recording is the log
                pass

        return Handler
