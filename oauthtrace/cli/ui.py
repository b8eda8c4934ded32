"""`oauthtrace ui`: the terminal UI over a database."""

from __future__ import annotations

import click

from oauthtrace.cli.options import db_option, open_store


@click.command()
@click.argument("trace", required=False)
@db_option
def ui(trace, db_path):
    """Browse traces, exchanges and findings in the terminal (TRACE: id or name opens it directly).

    \b
    Examples:
      oauthtrace ui                      # the list of traces
      oauthtrace ui --db demo.db 1       # trace 1: swimlanes, params, findings
    Keys: / filter, f findings only, c copy as curl, e export, ? help, q quit.
    """
    from oauthtrace.tui.app import run_ui

    with open_store(db_path) as store:  # a missing database or trace is a one-line error, before any drawing
        path = store.path
        if trace is not None:
            store.resolve_trace_id(trace)
    run_ui(path, trace)
