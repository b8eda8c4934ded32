"""Profiles: the same rules, severities as a given world expects them (RULES.md "Profiles").

A table {profile: {rule id: severity}} plus a small function. A rule module may declare the overrides of its own
rules in a module-level dict PROFILE_SEVERITIES of the same shape; it then owns them, and this table's entries
for its rules are dropped (the table holds what RULES.md says for modules that declare nothing).
ChatGPT has two kinds of OAuth client, told apart by their callback and given a profile each:
- `gpt-actions`: GPT Actions (`https://chatgpt.com/aip/<id>/oauth/callback`, and chat.openai.com's): no PKCE, the
  scope as typed in the GPT's settings. The user owns the provider, not ChatGPT, so what ChatGPT does there and the
  provider cannot change is information.
- `chatgpt-connector`: ChatGPT apps / connectors (Apps SDK; `https://chatgpt.com/connector/oauth/<id>`, legacy
  `https://chatgpt.com/connector_platform_oauth_redirect`). They are MCP clients that send PKCE S256 and `resource`
  and support client ID metadata documents (https://developers.openai.com/apps-sdk/build/auth: "It supports Client
  ID Metadata Documents (CIMD), dynamic client registration (DCR), predefined OAuth clients, and PKCE"; "Echo the
  resource parameter throughout the OAuth flow"), so they are judged by MCP's severities.
Either is chosen automatically for an exchange whose redirect_uri is that callback. `chatgpt`, the name of the one
profile before the split, stays an alias of `gpt-actions` (whose behaviour it described).
"""

from __future__ import annotations

import re
import sys

from oauthtrace.analysis.mcp import is_mcp_exchange
from oauthtrace.analysis.oauth import redirect_uri_of
from oauthtrace.analysis.registry import RULES
from oauthtrace.model import SEVERITY_RANK, Exchange, Hit, Rule

PROFILES = ("oauth2", "oauth21", "oidc", "mcp", "gpt-actions", "chatgpt-connector")
DEFAULT = "oauth2"
# Old names still accepted (CLI, recordings' notes, rule modules' PROFILE_SEVERITIES): name -> the profile it means.
ALIASES = {"chatgpt": "gpt-actions"}
CHOICES = PROFILES + tuple(ALIASES)  # what --profile accepts
GPT_ACTIONS = "gpt-actions"
CHATGPT_CONNECTOR = "chatgpt-connector"
# Profiles that take MCP's severities as their own, then their own entries over them.
MCP_BASED = ("chatgpt-connector",)

# Only what differs from a rule's own severity. Rule modules add theirs (PROFILE_SEVERITIES).
SEVERITIES: dict[str, dict[str, str]] = {
    "oauth2": {},
    "oauth21": {
        "pkce-missing": "error",
        "redirect-uri-omitted-at-token": "info",
        "implicit-grant": "error",
    },
    "oidc": {
        "nonce-missing": "error",
    },
    "mcp": {
        "pkce-missing": "error",
        "pkce-plain": "error",
        "pkce-not-advertised": "error",
        "resource-missing": "error",
        "insecure-endpoint": "error",
        "as-metadata-invalid": "error",
        "redirect-uri-insecure": "error",
    },
    # ChatGPT connectors are MCP clients: MCP's severities (MCP_BASED), nothing softened.
    "chatgpt-connector": {},
    # The user owns the provider, not ChatGPT: what a GPT Action does and the provider cannot change becomes info;
    # what the provider must do keeps its severity.
    "gpt-actions": {
        "pkce-missing": "info",
        "scope-omitted": "info",
        "scope-format": "info",
        "pkce-plain": "error",
        "pkce-not-advertised": "error",
    },
}

_CONNECTOR_CALLBACKS = ("https://chatgpt.com/connector/oauth/<id> (one per connector) and the legacy "
                       "https://chatgpt.com/connector_platform_oauth_redirect")
# Claude's documented behaviour (https://support.anthropic.com/en/articles/11503834-building-custom-connectors-via-
# remote-mcp-servers, https://claude.com/docs/connectors/building/authentication).
_CLAUDE_CALLBACKS = "https://claude.ai/api/mcp/auth_callback and https://claude.com/api/mcp/auth_callback"

