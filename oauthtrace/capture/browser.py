"""Starting Chromium or Chrome so that it uses the proxy and trusts its CA, with a fresh profile."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sys
from pathlib import Path

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
