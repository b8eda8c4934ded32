"""Throughput of `oauthtrace record` against plain `mitmdump -q` on the same load, in the same run.

    python benchmarks/proxy_overhead.py [--requests 3000] [--connections 8] [--rounds 5]

A local HTTP server answers a small JSON body; clients send requests over keep-alive connections through the
proxy. Rounds alternate between the two proxies, in turn first (ABBA), so drift on the machine hits both; the
median round counts.
Target: ratio ≥ 0.95. Also measured (Linux): CPU time per request of the whole proxy (with the recorder's writer
process) and of its main thread, mitmproxy's event loop, which bounds throughput; other load on the machine
disturbs these less than throughput. Every request must be stored, or the run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

TARGET_RATIO = 0.95
BODY = json.dumps({"access_token": "x" * 40, "token_type": "Bearer", "expires_in": 3600}).encode()


def start_server() -> int:
    """A minimal asyncio HTTP/1.1 keep-alive server, fast enough not to be the bottleneck."""
    ready = threading.Event()
    port_box: list[int] = []

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return port_box[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"proxy on port {port} did not start")


def load(proxy_port: int, server_port: int, requests: int, connections: int) -> float:
    """Requests per second through the proxy."""
    per_connection = requests // connections
    url = f"http://127.0.0.1:{server_port}/token"

    def worker(_):
        conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
        for _ in range(per_connection):
            conn.request("POST", url, body=b"grant_type=authorization_code&code=abc",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200
        conn.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(worker, range(connections)))
    return per_connection * connections / (time.perf_counter() - started)


def run_proxy(kind: str, workdir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    confdir = os.path.join(workdir, "conf")
    if kind == "mitmdump":
        mitmdump = shutil.which("mitmdump") or os.path.join(os.path.dirname(sys.executable), "mitmdump")
        cmd = [mitmdump, "-q", "--listen-host", "127.0.0.1", "--listen-port", str(port),
               "--set", f"confdir={confdir}", "--set", "connection_strategy=lazy"]
    else:
        cmd = [sys.executable, "-m", "oauthtrace", "record", "--db", os.path.join(workdir, f"bench-{port}.db"),
               "--port", str(port), "--confdir", confdir]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return process, port


def cpu_seconds(pid: int) -> tuple[float, float] | None:
    """(whole proxy, main thread) user + system CPU seconds so far (Linux /proc), or None elsewhere.

    The whole proxy is the process and its children (oauthtrace's writer process); the main thread runs
    mitmproxy's event loop, which bounds throughput.
    """
    try:
        whole = sum(_stat_cpu(f"/proc/{each}/stat") for each in (pid, *_descendants(pid)))
        return whole, _stat_cpu(f"/proc/{pid}/task/{pid}/stat")
    except OSError:
        return None


def _descendants(pid: int) -> list[int]:
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listed:
            children += [int(child) for child in listed.read().split()]
    return [found for child in children for found in (child, *_descendants(child))]


def _stat_cpu(path: str) -> float:
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(kind: str, server_port: int, args, workdir: str) -> tuple[float, tuple[float, float] | None]:
    """(requests per second, (process, event loop) CPU microseconds per request) for one round."""
    process, port = run_proxy(kind, workdir)
    warm_up = max(args.connections * 10, args.requests // 10) // args.connections * args.connections
    try:
        load(port, server_port, warm_up, args.connections)
        cpu_before = cpu_seconds(process.pid)
        rate = load(port, server_port, args.requests, args.connections)
        time.sleep(0.5)  # the recorder's last batch is converted and committed after the last response
        cpu_after = cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    if kind == "oauthtrace":
        expect_stored(os.path.join(workdir, f"bench-{port}.db"), warm_up + args.requests // args.connections *
                      args.connections)
    if cpu_before is None or cpu_after is None:
        return rate, None
    return rate, tuple((after - before) / args.requests * 1e6 for before, after in zip(cpu_before, cpu_after))


def expect_stored(db_path: str, count: int) -> None:
    """A faster recorder that drops flows would be no faster recorder."""
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT count(*) FROM hops").fetchone()[0]
    if stored != count:
        raise RuntimeError(f"oauthtrace record stored {stored} of {count} requests")


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    server_port = start_server()
    baseline, ours = [], []
    with tempfile.TemporaryDirectory(prefix="oauthtrace-bench-") as workdir:
        for number in range(args.rounds):
            order = ("mitmdump", "oauthtrace") if number % 2 == 0 else ("oauthtrace", "mitmdump")
            for kind in order:
                (baseline if kind == "mitmdump" else ours).append(measure(kind, server_port, args, workdir))
    throughput = figure("proxy throughput (req/s)", [r for r, _ in ours], [r for r, _ in baseline],
                        f"ratio ≥ {TARGET_RATIO}")
    rows = [throughput]
    print(f"mitmdump -q        {throughput['baseline']:8.0f} req/s   rounds: {_rounds(baseline, 0)}")
    print(f"oauthtrace record  {throughput['value']:8.0f} req/s   rounds: {_rounds(ours, 0)}")
    print(f"ratio              {throughput['ratio']:8.3f}         target ≥ {TARGET_RATIO}")
    if all(c is not None for _, c in baseline + ours):
        # CPU per request is steadier than throughput on a busy machine: other processes take wall time, not this.
        for index, name in ((0, "proxy CPU per request (µs)"), (1, "event-loop CPU per request (µs)")):
            cpu = figure(name, [c[index] for _, c in ours], [c[index] for _, c in baseline],
                         f"ratio ≤ {1 / TARGET_RATIO:.2f}")
            rows.append(cpu)
            print(f"{name:32} {cpu['baseline']:6.0f} (mitmdump)  {cpu['value']:6.0f} (oauthtrace)  "
                  f"rounds: {_rounds([c for _, c in baseline], index)} / {_rounds([c for _, c in ours], index)}")
    return rows


def figure(name: str, ours: list[float], baseline: list[float], target: str) -> dict:
    value, base = statistics.median(ours), statistics.median(baseline)
    return {"figure": name, "value": value, "baseline": base, "ratio": value / base, "target": target}


def _rounds(results, index: int) -> str:
    return ", ".join(f"{r[index]:.0f}" for r in results)


if __name__ == "__main__":
    main()
