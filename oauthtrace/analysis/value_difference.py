"""How a value that came back differs from the value that was sent: one word a developer can act on.

Shared by every rule that compares an echoed parameter (state, redirect_uri, nonce, resource, iss ...).
Both values are taken after exactly one URL-decode (RULES.md conventions).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Iterable
from urllib.parse import quote, unquote, unquote_plus, urlsplit

IDENTICAL = "identical"
TRUNCATED = "truncated"
DOUBLE_ENCODED = "double-encoded"
DECODED_TWICE = "decoded twice"
PLUS_VS_SPACE = "'+' vs '%20'"
CASE = "case changed"
TRAILING_SLASH = "trailing slash"
OTHER_FLOW = "another flow's value"
DIFFERENT = "different"
# URL-only classes (redirect_uri, resource, issuer)
SCHEME = "scheme"
HOST_CASE = "host case"
PORT = "port"
QUERY = "query"
PERCENT_ENCODING = "percent-encoding"


def describe_difference(sent: str, got: str, *, others: Iterable[str] = ()) -> str:
    """One of the words above; `others` are the values other flows sent, to recognise a swapped value.

    Pass `others` as a set (or any container) when there are many: membership is all that is asked of it.
    """
    if sent == got:
        return IDENTICAL
    if got in (others if isinstance(others, Container) and not isinstance(others, str) else set(others)):
        return OTHER_FLOW
    if _is_url(sent) and _is_url(got):
        url_class = describe_url_difference(sent, got)
        if url_class != DIFFERENT:
            return url_class
    if _encoded_once_more(sent, got):
        return DOUBLE_ENCODED
    if _encoded_once_more(got, sent):
        return DECODED_TWICE
    if sent.replace("+", " ") == got.replace("+", " "):
        return PLUS_VS_SPACE
    if sent.rstrip("/") == got.rstrip("/"):
        return TRAILING_SLASH
    if sent.lower() == got.lower():
        return CASE
    if got and (sent.startswith(got) or sent.endswith(got)):
        return TRUNCATED
    return DIFFERENT


def describe_url_difference(sent: str, got: str) -> str:
    """For two URLs: which component differs (scheme, host case, port, trailing slash, query, encoding)."""
    if sent == got:
        return IDENTICAL
    try:
        a, b = urlsplit(sent), urlsplit(got)
        a_port, b_port = a.port, b.port
    except ValueError:
        return DIFFERENT
    if a.scheme.lower() != b.scheme.lower() and a.netloc == b.netloc and a.path == b.path:
        return SCHEME
    if a.netloc != b.netloc and a.netloc.lower() == b.netloc.lower():
        return HOST_CASE
    if a.hostname == b.hostname and a_port != b_port and a.path == b.path:
        return PORT
    if a[:3] == b[:3]:
        return QUERY if a.query != b.query else DIFFERENT
    if a[:2] == b[:2] and a.path.rstrip("/") == b.path.rstrip("/") and a.query == b.query:
        return TRAILING_SLASH
    if unquote(sent) == unquote(got):
        return PERCENT_ENCODING
    return DIFFERENT


def _encoded_once_more(plain: str, encoded: str) -> bool:
    """`encoded` is `plain` URL-encoded one more time (so one decode still leaves %XX)."""
    if "%" not in encoded or plain == encoded:
        return False
    return unquote(encoded) == plain or unquote_plus(encoded) == plain or quote(plain, safe="") == encoded


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)
