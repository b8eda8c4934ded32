"""Opening a trace and showing it as it grows: its header first (instant at any size), the exact hop count and the
analysis after the first paint. Reads happen in thread workers (reader.Reader); their results come back through
`app.call_from_thread` and only update widgets."""

from __future__ import annotations

import time

from textual.screen import Screen

from oauthtrace.model import Trace
from oauthtrace.tui.reader import ANALYSIS_LIMIT, Analysis, HopSource, Reader
from oauthtrace.tui.screens.trace.behaviour import TraceBehaviour
from oauthtrace.tui.screens.trace.filtering import HopFiltering
from oauthtrace.tui.screens.trace.navigation import HopNavigation
from oauthtrace.tui.screens.trace.panes import TracePanes
from oauthtrace.tui.trace_view import TraceView


class TraceLoading(TraceBehaviour):
    def __init__(self, screen: Screen, view: TraceView, reader: Reader, panes: TracePanes, *,
                 navigation: HopNavigation, filtering: HopFiltering) -> None:
        super().__init__(screen, view, reader, panes)
        self.navigation = navigation
        self.filtering = filtering
        self._analysis_round = 0  # later results of an earlier round are stale
        self._landed = False  # moved to the first finding once

    def open(self, trace_id: int) -> None:
        self.screen.run_worker(lambda: self._read_trace(trace_id), thread=True, group="trace", exit_on_error=False)

    def grew(self, span: tuple[int, int, int]) -> None:
        """The trace has other hops than shown: list them (through the filter, if any) and, live, analyse again."""
        view = self.view
        if view.trace is None:
            return
        view.span = span
        if view.filter.empty:
            self.panes.hop_list.grow(HopSource.for_span(span), max_seq=span[1])
        else:
            self.filtering.apply()
        self.panes.refresh_title()
        if view.live and view.analysable:
            trace_id, round_ = view.trace.id, self._analysis_round
            self.screen.run_worker(lambda: self._read_analysis(trace_id, round_), thread=True, group="analysis",
                                   exit_on_error=False)

    # -- in workers ------------------------------------------------------------------------------

    def _read_trace(self, trace_id: int) -> None:
        trace, provisional = self.reader.header(trace_id)
        self.screen.app.call_from_thread(self._opened, trace, provisional)
        if trace is None:
            return
        self._after_first_paint()
        exact = self.reader.span(trace_id)  # counting a million rows takes a while: after the first paint
        if exact != provisional:
            self.screen.app.call_from_thread(self.grew, exact)
        self._read_analysis(trace_id, self._analysis_round)

    def _read_analysis(self, trace_id: int, round_: int) -> None:
        analysis = self.reader.analysis_or_failure(trace_id)
        self.screen.app.call_from_thread(self._analyzed, analysis, round_)

    def _after_first_paint(self, limit: float = 1.0) -> None:
        """Wait (up to `limit` s) until the hop list has drawn rows, so the heavy reads that follow (the exact
        count, the analysis) do not compete with the first page for the CPU."""
        hop_list = self.panes.hop_list
        deadline = time.monotonic() + limit
        while hop_list.painted == 0 and hop_list.source.count and time.monotonic() < deadline:
            time.sleep(0.01)

    # -- on the UI thread ------------------------------------------------------------------------

    def _opened(self, trace: Trace | None, span: tuple[int, int, int]) -> None:
        if trace is None:
            self.screen.notify(f"trace {self.view.trace_id} is gone", severity="error")
            return
        self.view.trace, self.view.span = trace, span
        self.panes.show_hops(HopSource.for_span(span))
        self.panes.hop_list.follow = self.view.live
        if span[2] > ANALYSIS_LIMIT:
            self.panes.show_left("hops")
        self.panes.refresh_title()

    def _analyzed(self, analysis: Analysis, round_: int) -> None:
        if round_ != self._analysis_round:
            return
        self._analysis_round += 1
        self.view.analysis = analysis
        self.panes.show_lanes()
        self.panes.hop_list.set_marks(analysis.roles, analysis.worst)
        self.panes.detail.show_findings(analysis.findings, analysis.findings_note())
        self.panes.refresh_title()
        if not self._landed:
            self._landed = True
            self.navigation.land()
        else:
            self.navigation.reselect()