# What the provider must accept instead of the client's behaviour it cannot change, per profile.
FIXES: dict[str, dict[str, str]] = {
    "mcp": {
        "redirect-uri-rejected": f"Allowlist the connectors' callbacks: Claude {_CLAUDE_CALLBACKS} (Claude's "
                                 "docs say its callback may move to claude.com); ChatGPT " + _CONNECTOR_CALLBACKS + ".",
    },
    "chatgpt-connector": {
        "redirect-uri-rejected": "Allowlist ChatGPT's connector callbacks: " + _CONNECTOR_CALLBACKS + ".",
    },
    "gpt-actions": {
        "pkce-missing": "GPT Actions do not send PKCE: accept authorization requests without code_challenge from "
                        "this client (keep requiring it for public clients).",
        "scope-omitted": "ChatGPT sends `scope=` when the scope is left empty and omits scope on reconnect: grant "
                         "a default scope instead of failing with invalid_scope.",
        "scope-format": "Accept the scope string ChatGPT sends; configure the scopes in the GPT's OAuth settings "
                        "space-separated.",
        "redirect-uri-rejected": "Allowlist both https://chat.openai.com/aip/<id>/oauth/callback and "
                                 "https://chatgpt.com/aip/<id>/oauth/callback.",
        "client-auth-method-mismatch": "Accept both client_secret_post and client_secret_basic at the token "
                                       "endpoint: ChatGPT sends whichever the GPT's settings say.",
    },
}

_CHATGPT_CALLBACK = re.compile(
    r"^https://(chat\.openai\.com|chatgpt\.com)"
    r"(/aip/[^/?#]+/oauth/callback|/connector/oauth/[^?#]*|/connector_platform_oauth_redirect)/?(?:[?#].*)?$",
    re.IGNORECASE,
)

# Redirect URIs of clients that users connect to their providers (for redirect-uri-rejected).
KNOWN_CALLBACKS = (
    ("ChatGPT", _CHATGPT_CALLBACK),
    ("Claude", re.compile(r"^https://(claude\.ai|claude\.com)/api/mcp/auth_callback/?(?:[?#].*)?$", re.I)),
    ("Postman", re.compile(r"^https://oauth\.pstmn\.io/v1/(browser-)?callback/?(?:[?#].*)?$", re.I)),
)


_GPT_ACTIONS_CALLBACK = re.compile(
    r"^https://(chat\.openai\.com|chatgpt\.com)/aip/[^/?#]+/oauth/callback/?(?:[?#].*)?$", re.IGNORECASE
)
_CONNECTOR_CALLBACK = re.compile(
    r"^https://(chat\.openai\.com|chatgpt\.com)(/connector/oauth/[^?#]*|/connector_platform_oauth_redirect)/?"
    r"(?:[?#].*)?$",
    re.IGNORECASE,
)

# A ChatGPT-shaped callback on a loopback host: a local stand-in for ChatGPT (the demo's client, a developer's
# imitation of the plugin backend) gets the profile of the client it imitates.
_LOCAL_CHATGPT_CALLBACK = re.compile(
    r"^http://(127\.\d+\.\d+\.\d+|localhost)(:\d+)?/aip/[^/?#]+/oauth/callback/?(?:[?#].*)?$", re.IGNORECASE
)


def is_chatgpt_callback(url: str | None) -> bool:
    """Any ChatGPT callback: a GPT Action's or a connector's."""
    return bool(url) and (_CHATGPT_CALLBACK.match(url) is not None or _LOCAL_CHATGPT_CALLBACK.match(url) is not None)


def is_gpt_actions_callback(url: str | None) -> bool:
    return bool(url) and (_GPT_ACTIONS_CALLBACK.match(url) is not None
                          or _LOCAL_CHATGPT_CALLBACK.match(url) is not None)


def is_chatgpt_connector_callback(url: str | None) -> bool:
    return bool(url) and _CONNECTOR_CALLBACK.match(url) is not None


def canonical(name: str | None) -> str | None:
    """The profile a name means: an alias (`chatgpt`) resolved, any other name as it is."""
    return ALIASES.get(name, name) if name else name


