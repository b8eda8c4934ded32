"""Live mode, while `record --ui` writes: a timer polls the trace's hop span (WAL lets the UI read while the
recorder writes) and, while no trace exists yet, waits for the recorder to create one."""

from __future__ import annotations

from textual.screen import Screen

from oauthtrace.tui.reader import Reader
from oauthtrace.tui.screens.trace.behaviour import TraceBehaviour
from oauthtrace.tui.screens.trace.loading import TraceLoading
from oauthtrace.tui.screens.trace.panes import TracePanes
from oauthtrace.tui.trace_view import TraceView

POLL_SECONDS = 0.5


class LivePolling(TraceBehaviour):
    def __init__(self, screen: Screen, view: TraceView, reader: Reader, panes: TracePanes, *,
                 loading: TraceLoading, live_after: int) -> None:
        super().__init__(screen, view, reader, panes)
        self.loading = loading
        self.live_after = live_after  # the trace to follow is the first one with a higher id
        self._polling = False

    def start(self) -> None:
        self.screen.set_interval(POLL_SECONDS, self._poll)

    def _poll(self) -> None:
        if self._polling:
            return  # the last read has not answered yet
        self._polling = True
        self.screen.run_worker(self._read_changes, thread=True, group="poll", exit_on_error=False)

    def _read_changes(self) -> None:
        """In a worker: has the recorder created the trace, or has the trace grown?"""
        app = self.screen.app
        try:
            if self.view.trace_id is None:
                latest = self.reader.latest_trace_id()
                if latest > self.live_after:
                    app.call_from_thread(self._created, latest)
                return
            span = self.reader.polled_span(self.view.trace_id, large=not self.view.analysable)
            if span != self.view.span:
                app.call_from_thread(self.loading.grew, span)
        finally:
            self._polling = False

    def _created(self, trace_id: int) -> None:
        if self.view.trace_id is None:
            self.view.trace_id = trace_id
            self.loading.open(trace_id)
