"""One demo run: provider and client on loopback, the recorder in front of both, a user agent walking the login."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from oauthtrace.capture.proxy import ProxyConfig, ProxyRunner, ReverseTarget
from oauthtrace.demo.agent import BuiltinAgent, run_chromium
from oauthtrace.demo.client import DemoClient
from oauthtrace.demo.connector import ConnectorClient
from oauthtrace.demo.mcp_provider import McpProvider
from oauthtrace.demo.mcp_revisions import REVISIONS
from oauthtrace.demo.mcp_server import McpServer
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
             back_channel: str = "reverse", name: str | None = None, confdir: str | None = None,
             provider_port: int = 0) -> DemoResult:
    """Record one login through the real proxy.

    `browser`: a Chromium binary, or None for the built-in agent. `back_channel`: "reverse" sends the client's
    token request through a reverse listener in front of the provider; "proxy" sends it through the explicit
    proxy, as HTTP_PROXY would. `provider_port`: a fixed port for the provider (recordings keep one origin).
    """
    provider = DemoProvider(bug, port=provider_port).start()
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


# --- the MCP connector scenario -----------------------------------------------------------------------------

MCP_BUGS = {
    "good": "a correct MCP server, provider and connector",
    "no-resource-metadata": "the MCP server's 401 names no resource_metadata and it serves no resource metadata",
    "prm-resource-mismatch": "the MCP server's protected resource metadata names another resource (its public URL)",
    "dcr-rejects-redirect": "the provider's registration refuses the connector's /connector/oauth/<id> callback",
    "resource-missing": "the connector leaves `resource` out of the authorization and token requests",
    "token-never-used": "the connector gets a token and never calls the MCP server",
    "token-rejected": "the MCP server refuses the fresh token (it expects another audience)",
    "callback-not-exchanged": "the connector receives the code and never asks for a token",
}
# Bugs seen only once the client has been idle a while: the demo waits this long, then looks at the status page.
MCP_STALL_BUGS = ("token-never-used", "callback-not-exchanged")
MCP_DEMO_STALL_SECONDS = 2.0
# The MCP revisions the demo speaks, oldest first. `demo --mcp` speaks the specification's current one (the last);
# run_mcp_demo keeps 2025-11-25 unless told, the revision recordings/mcp-*.har were made in.
MCP_REVISIONS = REVISIONS


def run_mcp_demo(db_path: str, *, bug: str = "good", browser: str | None = None, name: str | None = None,
                 confdir: str | None = None, stall_seconds: float = MCP_DEMO_STALL_SECONDS,
                 revision: str = MCP_REVISIONS[0]) -> DemoResult:
    """Record a ChatGPT-like connector logging in to an MCP server through the real proxy.

    The connector's server calls (MCP, metadata, registration, token) go through the explicit proxy, as
    HTTP_PROXY would send them; the browser (`browser`, or the built-in agent) walks the login. For a client that
    stalls, the recording goes on `stall_seconds` and ends with a look at the connector's status page. Server and
    connector speak MCP `revision`; with 2026-07-28 the connector's subscriptions/listen stream is still open when
    the recording stops.
    """
    if bug not in MCP_BUGS:
        raise ValueError(f"unknown MCP bug {bug!r}; choose from {', '.join(MCP_BUGS)}")
    if revision not in MCP_REVISIONS:
        raise ValueError(f"unknown MCP revision {revision!r}; choose from {', '.join(MCP_REVISIONS)}")
    provider = McpProvider(reject_connector_redirects=bug == "dcr-rejects-redirect").start()
    server = McpServer(provider.url, provider.token_info, bug=bug, revision=revision).start()
    confdir = confdir or tempfile.mkdtemp(prefix="oauthtrace-demo-ca-")
    runner = ProxyRunner(ProxyConfig(db_path=db_path, port=0, confdir=confdir, name=name or f"demo mcp {bug}"))
    client = None
    try:
        listening = runner.start_in_thread()
        client = ConnectorClient(server.mcp_url, back_channel_proxy=listening.proxy_url, bug=bug,
                                 revision=revision).start()
        agent = BuiltinAgent(listening.proxy_url)
        start = f"{client.url}/start"
        if browser:
            run_chromium(start, listening.proxy_url, Path(listening.ca_cert), binary=browser)
        else:
            agent.run(start)
        client.done.wait(10)
        if bug in MCP_STALL_BUGS:
            time.sleep(stall_seconds + 0.5)  # the window must have passed when the page loads
            agent.run(f"{client.url}/connector/status")
    finally:
        stats = runner.stop()
        if client:
            client.stop()
        server.stop()
        provider.stop()
    return DemoResult(
        trace_id=stats.trace_id if stats else None, stored=stats.stored if stats else 0,
        outcome=client.outcome if client else None, agent="chromium" if browser else "built-in",
        provider_url=provider.url, client_url=client.url if client else "",
    )
