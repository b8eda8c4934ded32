"""The traces in the database: start time, hops, exchanges and findings by severity; enter opens one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from oauthtrace.timeline import when
from oauthtrace.tui.reader import ANALYSIS_LIMIT, Reader, TraceRow
from oauthtrace.tui.text import one_line

COLUMNS = (("id", "#"), ("name", "name"), ("started", "started"), ("hops", "hops"), ("exchanges", "exchanges"),
           ("error", "errors"), ("warning", "warnings"), ("info", "info"))
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class TracesScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open"),
        Binding("r", "reload", "Reload"),
        Binding("k", "cursor('up')", "Up", show=False),
        Binding("j", "cursor('down')", "Down", show=False),
    ]

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self.reader = reader
        self.rows: list[TraceRow] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("Traces", style="bold"), id="traces-title")
        table = DataTable(id="traces", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.rows:
            self.action_reload()

    def action_reload(self) -> None:
        self.run_worker(self._read, thread=True, group="traces", exclusive=True, exit_on_error=False)

    def _read(self) -> None:
        rows = self.reader.traces()
        self.app.call_from_thread(self._filled, rows)
        for row in reversed(rows):  # newest first: the one the user most likely opens
            if row.trace.hop_count <= ANALYSIS_LIMIT:
                try:
                    exchanges, severities = self.reader.summary(row.trace.id)
                except Exception:  # a trace the analysis chokes on still lists
                    continue
                self.app.call_from_thread(self._summarized, row.trace.id, exchanges, severities)

    def _filled(self, rows: list[TraceRow]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for row in rows:
            trace = row.trace
            table.add_row(
                Text(str(trace.id)), Text(one_line(trace.name, 40)), Text(when(trace.created)),
                Text(str(trace.hop_count), justify="right"), Text("…", style="dim", justify="right"),
                *_severity_cells(row.severities), key=str(trace.id),
            )
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1) if keep else len(rows) - 1)
        title = f"Traces in {self.reader.db_path}" if rows else (
            f"No traces in {self.reader.db_path} yet: record one with `oauthtrace record` or `oauthtrace demo`")
        self.query_one("#traces-title", Static).update(Text(title, style="bold"))

    def _summarized(self, trace_id: int, exchanges: int | None, severities: dict[str, int]) -> None:
        table = self.query_one(DataTable)
        key = str(trace_id)
        if key not in table.rows:
            return
        table.update_cell(key, "exchanges", Text("—" if exchanges is None else str(exchanges), justify="right"))
        for column, cell in zip(("error", "warning", "info"), _severity_cells(severities)):
            table.update_cell(key, column, cell)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(DataTable)
        table.action_cursor_up() if direction == "up" else table.action_cursor_down()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None:
            return
        self.app.open_trace(self.rows[table.cursor_row].trace.id)


def _severity_cells(severities: dict[str, int]) -> list[Text]:
    return [Text(str(severities.get(s, 0)) if severities.get(s) else "·",
                 style=SEVERITY_STYLE[s] if severities.get(s) else "dim", justify="right")
            for s in ("error", "warning", "info")]
