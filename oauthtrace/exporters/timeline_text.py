"""Rendering a trace's timeline for the terminal. Captured text is never interpreted as Rich markup."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from oauthtrace.exporters.check_formats import format_text

ROLE_STYLE = {"authorize": "cyan", "callback": "magenta", "token": "yellow", "refresh": "yellow",
              "login": "blue", "consent": "blue", "metadata": "green", "registration": "green",
              "resource": "white"}


def render_trace(trace, rows: list[dict], report, console: Console | None = None) -> None:
    console = console or _console()
    console.print(Text(f"Trace {trace.id}: {trace.name}  ({len(rows)} hops)", style="bold"))
    faulty = {seq for f in report.findings if f.severity == "error" for seq in (f.hops or (f.hop,))}
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("#", "listener", "role", "method", "host/path", "status", "→ location"):
        table.add_column(column, overflow="fold")
    for row in rows:
        marker = "✗ " if row["seq"] in faulty else ""
        role = row["role"] or ""
        table.add_row(
            Text(f"{marker}{row['seq']}", style="red" if marker else ""),
            Text(row["listener"]),
            Text(role.upper(), style=ROLE_STYLE.get(role, "dim")),
            Text(row["method"]),
            Text(row["target"]),
            Text(str(row["status"]), style=_status_style(row["status"])),
            Text(row["redirect"]),
        )
    console.print(table)
    console.print(Text(format_text([report], [trace])))


def _status_style(status) -> str:
    if not isinstance(status, int):
        return "red"
    return "red" if status >= 400 else "yellow" if status >= 300 else "green"


def _console() -> Console:
    # Piped output (CI logs, `| less`) would wrap at 80 columns and split every URL.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)
