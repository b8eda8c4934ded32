"""Load: 20 OAuth logins at a time through `oauthtrace record` (the real process) for OAUTHTRACE_LOAD_SECONDS
(default 10; the issue's full run is 60). Every login is stored, the analysis separates them (one exchange per
login, the state sent to /authorize is the one the callback got, the code the callback got is the one the client's
server exchanged), and the record process's memory stays flat.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from oauthtrace.analysis.engine import analyze
from oauthtrace.demo.agent import BuiltinAgent
from oauthtrace.demo.client import DemoClient
from oauthtrace.demo.provider import DemoProvider
from oauthtrace.params import path, query_pairs
from oauthtrace.store import Store
from tests.support.recording import start_record
from tests.support.upstreams import wait_until

pytestmark = [pytest.mark.load, pytest.mark.e2e]

WORKERS = 20
MAX_LOGINS_PER_WORKER = 5000  # a bound on the loop besides the clock
WARM_UP_LOGINS = 2  # per worker, before the first memory sample: mitmproxy fills its caches on first use
RSS_MARGIN = 1.10  # end RSS may exceed start RSS by 10 % ...
RSS_SLACK_KIB = 8 * 1024  # ... plus 8 MiB of allocator noise (measured: +6 MiB after 10 s and after 60 s)


def _seconds() -> float:
    return float(os.environ.get("OAUTHTRACE_LOAD_SECONDS", "10"))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


@pytest.fixture
def demo():
    provider = DemoProvider("good").start()
    yield provider
    provider.stop()


def _login(proxy_url: str, start_url: str) -> bool:
    page = BuiltinAgent(proxy_url).run(start_url)
    return '"Connected"' in page


STEPS = ("/start", "/authorize", "/login", "/aip/plugin-demo/oauth/callback", "/token", "/userinfo")


def _all_steps_stored(db_path: str, logins: int) -> bool:
    with sqlite3.connect(db_path) as conn:
        paths = Counter(path(url) for (url,) in conn.execute("SELECT url FROM hops"))
    return all(paths[step] == logins for step in STEPS)


def _first(pairs, name):
    return next((v for k, v in pairs if k == name), None)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads memory from /proc (Linux)")
def test_twenty_concurrent_logins_are_all_stored_separated_and_memory_stays_flat(demo, db_path, confdir):
    record = start_record(db_path, "--reverse", f"{demo.url}@0", "--name", "load", confdir=confdir)
    client = DemoClient(demo.url, back_channel_url=record.reverse[demo.url]).start()
    demo.redirect_uris.append(client.redirect_uri)
    start_url = f"{client.url}/start"
    results: list[bool] = []
    lock = threading.Lock()

    def worker(deadline: float | None, count: int):
        done = 0  # at least one login each, however late the thread starts: the clock bounds the run, not its result
        while done < count and (done == 0 or deadline is None or time.monotonic() < deadline):
            ok = _login(record.proxy_url, start_url)
            with lock:
                results.append(ok)
            done += 1

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(lambda _: worker(None, WARM_UP_LOGINS), range(WORKERS)))
        rss_start = rss_kib(record.process.pid)
        deadline = time.monotonic() + _seconds()
        with ThreadPoolExecutor(WORKERS) as pool:
            for future in [pool.submit(worker, deadline, MAX_LOGINS_PER_WORKER) for _ in range(WORKERS)]:
                future.result()
        # the writer has caught up (every login's last hop stored), so the end sample includes what it held
        assert wait_until(lambda: _all_steps_stored(db_path, len(results)), timeout=60)
        rss_end = rss_kib(record.process.pid)
        output = record.stop()
    finally:
        client.stop()
        if record.process.poll() is None:
            record.stop()

    logins = len(results)
    assert record.process.returncode == 0, output
    assert all(results), f"{results.count(False)} of {logins} logins failed"
    assert logins >= WORKERS * (WARM_UP_LOGINS + 1)

    with Store.open(db_path) as store:
        [trace] = store.traces()
        hops = store.hops(trace.id)
    paths = [path(hop.url) for hop in hops]
    for step in STEPS:
        assert paths.count(step) == logins, f"{step}: {paths.count(step)} stored for {logins} logins"

    report = analyze(hops, trace_id=trace.id)
    flows = [ex for ex in report.exchanges if ex.authorize is not None]
    assert len(flows) == logins, "one exchange per login"
    for exchange in flows:
        sent = _first(exchange.authorize.query, "state")
        assert exchange.callback is not None, f"exchange {exchange.index} lost its callback"
        assert _first(exchange.callback.query, "state") == sent, f"exchange {exchange.index} mixed two logins"
        [token] = exchange.tokens
        assert _first(token.form, "code") == _first(query_pairs(exchange.callback.url), "code")

    growth = rss_end - rss_start
    print(f"\n{logins} logins in {_seconds():.0f} s ({len(hops)} hops); record RSS {rss_start // 1024} MiB -> "
          f"{rss_end // 1024} MiB ({growth:+d} KiB)")
    assert rss_end <= rss_start * RSS_MARGIN + RSS_SLACK_KIB, f"RSS grew from {rss_start} to {rss_end} KiB"
