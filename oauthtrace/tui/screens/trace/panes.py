"""The trace screen's widgets as its behaviours update them: the title, the Exchanges and All hops lists on the
left, the detail tabs on the right. Drawing only: what to draw comes from the TraceView."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static, TabbedContent

from oauthtrace.tui.reader import HopSource
from oauthtrace.tui.trace_view import TraceView
from oauthtrace.tui.widgets.detail_tabs import DetailTabs
from oauthtrace.tui.widgets.exchange_list import ExchangeList
from oauthtrace.tui.widgets.hop_list import HopList


class TracePanes:
    def __init__(self, screen: Screen, view: TraceView) -> None:
        self.screen = screen
        self.view = view

    @property
    def exchanges(self) -> ExchangeList:
        return self.screen.query_one(ExchangeList)

    @property
    def hop_list(self) -> HopList:
        return self.screen.query_one(HopList)

    @property
    def detail(self) -> DetailTabs:
        return self.screen.query_one(DetailTabs)

    @property
    def left_tab(self) -> str:
        """`exchanges` or `hops`: which list the left side shows."""
        return self.screen.query_one("#left", TabbedContent).active

    @left_tab.setter
    def left_tab(self, tab: str) -> None:
        self.screen.query_one("#left", TabbedContent).active = tab

    def show_left(self, tab: str) -> None:
        """Switch the left side to `tab` and put the keyboard on its list."""
        self.left_tab = tab
        self.focus_left()

    def focus_left(self) -> None:
        (self.exchanges if self.left_tab == "exchanges" else self.hop_list).focus()

    def show_hops(self, source: HopSource) -> None:
        """Fill the All hops list from the top (growing it keeps the user's place: `hop_list.grow`)."""
        self.hop_list.show(self.view.trace.id, source, max_seq=self.view.span[1])

    def show_lanes(self) -> None:
        if self.view.analysis is None:
            return
        self.exchanges.show(self.view.analysis, self.view.shown_seqs(), self.view.analysis.note)

    def show_title(self, text: Text) -> None:
        self.screen.query_one("#trace-title", Static).update(text)

    def refresh_title(self) -> None:
        title = self.view.title()
        if title is not None:
            self.show_title(title)
