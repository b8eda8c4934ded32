"""Taking things out of the UI: the hop the user is on as a curl command on the clipboard (`c`), the trace as
redacted JSON in the working directory (`e`). File writes and hop reads happen in workers."""

from __future__ import annotations

from oauthtrace.model import Hop
from oauthtrace.tui.curl import curl_command
from oauthtrace.tui.reader import export_target
from oauthtrace.tui.screens.trace.behaviour import TraceBehaviour


class TraceExports(TraceBehaviour):
    def copy_curl(self) -> None:
        if self.view.trace is None or self.view.current_seq is None:
            self.screen.notify("No hop selected", severity="warning")
            return
        seq, trace_id, app = self.view.current_seq, self.view.trace.id, self.screen.app
        known = self.view.known_hop(seq)
        if known is not None:
            self._copy(known)
            return
        self.screen.run_worker(lambda: app.call_from_thread(self._copy, self.reader.hop(trace_id, seq)),
                               thread=True, group="copy", exit_on_error=False)

    def _copy(self, hop: Hop | None) -> None:
        if hop is None:
            return
        self.screen.app.copy_to_clipboard(curl_command(hop))
        self.screen.notify(f"Copied hop #{hop.seq} as a curl command (it holds the recorded credentials)",
                           markup=False)

    def export_json(self) -> None:
        if self.view.trace is None:
            return
        trace_id, target = self.view.trace.id, export_target(self.view.trace.id)
        self.screen.run_worker(lambda: self._export(trace_id, target), thread=True, group="export",
                               exit_on_error=False)

    def _export(self, trace_id: int, target: str) -> None:
        message, severity = self.reader.export_notice(trace_id, target)
        self.screen.app.call_from_thread(self.screen.notify, message, severity=severity, markup=False, timeout=8)
