"""`oauthtrace record`: the proxy and recorder, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import ipaddress
import shlex
import sys

import click

from oauthtrace.capture.browser import BrowserProcess, open_browser
from oauthtrace.capture.child import ChildCommand, describe_exit, exit_status
from oauthtrace.capture.proxy import DEFAULT_CONFDIR, ProxyConfig, ProxyRunner, parse_reverse
from oauthtrace.capture.trust import trust_command
from oauthtrace.cli.options import db_option
from oauthtrace.cli.proxy_options import proxy_options
from oauthtrace.errors import UserError
from oauthtrace.store import Store, default_path


@click.command(context_settings={"allow_interspersed_args": False})
@db_option
@click.option("--port", default=8080, show_default=True, help="Port of the browser (explicit) proxy; 0 picks one.")
@click.option("--listen-host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback makes an open proxy: say it explicitly.")
@click.option("--reverse", "reverse_specs", multiple=True, metavar="URL[@PORT]",
              help="Reverse proxy in front of a provider; point the client's token URL at it. Repeatable.")
@click.option("--name", help="Name of the trace (default: a timestamp).")
@click.option("--browser", is_flag=True, help="Open Chromium/Chrome with a fresh profile using the proxy.")
@click.option("--open", "start_url", metavar="URL", default=None,
              help="The page --browser opens first (e.g. your app's login link); default: a blank page.")
@click.option("--confdir", default=DEFAULT_CONFDIR, show_default=True, help="mitmproxy's CA directory.")
@click.option("--only-hosts", multiple=True, metavar="REGEX", help="Record only these hosts. Repeatable.")
@click.option("--ignore-hosts", multiple=True, metavar="REGEX", help="Do not record these hosts. Repeatable.")
@click.option("--ui", "show_ui", is_flag=True, help="Show the flows live in the terminal UI; quitting it stops recording.")
@proxy_options
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def record(db_path, port, listen_host, reverse_specs, name, browser, start_url, confdir, only_hosts, ignore_hosts,
           show_ui, command):
    """Record OAuth traffic through a proxy into the database until Ctrl-C.

    \b
    Examples:
      oauthtrace record --browser
      oauthtrace record --reverse https://auth.example.com@8081 --name chatgpt-install
      oauthtrace record --upstream-ca ~/.local/share/mkcert/rootCA.pem -- npm run dev
      mitmdump -s addons/oauthtrace.py --set oauthtrace_db=oauthtrace.db   # same, from mitmproxy

    Point the browser at the printed proxy, and the client's token URL (e.g. ChatGPT's "Token URL") at the
    reverse listener, so both channels land in one trace. After `--`, a command (your app's server) runs with
    the proxy and its CA in its environment (HTTP(S)_PROXY, SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS
    …): its token requests are recorded too; recording stops when it exits, and it is stopped with the recording.
    """
    _check_listen_host(listen_host)
    if start_url and not browser:
        raise UserError("--open needs --browser (it is the page the started browser opens)")
    if start_url and not start_url.startswith(("http://", "https://")):
        raise UserError(f"bad --open {start_url!r}: give an http:// or https:// URL")
    if command and show_ui:
        raise UserError("--ui cannot share the terminal with a command's output: leave out one of them")
    child = ChildCommand(list(command)) if command else None
    db_path = db_path or default_path()
    reverse = [parse_reverse(spec, port + 1 + i if port else 0) for i, spec in enumerate(reverse_specs)]
    Store.open(db_path).close()  # fail on an unwritable path before binding any port
    config = ProxyConfig(db_path=db_path, listen_host=listen_host, port=port, reverse=reverse, name=name,
                         confdir=confdir, only_hosts=list(only_hosts), ignore_hosts=list(ignore_hosts))
    runner = ProxyRunner(config)
    browser_binary = _browser_binary() if browser else None
    browsers: list[BrowserProcess] = []
    child_exit: list[int] = []  # its exit code when it ended on its own, 2 when it could not start

    def child_exited(code: int) -> None:
        child_exit.append(code)
        click.echo(f"{describe_exit(child.argv, code)}; recording stops.", err=True)
        runner.request_stop()

    def ready(listening):
        _print_listening(listening, db_path)
        if browser_binary:
            browsers.append(open_browser(browser_binary, listening, start_url, on_early_exit=_say_browser_ended))
        if child and not _start_child(child, listening, child_exited):
            child_exit.append(2)
            runner.request_stop()

    try:
        stats = _run_with_ui(runner, db_path, ready) if show_ui else runner.run(on_ready=ready)
    finally:
        for opened in browsers:
            opened.close()
        if child:
            child.stop()
    click.echo(f"Stored {stats.stored} hop(s) in {db_path}" + (f" (trace {stats.trace_id})" if stats.trace_id else ""))
    if stats.failed:
        click.echo(f"Error: {stats.failed} hop(s) could not be stored: {stats.last_error}", err=True)
        sys.exit(1)
    if child_exit and child_exit[0]:
        sys.exit(exit_status(child_exit[0]))


def _start_child(child: ChildCommand, listening, on_exit) -> bool:
    click.echo(f"Running         {shlex.join(child.argv)}   (with the proxy and its CA in its environment)")
    sys.stdout.flush()  # before the command's own output, which shares the terminal
    try:
        child.start(listening.proxy_url, listening.ca_cert, on_exit)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        return False
    return True


def _say_browser_ended(message: str) -> None:
    click.echo(f"Warning: {message}", err=True)


def _run_with_ui(runner: ProxyRunner, db_path: str, ready):
    """The proxy in a thread and the UI, live, in the foreground; quitting the UI stops the proxy."""
    from oauthtrace.tui.app import run_ui

    listening = runner.start_in_thread()
    ready(listening)
    reverse = "".join(f"  reverse http://{addr[0]}:{addr[1]} -> {upstream}" for upstream, addr in listening.reverse)
    notice = f"Recording: browser proxy {listening.proxy_url}{reverse}  (q stops)"
    try:
        run_ui(db_path, None, live=True, notice=notice)
    finally:
        stats = runner.stop()
    if stats is None:
        raise UserError("the proxy stopped before the recorder could report")
    return stats


def _check_listen_host(listen_host: str) -> None:
    try:
        loopback = listen_host == "localhost" or ipaddress.ip_address(listen_host).is_loopback
    except ValueError:
        raise UserError(f"bad --listen-host {listen_host!r}: give an IP address") from None
    if not loopback:
        click.echo(f"Warning: listening on {listen_host}: anyone who can reach it can use this proxy.", err=True)


def _print_listening(listening, db_path: str) -> None:
    click.echo(f"Browser proxy   {listening.proxy_url}   (set it as the browser's HTTP and HTTPS proxy)")
    for upstream, addr in listening.reverse:
        click.echo(f"Reverse proxy   http://{addr[0]}:{addr[1]} -> {upstream}   (use it as the client's token URL)")
    click.echo(f"CA certificate  {listening.ca_cert}")
    click.echo(f"Trust it        {trust_command(listening.ca_cert)}")
    click.echo(f"Recording into  {db_path}; Ctrl-C to stop.", nl=True)
    sys.stdout.flush()


def _browser_binary() -> str:
    from oauthtrace.capture.browser import find_chromium

    binary = find_chromium()
    if binary is None:
        raise UserError("no Chromium or Chrome found; install one or set OAUTHTRACE_BROWSER")
    return binary


