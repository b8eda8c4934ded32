"""The detail pane's tabs: Params, Headers and Body of the hop the user is on, and the trace's Findings."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import OptionList, Static, TabbedContent, TabPane

from oauthtrace.model import Finding, Hop
from oauthtrace.tui.exchange_params import render_exchange, render_hop
from oauthtrace.tui.findings_view import finding_detail
from oauthtrace.tui.headers_and_body import body_view, headers_view
from oauthtrace.tui.reader import Analysis
from oauthtrace.tui.widgets.finding_list import FindingList


class DetailTabs(Vertical):
    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @active.setter
    def active(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="params"):
            with TabPane("Params", id="params"):
                with VerticalScroll():
                    yield Static(Text("Choose a hop.", style="dim"), id="params-view")
            with TabPane("Headers", id="headers"):
                with VerticalScroll():
                    yield Static(id="headers-view")
            with TabPane("Body", id="body"):
                with VerticalScroll():
                    yield Static(id="body-view")
            with TabPane("Findings", id="findings"):
                yield Static(id="findings-note")
                yield FindingList(id="finding-list")
                with VerticalScroll(id="finding-detail-scroll"):
                    yield Static(id="finding-detail")

    def show_hop(self, hop: Hop, analysis: Analysis | None) -> None:
        index = analysis.exchange_of.get(hop.seq) if analysis else None
        exchange = analysis.exchange(index) if index is not None else None
        self.query_one("#params-view", Static).update(render_exchange(exchange) if exchange else render_hop(hop))
        self.query_one("#headers-view", Static).update(headers_view(hop))
        self.query_one("#body-view", Static).update(body_view(hop))

    def show_findings(self, findings: list[Finding], note: str = "") -> None:
        rank = {"error": 0, "warning": 1, "info": 2}
        findings = sorted(findings, key=lambda f: (rank.get(f.severity, 3), f.exchange or 0, f.hop or 0))
        self.query_one(FindingList).show(findings)
        self.query_one("#findings-note", Static).update(Text(note, style="yellow") if note else Text(""))
        self.query_one("#findings-note", Static).display = bool(note)
        self.query_one("#finding-detail", Static).update(
            finding_detail(findings[0]) if findings else Text(""))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        finding_list = self.query_one(FindingList)
        if event.option_list is finding_list and finding_list.current() is not None:
            self.query_one("#finding-detail", Static).update(finding_detail(finding_list.current()))
