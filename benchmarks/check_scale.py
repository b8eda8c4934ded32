"""Cost of `oauthtrace check` on a large trace, against a raw SQLite scan of the same rows, in the same run.

    python benchmarks/check_scale.py [--exchanges 10000] [--keep DB]

Builds one trace of mixed exchanges (ChatGPT-plugin flows with a login, PKCE flows without one, flows with
refresh and resource calls, MCP-style discovery before the flow, and some with provider bugs), ten exchanges at a
time interleaved — about ten hops per exchange, so 10k exchanges ≈ 100k hops. Then, each in a fresh child
process so peak memory is the check's own:
  - scan:  SELECT every column of the trace's hops and touch each row (the floor any analysis pays);
  - check: what `oauthtrace check` does (read hops, classify, correlate, all rules, store findings).
Times are CPU seconds of the child (the machine may be shared); the wall time of check is printed too.
It also runs a tenth of the size to show the cost per hop stays flat (linear growth).
Targets: check ≤ 10× scan, peak RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TARGET_RATIO = 10.0
TARGET_RSS_MB = 300.0


def build(path: str, exchanges: int) -> int:
    """Write the trace; returns its hop count."""
    from oauthtrace.store import Store

    store = Store.open(path)
    trace_id = store.create_trace(f"scale {exchanges}")
    total, batch = 0, []
    for hops in generate(exchanges, trace_id):
        batch += hops
        if len(batch) > 20_000:
            total += store.insert_hops(batch)
            batch = []
    total += store.insert_hops(batch)
    store.close()
    return total


def generate(exchanges: int, trace_id: int):
    """The trace's hops, ten interleaved exchanges at a time (the same hops on every call)."""
    from hops import NO_STORE, flow, interleave, make_hop, metadata_hop  # the tests' realistic flow builder

    seq = 1
    for group in range(0, exchanges, 10):
        flows = [_one(n, trace_id, flow, make_hop, metadata_hop, NO_STORE) for n in range(group, min(group + 10, exchanges))]
        hops = interleave(*flows, first_seq=seq)
        seq += len(hops)
        yield hops


