"""What the interop tests' own relying parties (Authlib's and the hand-written OIDC one) share: the plumbing of
their small web servers, and reading an id_token's claims."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler


class PageHandler(BaseHTTPRequestHandler):
    """A relying party's request handler: `_send` answers with a status, a body and an optional redirect."""

    def _send(self, status, body, *, location=None, content_type="text/plain"):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the recording is the log
        pass


def jwt_claims(jwt: str) -> dict:
    # Signature checking is the provider's test suite's business; here the claims only tie the token to the login.
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
