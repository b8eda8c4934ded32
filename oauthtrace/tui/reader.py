"""Every database read the UI makes. Called from worker threads only; each call opens its own Store connection
(SQLite connections are not shared across threads, and WAL lets them read while the recorder writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from oauthtrace.errors import UserError
from oauthtrace.model import Finding, Hop, Trace
from oauthtrace.report.exchange import ExchangeView, exchange_view
from oauthtrace.report.marks import worst_by_seq
from oauthtrace.store import Store
from oauthtrace.tui.filters import HopFilter

# Above this many hops the UI does not analyse a trace itself (memory grows with the hops); it shows the findings
# stored by `oauthtrace check` instead.
ANALYSIS_LIMIT = 50_000
PAGE = 200


@dataclass
class TraceRow:
    trace: Trace
    severities: dict[str, int]
    exchanges: int | None = None  # None until analysed (or too large to analyse here)


@dataclass
class Analysis:
    trace_id: int
    exchanges: list = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    not_evaluated: list = field(default_factory=list)
    hops: dict[int, Hop] = field(default_factory=dict)  # seq -> hop, for the hops of exchanges
    exchange_of: dict[int, int] = field(default_factory=dict)  # seq -> exchange index
    note: str = ""
    views: dict[int, ExchangeView] = field(default_factory=dict, repr=False)  # built when first shown

    @property
    def worst(self) -> dict[int, str]:
        return worst_by_seq(self.findings)

    def exchange(self, index: int) -> ExchangeView | None:
        """Exchange `index` as the report layer gives it to every view (stages, verdicts from the findings)."""
        if index not in self.views:
            found = next((e for e in self.exchanges if e.index == index), None)
            if found is None:
                return None
            self.views[index] = exchange_view(found, self.findings)
        return self.views[index]

    def findings_note(self) -> str:
        """What the Findings tab says above the list: why the analysis did not run, or which rules it skipped."""
        if self.note or not self.not_evaluated:
            return self.note
        reasons = sorted({item.reason for item in self.not_evaluated}, key=len)
        more = f" (and {len(reasons) - 2} other reasons)" if len(reasons) > 2 else ""
        return f"{len(self.not_evaluated)} rule(s) not evaluated: {'; '.join(reasons[:2])}{more}"

    def landing_seq(self) -> int | None:
        """The hop a trace opens on, what went wrong: the first error's (else the first warning's, else the first
        finding's, else the first hop of the first exchange); None when no exchange was found."""
        if not self.exchanges:
            return None
        findings = sorted((f for f in self.findings if f.hop is not None),
                          key=lambda f: (f.severity != "error", f.severity != "warning"))
        return findings[0].hop if findings else min(self.exchanges[0].hops, key=lambda h: h.seq).seq


@dataclass
class HopSource:
    """Which hops a list shows, row by row: a contiguous seq range, an explicit seq list, or plain offsets."""

    count: int
    first_seq: int = 1
    seqs: list[int] | None = None
    by_offset: bool = False

    @classmethod
    def for_span(cls, span: tuple[int, int, int]) -> "HopSource":
        low, high, count = span
        contiguous = count == 0 or high - low + 1 == count
        return cls(count=count, first_seq=low or 1, by_offset=not contiguous)

    @classmethod
    def for_seqs(cls, seqs: list[int]) -> "HopSource":
        return cls(count=len(seqs), seqs=seqs)

    def seq_at(self, row: int) -> int | None:
        if self.seqs is not None:
            return self.seqs[row] if 0 <= row < len(self.seqs) else None
        if self.by_offset:
            return None
        return self.first_seq + row if 0 <= row < self.count else None

    def row_of(self, seq: int) -> int | None:
        if self.seqs is not None:
            import bisect

            i = bisect.bisect_left(self.seqs, seq)
            return i if i < len(self.seqs) and self.seqs[i] == seq else None
        if self.by_offset:
            return None
        row = seq - self.first_seq
        return row if 0 <= row < self.count else None


