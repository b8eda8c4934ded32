"""`record -- COMMAND`: the user's own server (the OAuth client whose back channel they want) started with the proxy
and its CA in its environment, so its token requests are recorded with no setup.

HTTP_PROXY/HTTPS_PROXY (both cases) reach Python (urllib, requests, httpx), curl, Go, Ruby and most Node HTTP
libraries; a bundle of certifi's roots plus the proxy's CA in SSL_CERT_FILE (OpenSSL, so Python's ssl and httpx),
REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and NODE_EXTRA_CA_CERTS makes them trust it. Node's own fetch needs more
(node_fetch_proxy.cjs). NO_PROXY is removed: the usual `localhost,127.0.0.1` would let a provider under
development on this machine go unrecorded.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

from oauthtrace.capture.ca_bundle import read_ca_file, remove_bundle, write_bundle
from oauthtrace.errors import UserError

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
BYPASS_VARIABLES = ("NO_PROXY", "no_proxy")
NODE_PRELOAD = Path(__file__).with_name("node_fetch_proxy.cjs")
STOP_GRACE_SECONDS = 5.0


def child_environment(base: dict[str, str], proxy_url: str, ca_bundle: Path) -> dict[str, str]:
    env = {name: value for name, value in base.items() if name not in BYPASS_VARIABLES}
    env.update({name: proxy_url for name in PROXY_VARIABLES})
    env.update({name: str(ca_bundle) for name in CA_VARIABLES})
    env["NODE_USE_ENV_PROXY"] = "1"  # Node ≥ 22.21 / 24: its own fetch and http honour HTTP(S)_PROXY
    preload = f'--require "{NODE_PRELOAD}"'  # older Node: see node_fetch_proxy.cjs
    env["NODE_OPTIONS"] = f"{env['NODE_OPTIONS']} {preload}" if env.get("NODE_OPTIONS") else preload
    return env


class ChildCommand:
    """One command run for the length of a recording; its output goes straight to the terminal.

    From a terminal it stays in record's foreground process group, as a shell would run it: a dev server that
    reads the keyboard would be stopped (SIGTTIN) in a background group, and Ctrl-C reaches it as usual. Without
    a terminal (CI, scripts) it gets a process group of its own, so that what it started is stopped with it.
    """

    def __init__(self, argv: list[str]):
        if not argv:
            raise UserError("nothing to run after --: give a command, e.g. `oauthtrace record -- npm run dev`")
        self.argv = argv
        self.process: subprocess.Popen | None = None
        self._bundle: Path | None = None
        self.stopped_by_us = False
        self._own_group = False

    def start(self, proxy_url: str, proxy_ca: Path, on_exit) -> None:
        """Start it; `on_exit(returncode)` is called from another thread when it ends on its own."""
        self._bundle = write_bundle(read_ca_file(str(proxy_ca), "proxy CA"), "oauthtrace-child-ca-")
        self._own_group = not sys.stdin.isatty()
        try:
            self.process = subprocess.Popen(self.argv, env=child_environment(dict(os.environ), proxy_url, self._bundle),
                                            process_group=0 if self._own_group else None)
        except OSError as exc:
            remove_bundle(self._bundle)
            raise UserError(f"cannot run {shlex.join(self.argv)}: {exc.strerror or exc}") from None

        def watch():
            code = self.process.wait()
            if not self.stopped_by_us:
                on_exit(code)

        threading.Thread(target=watch, daemon=True).start()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM (to its process group when it has one), SIGKILL after `grace` seconds; its exit code."""
        try:
            if self.process is None:
                return None
            if self.process.poll() is None:
                self.stopped_by_us = True
                self._signal(signal.SIGTERM)
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    self.process.wait()
            if self._own_group:
                self._signal(signal.SIGKILL)  # what it started and left behind
            return self.process.returncode
        finally:
            remove_bundle(self._bundle)

    def _signal(self, sig: int) -> None:
        try:
            if self._own_group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass


def describe_exit(argv: list[str], returncode: int) -> str:
    if returncode < 0:
        return f"{shlex.join(argv)} was stopped by {signal.Signals(-returncode).name}"
    return f"{shlex.join(argv)} exited with code {returncode}"


def exit_status(returncode: int) -> int:
    """A shell's convention: a child killed by signal N is 128+N."""
    return 128 - returncode if returncode < 0 else returncode
