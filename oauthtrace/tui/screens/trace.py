"""One trace: its exchanges as swimlanes (or every hop), and the detail of the hop the user is on.

Data arrives from thread workers (reader.Reader) through `app.call_from_thread`; the handlers only update widgets.
In live mode a timer polls the trace's hop count (WAL lets the UI read while the recorder writes) and, while no
trace exists yet, waits for the recorder to create one.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from oauthtrace.errors import UserError
from oauthtrace.model import Hop, Trace
from oauthtrace.tui.curl import curl_command
from oauthtrace.tui.filters import HopFilter, parse_filter
from oauthtrace.tui.reader import ANALYSIS_LIMIT, Analysis, HopSource, Reader
from oauthtrace.tui.text import one_line
from oauthtrace.tui.widgets.detail_tabs import DetailTabs
from oauthtrace.tui.widgets.exchange_list import ExchangeList
from oauthtrace.tui.widgets.finding_list import FindingList
from oauthtrace.tui.widgets.hop_list import HopList

POLL_SECONDS = 0.5
SIDE_WORDS = {"F": "front channel", "B": "back channel", "M": "metadata"}


class TraceScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("f", "findings_only", "Findings only"),
        Binding("c", "copy_curl", "Copy curl"),
        Binding("e", "export", "Export"),
        Binding("s", "left('exchanges')", "Exchanges"),
        Binding("a", "left('hops')", "All hops"),
        Binding("p", "detail('params')", "Params", show=False),
        Binding("h", "detail('headers')", "Headers", show=False),
        Binding("b", "detail('body')", "Body", show=False),
        Binding("F", "detail('findings')", "Findings", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, reader: Reader, trace_id: int | None, *, live: bool = False, live_after: int = 0) -> None:
        super().__init__()
        self.reader = reader
        self.trace_id = trace_id
        self.live = live
        self.live_after = live_after
        self.trace: Trace | None = None
        self.span: tuple[int, int, int] = (0, 0, 0)
        self.analysis: Analysis | None = None
        self.filter = HopFilter()
        self.current_seq: int | None = None
        self._analysis_round = 0
        self._polling = False
        self._landed = False  # moved to the first finding once

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…", style="dim"), id="trace-title")
        with Horizontal(id="main"):
            with TabbedContent(id="left", initial="exchanges"):
                with TabPane("Exchanges", id="exchanges"):
                    yield ExchangeList(id="swimlanes")
                with TabPane("All hops", id="hops"):
                    yield HopList(self.reader, id="hop-list")
            yield DetailTabs(id="detail")
        yield Input(placeholder="host:NAME  role:token  status:4xx  free text — enter applies, escape closes",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        if self.trace_id is not None:
            self._load(self.trace_id)
        else:
            self._title(Text("Live: waiting for the first flow through the proxy…", style="bold yellow"))
        if self.live:
            self.set_interval(POLL_SECONDS, self._poll)

    # -- loading ---------------------------------------------------------------------------------

    def _load(self, trace_id: int) -> None:
        self.run_worker(lambda: self._read_trace(trace_id), thread=True, group="trace", exit_on_error=False)

    def _read_trace(self, trace_id: int) -> None:
        trace, provisional = self.reader.header(trace_id)
        self.app.call_from_thread(self._opened, trace, provisional)
        if trace is None:
            return
        self._after_first_paint()
        exact = self.reader.span(trace_id)  # counting a million rows takes a while: after the first paint
        if exact != provisional:
            self.app.call_from_thread(self._grew, exact)
        self._read_analysis(trace_id, self._analysis_round)

    def _read_analysis(self, trace_id: int, round_: int) -> None:
        try:
            analysis = self.reader.analysis(trace_id)
        except Exception as exc:  # a broken rule or engine must not take the hop list down with it
            analysis = Analysis(trace_id, note=f"analysis failed: {type(exc).__name__}")
        self.app.call_from_thread(self._analyzed, analysis, round_)

    def _after_first_paint(self, limit: float = 1.0) -> None:
        """In a worker: wait (up to `limit` s) until the hop list has drawn rows, so the heavy reads that follow
        (the exact count, the analysis) do not compete with the first page for the CPU."""
        hop_list = self.query_one(HopList)
        deadline = time.monotonic() + limit
        while hop_list.painted == 0 and hop_list.source.count and time.monotonic() < deadline:
            time.sleep(0.01)

    def _opened(self, trace: Trace | None, span: tuple[int, int, int]) -> None:
        if trace is None:
            self.notify(f"trace {self.trace_id} is gone", severity="error")
            return
        self.trace, self.span = trace, span
        self.query_one(HopList).show(trace.id, HopSource.for_span(span), max_seq=span[1])
        self.query_one(HopList).follow = self.live
        if span[2] > ANALYSIS_LIMIT:
            self.action_left("hops")
        self._refresh_title()

    def _analyzed(self, analysis: Analysis, round_: int) -> None:
        if round_ != self._analysis_round:
            return
        self._analysis_round += 1  # later results of an earlier round are stale
        self.analysis = analysis
        self._show_lanes()
        self.query_one(HopList).set_marks(analysis.roles, analysis.worst)
        note = analysis.note or _not_evaluated_note(analysis)
        self.query_one(DetailTabs).show_findings(analysis.findings, note)
        self._refresh_title()
        if not self._landed:
            self._landed = True
            self._land()
        elif self.current_seq is not None:
            self.query_one(ExchangeList).select_seq(self.current_seq)

    def _land(self) -> None:
        """Open on what went wrong: the hop of the first error (else the first finding, else the first hop)."""
        analysis = self.analysis
        swimlanes = self.query_one(ExchangeList)
        if analysis is None or not analysis.exchanges:
            self.query_one(HopList).focus()
            return
        findings = sorted((f for f in analysis.findings if f.hop is not None),
                          key=lambda f: (f.severity != "error", f.severity != "warning"))
        target = findings[0].hop if findings else min(analysis.exchanges[0].hops, key=lambda h: h.seq).seq
        if self.query_one("#left", TabbedContent).active == "exchanges":
            swimlanes.focus()
        if not swimlanes.select_seq(target):
            self._show_hop(target)

    def _show_lanes(self) -> None:
        if self.analysis is None:
            return
        only = None if self.filter.empty else set(getattr(self, "_filtered", []))
        self.query_one(ExchangeList).show(self.analysis, only, self.analysis.note)

    # -- hop detail ------------------------------------------------------------------------------

    @on(ExchangeList.HopHighlighted)
    @on(HopList.Highlighted)
    def _highlighted(self, event) -> None:
        self._show_hop(event.seq)

    @on(ExchangeList.HopChosen)
    @on(HopList.Selected)
    def _chosen(self, event) -> None:
        self._show_hop(event.seq)
        self.query_one(DetailTabs).query_one("Tabs").focus()

    @on(FindingList.Chosen)
    def _finding_chosen(self, event: FindingList.Chosen) -> None:
        self.jump_to_hop(event.finding.hop)

    def jump_to_hop(self, seq: int | None) -> None:
        """Put both lists on hop `seq` and show its Params (used by findings and the command palette)."""
        if seq is None:
            return
        if self.query_one(ExchangeList).select_seq(seq):
            self.action_left("exchanges")
            self.query_one(ExchangeList).focus()
        elif self.query_one(HopList).move_to_seq(seq):
            self.action_left("hops")
            self.query_one(HopList).focus()
        self.query_one(DetailTabs).active = "params"
        self._show_hop(seq)

    def _show_hop(self, seq: int) -> None:
        self.current_seq = seq
        known = self.analysis.hops.get(seq) if self.analysis else None
        if known is not None:
            self._hop_arrived(known)
        elif self.trace is not None:
            trace_id = self.trace.id
            self.run_worker(lambda: self.app.call_from_thread(self._hop_arrived, self.reader.hop(trace_id, seq)),
                            thread=True, group="hop", exclusive=True, exit_on_error=False)

    def _hop_arrived(self, hop: Hop | None) -> None:
        if hop is not None and hop.seq == self.current_seq:
            self.query_one(DetailTabs).show_hop(hop, self.analysis)

    @on(TabbedContent.TabActivated, "#left")
    def _left_switched(self, event: TabbedContent.TabActivated) -> None:
        """Both lists stay on the hop the detail shows."""
        if self.current_seq is None:
            return
        if event.pane.id == "hops":
            self.query_one(HopList).move_to_seq(self.current_seq)
        else:
            self.query_one(ExchangeList).select_seq(self.current_seq)

    # -- live ------------------------------------------------------------------------------------

    def _poll(self) -> None:
        if self._polling:
            return
        self._polling = True
        self.run_worker(self._read_changes, thread=True, group="poll", exit_on_error=False)

    def _read_changes(self) -> None:
        try:
            if self.trace_id is None:
                latest = self.reader.latest_trace_id()
                if latest > self.live_after:
                    self.app.call_from_thread(self._bind, latest)
                return
            if self.span[2] > ANALYSIS_LIMIT:
                span = self.reader.header(self.trace_id)[1]
            else:
                span = self.reader.span(self.trace_id)
            if span != self.span:
                self.app.call_from_thread(self._grew, span)
        finally:
            self._polling = False

    def _bind(self, trace_id: int) -> None:
        if self.trace_id is None:
            self.trace_id = trace_id
            self._load(trace_id)

    def _grew(self, span: tuple[int, int, int]) -> None:
        if self.trace is None:
            return
        self.span = span
        if self.filter.empty:
            self.query_one(HopList).grow(HopSource.for_span(span), max_seq=span[1])
        else:
            self._apply_filter()
        self._refresh_title()
        if self.live and span[2] <= ANALYSIS_LIMIT:
            trace_id, round_ = self.trace.id, self._analysis_round
            self.run_worker(lambda: self._read_analysis(trace_id, round_), thread=True, group="analysis",
                            exit_on_error=False)

    # -- filter ----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        try:
            wanted = parse_filter(event.value)
        except UserError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        wanted.findings_only = self.filter.findings_only
        self.filter = wanted
        event.input.display = False
        self._apply_filter()
        self._focus_left()

    def action_findings_only(self) -> None:
        self.filter.findings_only = not self.filter.findings_only
        self._apply_filter()

    def _apply_filter(self) -> None:
        if self.trace is None:
            return
        if self.filter.empty:
            self._filtered = []
            self.query_one(HopList).show(self.trace.id, HopSource.for_span(self.span), max_seq=self.span[1])
            self._show_lanes()
            self._refresh_title()
            return
        trace_id, wanted, analysis = self.trace.id, self.filter, self.analysis
        self.run_worker(lambda: self.app.call_from_thread(self._filtered_ready, wanted,
                                                          self.reader.filtered(trace_id, wanted, analysis)),
                        thread=True, group="filter", exclusive=True, exit_on_error=False)

    def _filtered_ready(self, wanted: HopFilter, seqs: list[int]) -> None:
        if wanted is not self.filter or self.trace is None:
            return
        self._filtered = seqs
        self.query_one(HopList).show(self.trace.id, HopSource(count=len(seqs), seqs=seqs), max_seq=self.span[1])
        self._show_lanes()
        self._refresh_title()
        if not seqs:
            self.notify(f"No hop matches {wanted.describe()}", severity="warning", markup=False)

    # -- actions ---------------------------------------------------------------------------------

    def action_left(self, tab: str) -> None:
        self.query_one("#left", TabbedContent).active = tab
        self._focus_left()

    def action_detail(self, tab: str) -> None:
        self.query_one(DetailTabs).active = tab

    def _focus_left(self) -> None:
        active = self.query_one("#left", TabbedContent).active
        (self.query_one(ExchangeList) if active == "exchanges" else self.query_one(HopList)).focus()

    def action_copy_curl(self) -> None:
        if self.trace is None or self.current_seq is None:
            self.notify("No hop selected", severity="warning")
            return
        seq, trace_id = self.current_seq, self.trace.id
        known = self.analysis.hops.get(seq) if self.analysis else None
        if known is not None:
            self._copy(known)
            return
        self.run_worker(lambda: self.app.call_from_thread(self._copy, self.reader.hop(trace_id, seq)),
                        thread=True, group="copy", exit_on_error=False)

    def _copy(self, hop: Hop | None) -> None:
        if hop is None:
            return
        self.app.copy_to_clipboard(curl_command(hop))
        self.notify(f"Copied hop #{hop.seq} as a curl command (it holds the recorded credentials)", markup=False)

    def action_export(self) -> None:
        if self.trace is None:
            return
        trace_id = self.trace.id
        target = str(Path.cwd() / f"oauthtrace-trace-{trace_id}.json")
        self.run_worker(lambda: self._export(trace_id, target), thread=True, group="export", exit_on_error=False)

    def _export(self, trace_id: int, target: str) -> None:
        try:
            message, severity = self.reader.export(trace_id, target), "information"
        except UserError as exc:
            message, severity = str(exc), "error"
        except Exception as exc:  # say so rather than fail silently in the worker (no value: it may be a secret)
            message, severity = f"export failed: {type(exc).__name__}", "error"
        self.app.call_from_thread(self.notify, message, severity=severity, markup=False, timeout=8)

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.display = False
            self._focus_left()
        elif not self.filter.empty:
            self.filter = HopFilter()
            self._apply_filter()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            from oauthtrace.tui.screens.traces import TracesScreen

            self.app.switch_screen(TracesScreen(self.reader))

    # -- title -----------------------------------------------------------------------------------

    def _title(self, text: Text) -> None:
        self.query_one("#trace-title", Static).update(text)

    def _refresh_title(self) -> None:
        if self.trace is None:
            return
        text = Text(f"Trace {self.trace.id} ", style="bold")
        text.append(one_line(self.trace.name, 40), style="bold")
        text.append(f"  {self.span[2]} hops")
        analysis = self.analysis
        if analysis is not None and not analysis.note:
            text.append(f"  {len(analysis.exchanges)} exchange{'s' if len(analysis.exchanges) != 1 else ''}")
        if analysis is not None:
            counts = {s: sum(1 for f in analysis.findings if f.severity == s) for s in ("error", "warning", "info")}
            for severity, style in (("error", "bold red"), ("warning", "yellow"), ("info", "cyan")):
                if counts[severity]:
                    text.append(f"  {counts[severity]} {severity}{'s' if counts[severity] > 1 else ''}", style=style)
            if not analysis.findings and not analysis.note:
                text.append("  no findings", style="green")
        if self.live:
            text.append("  ● LIVE", style="bold green")
        if not self.filter.empty:
            shown = len(getattr(self, "_filtered", []))
            text.append(f"  filter: {one_line(self.filter.describe(), 50)} ({shown} hops)", style="bold magenta")
        self._title(text)


def _not_evaluated_note(analysis: Analysis) -> str:
    if not analysis.not_evaluated:
        return ""
    reasons = sorted({item.reason for item in analysis.not_evaluated}, key=len)
    more = f" (and {len(reasons) - 2} other reasons)" if len(reasons) > 2 else ""
    return f"{len(analysis.not_evaluated)} rule(s) not evaluated: {'; '.join(reasons[:2])}{more}"
