"""An MCP client built with the MCP Python SDK (`mcp`): OAuthClientProvider does discovery, dynamic registration,
PKCE, resource and the token request; the Streamable HTTP transport makes the MCP calls.

Run in the SDK's own virtual environment (it does not import oauthtrace):

    python mcp_sdk_client.py MCP_URL PROXY_URL [legacy|2026-07-28]

`legacy` (the default) speaks MCP 2025-11-25: initialize, the initialized notification, the GET stream, tools, and
the DELETE that ends the session. `2026-07-28` speaks the stateless revision: the SDK's `auto` mode probes with
`server/discover` (no initialize, no session), every POST carries `Mcp-Method` (and `Mcp-Name` for tools/call), and
a `subscriptions/listen` stream is opened and held open: after "RESULT" the script keeps it open until its stdin
closes, so the recording can stop while it is still streaming.

Every request goes through PROXY_URL (the recorder). The authorize step is the user's: the script prints
"AUTHORIZE <url>" and waits for the browser to reach its callback; the test drives a real browser (or urllib)
through the proxy to that URL. At the end it prints "RESULT <json>".
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx2

from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

CALLBACK_WAIT = 60


class Memory:
    """TokenStorage in memory: a fresh client every run, so discovery and registration happen."""

    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


class Callback:
    """The client's redirect URI: a loopback server that keeps the code and state it receives."""

    def __init__(self):
        self.received: dict[str, str] = {}
        self.arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if urlsplit(self.path).path != "/callback":  # a browser's favicon request, say
                    self.send_error(404)
                    return
                query = parse_qs(urlsplit(self.path).query)
                outer.received = {k: v[0] for k, v in query.items()}
                body = b"<!doctype html><p>Signed in. You can close this window.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                outer.arrived.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/callback"


async def main(mcp_url: str, proxy_url: str, revision: str = "legacy") -> dict:
    callback = Callback()

    async def redirect_handler(url: str) -> None:
        print(f"AUTHORIZE {url}", flush=True)

    async def callback_handler() -> AuthorizationCodeResult:
        arrived = await asyncio.to_thread(callback.arrived.wait, CALLBACK_WAIT)
        if not arrived:
            raise RuntimeError("the browser never reached the callback")
        return AuthorizationCodeResult(code=callback.received.get("code", ""), state=callback.received.get("state"),
                                       iss=callback.received.get("iss"))

    auth = OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata(client_name="oauthtrace interop", redirect_uris=[callback.url],
                                            grant_types=["authorization_code", "refresh_token"],
                                            response_types=["code"]),
        storage=Memory(), redirect_handler=redirect_handler, callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=auth, proxy=proxy_url, trust_env=False,
                                  timeout=httpx2.Timeout(30, read=60)) as http:
        if revision == "legacy":
            async with Client(streamable_http_client(mcp_url, http_client=http), mode="legacy") as client:
                tools = await client.list_tools()
                called = await client.call_tool("whoami", {})
                report(tools, called)
        else:
            # auto: the server/discover probe, then the revision the server named
            async with Client(streamable_http_client(mcp_url, http_client=http), mode="auto") as client:
                async with client.listen(tools_list_changed=True) as subscription:
                    tools = await client.list_tools()
                    called = await client.call_tool("whoami", {})
                    report(tools, called, version=client.session.protocol_version,
                           listening=subscription.honored.tools_list_changed)
                    await asyncio.to_thread(sys.stdin.read)  # held open until the test closes stdin
    callback.server.shutdown()


def report(tools, called, **more) -> None:
    text = [getattr(part, "text", None) for part in called.content]
    result = {"tools": [tool.name for tool in tools.tools], "whoami": text, **more}
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
