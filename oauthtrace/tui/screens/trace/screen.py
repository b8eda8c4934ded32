"""One trace: its exchanges as swimlanes (or every hop), and the detail of the hop the user is on.

The screen lays the widgets out and wires keys and widget messages to its behaviours, one module each: loading,
live (polling while recording), filtering, exporting, and navigation (the hop the detail shows). What they share is
a TraceView (plain data) and the TracePanes they draw on.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from oauthtrace.model import Trace
from oauthtrace.tui.reader import Analysis, Reader
from oauthtrace.tui.screens.trace.exporting import TraceExports
from oauthtrace.tui.screens.trace.filtering import PLACEHOLDER, HopFiltering
from oauthtrace.tui.screens.trace.live import LivePolling
from oauthtrace.tui.screens.trace.loading import TraceLoading
from oauthtrace.tui.screens.trace.navigation import HopNavigation
from oauthtrace.tui.screens.trace.panes import TracePanes
from oauthtrace.tui.screens.traces import TracesScreen
from oauthtrace.tui.trace_view import TraceView
from oauthtrace.tui.widgets.detail_tabs import DetailTabs
from oauthtrace.tui.widgets.exchange_list import ExchangeList
from oauthtrace.tui.widgets.finding_list import FindingList
from oauthtrace.tui.widgets.hop_list import HopList
from oauthtrace.tui.widgets.hop_message import HopMessage


class TraceScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("f", "findings_only", "Findings only"),
        Binding("c", "copy_curl", "Copy curl"),
        Binding("e", "export", "Export"),
        Binding("s", "left('exchanges')", "Exchanges"),
        Binding("a", "left('hops')", "All hops"),
        Binding("p", "detail('params')", "Params", show=False),
        Binding("h", "detail('headers')", "Headers", show=False),
        Binding("b", "detail('body')", "Body", show=False),
        Binding("F", "detail('findings')", "Findings", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, reader: Reader, trace_id: int | None, *, live: bool = False, live_after: int = 0) -> None:
        super().__init__()
        self.reader = reader
        self.view = TraceView(trace_id, live=live)
        self._panes = TracePanes(self, self.view)
        parts = (self, self.view, reader, self._panes)
        self._navigation = HopNavigation(*parts)
        self._filtering = HopFiltering(*parts)
        self._loading = TraceLoading(*parts, navigation=self._navigation, filtering=self._filtering)
        self._polling = LivePolling(*parts, loading=self._loading, live_after=live_after)
        self._exports = TraceExports(*parts)

    # what the command palette and the tests read
    @property
    def trace(self) -> Trace | None:
        return self.view.trace

    @property
    def analysis(self) -> Analysis | None:
        return self.view.analysis

    @property
    def current_seq(self) -> int | None:
        return self.view.current_seq

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…", style="dim"), id="trace-title")
        with Horizontal(id="main"):
            with TabbedContent(id="left", initial="exchanges"):
                with TabPane("Exchanges", id="exchanges"):
                    yield ExchangeList(id="swimlanes")
                with TabPane("All hops", id="hops"):
                    yield HopList(self.reader, id="hop-list")
            yield DetailTabs(id="detail")
        yield Input(placeholder=PLACEHOLDER, id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self._filtering.box.display = False
        if self.view.trace_id is not None:
            self._loading.open(self.view.trace_id)
        else:
            self._panes.show_title(Text("Live: waiting for the first flow through the proxy…", style="bold yellow"))
        if self.view.live:
            self._polling.start()

    # -- the hop the detail shows ----------------------------------------------------------------

    @on(ExchangeList.HopHighlighted)
    @on(HopList.Highlighted)
    def _highlighted(self, event: HopMessage) -> None:
        self._navigation.show(event.seq)

    @on(ExchangeList.HopChosen)
    @on(HopList.Selected)
    def _chosen(self, event: HopMessage) -> None:
        self._navigation.show(event.seq)
        self._panes.detail.query_one("Tabs").focus()

    @on(FindingList.Chosen)
    def _finding_chosen(self, event: FindingList.Chosen) -> None:
        self.jump_to_hop(event.finding.hop)

    def jump_to_hop(self, seq: int | None) -> None:
        """Put both lists on hop `seq` and show its Params (used by findings and the command palette)."""
        self._navigation.jump_to(seq)

    @on(TabbedContent.TabActivated, "#left")
    def _left_switched(self, event: TabbedContent.TabActivated) -> None:
        self._navigation.follow_tab(event.pane.id)

    # -- keys ------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self._filtering.open_box()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._filtering.submitted(event.value)

    def action_findings_only(self) -> None:
        self._filtering.toggle_findings_only()

    def action_left(self, tab: str) -> None:
        self._panes.show_left(tab)

    def action_detail(self, tab: str) -> None:
        self._panes.detail.active = tab

    def action_copy_curl(self) -> None:
        self._exports.copy_curl()

    def action_export(self) -> None:
        self._exports.export_json()

    def action_back(self) -> None:
        """Close the filter box, else drop the filter, else back to the traces (built now if the app opened here)."""
        if self._filtering.close_box() or self._filtering.clear():
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.switch_screen(TracesScreen(self.reader))
