"""Helpers for the interchange tests: run the real CLI entry point in-process and look at the database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from oauthtrace.cli import main
from oauthtrace.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "mitmproxy-test-data"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `oauthtrace ARGS`, through main() so errors print as users see them."""
    capsys.readouterr()
    try:
        main([str(arg) for arg in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def file_hash(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def traces(db_path) -> list:
    with Store.open(db_path, create=False) as store:
        return store.traces()


def hops_of(db_path, ref=None):
    with Store.open(db_path, create=False) as store:
        return store.hops(store.resolve_trace(ref).id)


def sample(relative: str) -> Path:
    path = FIXTURES / relative
    if not path.exists():
        pytest.fail(f"fixture {relative} missing")
    return path
