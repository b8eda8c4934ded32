"""What oauthtrace knows of a provider: how it is recognised, and what it documents doing its own way.

Plain data (the table is in table.py); the modules next to this one read it: recognise.py finds the provider of
a URL, a hop or an exchange; scopes.py compares scopes as the provider spells them; naming.py puts the provider's
name and fix on a rule's hit; docs.py renders docs/providers.md from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Deviation:
    """One documented behaviour of a provider that differs from the specifications oauthtrace checks."""

    key: str  # short name rules refer to ("resource-v2", "expires-in-string" …)
    what: str  # the behaviour, in the provider's own terms
    docs: str  # the provider's documentation saying so
    effect: str  # what it does to a client
    says: str  # what oauthtrace says about it (the rule and severity, or that it stays quiet)
    fix: str = ""  # the fix in the provider's terms, for a finding that names it


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per table row
class Provider:
    """A provider and what oauthtrace recognises it by.

    `urls`: URL prefixes its endpoints start with, `{name}` standing for one path segment or host label(s)
    (`https://{tenant}.auth0.com/`); `issuers`: its issuer identifiers, whole, in the same notation.
    """

    key: str
    name: str
    docs: str  # the provider's OAuth / OpenID Connect documentation
    urls: tuple[str, ...]
    issuers: tuple[str, ...] = ()
    deviations: tuple[Deviation, ...] = ()
    userinfo: tuple[str, ...] = ()  # its own userinfo endpoints (URL patterns, whole), beyond discovery's
    # scope spellings its token responses use for a scope asked for under another name: asked -> answered
    scope_aliases: dict[str, str] = field(default_factory=dict)
    scope_default_resource: str = ""  # a permission named without a resource belongs to this one (Entra: Graph)
    token_scope_omits: frozenset[str] = frozenset()  # scopes its token response's `scope` does not list
    string_numbers: frozenset[str] = frozenset()  # token response members it documents as JSON strings
    token_types: frozenset[str] = frozenset()  # token_type values it documents beyond the registered ones

    def deviation(self, key: str) -> Deviation | None:
        return next((item for item in self.deviations if item.key == key), None)
