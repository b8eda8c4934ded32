"""User agents that walk the demo login through the proxy: headless Chromium, or a built-in one."""

from __future__ import annotations

import http.cookiejar
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urljoin

from oauthtrace.capture.browser import chromium_args, find_chromium
from oauthtrace.html_forms import page_forms

MAX_REDIRECTS = 20


def run_chromium(start_url: str, proxy_url: str, ca_cert: Path | None, *, binary: str | None = None,
                 timeout: float = 60) -> str:
    """Load `start_url` in headless Chromium and return the final page's DOM.

    The virtual time budget lets the login page's form submit itself and the redirects finish before the dump.
    """
    binary = binary or find_chromium()
    with tempfile.TemporaryDirectory(prefix="oauthtrace-chromium-") as profile:
        args = [binary, *chromium_args(proxy_url, profile, ca_cert, headless=True, loopback_only=True),
                "--virtual-time-budget=15000", "--dump-dom", start_url]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        return done.stdout


class BuiltinAgent:
    """Follows redirects and submits the first form of each page, like a browser with autofill."""

    def __init__(self, proxy_url: str):
        handlers = [urllib.request.ProxyHandler({"http": proxy_url, "https": proxy_url}),
                    urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()]
        self._http = urllib.request.build_opener(*handlers)

    def run(self, start_url: str) -> str:
        url, data = start_url, None
        for _ in range(MAX_REDIRECTS):
            status, headers, body = self._send(url, data)
            if status in (301, 302, 303, 307, 308) and headers.get("location"):
                url, data = urljoin(url, headers["location"]), None
                continue
            form = _first_form(body, url)
            if form is None or data is not None:
                return body
            url, data = form[0], urlencode(form[1]).encode()
        return body

    def _send(self, url: str, data: bytes | None):
        request = urllib.request.Request(url, data=data)
        try:
            with self._http.open(request, timeout=15) as reply:
                return reply.status, reply.headers, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _first_form(page: str, page_url: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The page's first form: its absolute action and its fields."""
    forms = page_forms(page, page_url)
    return (forms[0].action, [(f.name, f.value) for f in forms[0].fields]) if forms else None
