"""Redaction of secrets in hops: one pure module shared by every export (HAR, JSON, the Markdown report).

Each secret value becomes a fingerprint `‹redacted:3f9a1c›`: an HMAC of the value under a key made fresh for each
export, so equal values stay equal within one export (the same code in the provider's `Location`, the callback
query and the token body) and cannot be linked across exports. JWTs keep their header and claims readable and lose
the signature. `state`, `nonce`, `client_id` and the parameter names are not secrets and stay as they are, so
linting an export finds what linting the original finds.

How it works: a first pass (secret_values.py) collects the secret values from the places that name them
(parameters, JSON fields, hidden form inputs, Authorization, cookies, as secret_names.py names them); the second
pass, here, rewrites those places and then sweeps every other text — URLs, headers, bodies, error messages — for the
collected values in their raw, URL-encoded, HTML-escaped, JSON-escaped and base64 forms, so a code echoed in a page
or a `Referer` does not slip through.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import html
import json
import re
import secrets
from typing import Iterable
from urllib.parse import quote, quote_plus, unquote_plus

from oauthtrace.digests import b64url, s256
from oauthtrace.interchange.secret_names import CREDENTIAL_HEADERS, FORM_TYPE, SecretNames, basic_parts, scalar
from oauthtrace.interchange.secret_values import secret_values
from oauthtrace.interchange.sweep import Sweeper
from oauthtrace.model import REDACTED_MARK as MARK
from oauthtrace.model import Hop, Pairs, is_redacted

MARK_END = "›"

FINGERPRINT_HEX = 6
# Values shorter than MIN_SWEEP are replaced only in the places that name them, so a 3-letter password does not eat
# the page; values with unusual characters shorter than LONG_VALUE only as whole words (see sweep.py).
LONG_VALUE = 16
MIN_SWEEP = 4

_JWT = re.compile(r"^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$")


def new_key() -> bytes:
    return secrets.token_bytes(32)


class Redactor:
    """Knows the secrets of one set of hops and rewrites hops, URLs and text without them.

    Build one per export from all the hops being exported, so a value seen as a secret in one hop is also hidden
    where it appears unnamed in another.
    """

    def __init__(self, hops: Iterable[Hop] = (), *, key: bytes | None = None, extra: Iterable[str] = ()):
        self._key = key if key is not None else new_key()
        self.names = SecretNames(extra)
        self._secrets = secret_values(hops, self.names)
        self._build_sweep()

    # -- fingerprints ----------------------------------------------------------------------------

    def fingerprint(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return f"{MARK}{digest[:FINGERPRINT_HEX]}{MARK_END}"

    def value(self, value: str) -> str:
        """The redacted form of one secret value; a JWT keeps header and claims, its signature becomes the mark."""
        if not value or is_redacted(value):
            return value
        if _is_jwt(value):
            header, claims, _signature = value.split(".")
            return f"{header}.{claims}.{self.fingerprint(value)}"
        return self.fingerprint(value)

    def param(self, name: str, value: str) -> str:
        """A parameter's value as an export shows it (for tables of parameters, e.g. in the report)."""
        if value and self.names.is_secret_param(name):
            return self.value(value)
        return self.text(value)

    def data(self, node):
        """A JSON-like structure (a finding's evidence, a report's table) with secrets replaced: members named
        like secrets by value, every other string by the sweep."""
        if isinstance(node, dict):
            return {
                key: self.value(str(value)) if self.names.is_secret_param(str(key)) and scalar(value) and value != ""
                else self.data(value)
                for key, value in node.items()
            }
        if isinstance(node, (list, tuple)):
            return [self.data(item) for item in node]
        if isinstance(node, str):
            return self.text(node)
        return node

    # -- rewriting -------------------------------------------------------------------------------

    def hop(self, hop: Hop) -> Hop:
        """A copy of `hop` with every secret replaced by its fingerprint."""
        return dataclasses.replace(
            hop,
            url=self.url(hop.url),
            upstream_url=self.url(hop.upstream_url) if hop.upstream_url is not None else None,
            location=self.url(hop.location) if hop.location is not None else None,
            query=self.pairs(hop.query),
            form=self.pairs(hop.form),
            req_headers=self.headers(hop.req_headers),
            resp_headers=self.headers(hop.resp_headers),
            req_body=self.body(hop.req_body, hop.req_content_type),
            resp_body=self.body(hop.resp_body, hop.resp_content_type, response=True),
            error=self.text(hop.error) if hop.error is not None else None,
        )

    def hops(self, hops: Iterable[Hop]) -> list[Hop]:
        return [self.hop(hop) for hop in hops]

    def pairs(self, pairs: Pairs) -> Pairs:
        return [(name, self.param(name, value)) for name, value in pairs]

    def url(self, url: str) -> str:
        head, hash_mark, fragment = url.partition("#")
        base, question, query = head.partition("?")
        base = self._userinfo(base)
        if question:
            query = self.encoded_pairs(query)
        if hash_mark:
            fragment = self.encoded_pairs(fragment)
        return self.text(base + question + query + hash_mark + fragment)

    def encoded_pairs(self, text: str) -> str:
        """`a=1&code=xyz` with the secret values replaced; every other byte stays as it was (so `+` vs `%20`
        in state stays visible)."""
        parts = []
        for part in text.split("&"):
            raw_name, equals, raw_value = part.partition("=")
            if equals and raw_value and self.names.is_secret_param(unquote_plus(raw_name)):
                part = f"{raw_name}={quote(self.value(unquote_plus(raw_value)), safe='')}"
            parts.append(part)
        return "&".join(parts)

    def headers(self, headers: Pairs) -> Pairs:
        return [(name, self.header(name, value)) for name, value in headers]

    def header(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered in CREDENTIAL_HEADERS:
            return self._credentials(value)
        if lowered == "cookie":
            return "; ".join(self._cookie(part.strip()) for part in value.split(";"))
        if lowered == "set-cookie":
            cookie, semicolon, attributes = value.partition(";")
            return self._cookie(cookie) + semicolon + self.text(attributes)
        if self.names.is_secret_header(name):
            return self.value(value)
        if value.startswith(("http://", "https://", "/")):
            return self.url(value)
        return self.text(value)

    def body(self, body: bytes | None, content_type: str = "", *, response: bool = False) -> bytes | None:
        if not body:
            return body
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._sweep_bytes(body)
        if content_type.startswith(FORM_TYPE):
            return self.text(self.encoded_pairs(text)).encode("utf-8")
        swept = self.text(text)
        if "json" in content_type or text.lstrip()[:1] in ("{", "["):
            swept = self._json_body(text, swept, response)
        return swept.encode("utf-8")

    def text(self, text: str) -> str:
        """Free text with every known secret (in any of its encodings) replaced."""
        if not text or not self._sweeper:
            return text
        return self._sweeper.text(text)

    # -- internals -------------------------------------------------------------------------------

    def _credentials(self, value: str) -> str:
        scheme, space, credentials = value.partition(" ")
        if not space:
            return self.value(value)
        credentials = credentials.strip()
        if scheme.lower() == "basic":
            user, password = basic_parts(credentials)
            if password is None:
                return f"{scheme} {self.value(credentials)}"
            # The password is form-encoded inside Basic (RFC 6749 §2.3.1): fingerprint the decoded value, so it
            # matches a client_secret sent in a body, and encode the fingerprint the same way.
            redacted = quote_plus(self.value(unquote_plus(password)))
            return f"{scheme} {base64.b64encode(f'{user}:{redacted}'.encode()).decode()}"
        return f"{scheme} {self.value(credentials)}"

    def _cookie(self, cookie: str) -> str:
        name, equals, value = cookie.partition("=")
        if not equals or not value.strip():
            return cookie
        return f"{name}={self.value(value.strip())}"

    def _userinfo(self, base: str) -> str:
        scheme, sep, rest = base.partition("://")
        authority, slash, path = rest.partition("/")
        userinfo, at, hostport = authority.rpartition("@")
        if not sep or not at or ":" not in userinfo:
            return base
        user, _, password = userinfo.partition(":")
        redacted = quote(self.value(unquote_plus(password)), safe="")
        return f"{scheme}://{user}:{redacted}@{hostport}{slash}{path}"

    def _json_body(self, text: str, swept: str, response: bool) -> str:
        """Keep the document's own formatting when the sweep left valid JSON with every secret field redacted;
        otherwise (a number swept as text, a value too short to sweep) rewrite the parsed document."""
        try:
            original = json.loads(text)
        except (ValueError, RecursionError):
            return swept  # not JSON after all (or truncated): text rules apply
        try:
            if not self._json_secrets_left(json.loads(swept), response):
                return swept
        except (ValueError, RecursionError):
            pass
        try:
            return json.dumps(self._json_node(original, response), ensure_ascii=False)
        except RecursionError:  # nested nearly as deep as the parser allows: the sweep's result is all we have
            return swept

    def _json_secrets_left(self, node, response: bool) -> bool:
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, dict):
                for name, value in current.items():
                    if self.names.is_secret_field(str(name), response=response) and scalar(value) and not is_redacted(
                            str(value)):
                        return True
                    stack.append(value)
            elif isinstance(current, list):
                stack.extend(current)
        return False

    def _json_node(self, node, response: bool):
        if isinstance(node, dict):
            return {
                name: self.value(str(value))
                if self.names.is_secret_field(str(name), response=response) and scalar(value) and value != ""
                else self._json_node(value, response)
                for name, value in node.items()
            }
        if isinstance(node, list):
            return [self._json_node(item, response) for item in node]
        if isinstance(node, str):
            return self.text(node)
        return node

    def _sweep_bytes(self, body: bytes) -> bytes:
        return self._sweeper.bytes(body) if self._sweeper else body

    def _build_sweep(self) -> None:
        replacements: dict[str, str] = {}
        for secret in self._secrets:
            redacted = self.value(secret)
            for variant, replacement in _variants(secret, redacted):
                replacements.setdefault(variant, replacement)
            if len(secret) >= LONG_VALUE:
                # A PKCE challenge derived from a redacted verifier is derived again, so
                # BASE64URL(SHA256(verifier)) == challenge holds in the export exactly when it held in the original.
                replacements.setdefault(s256(secret), s256(redacted))
        self._sweeper = Sweeper(replacements, min_length=MIN_SWEEP, word_below=LONG_VALUE)


# -- helpers ------------------------------------------------------------------------------------


def _is_jwt(value: str) -> bool:
    if not _JWT.match(value):
        return False
    header = value.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _variants(secret: str, redacted: str) -> Iterable[tuple[str, str]]:
    """The forms a value takes in URLs, forms, HTML and JSON, each with the same form of its replacement."""
    yield secret, redacted
    yield quote(secret, safe=""), quote(redacted, safe="")
    yield quote(secret), quote(redacted, safe="")
    yield quote_plus(secret), quote_plus(redacted)
    yield html.escape(secret), html.escape(redacted)
    escaped = json.dumps(secret)[1:-1]
    yield escaped, redacted
    yield escaped.replace("/", "\\/"), redacted
    encoded = secret.encode("utf-8", "surrogatepass")
    yield base64.b64encode(encoded).decode(), redacted
    yield b64url(encoded), redacted
