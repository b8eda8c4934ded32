"""Scopes compared as a provider documents spelling them, so its documented answer to a scope request is not
taken for a changed grant: Google's URL forms of `email`/`profile`, Entra's resource-less Graph permissions,
`{resource}/.default` and the OpenID Connect scopes its token response leaves out."""

from __future__ import annotations

from typing import Iterable

from oauthtrace.analysis.providers.model import Provider

DEFAULT_SUFFIX = "/.default"


def same_grant(provider: Provider | None, requested: Iterable[str], granted: Iterable[str]) -> bool:
    """Whether `granted` is what `provider` documents answering to a request for `requested` (plain set equality
    for a provider the table does not know)."""
    asked, got = set(requested), set(granted)
    if asked == got or provider is None:
        return asked == got
    asked, got = _spelled(provider, asked), _spelled(provider, got)
    defaults = {scope[: -len(DEFAULT_SUFFIX)] for scope in asked if scope.endswith(DEFAULT_SUFFIX)}
    if defaults:
        # `{resource}/.default` asks for every permission of that resource already granted (Entra "The .default
        # scope"): any of them, and nothing of another resource, is its answer
        asked = {scope for scope in asked if not scope.endswith(DEFAULT_SUFFIX)}
        got = {scope for scope in got if not any(_belongs(scope, resource, provider) for resource in defaults)}
    return asked == got


def spelled(provider: Provider | None, scope: str) -> str | None:
    """`scope` under the name the provider answers with; None for one its token response does not list."""
    if provider is None:
        return scope
    if scope in provider.token_scope_omits:
        return None
    scope = provider.scope_aliases.get(scope, scope)
    prefix = provider.scope_default_resource
    if prefix and scope.startswith(prefix) and not scope.endswith(DEFAULT_SUFFIX):
        scope = scope[len(prefix):]  # Graph's `https://graph.microsoft.com/User.Read` is `User.Read`
    return scope


def _spelled(provider: Provider, scopes: set[str]) -> set[str]:
    """The scopes under the names the provider answers with, less those its token response does not list."""
    return {name for name in (spelled(provider, scope) for scope in scopes) if name is not None}


def _belongs(scope: str, resource: str, provider: Provider) -> bool:
    """Whether permission `scope` (as _spelled leaves it) is one of `resource`'s."""
    if scope.startswith(resource + "/"):
        return True
    default = provider.scope_default_resource.rstrip("/")
    return bool(default) and resource.rstrip("/") == default and "/" not in scope and ":" not in scope
