"""The Findings tab's list: one line per finding; enter posts the finding so the screen can go to its hop."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from oauthtrace.model import Finding
from oauthtrace.tui.findings_view import finding_line


class FindingList(OptionList):
    BINDINGS = [("k", "cursor_up"), ("j", "cursor_down")]

    class Chosen(Message):
        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.findings: list[Finding] = []

    def show(self, findings: list[Finding], note: str = "") -> None:
        self.findings = findings
        self.clear_options()
        if findings:
            self.add_options([Option(finding_line(f), id=f"f:{i}") for i, f in enumerate(findings)])
        else:
            self.add_option(Option(Text(note or "No findings.", style="dim"), disabled=True))

    def current(self) -> Finding | None:
        if self.highlighted is None or not self.findings:
            return None
        return self.findings[self.highlighted]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.findings:
            self.post_message(self.Chosen(self.findings[event.option_index]))
