"""Provider knowledge: the big providers recognised by issuer and host, their documented deviations, and the
small API the rules call.

    provider_of(exchange | hop | url_or_issuer) -> Provider | None
    provider_of_url(url), provider_of_issuer(issuer), is_known_userinfo(url) -> Provider | None
    same_grant(provider, requested, granted) -> bool      # scopes compared as the provider spells them
    spelled(provider, scope) -> str | None                # one scope as the provider answers it (None: not listed)
    named(hit, provider, deviation_key, severity=None) -> Hit   # the provider's name, docs and fix on a hit
    PROVIDERS                                             # the table (plain data), rendered as docs/providers.md
"""

from __future__ import annotations

from oauthtrace.analysis.providers.model import Deviation, Provider
from oauthtrace.analysis.providers.naming import named
from oauthtrace.analysis.providers.recognise import (
    is_known_userinfo, provider_of, provider_of_issuer, provider_of_url,
)
from oauthtrace.analysis.providers.scopes import same_grant, spelled
from oauthtrace.analysis.providers.table import PROVIDERS

__all__ = ["PROVIDERS", "Deviation", "Provider", "is_known_userinfo", "named", "provider_of", "provider_of_issuer",
           "provider_of_url", "same_grant", "spelled"]
