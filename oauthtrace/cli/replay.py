"""`oauthtrace replay` (a recording against a fixed server) and `oauthtrace serve` (a recording as a stub provider)."""

from __future__ import annotations

import click

from oauthtrace.analysis.profiles import CHOICES
from oauthtrace.cli.options import db_option, format_option, open_store


@click.command("replay")
@click.argument("source", required=False)
@db_option
@click.option("--target", "targets", multiple=True, metavar="ORIGIN=URL",
              help="Send what was recorded for ORIGIN to URL instead (repeatable). Nothing else gets a request.")
@click.option("--secret", "secrets", multiple=True, metavar="NAME=ENVVAR",
              help="Take secret NAME (password, client_secret, any form field) from $ENVVAR (repeatable).")
@click.option("--client-auth", type=click.Choice(["basic", "post", "none"]), default=None,
              help="Client authentication for a token request the recording did not hold (default: metadata).")
@click.option("--profile", type=click.Choice(CHOICES), default=None,
              help="Severity profile for both sides of the comparison (default: chosen per exchange).")
@click.option("--timeout", type=float, default=15.0, show_default=True, help="Seconds to wait for each answer.")
@format_option("text", "json", "junit")
@click.pass_context
def replay(ctx, source, db_path, targets, secrets, client_auth, profile, timeout, fmt):
    """Replay a recorded login against a fixed server and compare the findings.

    SOURCE is a trace (id or name; the latest recording when omitted) or a recording file (HAR or oauthtrace
    JSON). The replay plays the client: fresh state, nonce and PKCE, the recorded login forms with the live
    pages' CSRF values, the token request in the recorded shape. A form field the recording holds redacted and
    no --secret gives takes the value the live page fills in (a pre-filled password), with a note; if the page
    leaves it empty, that is exit 2 naming the --secret. It stops at the redirect to the client's callback and
    never contacts the client. A recording that ends before the token request (the client never
    asked for one) is replayed as far as it goes; without --secret client_secret=ENVVAR the token request is left
    out, and a note says so. Exit status: 0 fixed (no error-level finding remains, nothing new), 1 not fixed,
    2 bad input.

    \b
    Examples:
      oauthtrace replay "demo drop-state" --target http://127.0.0.1:8001=http://127.0.0.1:9000 \\
          --secret client_secret=DEMO_SECRET
      oauthtrace replay login.har --target https://auth.example.com=http://localhost:8000 \\
          --secret password=TEST_PASSWORD --secret client_secret=TEST_CLIENT_SECRET --format junit
    """
    from oauthtrace.replay.job import load_source, replay as run_replay
    from oauthtrace.replay.report import render
    from oauthtrace.replay.secrets import Secrets
    from oauthtrace.replay.session import Targets

    parsed_targets = Targets.parse(targets)
    parsed_secrets = Secrets.parse(secrets)
    with open_store(db_path, create=True) as store:
        found = load_source(source, store)
        result = run_replay(found, store, targets=parsed_targets, secrets=parsed_secrets, client_auth=client_auth,
                            profile=profile, timeout=timeout)
    click.echo(render(fmt, result), nl=False)
    ctx.exit(0 if result.passed else 1)


@click.command("serve")
@click.argument("source", required=False)
@db_option
@click.option("--port", type=int, default=0, show_default="any free port", help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def serve(source, db_path, port, host):
    """Answer as the recorded provider did, so a client can be tested offline.

    /authorize redirects straight back to the client's redirect_uri with the recorded response (the live
    state echoed, a fresh code); the token endpoint answers in the recorded shape (form-encoded, expires_in as
    a string … as recorded); metadata, userinfo and other recorded endpoints answer as recorded; a recorded
    id_token is issued afresh for the live client and nonce, signed with the stub's own key (published at the
    recorded jwks_uri); anything else gets a 404 that lists what the recording holds. Stop with Ctrl-C.

    \b
    Example:
      oauthtrace serve "demo good" --port 8400
    """
    from oauthtrace.replay.job import load_source
    from oauthtrace.replay.stub import StubProvider

    if source is not None and _is_file(source):
        found = load_source(source, None)
    else:
        with open_store(db_path) as store:
            found = load_source(source, store)
    stub = StubProvider.from_hops(found.hops, host=host, port=port)
    stub.start()
    click.echo(f"Serving {found.label} at {stub.url}")
    for line in stub.describe():
        click.echo(f"  {line}")
    click.echo("Press Ctrl-C to stop.")
    try:
        stub.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stub.stop()


def _is_file(path: str) -> bool:
    import os

    return os.path.isfile(path)
