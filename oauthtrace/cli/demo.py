"""`oauthtrace demo`: the motivating failure recorded end to end on this machine, no setup."""

from __future__ import annotations

import sys

import click

from oauthtrace.cli.options import db_option
from oauthtrace.cli.proxy_options import proxy_options
from oauthtrace.demo.provider import BUGS
from oauthtrace.demo.scenario import MCP_BUGS, MCP_REVISIONS
from oauthtrace.errors import UserError
from oauthtrace.store import default_path


@click.command()
@proxy_options
@db_option
@click.option("--bug", type=click.Choice(list(dict.fromkeys([*BUGS, *MCP_BUGS]))), default=None,
              help="Which mistake to reproduce (default: drop-state; with --mcp: good).")
@click.option("--mcp", "mcp", is_flag=True,
              help="An MCP server, an MCP-capable provider and a ChatGPT-like connector instead of a plugin.")
@click.option("--mcp-revision", "mcp_revision", type=click.Choice(list(MCP_REVISIONS)), default=MCP_REVISIONS[-1],
              show_default=True,
              help="With --mcp: the MCP revision server and connector speak. 2026-07-28 is the default because it is "
              "the specification's current revision (stateless: server/discover, Mcp-Method headers, a "
              "subscriptions/listen stream); 2025-11-25 (initialize, a session, a GET stream) is what many deployed "
              "connectors and servers still speak.")
@click.option("--pkce", is_flag=True, help="The client uses PKCE (S256), like an MCP connector.")
@click.option("--browser/--no-browser", "use_browser", default=True, show_default=True,
              help="Drive headless Chromium when installed; otherwise a built-in user agent.")
@click.option("--back-channel", type=click.Choice(["reverse", "proxy"]), default="reverse", show_default=True,
              help="Record the client's token request via a reverse proxy, or via HTTP_PROXY.")
@click.option("--ui/--no-ui", "open_ui", default=True, help="Open the terminal UI at the end (when in a terminal).")
def demo(db_path, bug, mcp, mcp_revision, pkce, use_browser, back_channel, open_ui):
    """Run a bundled provider and a ChatGPT-like client, record the login through the real proxy, show it.

    \b
    Examples:
      oauthtrace demo                       # the provider drops `state` (the motivating case)
      oauthtrace demo --bug good --pkce     # a correct flow, for comparison
      oauthtrace demo --bug expires_in-as-string
      oauthtrace demo --mcp                 # a connector logging in to an MCP server (2026-07-28)
      oauthtrace demo --mcp --mcp-revision 2025-11-25
      oauthtrace demo --mcp --bug prm-resource-mismatch
    """
    from oauthtrace.capture.browser import find_chromium
    from oauthtrace.cli.browse import show
    from oauthtrace.demo.scenario import run_demo

    db_path = db_path or default_path()
    browser = find_chromium() if use_browser else None
    if mcp:
        _mcp_demo(db_path, bug or "good", browser, open_ui, mcp_revision)
        return
    if click.get_current_context().get_parameter_source("mcp_revision") == click.core.ParameterSource.COMMANDLINE:
        raise UserError("--mcp-revision needs --mcp")
    bug = bug or "drop-state"
    if bug not in BUGS:
        raise UserError(f"--bug {bug} needs --mcp (without it: {', '.join(BUGS)})")
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


def _mcp_demo(db_path: str, bug: str, browser: str | None, open_ui: bool, revision: str) -> None:
    from oauthtrace.analysis.engine import check_trace
    from oauthtrace.cli.options import open_store
    from oauthtrace.exporters.timeline_text import render_trace
    from oauthtrace.demo.scenario import MCP_DEMO_STALL_SECONDS, MCP_STALL_BUGS, run_mcp_demo
    from oauthtrace.timeline import hop_row

    if bug not in MCP_BUGS:
        raise UserError(f"--bug {bug} is not an MCP scenario (with --mcp: {', '.join(MCP_BUGS)})")
    click.echo(f"Demo (MCP {revision}): {MCP_BUGS[bug]}.")
    click.echo(f"Recording a connector's login with {'headless Chromium' if browser else 'the built-in user agent'} "
               "through the proxy …")
    result = run_mcp_demo(db_path, bug=bug, browser=browser, revision=revision)
    outcome = result.outcome or {"message": "the connector never answered", "status": None}
    click.echo(f"The connector answered {outcome.get('status')}: {outcome.get('message')}")
    click.echo(f"Stored {result.stored} hops as trace {result.trace_id} in {db_path}\n")
    # a stalled client shows only once it has been idle longer than the window: the demo waited this long
    stall = MCP_DEMO_STALL_SECONDS if bug in MCP_STALL_BUGS else None
    with open_store(db_path) as store:
        trace = store.resolve_trace(result.trace_id)
        hops = store.hops(trace.id)
        report = check_trace(store, trace, stall_seconds=stall)
    render_trace(trace, [hop_row(hop, report.roles.get(hop.seq)) for hop in hops], report)
    more = f" --stall-seconds {stall:g}" if stall else ""
    click.echo(f"\nNext: oauthtrace check --db {db_path} {result.trace_id}{more}   ·   oauthtrace ui --db {db_path}")
    if open_ui and sys.stdout.isatty():
        _open_ui(db_path, result.trace_id)


def _open_ui(db_path: str, trace_id: int) -> None:
    from oauthtrace.tui.app import run_ui

    run_ui(db_path, str(trace_id))
