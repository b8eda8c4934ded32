"""The redirect chain: where each hop's response sends the browser (a Location, or an auto-submitted form_post),
which hop the browser came from, and whether a redirect carries an authorization response.

Asked of every hop, so each test turns most hops away with a substring or a byte search before parsing anything.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.oauth import RESPONSE_KEYS, authz_response_params
from oauthtrace.html_forms import page_forms
from oauthtrace.model import Hop
from oauthtrace.params import plain_origin

_HTML_SCAN = 200_000  # how much of a page is read for forms
# what a Location needs for one of its parameters to be named like a response key: the name written out, or
# something urlsplit and parse_qsl decode or remove (a %XX escape; a tab or newline)
_MAY_NAME_RESPONSE = re.compile(r"code|error|access_token|id_token|[%\t\r\n]")
# a hidden input carrying an authorization response: checked before paying for an HTML parse. Searched in a
# lowercased copy (see may_hold_response_input) rather than with re.IGNORECASE, which tries a match at every byte
_RESPONSE_INPUT = re.compile(rb"""name\s*=\s*["']?(code|error|access_token|id_token)["'\s>/]""")


def redirect_sources(hops: list[Hop]) -> dict[int, Hop]:
    """hop seq -> the hop whose redirect (Location, or auto-submitted form_post) the browser followed to it.

    Walks the hops by start time keeping, per target URL (fragment removed: browsers do not send it), the
    latest redirect issued so far; one dict lookup per hop however often a target repeats.
    """
    return redirect_sources_in_order(sorted(hops, key=start_order))


def redirect_sources_in_order(ordered: list[Hop]) -> dict[int, Hop]:
    """redirect_sources of hops already ordered by start time."""
    latest: dict[str, Hop] = {}
    found: dict[int, Hop] = {}
    for hop in ordered:
        source = latest.get(without_fragment(hop.url))
        if source is not None:
            found[hop.seq] = source
        if may_redirect(hop):
            # not redirect_targets(hop): its cache pays only when asked again, and this is once per hop
            for target in _redirect_targets(hop):
                latest[target] = hop
    return found


def may_redirect(hop: Hop) -> bool:
    """A Location, or a form field that could post an authorization response; most hops have neither."""
    return bool(hop.location or may_hold_response_input(hop.resp_body))


def may_hold_response_input(body: bytes | None) -> bool:
    """Whether a page's first _HTML_SCAN bytes name a form field code, error, access_token or id_token (names
    compared case-insensitively, as HTML does). The pattern is searched in a lowercased copy: ASCII case folding,
    what re.IGNORECASE does for a bytes pattern, but searched by its literal start "name" instead of tried at
    every byte (many times faster on a login page or a JSON body)."""
    if not body or b"=" not in body:
        return False  # the pattern needs an "=": JSON answers, say, have none
    return _RESPONSE_INPUT.search(body[:_HTML_SCAN].lower()) is not None


def redirect_targets(hop: Hop) -> tuple[str, ...]:
    """Absolute URLs (fragment removed) this hop's response sends the browser to."""
    if not may_redirect(hop):
        return ()  # most hops: nothing to cache
    return derived(hop, "redirect_targets", lambda: _redirect_targets(hop), hop.url, hop.location, hop.resp_body)


def _redirect_targets(hop: Hop) -> tuple[str, ...]:
    action = form_post_action(hop)
    if hop.location and action:
        return (absolute(hop.url, hop.location), absolute(hop.url, action))
    if hop.location or action:
        return (absolute(hop.url, hop.location or action),)
    return ()


def absolute(base: str, reference: str) -> str:
    """`reference` resolved against `base`, fragment removed (most Locations are absolute already)."""
    if not reference.startswith(("https://", "http://")):
        return _path_on_origin(base, reference) or without_fragment(urljoin(base, reference))
    return without_fragment(reference)


def _path_on_origin(base: str, reference: str) -> str | None:
    """absolute(base, reference) for an absolute path ("/login?ticket=1", the usual relative Location) that
    urljoin would not rewrite: no dot or empty segment, no parameters, no empty query, printable ASCII. A
    concatenation, several times cheaper than urljoin; None for anything else."""
    if not reference.startswith("/") or reference.startswith("//"):
        return None
    reference = without_fragment(reference)
    path = reference.split("?", 1)[0]
    if (not reference.isascii() or not reference.isprintable() or reference.endswith("?") or "//" in path
            or "/." in path or ";" in path):
        return None
    at = plain_origin(base)
    return at + reference if at is not None else None


def without_fragment(url: str) -> str:
    return url.split("#", 1)[0] if "#" in url else url  # browsers do not send fragments: most URLs have none


def form_post_action(hop: Hop) -> str | None:
    """The action of an auto-submitting authorization-response form (response_mode=form_post), if any."""
    body = hop.resp_body
    if not body or hop.resp_content_type != "text/html" or not may_hold_response_input(body):
        return None
    pairs, mode = authz_response_params(hop)
    if mode != "form_post" or not any(k in RESPONSE_KEYS for k, _ in pairs):
        return None
    return _form_action(hop.resp_text[:200_000])


def _form_action(html: str) -> str | None:
    forms = page_forms(html)
    return forms[0].action if forms else None


def carries_response(hop: Hop) -> bool:
    """The hop's redirect (query or fragment) or auto-posted form carries an authorization response."""
    if hop.location:
        if not _MAY_NAME_RESPONSE.search(hop.location):
            return False  # a redirect whose parameters cannot be named code, error ...: skip parsing
    elif not may_hold_response_input(hop.resp_body):
        return False  # no redirect, and no form field that could carry one: skip parsing
    pairs, mode = authz_response_params(hop)
    return mode != "none" and any(k in RESPONSE_KEYS for k, _ in pairs)


def start_order(hop: Hop) -> tuple[float, int]:
    """The order the browser sent hops in: the redirect walks go by it (the seq breaks ties)."""
    return (hop.started or 0.0, hop.seq)
