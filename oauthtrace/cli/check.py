"""`oauthtrace check`: lint traces and print the findings; the exit status says whether any is serious enough."""

from __future__ import annotations

import click

from oauthtrace.analysis.profiles import CHOICES
from oauthtrace.cli.options import db_option, format_option, open_store
from oauthtrace.gc_pause import gc_paused


@click.command("check")
@click.argument("traces", nargs=-1, metavar="[TRACE]...")
@db_option
@format_option("text", "json", "junit", "sarif")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), default="error", show_default=True,
              help="Exit 1 when a finding is at or above this severity.")
@click.option("--profile", type=click.Choice(CHOICES), default=None,
              help="Severities as this world expects them (default: gpt-actions or chatgpt-connector for ChatGPT "
                   "callbacks, mcp for MCP flows, else oauth2; chatgpt = gpt-actions).")
@click.option("--rule", "rules", multiple=True, metavar="ID",
              help="Run only this rule (repeatable, or comma-separated).")
@click.option("--baseline", metavar="TRACE", default=None,
              help="A golden recording of the same client and provider: baseline-drift reports what changed.")
@click.option("--stall-seconds", type=click.FloatRange(min=0), default=None, metavar="N",
              help="How long a client may take for its next step before flow-health rules say it stopped "
                   "(default 30).")
@click.pass_context
def check(ctx, traces, db_path, fmt, fail_on, profile, rules, baseline, stall_seconds):
    """Lint traces (ids or names; the latest when none) and print their findings.

    Exit status: 0 clean, 1 findings at or above --fail-on, 2 bad input.

    \b
    Examples:
      oauthtrace check
      oauthtrace check "demo drop-state" --format json
      oauthtrace check 3 4 --format sarif --fail-on warning > oauthtrace.sarif
      oauthtrace check --rule state-dropped --rule state-altered
      oauthtrace check connector-today --baseline connector-golden
    """
    from oauthtrace.analysis.engine import check_trace
    from oauthtrace.exporters.check_formats import exit_code, render

    only = [name.strip() for value in rules for name in value.split(",") if name.strip()] or None
    # Rendering the findings is paused too, and what the run leaves alive is frozen: the command ends right after,
    # and the collector would otherwise rescan every hop once more on the way out.
    with gc_paused(freeze=True):
        with open_store(db_path) as store:
            found = [store.resolve_trace(ref) for ref in traces] or [store.resolve_trace(None)]
            golden = store.resolve_trace(baseline) if baseline is not None else None
            reports = [check_trace(store, trace, profile=profile, only=only, baseline=golden,
                                   stall_seconds=stall_seconds) for trace in found]
        click.echo(render(fmt, reports, found, fail_on), nl=False)
    ctx.exit(exit_code(reports, fail_on))
