"""What each behaviour of the trace screen (loading, live, filtering, exporting, navigation) works with."""

from __future__ import annotations

from textual.screen import Screen

from oauthtrace.tui.reader import Reader
from oauthtrace.tui.screens.trace.panes import TracePanes
from oauthtrace.tui.trace_view import TraceView


class TraceBehaviour:
    def __init__(self, screen: Screen, view: TraceView, reader: Reader, panes: TracePanes) -> None:
        self.screen = screen  # runs the workers, shows the notifications
        self.view = view  # what the behaviours know of the trace, shared
        self.reader = reader  # every database read, called in workers only
        self.panes = panes  # the widgets they draw on
