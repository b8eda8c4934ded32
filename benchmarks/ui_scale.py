"""Start-up and navigation of the terminal UI's all-hops list on traces of 100k and 1M hops.

    python benchmarks/ui_scale.py [--sizes 100000,1000000] [--keep DIR]

Builds one database per size (generated here: mostly noise around a few OAuth flows, bulk-inserted through
Store in batches), then, for each, in the same run:
  - baseline: a raw sqlite3 read of the first and of the last page of rows (what any list must pay);
  - first paint: from building the app to the first all-hops row drawn with real data (App.run_test);
  - jump to end: from pressing End to the last hop drawn; also a page down in the middle.
Target: first paint ≤ 0.5 s at 1M hops; jumps stay instant (tens of milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oauthtrace.model import Hop  # noqa: E402
from oauthtrace.store import Store  # noqa: E402

TARGET_FIRST_PAINT = 0.5
BATCH = 20_000
PAGE_ROWS = 200


def noise_hop(trace_id: int, seq: int) -> Hop:
    host = f"cdn{seq % 7}.example.com"
    return Hop(trace_id=trace_id, seq=seq, method="GET", url=f"https://{host}/static/{seq}.js?v={seq % 13}",
               started=1_700_000_000 + seq * 0.01, status=200 if seq % 50 else 304,
               req_headers=[("Host", host), ("Accept", "*/*")], resp_headers=[("Content-Type", "text/javascript")])


def oauth_hops(trace_id: int, seq: int) -> list[Hop]:
    """A small authorize → redirect → callback round, so the list has roles and redirects among the noise."""
    t = 1_700_000_000 + seq * 0.01
    state = f"st{seq}"
    authorize = (f"https://auth.example.com/authorize?response_type=code&client_id=app&state={state}"
                 "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb")
    callback = f"https://app.example.com/cb?code=c{seq}&state={state}"
    return [
        Hop(trace_id=trace_id, seq=seq, method="GET", url=authorize, started=t, status=302, location=callback,
            resp_headers=[("Location", callback)]),
        Hop(trace_id=trace_id, seq=seq + 1, method="GET", url=callback, started=t + 0.001, status=200),
    ]


def build(path: str, size: int) -> None:
    with Store.open(path) as store:
        trace_id = store.create_trace(f"ui scale {size}")
        seq, batch = 1, []
        while seq <= size:
            if seq % 1000 == 1 and seq + 1 <= size:
                batch += oauth_hops(trace_id, seq)
                seq += 2
            else:
                batch.append(noise_hop(trace_id, seq))
                seq += 1
            if len(batch) >= BATCH:
                store.insert_hops(batch, set_ids=False)
                batch = []
        store.insert_hops(batch, set_ids=False)


def raw_page_read(path: str, size: int) -> tuple[float, float]:
    """Seconds to read the first and the last page of rows with plain sqlite3 (fresh connection each)."""
    timings = []
    for first in (1, size - PAGE_ROWS + 1):
        start = time.perf_counter()
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT id, seq, started, listener, method, url, status, location, error FROM hops"
                            " WHERE trace_id = 1 AND seq BETWEEN ? AND ? ORDER BY seq",
                            (first, first + PAGE_ROWS - 1)).fetchall()
        conn.close()
        timings.append(time.perf_counter() - start)
        assert len(rows) == PAGE_ROWS
    return timings[0], timings[1]


async def textual_floor() -> tuple[float, float]:
    """Wall and CPU seconds for an empty Textual app to draw its first line: what no list can beat."""
    from textual.app import App
    from textual.scroll_view import ScrollView
    from textual.strip import Strip

    class Line(ScrollView):
        drawn = False

        def render_line(self, y: int) -> Strip:
            Line.drawn = True
            return Strip.blank(self.size.width)

    class Empty(App):
        def compose(self):
            yield Line()

    wall, cpu = time.perf_counter(), time.process_time()
    async with Empty().run_test(size=(160, 45)):
        await _until(lambda: Line.drawn)
        return time.perf_counter() - wall, time.process_time() - cpu


async def ui_timings(path: str, size: int) -> dict[str, float]:
    from oauthtrace.tui.app import build_app
    from oauthtrace.tui.widgets.hop_list import HopList

    start, cpu = time.perf_counter(), time.process_time()
    app = build_app(path, "1")
    async with app.run_test(size=(160, 45)) as pilot:
        hop_list = await _until(lambda: _hop_list(app, HopList))
        await _until(lambda: hop_list.painted > 0)
        first_paint = time.perf_counter() - start
        first_paint_cpu = time.process_time() - cpu

        hop_list.focus()
        await pilot.pause(0.5)  # let the exact count and the first detail settle: time the keys alone

        # From the key press to the row drawn (pilot.press itself also waits for the app to go idle).
        start = time.perf_counter()
        await pilot.press("end")
        await _until(lambda: hop_list.last_painted_seq == size)
        jump_end = hop_list.last_painted_at - start

        start = time.perf_counter()
        await pilot.press("home")
        await _until(lambda: hop_list.last_painted_seq is not None and hop_list.last_painted_seq < 100)
        jump_home = hop_list.last_painted_at - start

        hop_list.cursor = size // 2
        await _until(lambda: hop_list.last_painted_seq is not None and hop_list.last_painted_seq >= size // 2)
        await pilot.pause(0.3)
        before = hop_list.last_painted_seq
        start = time.perf_counter()
        await pilot.press("pagedown")
        await _until(lambda: hop_list.last_painted_seq is not None and hop_list.last_painted_seq > before + 10)
        page_down = hop_list.last_painted_at - start
    return {"first_paint": first_paint, "first_paint_cpu": first_paint_cpu, "jump_end": jump_end, "jump_home": jump_home, "page_down": page_down}


def _hop_list(app, kind):
    try:
        return app.screen.query_one(kind)
    except Exception:
        return None


async def _until(condition, timeout: float = 60.0):
    deadline = time.perf_counter() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.perf_counter() > deadline:
            raise TimeoutError("the UI did not get there in time")
        await asyncio.sleep(0.002)


def main(argv: list[str] | None = None) -> list[dict]:
    """Print the figures; return them as rows (figure, value, baseline, ratio, target) for benchmarks/run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--keep", metavar="DIR", help="Keep (and reuse) the databases in DIR.")
    args = parser.parse_args(argv)
    folder = args.keep or tempfile.mkdtemp(prefix="oauthtrace-ui-scale-")
    os.makedirs(folder, exist_ok=True)
    rows: list[dict] = []
    floor_wall, floor_cpu = asyncio.run(textual_floor())
    print(f"machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; baseline empty Textual app first paint:"
          f" {floor_wall * 1000:.0f} ms wall, {floor_cpu * 1000:.0f} ms CPU")
    for size in (int(s) for s in args.sizes.split(",")):
        path = os.path.join(folder, f"ui-{size}.db")
        if not os.path.exists(path):
            start = time.perf_counter()
            build(path, size)
            print(f"built {size:,} hops in {time.perf_counter() - start:.1f} s ({path})")
        first_raw, last_raw = raw_page_read(path, size)
        ui = asyncio.run(ui_timings(path, size))
        print(f"{size:>9,} hops  baseline raw page read: first {first_raw * 1000:.1f} ms, last {last_raw * 1000:.1f} ms")
        print(f"{'':>15}UI: first paint {ui['first_paint'] * 1000:.0f} ms wall, {ui['first_paint_cpu'] * 1000:.0f} ms CPU"
              f" (target ≤ {TARGET_FIRST_PAINT * 1000:.0f}),"
              f" jump to end {ui['jump_end'] * 1000:.0f} ms, back home {ui['jump_home'] * 1000:.0f} ms,"
              f" page down mid-list {ui['page_down'] * 1000:.0f} ms")
        rows.append(_row(f"UI first paint, {size:,} hops (ms)", ui["first_paint"], floor_wall,
                         f"≤ {TARGET_FIRST_PAINT * 1000:.0f} ms", ui["first_paint"] <= TARGET_FIRST_PAINT))
        rows.append(_row(f"UI jump to end, {size:,} hops (ms)", ui["jump_end"], last_raw, "instant (≤ 100 ms)",
                         ui["jump_end"] <= 0.1))
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _row(figure: str, seconds: float, baseline_seconds: float, target: str, met: bool) -> dict:
    return {"figure": figure, "value": round(seconds * 1000, 1), "baseline": round(baseline_seconds * 1000, 1),
            "ratio": round(seconds / baseline_seconds, 1) if baseline_seconds else None, "target": target, "met": met}


if __name__ == "__main__":
    sys.exit(0 if all(row["met"] for row in main()) else 1)
