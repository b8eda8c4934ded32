"""Entries per second of `oauthtrace import` on a generated HAR, next to raw sqlite-utils insert_all of the same rows.

    python benchmarks/import_rate.py [--entries 50000] [--rounds 3] [--keep HAR]

The HAR is written by oauthtrace's own HAR export from realistic hops (ChatGPT-plugin flows with a login page,
PKCE flows, refreshes and API calls, MCP discovery, provider bugs, and the styles, scripts and pages a browser
loads around a login), about ten entries per flow. Each measurement runs in a fresh child process:
  - import:   what `oauthtrace import FILE` does: read, check and parse every entry into hops (URL and form
              parameters, headers, bodies), store the trace in one transaction, index it for full-text search;
  - baseline: read the same file, map each entry to the same hop row (method, URL, times, headers, bodies,
              status, Location) and sqlite-utils `insert_all` them into the same table, FTS trigger included.
Rates are entries per CPU second of the child (the machine may be shared); wall-clock rates are printed too.
Target: ≥ 20,000 entries/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

TARGET = 20_000.0


# -- the HAR ----------------------------------------------------------------------------------------


def build_har(path: str, entries: int) -> int:
    """Write a HAR of about `entries` entries; returns the exact count."""
    from check_scale import _one  # the check benchmark's mix of flows, browser noise included
    from hops import NO_STORE, flow, interleave, make_hop, metadata_hop

    from oauthtrace.interchange.har_export import har_document, har_entry
    from oauthtrace.model import Trace

    hops, n, seq = [], 0, 1
    while len(hops) < entries:
        group = [_one(k, 1, flow, make_hop, metadata_hop, NO_STORE) for k in range(n, n + 10)]
        batch = interleave(*group, first_seq=seq)
        seq += len(batch)
        hops += batch
        n += 10
    hops = hops[:entries]
    document = har_document(Trace(id=1, name="import benchmark", created=time.time()), [], redacted=False)
    document["log"]["entries"] = [har_entry(hop) for hop in hops]
    Path(path).write_text(json.dumps(document, ensure_ascii=False))
    return len(hops)


# -- the two measurements (each in a child process) -------------------------------------------------


def measure(what: str, har: str, db: str) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    if what == "import":
        from oauthtrace.interchange.importer import import_files
        from oauthtrace.store import Store

        [done] = import_files([har], open_store=lambda: Store.open(db))
        count = done.hop_count
    else:
        count = _insert_all(har, db)
    return {"entries": count, "seconds": time.process_time() - cpu, "wall": time.perf_counter() - start,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _insert_all(har: str, db: str) -> int:
    """The floor: the same rows into the same table through sqlite-utils, no checks, no parameter parsing."""
    from datetime import datetime

    import sqlite_utils

    from oauthtrace.store import Store

    Store.open(db).close()  # the same schema: hops with its FTS table and insert trigger
    database = sqlite_utils.Database(db)
    trace_id = database["traces"].insert({"name": "baseline", "created": time.time(), "source": "bench"}).last_pk

    def pairs(items) -> str:
        return json.dumps([[item["name"], item["value"]] for item in items], ensure_ascii=False)

    def rows():
        with open(har, encoding="utf-8") as handle:
            entries = json.load(handle)["log"]["entries"]
        for seq, entry in enumerate(entries, 1):
            request, response = entry["request"], entry["response"]
            started = datetime.fromisoformat(entry["startedDateTime"]).timestamp()
            yield {
                "trace_id": trace_id, "seq": seq, "name": f"#{seq} {request['method']} {request['url'][:80]}",
                "started": started, "ended": started + entry["time"] / 1000, "method": request["method"],
                "url": request["url"], "http_version": request["httpVersion"],
                "req_headers": pairs(request["headers"]), "req_body": (request.get("postData") or {}).get("text"),
                "status": response["status"], "resp_headers": pairs(response["headers"]),
                "resp_body": response["content"].get("text"), "location": response.get("redirectURL") or None,
            }

    database["hops"].insert_all(rows(), batch_size=2000)
    return database["hops"].count


def child(what: str, har: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="oauthtrace-import-bench-") as directory:
        db = os.path.join(directory, "bench.db")
        out = subprocess.run([sys.executable, __file__, "--measure", what, har, db], check=True,
                             capture_output=True, text=True)
    return json.loads(out.stdout)


def best(what: str, har: str, rounds: int) -> dict:
    return min((child(what, har) for _ in range(rounds)), key=lambda result: result["seconds"])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs of each (default 3)")
    parser.add_argument("--keep", metavar="HAR", help="reuse or keep the generated HAR here")
    parser.add_argument("--measure", nargs=3, metavar=("WHAT", "HAR", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return {}
    directory = tempfile.mkdtemp(prefix="oauthtrace-import-bench-")
    har = args.keep or os.path.join(directory, "bench.har")
    if not os.path.exists(har):
        started = time.perf_counter()
        count = build_har(har, args.entries)
        size = os.path.getsize(har) / 1e6
        print(f"generated {count} entries ({size:.0f} MB) in {time.perf_counter() - started:.0f} s")
    imported, baseline = best("import", har, args.rounds), best("baseline", har, args.rounds)
    assert imported["entries"] == baseline["entries"], (imported, baseline)
    rate = imported["entries"] / imported["seconds"]
    floor = baseline["entries"] / baseline["seconds"]
    for label, result in (("oauthtrace import", imported), ("sqlite-utils insert_all", baseline)):
        print(f"{label:24} {result['entries']} entries: CPU {result['seconds']:.2f} s "
              f"({result['entries'] / result['seconds']:,.0f}/s), wall {result['wall']:.2f} s "
              f"({result['entries'] / result['wall']:,.0f}/s), peak RSS {result['rss_mb']:.0f} MB")
    print(f"import vs raw insert_all: {rate / floor:.2f}×; target ≥ {TARGET:,.0f} entries/s: "
          f"{'met' if rate >= TARGET else 'NOT met'}")
    return {"figure": f"oauthtrace import, HAR of {imported['entries']:,} entries (entries/CPU-s)",
            "value": round(rate), "baseline": round(floor), "ratio": round(rate / floor, 2),
            "target": f"≥ {TARGET:,.0f}/s"}


if __name__ == "__main__":
    result = main()
    sys.exit(0 if not result or result["value"] >= TARGET else 1)
