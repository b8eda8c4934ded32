"""One demo run: provider and client on loopback, the recorder in front of both, a user agent walking the login."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from oauthtrace.capture.proxy import ProxyConfig, ProxyRunner, ReverseTarget
from oauthtrace.demo.agent import BuiltinAgent, run_chromium
from oauthtrace.demo.client import DemoClient
from oauthtrace.demo.provider import DemoProvider


@dataclass
class DemoResult:
    trace_id: int | None
    stored: int
    outcome: dict | None
    agent: str
    provider_url: str
    client_url: str


def run_demo(db_path: str, *, bug: str = "good", pkce: bool = False, browser: str | None = None,
             back_channel: str = "reverse", name: str | None = None, confdir: str | None = None) -> DemoResult:
    """Record one login through the real proxy.

    `browser`: a Chromium binary, or None for the built-in agent. `back_channel`: "reverse" sends the client's
    token request through a reverse listener in front of the provider; "proxy" sends it through the explicit
    proxy, as HTTP_PROXY would.
    """
    provider = DemoProvider(bug).start()
    confdir = confdir or tempfile.mkdtemp(prefix="oauthtrace-demo-ca-")
    runner = ProxyRunner(ProxyConfig(
        db_path=db_path, port=0, confdir=confdir, name=name or f"demo {bug}{' pkce' if pkce else ''}",
        reverse=[ReverseTarget(provider.url, 0)] if back_channel == "reverse" else [],
    ))
    client = None
    try:
        listening = runner.start_in_thread()
        reverse = back_channel == "reverse"
        client = DemoClient(provider.url, back_channel_url=listening.reverse_url() if reverse else None,
                            back_channel_proxy=None if reverse else listening.proxy_url, pkce=pkce,
                            redirect_suffix="/" if bug == "redirect-uri-mismatch" else "").start()
        provider.redirect_uris = [client.redirect_uri]
        start = f"{client.url}/start"
        if browser:
            run_chromium(start, listening.proxy_url, Path(listening.ca_cert), binary=browser)
        else:
            BuiltinAgent(listening.proxy_url).run(start)
        client.done.wait(10)
    finally:
        stats = runner.stop()
        if client:
            client.stop()
        provider.stop()
    return DemoResult(
        trace_id=stats.trace_id if stats else None, stored=stats.stored if stats else 0,
        outcome=client.outcome if client else None, agent="chromium" if browser else "built-in",
        provider_url=provider.url, client_url=client.url if client else "",
    )