class Reader:
    def __init__(self, db_path: str):
        self.db_path = db_path

    def _open(self) -> Store:
        return Store.open(self.db_path, create=False)

    def resolve_id(self, ref: str | None) -> int:
        with self._open() as store:
            return store.resolve_trace_id(ref)

    def latest_trace_id(self) -> int:
        with self._open() as store:
            return store.latest_trace_id()

    def traces(self) -> list[TraceRow]:
        with self._open() as store:
            counts = store.severity_counts()
            return [TraceRow(trace, counts.get(trace.id, {})) for trace in store.traces()]

    def trace(self, trace_id: int) -> Trace | None:
        with self._open() as store:
            return store.trace(trace_id)

    def header(self, trace_id: int) -> tuple[Trace | None, tuple[int, int, int]]:
        """The trace and a provisional span (lowest seq, highest seq, count assumed contiguous), from indexes
        only: what the first paint needs, at any size. `span` gives the exact count afterwards."""
        with self._open() as store:
            trace = store.trace_header(trace_id)
            low, high = store.seq_bounds(trace_id)
        return trace, (low, high, high - low + 1 if high else 0)

    def span(self, trace_id: int) -> tuple[int, int, int]:
        with self._open() as store:
            return store.seq_span(trace_id)

    def polled_span(self, trace_id: int, *, large: bool) -> tuple[int, int, int]:
        """The span to compare with the last one while recording: exact, or for a `large` trace (counting its rows
        takes a while) the provisional one of `header`, which still moves when a hop is added."""
        return self.header(trace_id)[1] if large else self.span(trace_id)

    def analysis(self, trace_id: int) -> Analysis:
        """Classify, correlate and lint the trace in memory (nothing is written); stored findings for huge ones."""
        with self._open() as store:
            count = store.hop_count(trace_id)
            if count > ANALYSIS_LIMIT:
                return Analysis(trace_id, findings=store.findings(trace_id),
                                note=f"{count} hops: showing stored findings (run `oauthtrace check` to refresh)")
            hops = store.hops(trace_id)
            listeners = store.trace_listeners(trace_id)
            trace = store.trace_header(trace_id)
        from oauthtrace.analysis.engine import analyze

        report = analyze(hops, trace_id=trace_id, listeners=listeners, source=trace.source if trace else None)
        found = Analysis(trace_id, exchanges=report.exchanges, roles=report.roles, findings=report.findings,
                         not_evaluated=report.not_evaluated)
        for exchange in report.exchanges:
            for hop in exchange.hops:
                found.hops[hop.seq] = hop
                found.exchange_of[hop.seq] = exchange.index
        return found

    def analysis_or_failure(self, trace_id: int) -> Analysis:
        """`analysis`, or an empty one whose note says it failed: a broken rule or engine must not take the hop
        list down with it."""
        try:
            return self.analysis(trace_id)
        except Exception as exc:
            return Analysis(trace_id, note=f"analysis failed: {type(exc).__name__}")

    def hop(self, trace_id: int, seq: int) -> Hop | None:
        with self._open() as store:
            return store.hop_by_seq(trace_id, seq)

    def page(self, trace_id: int, source: HopSource, page: int) -> list[tuple]:
        start, stop = page * PAGE, min((page + 1) * PAGE, source.count)
        if start >= stop:
            return []
        with self._open() as store:
            if source.seqs is not None:
                return store.hop_summaries_for(trace_id, source.seqs[start:stop])
            if source.by_offset:
                return store.hop_summaries(trace_id, start, stop - start)
            return store.hop_summaries_between(trace_id, source.first_seq + start, source.first_seq + stop - 1)

    def filtered(self, trace_id: int, wanted: HopFilter, analysis: Analysis | None) -> list[int]:
        """The seqs of the hops that pass every term of the filter, in order."""
        sets: list[set[int]] = []
        with self._open() as store:
            for host in wanted.hosts:
                sets.append(set(store.filter_hop_seqs(trace_id, host=host)))
            if wanted.status:
                sets.append(set(store.filter_hop_seqs(trace_id, status=wanted.status)))
            if wanted.text:
                sets.append(set(store.search_hops(trace_id, wanted.text, limit=10_000_000)))
            if not sets:
                low, high, _ = store.seq_span(trace_id)
                everything = None if (wanted.roles or wanted.findings_only) else set(range(low, high + 1))
                if everything is not None:
                    sets.append(everything)
        roles = analysis.roles if analysis else {}
        if wanted.roles:
            sets.append({seq for seq, role in roles.items() if role in wanted.roles})
        if wanted.findings_only:
            sets.append(set(analysis.worst) if analysis else set())
        found = set.intersection(*sets) if sets else set()
        return sorted(found)

    def export(self, trace_id: int, target: str) -> str:
        """Write the trace as redacted JSON to `target`; a one-line message saying what happened."""
        try:
            from oauthtrace.interchange.export import render, write_atomically
        except ImportError:
            return "Export is not available in this installation (no oauthtrace.interchange.export)"
        with self._open() as store:
            trace = store.trace(trace_id)
            hops = store.hops(trace_id)
        if trace is None:
            return f"trace {trace_id} is gone"
        write_atomically(target, [render(trace, hops, fmt="json", redact=True)], private=False)
        return f"Exported trace {trace_id} (redacted JSON) to {target}"

    def export_notice(self, trace_id: int, target: str) -> tuple[str, str]:
        """`export` as a notification: (message, severity). It never raises, it says what went wrong instead."""
        try:
            return self.export(trace_id, target), "information"
        except UserError as exc:
            return str(exc), "error"
        except Exception as exc:  # the name of the error only: its value may hold a secret
            return f"export failed: {type(exc).__name__}", "error"

    def summary(self, trace_id: int) -> tuple[int | None, dict[str, int]]:
        """(exchange count, findings by severity) of a trace, analysed in memory; (None, stored) when too big."""
        found = self.analysis(trace_id)
        severities: dict[str, int] = {}
        for finding in found.findings:
            severities[finding.severity] = severities.get(finding.severity, 0) + 1
        return (None if found.note else len(found.exchanges)), severities


def export_target(trace_id: int) -> str:
    """Where the UI's export writes a trace: the working directory, a name that says which trace it holds."""
    return str(Path.cwd() / f"oauthtrace-trace-{trace_id}.json")
