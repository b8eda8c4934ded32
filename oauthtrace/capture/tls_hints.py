"""What to do when a TLS handshake through the proxy fails, said once per upstream host and once per client.

Without it a provider behind a private CA shows up only as 502s in the browser, and a client that refuses the
proxy's certificate as a login that never starts: the recorder's console is where the user looks.
"""

from __future__ import annotations

import logging
from pathlib import Path

from oauthtrace.capture.trust import trust_command
from oauthtrace.capture.userlog import LOGGER

log = logging.getLogger(LOGGER)

# mitmproxy's own words for a client that refused its certificate (mitmproxy/proxy/layers/tls.py); a client that
# only hung up during the handshake ("… may indicate that the client does not trust …") is no sure sign: browsers
# open and drop spare connections.
_CLIENT_REFUSED = ("The client does not trust the proxy's certificate", "The client may not trust the proxy's")


def upstream_hint(server: str, error: str) -> str:
    if error.startswith("Certificate verify failed"):
        return (f"the proxy does not trust {server}'s certificate ({error}). If it comes from a private CA "
                f"(mkcert, a company CA, self-signed), pass --upstream-ca FILE with that CA's certificate (PEM); "
                f"--ssl-insecure skips the check.")
    return f"the TLS handshake with {server} failed: {error.rstrip('.')}."


def client_hint(client: str, error: str, ca_cert: Path) -> str:
    return (f"a client at {client} refused the proxy's certificate ({error}). Make it trust {ca_cert}: "
            f"{trust_command(ca_cert)}; a program started as `oauthtrace record -- COMMAND` trusts it already.")


def client_refused(error: str | None) -> bool:
    return error is not None and error.startswith(_CLIENT_REFUSED)


class TlsHints:
    """mitmproxy addon: a warning per upstream server and per client address, the first time each fails."""

    def __init__(self, ca_cert: Path):
        self.ca_cert = ca_cert
        self._servers_told: set[str] = set()
        self._clients_told: set[str] = set()

    def tls_failed_server(self, data) -> None:
        server = _address(data.conn.address, data.conn.sni)
        if server not in self._servers_told:
            self._servers_told.add(server)
            log.warning(upstream_hint(server, data.conn.error or "no reason given"))

    def tls_failed_client(self, data) -> None:
        client = data.conn.peername[0] if data.conn.peername else "an unknown address"
        if client_refused(data.conn.error) and client not in self._clients_told:
            self._clients_told.add(client)
            log.warning(client_hint(client, data.conn.error, self.ca_cert))


def _address(address, sni: str | None) -> str:
    if not address:
        return sni or "the server"
    host, port = address[0], address[1]
    return f"{sni or host}:{port}" if ":" not in (sni or host) else f"[{host}]:{port}"
