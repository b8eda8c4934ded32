"""What both interop tests share: the real proxy in a thread, and reading back what `check` found."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

from oauthtrace.analysis.engine import Report, check_trace
from oauthtrace.capture.proxy import Listening, ProxyConfig, ProxyRunner, ReverseTarget
from oauthtrace.model import Hop
from oauthtrace.params import path
from oauthtrace.store import Store

PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "no_proxy")


@dataclass
class Recorded:
    trace_id: int | None = None
    report: Report | None = None
    hops: list[Hop] = field(default_factory=list)

    def loud(self) -> list[str]:
        """Error and warning findings, one readable line each, for assertion messages."""
        by_seq = {hop.seq: hop for hop in self.hops}
        return [f"{f.severity} {f.rule} at {_where(by_seq.get(f.hop))}: {f.message}"
                for f in self.report.findings if f.severity in ("error", "warning")]

    def roles(self) -> list[tuple[str, str]]:
        """(role, path) of every hop, in order, to show what the analysis understood."""
        return [(self.report.roles.get(hop.seq, "?"), path(hop.url)) for hop in self.hops]


@contextmanager
def recording(db_path: str, confdir: str, *, name: str, reverse_to: str | None = None):
    """Run the recorder; on exit stop it, then check the trace it stored (`Recorded` is filled in then)."""
    runner = ProxyRunner(ProxyConfig(db_path=db_path, port=0, confdir=confdir, name=name,
                                     reverse=[ReverseTarget(reverse_to, 0)] if reverse_to else []))
    listening: Listening = runner.start_in_thread()
    recorded = Recorded()
    try:
        yield listening, recorded
    finally:
        stats = runner.stop()
    recorded.trace_id = stats.trace_id if stats else None
    assert recorded.trace_id is not None, "the recorder stored no trace"
    with Store.open(db_path) as store:
        recorded.report = check_trace(store, recorded.trace_id)
        recorded.hops = store.hops(recorded.trace_id)


def _where(hop: Hop | None) -> str:
    return f"#{hop.seq} {hop.method} {path(hop.url)}" if hop else "trace"
