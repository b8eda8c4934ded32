"""`oauthtrace rules`: the rule catalogue."""

from __future__ import annotations

import json

import click

from oauthtrace.cli.options import format_option


@click.command("rules")
@format_option("text", "json", "markdown")
def rules(fmt):
    """List every rule: id, severity, blame, the side it needs, and its specification.

    \b
    Examples:
      oauthtrace rules
      oauthtrace rules --format json | jq '.[] | select(.family == "A")'
    """
    from oauthtrace.analysis.catalogue import catalogue, catalogue_text
    from oauthtrace.analysis.docs import render

    if fmt == "json":
        click.echo(json.dumps(catalogue(), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(render(), nl=False)
    else:
        click.echo(catalogue_text(), nl=False)
