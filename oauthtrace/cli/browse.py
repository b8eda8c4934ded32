"""`oauthtrace list` and `oauthtrace show`: the traces, and one trace as a timeline with its findings."""

from __future__ import annotations

import json

import click

from oauthtrace.cli.options import db_option, format_option, open_store
from oauthtrace.timeline import hop_row, trace_row


@click.command("list")
@db_option
@format_option("text", "json")
def list_traces(db_path, fmt):
    """List the recorded traces with their hop counts.

    \b
    Example:
      oauthtrace list --format json
    """
    with open_store(db_path) as store:
        counts = store.severity_counts()
        rows = [trace_row(t, counts.get(t.id)) for t in store.traces()]
    if fmt == "json":
        click.echo(json.dumps({"traces": rows}, indent=2))
        return
    if not rows:
        click.echo("No traces yet. Record one with `oauthtrace record` or try `oauthtrace demo`.")
        return
    for row in rows:
        summary = ", ".join(f"{n} {sev}" for sev, n in sorted(row["findings"].items())) or "not checked"
        click.echo(f"{row['id']:>4}  {row['created']}  {row['hops']:>5} hops  {row['name']}  [{summary}]")


@click.command()
@click.argument("trace", required=False)
@db_option
@format_option("text", "json")
@click.option("--no-redact", is_flag=True, help="JSON only: keep codes, tokens and secrets in the URLs shown.")
def show(trace, db_path, fmt, no_redact):
    """Show one trace (id or name; the latest when omitted) as a timeline, with its findings.

    The text timeline shows hosts, paths and parameter names only; the JSON carries full URLs, redacted unless
    --no-redact.

    \b
    Examples:
      oauthtrace show
      oauthtrace show "demo drop-state" --format json
    """
    from oauthtrace.analysis.engine import check_trace
    from oauthtrace.exporters.timeline_text import render_trace

    with open_store(db_path) as store:
        found = store.resolve_trace(trace)
        hops = store.hops(found.id)
        report = check_trace(store, found)
    roles = report.roles
    shown_hops = hops if no_redact or fmt != "json" else _redacted(hops)
    rows = [hop_row(hop, roles.get(hop.seq)) for hop in shown_hops]
    findings = [f.as_dict() for f in report.findings]
    if fmt == "json":
        click.echo(json.dumps({"trace": {"id": found.id, "name": found.name}, "hops": rows, "findings": findings},
                              indent=2, ensure_ascii=False))
        return
    render_trace(found, rows, report)


def _redacted(hops):
    from oauthtrace.interchange.redact import Redactor

    return Redactor(hops).hops(hops)

