"""`?`: the keys, in a modal."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("↑ ↓  j k", "move in a list"),
    ("PgUp PgDn  g G  Home End", "page, first, last"),
    ("enter", "open the trace / show the hop / jump to a finding's hop"),
    ("tab  shift+tab", "next / previous pane"),
    ("s  a", "Exchanges (swimlanes) / All hops"),
    ("p  h  b  F", "detail tabs: Params, Headers, Body, Findings"),
    ("/", "filter: host:NAME  role:token  status:4xx  or text (full-text search)"),
    ("f", "findings only (toggle)"),
    ("c", "copy the hop as a curl command"),
    ("e", "export the trace (redacted JSON) to the current directory"),
    ("ctrl+p", "command palette: jump to a trace, exchange or rule"),
    ("escape", "close the filter, clear it, go back"),
    ("q", "quit"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; height: auto; max-height: 90%; border: round $accent;
                                   background: $panel; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, what in KEYS:
            table.add_row(Text(keys), Text(what))
        with VerticalScroll():
            yield Static(Text("oauthtrace — keys", style="bold"))
            yield Static(table)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
