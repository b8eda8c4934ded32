"""`oauthtrace import` and `oauthtrace export`: thin wiring over oauthtrace.interchange."""

from __future__ import annotations

import sys
from functools import partial

import click

from oauthtrace.cli.options import db_option, open_store
from oauthtrace.errors import UserError

# Below this many items a progress bar only flickers.
PROGRESS_THRESHOLD = 2000


class TerminalProgress:
    """A rich progress bar on stderr, only when stderr is a terminal and the file is large."""

    def __init__(self):
        self._bar = None
        self._task = None

    def begin(self, label: str, total: int) -> None:
        if total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task(label, total=total)
        self._bar.start()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, count)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE…")
@db_option
@click.option("--name", default=None, help="Trace name (default: the file name).")
def import_files(files, db_path, name):
    """Import HAR files, mitmproxy flow files and oauthtrace JSON exports, one trace per file.

    \b
    Examples:
      oauthtrace import login.har                   # a HAR from Chrome, Firefox, Safari, Charles, Fiddler
      oauthtrace import capture.mitm --name staging  # written by `mitmdump -w capture.mitm`

    A hand-made HAR needs no more than each entry's request (method, url) and response; entries without
    startedDateTime keep the order the file lists them in (said in a note). Each file is imported in one
    transaction: a malformed file changes nothing and stops the run.
    """
    from oauthtrace.interchange.importer import import_files as run

    def report(item):
        note = f" ({item.skipped} non-HTTP flows skipped)" if item.skipped else ""
        click.echo(f"Imported {item.path} as trace {item.trace_id} {item.name!r}: {item.hop_count} hops{note}")
        for text in item.notes:
            click.echo(f"  note: {text}")

    run(list(files), open_store=lambda: open_store(db_path, create=True), name=name, progress=TerminalProgress(),
        on_imported=report)


@click.command("export")
@click.argument("trace", required=False)
@db_option
@click.option("--format", "fmt", type=click.Choice(["har", "json", "markdown"]), default="har", show_default=True,
              help="HAR 1.2, oauthtrace's own lossless JSON, or a Markdown report (Mermaid diagram, findings).")
@click.option("-o", "--output", metavar="FILE", default=None, help="Write here (atomically) instead of stdout.")
@click.option("--no-redact", is_flag=True, help="Keep secrets as they are (the export is then sensitive).")
@click.option("--redact", "extra", multiple=True, metavar="NAME",
              help="Also redact this parameter or header (repeatable, or comma-separated).")
def export(trace, db_path, fmt, output, no_redact, extra):
    """Export a trace (default: the latest) as HAR, JSON or a Markdown report, with secrets redacted.

    \b
    Examples:
      oauthtrace export > trace.har                 # latest trace, redacted, as HAR
      oauthtrace export 3 --format json -o trace.json --redact username
      oauthtrace export --format markdown -o report.md   # to paste into a forum post or a GitHub issue

    Passwords, client secrets, codes, tokens (JWTs keep header and claims), cookies, Authorization headers and
    code_verifier become fingerprints like ‹redacted:3f9a1c›: equal values stay equal within one export.
    """
    from oauthtrace.exporters.markdown import export_markdown
    from oauthtrace.interchange.export import export_trace, write_atomically

    names = [name.strip() for value in extra for name in value.split(",") if name.strip()]
    if no_redact and names:
        raise UserError("--redact and --no-redact contradict each other")
    with open_store(db_path) as store:
        write = export_markdown if fmt == "markdown" else partial(export_trace, fmt=fmt)
        chunks = write(store, trace, redact=not no_redact, extra=names)
        if output:
            write_atomically(output, chunks, private=no_redact)
        else:
            stream = click.get_binary_stream("stdout")
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
    if no_redact:
        click.echo("Warning: this export is NOT redacted; it holds passwords, tokens and cookies.", err=True)
