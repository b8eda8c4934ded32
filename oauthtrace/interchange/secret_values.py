"""The first pass of a redaction: the secret values of a set of hops, read from the places that name them.

Parameters, JSON members (also of JSON cut off at the body cap), hidden form inputs (form_post responses carry
code and tokens), Authorization and cookies. The second pass (redact.Redactor) then hides each value wherever it
appears, named or not.
"""

from __future__ import annotations

import json
import re
from typing import Iterable
from urllib.parse import unquote_plus

from oauthtrace.html_forms import named_inputs
from oauthtrace.interchange.secret_names import (
    COOKIE_HEADERS, CREDENTIAL_HEADERS, FORM_TYPE, SecretNames, basic_parts, scalar,
)
from oauthtrace.model import Hop, Pairs, is_redacted

_JSON_MEMBER = re.compile(r'"([A-Za-z_][A-Za-z0-9_.-]{0,63})"\s*:\s*"((?:[^"\\]|\\.)*)"')


class Found:
    """The secret values found so far, and the names that mark them."""

    def __init__(self, names: SecretNames):
        self.names = names
        self.values: set[str] = set()

    def add(self, value: str | None) -> None:
        # A value an earlier export already redacted (also URL-encoded) stays as it is: re-exporting a recording
        # keeps its fingerprints.
        if value and not is_redacted(value) and not is_redacted(unquote_plus(value)):
            self.values.add(value)


def secret_values(hops: Iterable[Hop], names: SecretNames) -> set[str]:
    found = Found(names)
    for hop in hops:
        _collect_hop(found, hop)
    return found.values


def _collect_hop(found: Found, hop: Hop) -> None:
    for url in (hop.url, hop.upstream_url, hop.location):
        if url:
            _collect_url(found, url)
    _collect_pairs(found, hop.query)
    _collect_pairs(found, hop.form)
    for headers in (hop.req_headers, hop.resp_headers):
        for name, value in headers:
            _collect_header(found, name, value)
    _collect_body(found, hop.req_body, hop.req_content_type, response=False)
    _collect_body(found, hop.resp_body, hop.resp_content_type, response=True)


def _collect_pairs(found: Found, pairs: Pairs) -> None:
    for name, value in pairs:
        if found.names.is_secret_param(name):
            found.add(value)


def _collect_encoded(found: Found, text: str) -> None:
    for part in text.split("&"):
        raw_name, equals, raw_value = part.partition("=")
        if equals and found.names.is_secret_param(unquote_plus(raw_name)):
            found.add(unquote_plus(raw_value))


def _collect_url(found: Found, url: str) -> None:
    head, _, fragment = url.partition("#")
    base, _, query = head.partition("?")
    _collect_encoded(found, query)
    _collect_encoded(found, fragment)
    authority = base.partition("://")[2].partition("/")[0]
    userinfo, at, _ = authority.rpartition("@")
    if at and ":" in userinfo:
        found.add(unquote_plus(userinfo.partition(":")[2]))


def _collect_header(found: Found, name: str, value: str) -> None:
    lowered = name.lower()
    if lowered in CREDENTIAL_HEADERS:
        scheme, space, credentials = value.partition(" ")
        credentials = credentials.strip() if space else value
        if scheme.lower() == "basic":
            _user, password = basic_parts(credentials)
            if password is not None and is_redacted(unquote_plus(password)):
                return
            found.add(password)
            found.add(unquote_plus(password) if password else None)
        found.add(credentials)
    elif lowered in COOKIE_HEADERS:
        cookies = value.split(";") if lowered == "cookie" else value.split(";")[:1]
        for cookie in cookies:
            _, equals, cookie_value = cookie.partition("=")
            if equals:
                found.add(cookie_value.strip())
    elif found.names.is_secret_header(name):
        found.add(value)
    elif value.startswith(("http://", "https://", "/")):
        _collect_url(found, value)


def _collect_body(found: Found, body: bytes | None, content_type: str, *, response: bool) -> None:
    if not body:
        return
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith(FORM_TYPE):
        _collect_encoded(found, text)
    stripped = text.lstrip()[:1]
    if "json" in content_type or stripped in ("{", "["):
        try:
            _collect_json(found, json.loads(text), response)
        except (ValueError, RecursionError):
            _collect_json_text(found, text, response)  # truncated at the body cap, or nested too deep to parse
    if "<input" in text.lower():
        _collect_inputs(found, text)


def _collect_json(found: Found, node, response: bool) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for name, value in current.items():
                if found.names.is_secret_field(str(name), response=response) and scalar(value):
                    found.add(str(value))
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(current, list):
            stack.extend(item for item in current if isinstance(item, (dict, list)))


def _collect_json_text(found: Found, text: str, response: bool) -> None:
    """`"name": "value"` members of JSON that does not parse."""
    for match in _JSON_MEMBER.finditer(text):
        if found.names.is_secret_field(match.group(1), response=response):
            try:
                found.add(json.loads(f'"{match.group(2)}"'))
            except ValueError:
                found.add(match.group(2))


def _collect_inputs(found: Found, page: str) -> None:
    """Hidden inputs of an auto-submitting form (form_post response mode) carry code and tokens."""

    for name, value in named_inputs(page):
        if found.names.is_secret_param(name):
            found.add(value)
