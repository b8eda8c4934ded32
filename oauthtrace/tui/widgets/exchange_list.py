"""The Exchanges tab: the exchanges of a trace as swimlanes (drawn by tui.lanes), a title per exchange, a lane
header, one arrow row per hop; moving onto a hop row posts its seq."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from oauthtrace.tui.lanes import exchange_title, header_row, lanes_for, swim_rows
from oauthtrace.tui.reader import Analysis
from oauthtrace.tui.widgets.hop_message import HopMessage


class ExchangeList(OptionList):
    BINDINGS = [
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("g", "first", "First", show=False),
        Binding("G", "last", "Last", show=False),
    ]

    class HopHighlighted(HopMessage):
        """The cursor is on the row of hop `seq`."""

    class HopChosen(HopMessage):
        """Enter on the row of hop `seq`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    def show(self, analysis: Analysis, only: set[int] | None = None, empty: str = "") -> None:
        """Fill with the analysis' exchanges; `only` limits the hop rows (a filter)."""
        options: list[Option] = []
        for exchange in analysis.exchanges:
            rows = [row for row in swim_rows(exchange, analysis.roles, analysis.findings)
                    if only is None or row.seq in only]
            if not rows:
                continue
            if options:
                options.append(Option(Text(""), disabled=True))
            options.append(Option(exchange_title(exchange, analysis.findings), id=f"ex:{exchange.index}",
                                  disabled=True))
            options.append(Option(header_row(lanes_for(exchange, analysis.roles)), disabled=True))
            options += [Option(row.text, id=f"hop:{row.seq}") for row in rows]
        self.clear_options()
        if not options:
            options.append(Option(Text(empty or "No OAuth exchange found in this trace: see All hops.",
                                       style="dim"), disabled=True))
        self.add_options(options)

    def select_seq(self, seq: int) -> bool:
        try:
            index = self.get_option_index(f"hop:{seq}")
        except Exception:  # OptionDoesNotExist: the hop is not in a shown exchange
            return False
        self.highlighted = index
        return True

    def highlighted_seq(self) -> int | None:
        if self.highlighted is None:
            return None
        option_id = self.get_option_at_index(self.highlighted).id or ""
        return int(option_id[4:]) if option_id.startswith("hop:") else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if (event.option_id or "").startswith("hop:"):
            self.post_message(self.HopHighlighted(int(event.option_id[4:])))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if (event.option_id or "").startswith("hop:"):
            self.post_message(self.HopChosen(int(event.option_id[4:])))
