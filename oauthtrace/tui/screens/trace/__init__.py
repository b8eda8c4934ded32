"""The trace screen (screen.py) and its behaviours, one module each: loading, live, filtering, exporting and
navigation, drawing on the widgets through panes.py."""

from oauthtrace.tui.screens.trace.screen import TraceScreen

__all__ = ["TraceScreen"]
