"""SVG snapshots of the main screens on fixed data (hand-made hops, fixed clock and time zone, one rule).

pytest-textual-snapshot is not used: its pinned syrupy 4.8.0 requires pytest < 9 and this environment runs
pytest 9. So the screens are exported with App.export_screenshot() and compared with tests/snapshots/*.svg.
A changed screen fails with the differing text lines; after checking the new look, refresh the files with
    OAUTHTRACE_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tui_snapshots.py
(never in CI: with `CI` set that variable fails the tests instead of rewriting the files).
The SVGs depend on the Textual version, pinned in the test extras.
"""

from __future__ import annotations

import functools
import html
import os
import re
import time
from pathlib import Path

import pytest

import oauthtrace.analysis.engine as engine
import oauthtrace.store.traces as trace_queries
from oauthtrace.store import Store
from oauthtrace.tui.app import build_app
from oauthtrace.tui.screens.trace import TraceScreen
from tests.hops import flow
from tests.tui_support import settle, snapshot_update_requested

SNAPSHOTS = Path(__file__).parent / "snapshots"
SIZE = (140, 34)
RULES = ["state-dropped"]  # findings from other rules would change these screens whenever a rule is added


@pytest.fixture
def fixed_db(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(trace_queries.time, "time", lambda: 1_700_000_000.0)
    monkeypatch.setattr(engine, "analyze", functools.partial(engine.analyze, only=RULES))
    monkeypatch.chdir(tmp_path)
    db = "snap.db"  # relative: the traces screen shows the path
    with Store.open(db) as store:
        trace_id = store.create_trace("chatgpt plugin login")
        store.insert_hops([_with_trace(hop, trace_id) for hop in flow(returned_state=None)])
    yield db
    monkeypatch.undo()
    time.tzset()


def _with_trace(hop, trace_id):
    hop.trace_id = trace_id
    return hop


def check_snapshot(app, name: str, tmp_path) -> None:
    actual = app.export_screenshot(title="oauthtrace")
    expected_file = SNAPSHOTS / f"{name}.svg"
    if snapshot_update_requested() or not expected_file.exists():
        if os.environ.get("CI") and not expected_file.exists():
            pytest.fail(f"missing snapshot {expected_file}")
        expected_file.write_text(actual, encoding="utf-8")
        return
    expected = expected_file.read_text(encoding="utf-8")
    if actual != expected:
        (tmp_path / f"{name}.actual.svg").write_text(actual, encoding="utf-8")
        changed = [f"- {a}\n+ {b}" for a, b in zip(svg_lines(expected), svg_lines(actual)) if a != b]
        detail = "\n".join(changed[:10]) or "(same text; colours or layout differ)"
        pytest.fail(f"{name} differs from {expected_file} (new one: {tmp_path / (name + '.actual.svg')}):\n{detail}")


def svg_lines(svg: str) -> list[str]:
    """The text rows of an exported screenshot, for a readable failure message."""
    rows: dict[int, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+"[^>]*clip-path="url\(#[\w-]+-line-(\d+)\)">'
                             r"(.*?)</text>", svg):
        rows.setdefault(int(match.group(2)), []).append((float(match.group(1)), html.unescape(match.group(3))))
    return ["".join(text for _, text in sorted(parts)).replace("\xa0", " ").rstrip()
            for _, parts in sorted(rows.items())]


async def test_snapshot_trace_params(fixed_db, tmp_path):
    app = build_app(fixed_db, "1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.analysis is not None)
        check_snapshot(app, "trace_params", tmp_path)


async def test_snapshot_trace_findings(fixed_db, tmp_path):
    app = build_app(fixed_db, "1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.analysis is not None)
        await pilot.press("F")
        await settle(pilot)
        check_snapshot(app, "trace_findings", tmp_path)


async def test_snapshot_all_hops(fixed_db, tmp_path):
    app = build_app(fixed_db, "1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.analysis is not None)
        await pilot.press("a", "h")
        await settle(pilot)
        check_snapshot(app, "all_hops_headers", tmp_path)


async def test_snapshot_traces(fixed_db, tmp_path):
    app = build_app(fixed_db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "…" not in "".join(
            "".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()))
        check_snapshot(app, "traces", tmp_path)
