"""The Textual app and `run_ui`, the factory the CLI, the demo and the tests share."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from oauthtrace.tui.commands import JumpCommands
from oauthtrace.tui.reader import Reader
from oauthtrace.tui.screens.help import HelpScreen
from oauthtrace.tui.screens.trace import TraceScreen
from oauthtrace.tui.screens.traces import TracesScreen


class OAuthTraceApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "oauthtrace"
    COMMANDS = App.COMMANDS | {JumpCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
    ]

    def __init__(self, db_path: str, trace_id: int | None = None, *, live: bool = False, live_after: int = 0,
                 notice: str | None = None) -> None:
        super().__init__()
        self.reader = Reader(db_path)
        self.trace_id = trace_id
        self.live = live
        self.live_after = live_after
        self.notice = notice

    def on_mount(self) -> None:
        # Opening a trace directly does not build the traces screen: escape brings it in (see TraceScreen).
        if self.trace_id is not None or self.live:
            self.push_screen(TraceScreen(self.reader, self.trace_id, live=self.live, live_after=self.live_after))
        else:
            self.push_screen(TracesScreen(self.reader))
        if self.notice:
            self.notify(self.notice, markup=False, timeout=15)

    def open_trace(self, trace_id: int) -> None:
        if isinstance(self.screen, TraceScreen):
            self.pop_screen()
        self.push_screen(TraceScreen(self.reader, trace_id, live=self.live and trace_id == self.trace_id))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def build_app(db_path: str, trace_ref: str | None = None, *, live: bool = False,
              notice: str | None = None) -> OAuthTraceApp:
    """The app for a database; a bad trace reference is a UserError before anything is drawn.

    Live without a trace follows the first trace created after the UI starts (the one `record --ui` writes).
    """
    reader = Reader(db_path)
    trace_id = reader.resolve_id(trace_ref) if trace_ref is not None else None
    live_after = reader.latest_trace_id() if live and trace_id is None else 0
    return OAuthTraceApp(db_path, trace_id, live=live, live_after=live_after, notice=notice)


def run_ui(db_path: str, trace_ref: str | None = None, live: bool = False, notice: str | None = None) -> None:
    build_app(db_path, trace_ref, live=live, notice=notice).run()
