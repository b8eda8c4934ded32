"""The one-line command that makes this OS trust mitmproxy's CA (for HTTPS through the browser proxy)."""

from __future__ import annotations

import sys
from pathlib import Path


def trust_command(ca_cert: Path, platform: str | None = None) -> str:
    platform = platform or sys.platform
    if platform == "darwin":
        return f"sudo security add-trusted-cert -d -p ssl -p basic -k /Library/Keychains/System.keychain {ca_cert}"
    if platform.startswith("win"):
        return f"certutil -addstore root {ca_cert.with_suffix('.cer')}"
    return (f"sudo cp {ca_cert} /usr/local/share/ca-certificates/mitmproxy.crt && sudo update-ca-certificates"
            "   (Chromium with --browser trusts it without this)")