def _one(n: int, trace_id: int, flow, make_hop, metadata_hop, no_store):
    """One exchange of a kind chosen by n; hops of consecutive exchanges overlap in time."""
    t0 = 1_000_000.0 + n * 3.0
    common = dict(trace_id=trace_id, t0=t0, state=f"{n:08d}" + "s" * 24, code=f"{n:08d}" + "c" * 24,
                  client_id=f"client-{n % 50}", token_headers=no_store)
    kind = n % 5
    if kind == 0:
        hops = list(flow(**common))
    elif kind == 1:
        hops = list(flow(pkce=True, login=False, redirect_uri="https://client.test/cb", **common))
    elif kind == 2:
        hops = list(flow(token_json={"access_token": f"at-{n}", "token_type": "Bearer", "expires_in": 3600,
                                     "refresh_token": f"rt-{n}"}, **common))
        hops += [
            make_hop(0, "POST", "https://auth.example.com/token", trace_id=trace_id, started=t0 + 2.5,
                     listener="reverse:x", form=[("grant_type", "refresh_token"), ("refresh_token", f"rt-{n}")],
                     resp_json={"access_token": f"at2-{n}", "token_type": "Bearer"}),
            make_hop(0, "GET", "https://api.example.com/me", trace_id=trace_id, started=t0 + 2.6,
                     req_headers=[("Authorization", f"Bearer at2-{n}")], resp_json={"id": n}),
        ]
    elif kind == 3:
        hops = [
            make_hop(0, "GET", "https://mcp.example.com/mcp", trace_id=trace_id, started=t0 - 0.3, status=401,
                     resp_headers=[("WWW-Authenticate", 'Bearer resource_metadata="https://mcp.example.com/'
                                                        '.well-known/oauth-protected-resource"')]),
            metadata_hop(0, trace_id=trace_id, started=t0 - 0.2),
        ] + list(flow(pkce=True, redirect_uri="https://chatgpt.com/connector/oauth/c1", **common))
    else:
        bug = (n // 5) % 3
        hops = list(flow(returned_state=None if bug == 0 else f"{n:08d}", token_redirect_uri=None if bug == 2
                         else "https://chat.openai.com/aip/p-1/oauth/callback", **common))
    return hops + _page_noise(n, trace_id, t0, make_hop)


def _page_noise(n: int, trace_id: int, t0: float, make_hop) -> list:
    """What a browser fetches around a login besides OAuth: styles, scripts, icons, the app page afterwards."""
    return [
        make_hop(0, "GET", f"https://auth.example.com/static/login.css?v={n % 7}", trace_id=trace_id,
                 started=t0 + 0.25, content_type="text/css", resp_body="body{margin:0}"),
        make_hop(0, "GET", "https://auth.example.com/static/login.js", trace_id=trace_id, started=t0 + 0.26,
                 content_type="application/javascript", resp_body="void 0"),
        make_hop(0, "GET", "https://auth.example.com/favicon.ico", trace_id=trace_id, started=t0 + 0.27,
                 content_type="image/x-icon", resp_body=b"\x00\x00\x01\x00"),
        make_hop(0, "GET", f"https://chat.openai.com/g/g-{n % 97}", trace_id=trace_id, started=t0 + 2.4,
                 content_type="text/html", resp_body="<html><body>chat</body></html>"),
        make_hop(0, "GET", "https://chat.openai.com/backend-api/me", trace_id=trace_id, started=t0 + 2.45,
                 resp_json={"id": f"user-{n % 1000}"}),
    ]


def measure(path: str, what: str) -> dict:
    """Run in a child process: time one operation and report its peak RSS."""
    from oauthtrace.store import Store

    store = Store.open(path, create=False)
    trace = store.resolve_trace(None)
    start, cpu = time.perf_counter(), time.process_time()
    if what == "scan":
        rows = 0
        for row in store.conn.execute("SELECT * FROM hops WHERE trace_id = ? ORDER BY seq", (trace.id,)):
            rows += len(row) > 0
        result = {"rows": rows}
    else:
        from oauthtrace.analysis.engine import check_trace

        gc.disable()  # as the check command does while it runs (see oauthtrace/cli/check.py)
        report = check_trace(store, trace)
        result = {"exchanges": len(report.exchanges), "findings": len(report.findings)}
    result["wall"] = time.perf_counter() - start
    result["seconds"] = time.process_time() - cpu  # CPU time: other processes on the machine do not count
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def child(path: str, what: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", what, path], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)


def run(exchanges: int, keep: str | None) -> dict:
    directory = tempfile.mkdtemp(prefix="oauthtrace-bench-")
    path = keep or os.path.join(directory, "scale.db")
    if not os.path.exists(path):
        hops = build(path, exchanges)
    else:
        hops = None
    scan = min((child(path, "scan") for _ in range(3)), key=lambda r: r["seconds"])
    check = min((child(path, "check") for _ in range(2)), key=lambda r: r["seconds"])
    hops = hops or scan["rows"]
    return {"exchanges": check["exchanges"], "hops": hops, "scan": scan["seconds"], "check": check["seconds"],
            "check_wall": check["wall"],
            "ratio": check["seconds"] / scan["seconds"], "rss_mb": check["rss_mb"],
            "us_per_hop": check["seconds"] / hops * 1e6, "findings": check["findings"]}


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the benchmark and print it; returns the figures as rows for benchmarks/run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=10_000)
    parser.add_argument("--keep", metavar="DB", help="reuse or keep the generated database here")
    parser.add_argument("--measure", nargs=2, metavar=("WHAT", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[1], args.measure[0])))
        return []
    small = run(max(args.exchanges // 10, 10), None)
    large = run(args.exchanges, args.keep)
    for label, r in (("1/10 size", small), ("full size", large)):
        print(f"{label}: {r['hops']} hops, {r['exchanges']} exchanges, {r['findings']} findings | "
              f"CPU: scan {r['scan']:.3f} s, check {r['check']:.3f} s (wall {r['check_wall']:.3f} s), "
              f"ratio {r['ratio']:.1f}× | "
              f"{r['us_per_hop']:.0f} µs/hop | peak RSS {r['rss_mb']:.0f} MB")
    growth = large["us_per_hop"] / small["us_per_hop"]
    print(f"cost per hop, full vs 1/10 size: {growth:.2f}× (1.0 = linear)")
    ok = large["ratio"] <= TARGET_RATIO and large["rss_mb"] <= TARGET_RSS_MB
    print(f"targets: ratio ≤ {TARGET_RATIO:.0f}×, peak RSS ≤ {TARGET_RSS_MB:.0f} MB: {'met' if ok else 'NOT met'}")
    return [
        {"figure": f"oauthtrace check, {large['hops']:,} hops (CPU s; baseline: raw SQLite scan)",
         "value": round(large["check"], 2), "baseline": round(large["scan"], 3), "ratio": round(large["ratio"], 1),
         "target": f"ratio ≤ {TARGET_RATIO:.0f}", "met": large["ratio"] <= TARGET_RATIO},
        {"figure": "oauthtrace check, peak RSS (MB)", "value": round(large["rss_mb"]), "baseline": None,
         "ratio": None, "target": f"≤ {TARGET_RSS_MB:.0f}", "met": large["rss_mb"] <= TARGET_RSS_MB},
        {"figure": "check cost per hop, full vs 1/10 size (µs)", "value": round(large["us_per_hop"]),
         "baseline": round(small["us_per_hop"]), "ratio": round(growth, 2), "target": "≈ 1 (linear)",
         "met": growth <= 1.25},
    ]


if __name__ == "__main__":
    sys.exit(0 if all(row["met"] for row in main()) else 1)
