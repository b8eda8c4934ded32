"""The Recorder addon: every HTTP flow that completes (response) or fails (error) becomes one hop."""

from __future__ import annotations

import itertools
import logging
import re
import time
from typing import Sequence

from mitmproxy import ctx, http
from mitmproxy.proxy.mode_specs import ProxyMode

from oauthtrace.capture.writer import WriterStats
from oauthtrace.capture.writer_process import ProcessWriter
from oauthtrace.flows import DEFAULT_BODY_CAP, SEQ_KEY, STREAMED_BODY_KEY, UPSTREAM_TLS_KEY, listener_name

log = logging.getLogger(__name__)

_RECORDED_KEY = "oauthtrace_recorded"
STREAMED_TYPES = ("text/event-stream",)
# An event stream open when the recording stops (MCP 2026-07-28's subscriptions/listen is held open by design)
# is cut by the proxy itself; mitmproxy's own word for that, "Client disconnected.", would blame the client.
STOPPED_WHILE_STREAMING = "The recording stopped while the event stream was still open."


class Recorder:
    def __init__(self, db_path: str | None = None, trace_name: str | None = None, *, close_on_done: bool = True):
        # mitmproxy's done hook runs while connections still finish: hooks of other addons yield to them, and a
        # response forwarded then would miss a writer already closed. Whoever owns the master (ProxyRunner) can
        # close the writer after the master has stopped instead; `mitmdump -s` users get it closed on done.
        self._close_on_done = close_on_done
        self._db_path = db_path
        self._trace_name = trace_name
        self._seq = itertools.count(1)
        self._only: list[re.Pattern] = []
        self._ignore: list[re.Pattern] = []
        self._stopping = False  # done has run: connections still open are being closed by the proxy
        self.writer: ProcessWriter | None = None
        self._tls_failures: dict[tuple, str] = {}  # (host, port) -> why the last handshake with it failed

    def load(self, loader) -> None:
        loader.add_option("oauthtrace_db", str, self._db_path or "oauthtrace.db", "oauthtrace database file.")
        loader.add_option("oauthtrace_name", str, self._trace_name or "", "Name of the trace (default: a timestamp).")
        loader.add_option("oauthtrace_body_cap", int, DEFAULT_BODY_CAP, "Bytes of each body to keep; the rest is cut.")
        loader.add_option(
            "oauthtrace_only_hosts", Sequence[str], [], "Record only hosts matching one of these regexes."
        )
        loader.add_option(
            "oauthtrace_ignore_hosts", Sequence[str], [], "Do not record hosts matching these regexes."
        )

    def configure(self, updated) -> None:
        if "oauthtrace_only_hosts" in updated:
            self._only = [re.compile(p, re.IGNORECASE) for p in ctx.options.oauthtrace_only_hosts]
        if "oauthtrace_ignore_hosts" in updated:
            self._ignore = [re.compile(p, re.IGNORECASE) for p in ctx.options.oauthtrace_ignore_hosts]
        if self.writer is None and ("oauthtrace_db" in updated or "oauthtrace_name" in updated):
            name = ctx.options.oauthtrace_name or time.strftime("record %Y-%m-%d %H:%M:%S")
            self.writer = ProcessWriter(ctx.options.oauthtrace_db, name, body_cap=ctx.options.oauthtrace_body_cap,
                                        listeners=listener_names(ctx.options.mode))
            self.writer.start()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if self._wanted(flow):
            flow.metadata[SEQ_KEY] = next(self._seq)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Stream event streams through, whatever the method (a GET stream, a POST answered with one): buffering
        them stalls MCP clients until they time out, and a listen stream never ends by itself."""
        content_type = flow.response.headers.get("content-type", "").lower()
        if SEQ_KEY in flow.metadata and content_type.startswith(STREAMED_TYPES):
            flow.response.stream = _tee(flow, ctx.options.oauthtrace_body_cap)

    def response(self, flow: http.HTTPFlow) -> None:
        self._record(flow)

    def tls_failed_server(self, data) -> None:
        """Remember why the handshake with this server failed: its flow's error hook comes next, and the flow's
        own server connection does not hold the handshake's outcome."""
        if len(self._tls_failures) > 1024:
            self._tls_failures.clear()
        if data.conn.address and data.conn.error:
            self._tls_failures[tuple(data.conn.address[:2])] = data.conn.error

    def error(self, flow: http.HTTPFlow) -> None:
        if self._stopping and STREAMED_BODY_KEY in flow.metadata and flow.error is not None:
            flow.error.msg = STOPPED_WHILE_STREAMING
        server = flow.server_conn.address if flow.server_conn else None
        failed = self._tls_failures.get(tuple(server[:2])) if server else None
        if failed is not None and flow.error is not None and flow.error.msg == failed:
            flow.metadata[UPSTREAM_TLS_KEY] = failed
        self._record(flow)

    def done(self) -> None:
        # mitmproxy runs done before it closes the connections still open; their flows end in error after it
        self._stopping = True
        if self._close_on_done:
            self.close()

    def close(self) -> WriterStats | None:
        return self.writer.close() if self.writer else None

    def _record(self, flow: http.HTTPFlow) -> None:
        # A streamed response can end in an error after its response hook; one hop per flow.
        if SEQ_KEY not in flow.metadata or flow.metadata.get(_RECORDED_KEY) or self.writer is None:
            return
        flow.metadata[_RECORDED_KEY] = True
        self.writer.put(flow, flow.metadata[SEQ_KEY])

    def _wanted(self, flow: http.HTTPFlow) -> bool:
        if not self._only and not self._ignore:  # the usual case: no filter, and pretty_host parses the Host header
            return True
        host = flow.request.pretty_host
        if self._only and not any(p.search(host) for p in self._only):
            return False
        return not any(p.search(host) for p in self._ignore)


def listener_names(modes: Sequence[str]) -> tuple[str, ...]:
    """What the proxy listens on, named as its hops name their listener: `browser`, `reverse:URL@PORT`."""
    names = []
    for spec in modes:
        try:
            mode = ProxyMode.parse(spec)
        except ValueError:  # mitmproxy refuses it too, and says why
            continue
        names.append(listener_name(mode))
    return tuple(dict.fromkeys(names))


def _tee(flow: http.HTTPFlow, cap: int):
    kept = bytearray()
    flow.metadata[STREAMED_BODY_KEY] = kept

    def keep(chunk: bytes) -> bytes:
        if len(kept) < cap:
            kept.extend(chunk[: cap - len(kept)])
        return chunk

    return keep
