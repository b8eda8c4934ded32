"""Where a replay may send requests, and the HTTP it sends: a browser with a cookie jar, a client's server without.

`Targets` maps each recorded origin to a live one (`--target ORIGIN=URL`) and is the allowlist: a request to any
other origin is refused before a byte is sent. `Session` records every request it sends as a Hop, so the replay
becomes a trace the same rules lint.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from oauthtrace.errors import UserError
from oauthtrace.model import BROWSER_LISTENER, Hop, Pairs
from oauthtrace.params import origin, parse_pairs, query_pairs

BACK_CHANNEL = "replay:back-channel"  # listener name of the client-server requests the replay makes
TIMEOUT = 15.0
USER_AGENT = "oauthtrace-replay"
MAX_BODY = 1024 * 1024 * 4


class ReplayStopped(Exception):
    """The replay cannot go on (a redirect off the targets, a server that does not answer …): the message says why."""


class Targets:
    def __init__(self, mapping: dict[str, str]):
        self.mapping = mapping  # recorded origin -> live origin
        self.live = set(mapping.values())

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> "Targets":
        mapping: dict[str, str] = {}
        for spec in specs:
            recorded, equals, live = spec.partition("=")
            recorded = _origin_of(recorded, spec)
            mapping[recorded] = _origin_of(live, spec) if equals else recorded
        return cls(mapping)

    def live_url(self, recorded_url: str) -> str | None:
        """The URL on the live server that stands for `recorded_url`; None when its origin is not a target."""
        live = self.mapping.get(_normal(origin(recorded_url)))
        if live is None:
            return None
        parts = urlsplit(recorded_url)
        scheme, netloc = urlsplit(live)[:2]
        return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))

    def follow(self, url: str) -> str | None:
        """Where to send a request for a URL the live server gave (a Location, a form action), or None if nowhere."""
        here = _normal(origin(url))
        if here in self.live:
            return url
        return self.live_url(url)

    def allows(self, url: str) -> bool:
        return _normal(origin(url)) in self.live


class Session:
    """Sends requests to the targets and keeps each as a Hop (seq from 1, in the order sent)."""

    def __init__(self, targets: Targets, *, timeout: float = TIMEOUT):
        self.targets = targets
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        no_proxy = urllib.request.ProxyHandler({})  # never through $HTTP_PROXY: only the named targets
        self._browser = urllib.request.build_opener(
            no_proxy, urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self._server = urllib.request.build_opener(no_proxy, _NoRedirect())
        self.hops: list[Hop] = []

    def send(self, method: str, url: str, *, headers: Pairs = (), body: bytes | None = None,
             listener: str = BROWSER_LISTENER) -> Hop:
        if not self.targets.allows(url):
            raise ReplayStopped(f"refused to send {method} {short_url(url)}: {origin(url)} is not a --target")
        request = urllib.request.Request(url, data=body, method=method)
        for name, value in headers:
            request.add_header(name, value)
        request.add_header("User-Agent", dict((k.lower(), v) for k, v in headers).get("user-agent", USER_AGENT))
        request.add_header("Accept-Encoding", "identity")
        opener = self._browser if listener == BROWSER_LISTENER else self._server
        hop = Hop(trace_id=0, seq=len(self.hops) + 1, method=method, url=url, started=time.time(),
                  listener=listener, query=query_pairs(url), req_body=body)
        self.hops.append(hop)
        try:
            reply = opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            reply = exc
        except (urllib.error.URLError, OSError, http.client.HTTPException, socket.timeout) as exc:
            _sent_headers(hop, request)
            hop.ended, hop.error = time.time(), _reason(exc)
            raise ReplayStopped(f"{method} {short_url(url)} failed: {hop.error}") from None
        with reply:
            _sent_headers(hop, request)
            hop.status = reply.status if hasattr(reply, "status") else reply.code
            hop.resp_headers = [(k, v) for k, v in reply.headers.items()]
            hop.resp_body = reply.read(MAX_BODY + 1)
            hop.resp_truncated = len(hop.resp_body) > MAX_BODY
            hop.resp_body = hop.resp_body[:MAX_BODY]
            hop.location = reply.headers.get("location")
        hop.ended = time.time()
        return hop


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """The walk follows redirects itself, so it can stop at the client's callback and at foreign hosts."""

    def redirect_request(self, *args, **kwargs):
        return None


def _sent_headers(hop: Hop, request: urllib.request.Request) -> None:
    hop.req_headers = [(name, value) for name, value in request.header_items()]
    content_type = request.get_header("Content-type") or ""
    if hop.req_body is not None and content_type.lower().startswith("application/x-www-form-urlencoded"):
        hop.form = parse_pairs(hop.req_body.decode("utf-8", "replace"))


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(exc).__name__


def short_url(url: str) -> str:
    """origin + path: enough to say where, without a query that may carry a code."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _normal(value: str) -> str:
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        return value
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _origin_of(text: str, spec: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--target {spec!r}: expected ORIGIN=URL with http(s) origins, e.g. "
                        f"--target https://auth.example.com=http://127.0.0.1:8000")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UserError(f"--target {spec!r}: give origins only (scheme://host:port), not {parts.path or '?'}")
    return _normal(text.strip())
