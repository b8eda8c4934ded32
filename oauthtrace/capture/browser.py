"""Starting Chromium or Chrome so that it uses the proxy and trusts its CA, with a fresh profile."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAC_APPS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)


def find_chromium() -> str | None:
    override = os.environ.get("OAUTHTRACE_BROWSER")
    if override:
        return override if shutil.which(override) or Path(override).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    if sys.platform == "darwin":
        return next((app for app in MAC_APPS if Path(app).exists()), None)
    return None


def spki_fingerprint(ca_cert: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the CA, for --ignore-certificate-errors-spki-list."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_args(proxy_url: str, profile_dir: str, ca_cert: Path | None, *, headless: bool,
                  loopback_only: bool = False) -> list[str]:
    """Flags for a browser that sends everything, loopback included, through the proxy.

    `loopback_only` is for tests and the demo: nothing but 127.0.0.1 resolves, so Chromium's own calls home
    never leave the machine.
    """
    args = [
        f"--proxy-server={proxy_url}",
        "--proxy-bypass-list=<-loopback>",
        f"--user-data-dir={profile_dir}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ]
    if ca_cert is not None and ca_cert.exists():
        args.append(f"--ignore-certificate-errors-spki-list={spki_fingerprint(ca_cert)}")
    if headless:
        args += ["--headless", "--disable-gpu", "--no-sandbox"] if os.geteuid() == 0 else ["--headless", "--disable-gpu"]
    elif os.geteuid() == 0:
        args.append("--no-sandbox")
    if loopback_only:
        args = [a if not a.startswith("--proxy-bypass-list") else "--proxy-bypass-list=*;<-loopback>" for a in args]
        args.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    return args


# Chromium's log lines: `[pid:tid:date/time.usec:ERROR:file.cc(123)] message` (newer builds: `file.cc:123]`).
_LOG_LINE = re.compile(r"^\[[^\]]*:(ERROR|FATAL):[^\]]*\]\s*(.*)$")
_NOISE = ("dbus", "bus.cc")  # every container lacks a system bus; Chromium carries on without it


def failure_reason(log: str) -> str:
    """The line of Chromium's stderr that says why it stopped: one about the display first, else its first error."""
    errors = [m.group(2).strip() for m in map(_LOG_LINE.match, log.splitlines()) if m]
    errors = [e for e in errors if e and not any(word in e.lower() for word in _NOISE)]
    about_display = [e for e in errors if "display" in e.lower() or "x server" in e.lower()]
    if about_display or errors:
        return (about_display or errors)[0]
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1] if lines else "it printed nothing"


class BrowserProcess:
    """A browser `record --browser` started: watched, so that one that cannot open a window is reported at once
    instead of leaving the user waiting for traffic that never comes."""

    def __init__(self, binary: str, proxy_url: str, ca_cert: Path, on_early_exit: Callable[[str], None]):
        self.binary, self.proxy_url, self.ca_cert = binary, proxy_url, ca_cert
        self._on_early_exit = on_early_exit
        self._closing = False
        self.process: subprocess.Popen | None = None
        self.profile = tempfile.mkdtemp(prefix="oauthtrace-browser-")
        self._log = tempfile.TemporaryFile(prefix="oauthtrace-browser-log-")

    def start(self, start_url: str | None) -> None:
        args = chromium_args(self.proxy_url, self.profile, self.ca_cert, headless=False)
        try:
            self.process = subprocess.Popen([self.binary, *args, start_url or "about:blank"],
                                            stdout=subprocess.DEVNULL, stderr=self._log)
        except OSError as exc:
            self._on_early_exit(f"cannot start the browser {self.binary}: {exc.strerror or exc}. Set "
                                f"OAUTHTRACE_BROWSER to a Chromium or Chrome, or {self._own_browser()}")
            return
        threading.Thread(target=self._watch, daemon=True).start()

    def close(self, grace: float = 5.0) -> None:
        self._closing = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _watch(self) -> None:
        code = self.process.wait()
        if self._closing:
            return
        if code == 0:
            self._on_early_exit("the browser was closed; recording goes on until Ctrl-C.")
            return
        self._log.seek(0)
        reason = failure_reason(self._log.read()[-65536:].decode("utf-8", "replace"))
        self._on_early_exit(f"the browser exited (code {code}): {reason}. {self._what_to_do()}")

    def _what_to_do(self) -> str:
        return f"Set DISPLAY to a running X server (or run under xvfb-run), or {self._own_browser()}"

    def _own_browser(self) -> str:
        return f"set {self.proxy_url} as the HTTP and HTTPS proxy of your own browser; recording goes on."


def open_browser(binary: str, listening, start_url: str | None,
                 on_early_exit: Callable[[str], None]) -> BrowserProcess:
    browser = BrowserProcess(binary, listening.proxy_url, Path(listening.ca_cert), on_early_exit)
    browser.start(start_url)
    return browser
