"""Parsing of URLs and form bodies into ordered (name, value) pairs, decoded exactly once."""

from __future__ import annotations

import base64
import re
from functools import lru_cache
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from oauthtrace.model import Pairs


def parse_pairs(text: str) -> Pairs:
    """`a=1&b=&a=2` -> [("a","1"), ("b",""), ("a","2")]; one URL-decode, blanks kept."""
    if not text:
        return []
    try:
        return parse_qsl(text, keep_blank_values=True, errors="replace")
    except ValueError:
        return []


def query_pairs(url: str) -> Pairs:
    return parse_pairs(_query_and_fragment(url)[0])


def fragment_pairs(url: str) -> Pairs:
    return parse_pairs(_query_and_fragment(url)[1])


# what urlsplit deletes (tabs, newlines) or validates (IPv6 brackets) anywhere in a URL
_REWRITTEN = re.compile(r"[\t\r\n\[\]]")


def _query_and_fragment(url: str) -> tuple[str, str]:
    """urlsplit(url).query and .fragment; by str.partition when urlsplit would split at the same places: an ASCII
    URL without what it deletes or validates. Its scheme and authority cannot hold `?` or `#`, so the first `#`
    and the first `?` before it are the ones urlsplit splits at. Several times cheaper on a Location."""
    if isinstance(url, str) and url.isascii() and not _REWRITTEN.search(url):
        before, _, fragment = url.partition("#")
        return before.partition("?")[2], fragment
    parts = _split(url)
    return parts.query, parts.fragment


def raw_query_value(url: str, name: str) -> str | None:
    """The still-encoded value of `name` in the URL's query, to tell `+` from `%20`."""
    for part in _query_and_fragment(url)[0].split("&"):
        key, sep, value = part.partition("=")
        if key == name and sep:
            return value
    return None


# The analysis asks for the same hop's base URL or origin again and again (classification, correlation, rules),
# hops apart: a cache larger than urlsplit's own 128 entries keeps those answers. Results are strings.
_CACHED = lru_cache(maxsize=8192)


# A URL whose scheme, authority and path urlsplit would take as they are written: lowercase http(s) scheme, and
# up to the first `?` or `#` printable ASCII without space or IPv6 brackets (nothing it strips, normalises or
# validates there; what it removes from the query or fragment, tabs and newlines, cannot move where they begin).
# Its parts are then plain slices, several times cheaper than urlsplit + urlunsplit; anything else takes that road.
_PLAIN_URL = re.compile(r"(https?://[^/?#]+)([^?#]*)")  # a host: an empty one is urlsplit's business


def _plain(url: str):
    if not url.startswith(("https://", "http://")):
        return None
    match = _PLAIN_URL.match(url)
    if match is None:
        return None
    # only the part before the query is checked: a long query is most of an authorization request's URL
    head = match.group(0)
    if head.isascii() and head.isprintable() and " " not in head and "[" not in head and "]" not in head:
        return match
    return None


def _plain_part(url: str, group: int) -> str | None:
    """Group `group` of _PLAIN_URL (0 the base URL, 1 the origin, 2 the path) when the URL is one urlsplit takes as
    written (see _plain), else None: the caller then takes urlsplit's road."""
    plain = _plain(url) if isinstance(url, str) else None
    return plain.group(group) if plain is not None else None


@_CACHED
def base_url(url: str) -> str:
    """scheme://authority/path — the URL without query and fragment."""
    plain = _plain_part(url, 0)
    return plain if plain is not None else urlunsplit(_split(url)._replace(query="", fragment=""))


@_CACHED
def origin(url: str) -> str:
    plain = _plain_part(url, 1)
    if plain is not None:
        return plain
    parts = _split(url)
    return f"{parts.scheme}://{parts.netloc}"


def plain_origin(url: str) -> str | None:
    """origin(url) when the URL is one urlsplit takes as written (see _plain), else None."""
    return _plain_part(url, 1)


@_CACHED
def host(url: str) -> str:
    return (_split(url).hostname or "").lower()


@_CACHED
def path(url: str) -> str:
    plain = _plain_part(url, 2)
    return (plain if plain is not None else _split(url).path) or "/"


def is_loopback(url: str) -> bool:
    name = host(url)
    return name in ("localhost", "::1") or name.startswith("127.") or name.endswith(".localhost")


def basic_auth(header: str | None) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header as sent (not form-decoded); None for anything else."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=False).decode("utf-8", errors="replace")
    except (ValueError, TypeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


def basic_client_credentials(header: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) of an `Authorization: Basic` header, each form-decoded as RFC 6749 §2.3.1 has
    clients encode them; None for anything else."""
    raw = basic_auth(header)
    return (unquote_plus(raw[0]), unquote_plus(raw[1])) if raw else None


@_CACHED
def _split(url: str):
    try:
        return urlsplit(url or "")
    except ValueError:
        return urlsplit("")
