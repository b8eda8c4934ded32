"""`oauthtrace demo`: the motivating failure recorded end to end on this machine, no setup."""

from __future__ import annotations

import sys

import click

from oauthtrace.cli.options import db_option
from oauthtrace.demo.provider import BUGS
from oauthtrace.store import default_path


@click.command()
@db_option
@click.option("--bug", type=click.Choice(list(BUGS)), default="drop-state", show_default=True,
              help="Which provider mistake to reproduce.")
@click.option("--pkce", is_flag=True, help="The client uses PKCE (S256), like an MCP connector.")
@click.option("--browser/--no-browser", "use_browser", default=True, show_default=True,
              help="Drive headless Chromium when installed; otherwise a built-in user agent.")
@click.option("--back-channel", type=click.Choice(["reverse", "proxy"]), default="reverse", show_default=True,
              help="Record the client's token request via a reverse proxy, or via HTTP_PROXY.")
@click.option("--ui/--no-ui", "open_ui", default=True, help="Open the terminal UI at the end (when in a terminal).")
def demo(db_path, bug, pkce, use_browser, back_channel, open_ui):
    """Run a bundled provider and a ChatGPT-like client, record the login through the real proxy, show it.

    \b
    Examples:
      oauthtrace demo                       # the provider drops `state` (the motivating case)
      oauthtrace demo --bug good --pkce     # a correct flow, for comparison
      oauthtrace demo --bug expires_in-as-string
    """
    from oauthtrace.capture.browser import find_chromium
    from oauthtrace.cli.browse import show
    from oauthtrace.demo.scenario import run_demo

    db_path = db_path or default_path()
    browser = find_chromium() if use_browser else None
    click.echo(f"Demo: the provider {BUGS[bug]}.")
    click.echo(f"Recording a login with {'headless Chromium' if browser else 'the built-in user agent'} "
               "through the proxy …")
    result = run_demo(db_path, bug=bug, pkce=pkce, browser=browser, back_channel=back_channel)
    outcome = result.outcome or {"message": "the client never answered", "status": None}
    click.echo(f"The client answered {outcome.get('status')}: {outcome.get('message')}")
    click.echo(f"Stored {result.stored} hops as trace {result.trace_id} in {db_path}\n")
    click.get_current_context().invoke(show, trace=str(result.trace_id), db_path=db_path, fmt="text")
    click.echo(f"\nNext: oauthtrace check --db {db_path} {result.trace_id}   ·   oauthtrace ui --db {db_path}")
    if open_ui and sys.stdout.isatty():
        _open_ui(db_path, result.trace_id)


def _open_ui(db_path: str, trace_id: int) -> None:
    try:
        from oauthtrace.tui.app import run_ui
    except ImportError:
        return
    run_ui(db_path, str(trace_id))
