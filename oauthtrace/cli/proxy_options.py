"""`--upstream-ca`, `--ssl-insecure` and `--set`: one decorator for every command that runs the proxy."""

from __future__ import annotations

import functools

import click

INSECURE_WARNING = ("Warning: --ssl-insecure: upstream certificates are not checked; anyone on the path to the "
                    "provider can read and change what is recorded.")


def proxy_options(fn):
    """Adds the options and keeps them out of the command's own arguments: every proxy the command starts
    (record's, or one deep in demo's scenario) takes them from `proxy_settings.in_effect`."""

    @functools.wraps(fn)
    def command(*args, upstream_ca, ssl_insecure, mitm_sets, **kwargs):
        from oauthtrace.capture.proxy_settings import ProxySettings, in_effect

        settings = ProxySettings.from_command_line(upstream_ca, ssl_insecure, mitm_sets)
        if ssl_insecure:
            click.echo(INSECURE_WARNING, err=True)
        with in_effect(settings):
            return fn(*args, **kwargs)

    options = [
        click.option("--upstream-ca", metavar="FILE", default=None,
                     help="Trust this CA (PEM) for upstream servers, besides the usual roots: a provider behind "
                          "mkcert, a company CA or a self-signed certificate."),
        click.option("--ssl-insecure", is_flag=True,
                     help="Do not verify upstream certificates (mitmdump's -k)."),
        click.option("--set", "mitm_sets", multiple=True, metavar="NAME=VALUE",
                     help="Any other mitmproxy option, as mitmdump --set takes it. Repeatable."),
    ]
    for option in reversed(options):
        command = option(command)
    return command
