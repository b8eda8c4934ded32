"""The `/` filter and `f` (findings only): the box, and both lists narrowed to the hops that pass (read by a
worker: free text goes through the full-text index)."""

from __future__ import annotations

from textual.widgets import Input

from oauthtrace.errors import UserError
from oauthtrace.tui.filters import HopFilter, parse_filter
from oauthtrace.tui.screens.trace.behaviour import TraceBehaviour

PLACEHOLDER = "host:NAME  role:token  status:4xx  free text — enter applies, escape closes"


class HopFiltering(TraceBehaviour):
    @property
    def box(self) -> Input:
        return self.screen.query_one("#filter", Input)

    def open_box(self) -> None:
        self.box.display = True
        self.box.focus()

    def close_box(self) -> bool:
        """Hide the box if it is open (the filter stays); whether it was."""
        if not self.box.display:
            return False
        self.box.display = False
        self.panes.focus_left()
        return True

    def submitted(self, query: str) -> None:
        """Apply what the user typed; a bad term is a notification and the box stays open to correct it."""
        try:
            wanted = parse_filter(query)
        except UserError as exc:
            self.screen.notify(str(exc), severity="error", markup=False)
            return
        wanted.findings_only = self.view.filter.findings_only
        self.view.filter = wanted
        self.box.display = False
        self.apply()
        self.panes.focus_left()

    def toggle_findings_only(self) -> None:
        self.view.filter.findings_only = not self.view.filter.findings_only
        self.apply()

    def clear(self) -> bool:
        """Drop the filter if there is one; whether there was."""
        if self.view.filter.empty:
            return False
        self.view.filter = HopFilter()
        self.apply()
        return True

    def apply(self) -> None:
        """Narrow both lists to the filter (every hop again when it is empty)."""
        view = self.view
        if view.trace is None:
            return
        if view.filter.empty:
            view.filtered = []
            self._show()
            return
        trace_id, wanted, analysis, app = view.trace.id, view.filter, view.analysis, self.screen.app
        self.screen.run_worker(lambda: app.call_from_thread(self._ready, wanted,
                                                            self.reader.filtered(trace_id, wanted, analysis)),
                               thread=True, group="filter", exclusive=True, exit_on_error=False)

    def _ready(self, wanted: HopFilter, seqs: list[int]) -> None:
        if wanted is not self.view.filter or self.view.trace is None:
            return  # the user changed the filter meanwhile
        self.view.filtered = seqs
        self._show()
        if not seqs:
            self.screen.notify(f"No hop matches {wanted.describe()}", severity="warning", markup=False)

    def _show(self) -> None:
        self.panes.show_hops(self.view.hop_source())
        self.panes.show_lanes()
        self.panes.refresh_title()
