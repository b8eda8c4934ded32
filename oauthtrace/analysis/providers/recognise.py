"""Which provider a URL, a hop or an exchange belongs to, by the table's URL and issuer patterns.

Asked only when a rule is about to report (or to decide whether to), so a trace of clean exchanges never pays
for it; each URL is matched once per process.
"""

from __future__ import annotations

import re
from functools import lru_cache

from oauthtrace.analysis.cache import derived
from oauthtrace.analysis.providers.model import Provider
from oauthtrace.analysis.providers.table import PROVIDERS
from oauthtrace.model import Exchange, Hop
from oauthtrace.params import base_url

_PLACEHOLDER = re.compile(r"\{[^}]+\}")


def _compiled(pattern: str, *, whole: bool) -> re.Pattern:
    """`https://{tenant}.auth0.com/` as a regular expression: a placeholder is one or more URL characters but `/`
    (host labels or one path segment); http is accepted where https is written (a local Keycloak)."""
    parts = _PLACEHOLDER.split(pattern)
    body = r"[^/?#\s]+".join(re.escape(part) for part in parts)
    body = body.replace("https://", "https?://", 1) if body.startswith("https://") else body
    return re.compile(body + ("/?" if whole and not pattern.endswith("/") else "") + ("$" if whole else ""),
                      re.IGNORECASE)


_URLS = [(provider, _compiled(url, whole=False)) for provider in PROVIDERS for url in provider.urls]
_ISSUERS = [(provider, _compiled(issuer, whole=True)) for provider in PROVIDERS for issuer in provider.issuers]
_USERINFO = [(provider, _compiled(url, whole=True)) for provider in PROVIDERS for url in provider.userinfo]


def provider_of_url(url) -> Provider | None:
    """The provider whose endpoints `url` (query and fragment ignored) is one of; None for anything but a
    non-empty string (an `authorization_endpoint` read from a captured document may be a list)."""
    if not isinstance(url, str) or not url:
        return None
    return _provider_of_url(url)


@lru_cache(maxsize=4096)
def _provider_of_url(url: str) -> Provider | None:
    plain = base_url(url)
    return next((provider for provider, pattern in _URLS if pattern.match(plain)), None)


def provider_of_issuer(issuer) -> Provider | None:
    """The provider whose issuer identifier `issuer` is (an `iss` claim, a metadata document's `issuer`); None for
    anything but a non-empty string — a captured document may hold a list or an object there, which the cache
    below could not even hash."""
    if not isinstance(issuer, str) or not issuer:
        return None
    return _provider_of_issuer(issuer)


@lru_cache(maxsize=1024)
def _provider_of_issuer(issuer: str) -> Provider | None:
    return next((provider for provider, pattern in _ISSUERS if pattern.match(issuer)), None)


def provider_of(thing) -> Provider | None:
    """The provider of an exchange (its authorization request, token requests, then metadata issuer), a hop (its
    URL, or the upstream a reverse listener forwarded it to) or a URL; None when it is none of the table's."""
    if isinstance(thing, Exchange):
        return derived(thing, "provider", lambda: _exchange_provider(thing), len(thing.hops))
    if isinstance(thing, Hop):
        return provider_of_url(thing.url) or (provider_of_url(thing.upstream_url) if thing.upstream_url else None)
    if isinstance(thing, str):
        return provider_of_url(thing) or provider_of_issuer(thing)
    return None


def _exchange_provider(exchange: Exchange) -> Provider | None:
    for hop in (exchange.authorize, *exchange.tokens, *exchange.refreshes, *exchange.pushed):
        found = provider_of(hop) if hop is not None else None
        if found is not None:
            return found
    for hop in exchange.metadata:
        document = hop.resp_json() if hop.status == 200 else None
        if isinstance(document, dict) and isinstance(document.get("issuer"), str):
            found = provider_of_issuer(document["issuer"])
            if found is not None:
                return found
    return None


def is_known_userinfo(url: str) -> Provider | None:
    """The provider whose own userinfo endpoint `url` is, from the table (a trace's discovery documents say it for
    the providers the table does not know: see rules that read ctx.metadata)."""
    if not isinstance(url, str) or not url:
        return None
    plain = base_url(url)
    return next((provider for provider, pattern in _USERINFO if pattern.match(plain)), None)
