"""`oauthtrace diff BASELINE TRACE`: what changed since a golden recording of the same client and provider."""

from __future__ import annotations

import json

import click

from oauthtrace.cli.options import db_option, format_option, open_store


@click.command("diff")
@click.argument("baseline")
@click.argument("trace")
@db_option
@format_option("text", "json")
@click.pass_context
def diff(ctx, baseline, trace, db_path, fmt):
    """Compare TRACE with the BASELINE recording (ids or names): parameters added or removed, another client
    authentication method, another redirect chain, changed metadata or registration.

    Exit status: 0 no drift, 1 something drifted, 2 bad input.

    \b
    Examples:
      oauthtrace diff "connector golden" latest-connector
      oauthtrace diff 3 7 --format json
    """
    from oauthtrace.analysis.drift import changes_since, render_json, render_text, side

    with open_store(db_path) as store:
        old, new = store.resolve_trace(baseline), store.resolve_trace(trace)
        changes = changes_since(side(store.hops(old.id), old.id), side(store.hops(new.id), new.id))
    if fmt == "json":
        click.echo(json.dumps(render_json(changes, old.id, new.id), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(render_text(changes, f'trace {old.id} "{old.name}"', f'trace {new.id} "{new.name}"'), nl=False)
    ctx.exit(1 if changes else 0)
