"""The provider's own pages in a flow: which pages and form posts are the user's login or consent steps."""

from __future__ import annotations

from oauthtrace.analysis.oauth import param
from oauthtrace.model import Hop
from oauthtrace.params import origin, path

_ASSET_TYPES = ("text/css", "application/javascript", "text/javascript", "image/", "font/")
_CONSENT_WORDS = ("consent", "approve", "allow", "grant", "confirm", "decision", "authorize")
_PASSWORD_FIELDS = ("password", "passwd", "pass", "pwd")


def at_provider(hop: Hop, source: Hop | None, roles: dict[int, str], provider_origins: set[str]) -> bool:
    """On a provider's origin, or reached by a redirect from a provider page (login hosted elsewhere)."""
    if origin(hop.url) in provider_origins:
        return True
    return source is not None and roles.get(source.seq) in ("authorize", "login", "consent")


def is_provider_page(hop: Hop) -> bool:
    """A page the user sees at the provider (GET of HTML) or a form they submit (POST of a form)."""
    if hop.method not in ("GET", "POST"):
        return False
    # a page or a redirect answers the browser; JSON answers an API call (token, PAR, revocation ...)
    content_type = hop.resp_content_type  # a header lookup: once
    to_browser = content_type == "text/html" or (hop.status or 0) in range(300, 400)
    if hop.method == "POST":
        submitted = bool(hop.form) or hop.req_content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data")
        return submitted and to_browser and not param(hop.form, "grant_type")
    return to_browser and not content_type.startswith(_ASSET_TYPES)


def login_or_consent(hop: Hop, consented: set[str]) -> str:
    where = origin(hop.url)
    if hop.method == "POST" and any(name.lower() in _PASSWORD_FIELDS for name, _ in hop.form):
        consented.add(where)
        return "login"
    if hop.method == "GET" and b'type="password"' in (hop.resp_body or b"")[:200_000].lower():
        return "login"
    words = (path(hop.url) + " " + " ".join(name for name, _ in hop.form)).lower()
    if any(word in words for word in _CONSENT_WORDS) or where in consented:
        return "consent"
    return "login"
