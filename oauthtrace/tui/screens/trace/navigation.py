"""Which hop the detail shows, and both lists kept on it: choosing a hop, jumping to one (from a finding or the
command palette), and opening on what went wrong."""

from __future__ import annotations

from oauthtrace.model import Hop
from oauthtrace.tui.screens.trace.behaviour import TraceBehaviour


class HopNavigation(TraceBehaviour):
    def show(self, seq: int) -> None:
        """Show hop `seq` in the detail: at once when the analysis holds it, else once a worker has read it."""
        self.view.current_seq = seq
        known = self.view.known_hop(seq)
        if known is not None:
            self._arrived(known)
        elif self.view.trace is not None:
            trace_id, app = self.view.trace.id, self.screen.app
            self.screen.run_worker(lambda: app.call_from_thread(self._arrived, self.reader.hop(trace_id, seq)),
                                   thread=True, group="hop", exclusive=True, exit_on_error=False)

    def _arrived(self, hop: Hop | None) -> None:
        if hop is not None and hop.seq == self.view.current_seq:
            self.panes.detail.show_hop(hop, self.view.analysis)

    def jump_to(self, seq: int | None) -> None:
        """Put both lists on hop `seq` and show its Params."""
        if seq is None:
            return
        if self.panes.exchanges.select_seq(seq):
            self.panes.show_left("exchanges")
        elif self.panes.hop_list.move_to_seq(seq):
            self.panes.show_left("hops")
        self.panes.detail.active = "params"
        self.show(seq)

    def land(self) -> None:
        """Open on what went wrong (Analysis.landing_seq); on the hop list when no exchange was found."""
        target = self.view.analysis.landing_seq() if self.view.analysis else None
        if target is None:
            self.panes.hop_list.focus()
            return
        if self.panes.left_tab == "exchanges":
            self.panes.exchanges.focus()
        if not self.panes.exchanges.select_seq(target):
            self.show(target)

    def follow_tab(self, tab: str) -> None:
        """The list the user switched to moves to the hop the detail shows."""
        if self.view.current_seq is None:
            return
        if tab == "hops":
            self.panes.hop_list.move_to_seq(self.view.current_seq)
        else:
            self.panes.exchanges.select_seq(self.view.current_seq)

    def reselect(self) -> None:
        """After the swimlanes were drawn again: back on the hop the detail shows."""
        if self.view.current_seq is not None:
            self.panes.exchanges.select_seq(self.view.current_seq)
