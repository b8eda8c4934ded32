"""Option groups shared by several commands."""

from __future__ import annotations

import click

from oauthtrace.store import Store, default_path


def db_option(fn):
    return click.option(
        "--db",
        "db_path",
        metavar="FILE",
        default=None,
        help="Database file (default: $OAUTHTRACE_DB, else ./oauthtrace.db).",
    )(fn)


def open_store(db_path: str | None, *, create: bool = False) -> Store:
    """Open the database; reading commands do not create one by accident."""
    return Store.open(db_path or default_path(), create=create)


def format_option(*choices: str, default: str = "text"):
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
        help="Output format.",
    )