def is_gpt_actions(profile: str | None) -> bool:
    """Whether `profile` (a name or an alias) is the GPT Actions profile: for rules that read ctx.profile."""
    return canonical(profile) == GPT_ACTIONS


def known_client(redirect_uri: str | None) -> str | None:
    """The name of a well-known client whose callback this is, or None."""
    if not redirect_uri:
        return None
    for name, pattern in KNOWN_CALLBACKS:
        if pattern.match(redirect_uri):
            return name
    return None


def check_profile(name: str | None) -> str | None:
    """None (automatic) or a known profile name (an alias resolved); anything else is the caller's error."""
    if name is not None and name not in CHOICES:
        raise ValueError(f"unknown profile {name!r} (choose from {', '.join(CHOICES)})")
    return canonical(name)


def profile_for(exchange: Exchange | None, chosen: str | None = None) -> str:
    """The profile that applies to one exchange: the chosen one, else gpt-actions or chatgpt-connector for their
    ChatGPT callbacks, else mcp for Claude's callback or an MCP connector's flow, else oauth2."""
    if chosen:
        return canonical(chosen)
    redirect_uri = redirect_uri_of(exchange) if exchange is not None else None
    if is_gpt_actions_callback(redirect_uri):
        return GPT_ACTIONS
    if is_chatgpt_connector_callback(redirect_uri):
        return CHATGPT_CONNECTOR
    if known_client(redirect_uri) == "Claude":
        return "mcp"  # Claude's connector is an MCP client, even when only the browser's side was recorded
    if exchange is not None and is_mcp_exchange(exchange):
        return "mcp"  # an MCP connector's flow (protected resource metadata, MCP calls): MCP authorization
    return DEFAULT


def severity_for(rule: Rule, hit: Hit, profile: str | None, exchange: Exchange | None = None, *,
                 table: dict[str, dict[str, str]] | None = None) -> str:
    """A finding's severity: the profile's override if it has one, else the hit's, else the rule's default.

    Under `gpt-actions` the overrides soften only what the client (ChatGPT) does: a hit of the same rule blamed on
    the provider (e.g. failing with invalid_scope instead of applying a default scope) keeps its severity.
    `table`: severity_table(), when the caller already has it (the engine asks once per run, not per finding).
    """
    name = profile_for(exchange, profile)
    own = hit.severity or rule.severity
    override = (table if table is not None else severity_table()).get(name, {}).get(rule.id)
    softer = override and SEVERITY_RANK.get(override, 0) < SEVERITY_RANK.get(own, 0)
    if softer and name == GPT_ACTIONS and (hit.blame or rule.blame) != "C":
        return own
    return override or own


def fix_for(rule: Rule, profile: str | None, exchange: Exchange | None = None) -> str:
    return FIXES.get(profile_for(exchange, profile), {}).get(rule.id) or rule.fix


def severity_table() -> dict[str, dict[str, str]]:
    """This module's table with the rule modules' PROFILE_SEVERITIES merged over it (cached per rule set)."""
    # the same rule objects, the same table: a cheap key, since every finding asks (tuples compare their items by
    # identity first, so an unchanged registry is recognised without comparing any rule's fields)
    key = tuple(RULES.values())
    if _merged.get("key") != key:
        modules = sorted({rule.check.__module__ for rule in RULES.values() if rule.check is not None})
        merged = {name: dict(values) for name, values in SEVERITIES.items()}
        for module_name in modules:
            module = sys.modules.get(module_name)
            declared = getattr(module, "PROFILE_SEVERITIES", None)
            if declared is None:
                continue
            # a module that declares its overrides owns its rules' profile severities, even by declaring none
            owned = {rule.id for rule in RULES.values() if rule.check is not None
                     and rule.check.__module__ == module_name}
            for values in merged.values():
                for rule_id in owned & values.keys():
                    del values[rule_id]
            for name, values in declared.items():
                merged.setdefault(canonical(name), {}).update(values)
        for name in MCP_BASED:
            merged[name] = {**merged["mcp"], **merged.get(name, {})}
        _merged.update(key=key, table=merged)
    return _merged["table"]


_merged: dict = {}
