"""The `oauthtrace` command: a thin click layer; each command lives in its own module, loaded on use.

Commands import the layers they call inside the command function, for start-up time: `oauthtrace --help`,
`list` or `export` do not import mitmproxy, Textual or the rules they do not run."""

from __future__ import annotations

import importlib

import click

from oauthtrace.errors import UserError

# name -> "module:function". Loaded lazily so `oauthtrace list` does not pay for importing mitmproxy.
COMMANDS = {
    "record": "oauthtrace.cli.record:record",
    "list": "oauthtrace.cli.browse:list_traces",
    "show": "oauthtrace.cli.browse:show",
    "demo": "oauthtrace.cli.demo:demo",
    "ui": "oauthtrace.cli.ui:ui",
    "import": "oauthtrace.cli.interchange:import_files",
    "export": "oauthtrace.cli.interchange:export",
    "check": "oauthtrace.cli.check:check",
    "rules": "oauthtrace.cli.rules:rules",
    "replay": "oauthtrace.cli.replay:replay",
    "serve": "oauthtrace.cli.replay:serve",
    "diff": "oauthtrace.cli.diff:diff",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx):
        # Bad input is one line and exit 2, for the console script and for CliRunner alike.
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="oauthtrace")
def cli():
    """Record, lint and replay OAuth 2.0 / OpenID Connect exchanges.

    \b
    Start here:
      oauthtrace demo                  # the motivating failure, end to end
      oauthtrace record --browser      # record your own login
      oauthtrace check                 # lint the latest trace
    """


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="oauthtrace")
