"""Baseline drift: what changed between a golden recording and a new one of the same client and provider.

The check that explains "ChatGPT started sending state" or "GitHub started sending iss" on day one: parameters
added to or removed from the authorization request, the authorization response, the token request and response;
a changed value of a parameter that should stay put (scope, redirect_uri, resource …); another client
authentication method; another redirect chain; changed metadata or registration.

Values that are fresh in every run (state, nonce, code, PKCE pair, tokens, client_id of a dynamic registration)
are compared by presence only. Loopback ports are ignored (`127.0.0.1:*`): a local client or provider gets a new
port on every run (RFC 8252 §7.3 lets native clients vary it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from oauthtrace.analysis.authorization import authz_response, sent_params
from oauthtrace.analysis.classify import FRONT_ROLES, classify_with_sources
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.mcp import chain, json_document
from oauthtrace.analysis.oauth import body_params, client_auth_used, param, request_params, shown, token_fields
from oauthtrace.analysis.registry import Context
from oauthtrace.model import Exchange, Hop, Pairs
from oauthtrace.params import base_url, host, path

# Parameters whose value should be the same in every run (the others are fresh each time: presence only).
STABLE_VALUES = frozenset({
    "response_type", "scope", "redirect_uri", "resource", "response_mode", "code_challenge_method", "prompt",
    "audience", "acr_values", "max_age", "display", "ui_locales", "claims", "grant_type", "token_type",
    "client_id", "iss",
})
# Parameters whose arrival or disappearance breaks clients or providers in practice (RULES.md, family O).
WATCHED = frozenset({
    "state", "iss", "scope", "resource", "nonce", "code_challenge", "code_challenge_method", "redirect_uri",
    "response_mode", "request_uri", "refresh_token", "token_type", "expires_in", "code_verifier",
})
# Metadata fields a client acts on.
METADATA_WATCHED = frozenset({
    "issuer", "authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri", "resource",
    "authorization_servers", "code_challenge_methods_supported", "token_endpoint_auth_methods_supported",
    "response_types_supported", "grant_types_supported", "scopes_supported",
    "authorization_response_iss_parameter_supported", "require_pushed_authorization_requests",
    "pushed_authorization_request_endpoint", "client_id_metadata_document_supported",
})
REGISTRATION_WATCHED = ("redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method", "scope")
_LOOPBACK_PORT = re.compile(r"(//(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])):\d+", re.IGNORECASE)


@dataclass
class Side:
    """One recording, classified and correlated, with a rule context to read it through."""

    ctx: Context

    @property
    def exchanges(self) -> list[Exchange]:
        return self.ctx.exchanges


def side(hops: list[Hop], trace_id: int = 0) -> Side:
    hops = sorted(hops, key=lambda hop: hop.seq)
    roles, sources = classify_with_sources(hops)
    exchanges = correlate(hops, roles, sources=sources)
    return Side(Context(trace_id=trace_id, hops=hops, exchanges=exchanges, roles=roles, sides=set()))


@dataclass
class Change:
    part: str  # authorize, authorization response, token request, token response, client auth, redirect chain,
    #            metadata, registration, flow
    name: str
    kind: str  # added, removed, changed
    before: object = None
    after: object = None
    severity: str = "info"
    exchange: int | None = None  # in the new trace
    baseline_exchange: int | None = None
    hop: Hop | None = field(default=None, repr=False)  # where the new trace shows it

    @property
    def message(self) -> str:
        where = f"{self.part}.{self.name}" if self.name else self.part
        if self.kind == "added":
            return f"{where}: baseline ∅ → now {shown(self.after)}"
        if self.kind == "removed":
            return f"{where}: baseline {shown(self.before)} → now ∅"
        return f"{where}: baseline {shown(self.before)} → now {shown(self.after)}"

    def as_dict(self) -> dict:
        return {"part": self.part, "name": self.name, "change": self.kind, "before": self.before,
                "after": self.after, "severity": self.severity, "exchange": self.exchange,
                "baseline_exchange": self.baseline_exchange, "hop": self.hop.seq if self.hop else None,
                "message": self.message}


def stable(value):
    """A value with loopback ports blanked, lists in a canonical order."""
    if isinstance(value, str):
        return _LOOPBACK_PORT.sub(r"\1:*", value)
    if isinstance(value, list):
        return sorted((stable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()}
    return value


# --- pairing flows ------------------------------------------------------------------------------------------


def flows(found: Side) -> list[Exchange]:
    """The exchanges that are OAuth flows (an authorization or token request, or a registration)."""
    return [ex for ex in found.exchanges if ex.authorize is not None or ex.tokens or ex.registrations or ex.pushed]


def flow_key(exchange: Exchange) -> tuple[str, str]:
    """(provider, client): the authorization endpoint and the redirect URI, loopback ports blanked."""
    if exchange.authorize is not None:
        provider = base_url(exchange.authorize.upstream_url or exchange.authorize.url)
        client = param(request_params(exchange.authorize), "redirect_uri") or ""
    elif exchange.tokens:
        provider = base_url(exchange.tokens[0].upstream_url or exchange.tokens[0].url)
        client = param(body_params(exchange.tokens[0]), "redirect_uri") or ""
    else:
        first = (exchange.registrations + exchange.pushed + exchange.hops)[0]
        provider, client = base_url(first.upstream_url or first.url), ""
    return stable(provider), stable(base_url(client) if client else "")


def pair(baseline: Side, current: Side) -> tuple[list[tuple[Exchange | None, Exchange | None]], list[Change]]:
    """Each new flow with the baseline flow of the same client and provider (a second login, a reconnect, is
    compared with the last one); a lone flow on each side is paired even if its key changed."""
    old_by_key: dict[tuple, list[Exchange]] = {}
    for exchange in flows(baseline):
        old_by_key.setdefault(flow_key(exchange), []).append(exchange)
    pairs: list[tuple[Exchange | None, Exchange | None]] = []
    used: set[int] = set()
    unpaired_new: list[Exchange] = []
    for exchange in flows(current):
        candidates = old_by_key.get(flow_key(exchange))
        if not candidates:
            unpaired_new.append(exchange)
            continue
        fresh = [ex for ex in candidates if ex.index not in used]
        match = fresh[0] if fresh else candidates[-1]
        used.add(match.index)
        pairs.append((match, exchange))
    unpaired_old = [ex for ex in flows(baseline) if ex.index not in used]
    changes: list[Change] = []
    if len(unpaired_old) == 1 and len(unpaired_new) == 1:
        old, new = unpaired_old[0], unpaired_new[0]
        for name, before, after in zip(("provider", "client"), flow_key(old), flow_key(new)):
            if before != after:
                changes.append(Change("flow", name, "changed", before, after, "warning", new.index, old.index,
                                      new.authorize or new.hops[0]))
        pairs.append((old, new))
        unpaired_old, unpaired_new = [], []
    for old in unpaired_old:
        provider, client = flow_key(old)
        changes.append(Change("flow", "", "removed", f"{client or 'a client'} at {provider}", None, "warning",
                              None, old.index))
    for new in unpaired_new:
        provider, client = flow_key(new)
        changes.append(Change("flow", "", "added", None, f"{client or 'a client'} at {provider}", "info",
                              new.index, None, new.authorize or new.hops[0]))
    return pairs, changes


# --- comparing one pair -------------------------------------------------------------------------------------


def changes_since(baseline: Side, current: Side) -> list[Change]:
    pairs, changes = pair(baseline, current)
    for old, new in pairs:
        if old is None or new is None:
            continue
        found: list[Change] = []
        registered = bool(old.registrations or new.registrations)
        found += _params("authorize", sent_params(old, baseline.ctx), sent_params(new, current.ctx),
                         new.authorize, skip_values={"client_id"} if registered else set())
        old_response, new_response = authz_response(old), authz_response(new)
        found += _params("authorization response", old_response.pairs if old_response else None,
                         new_response.pairs if new_response else None, new_response.hop if new_response else None)
        old_token, new_token = (old.tokens or [None])[0], (new.tokens or [None])[0]
        found += _token(old_token, new_token, registered)
        found += _chain_of(old, new)
        found += _documents("metadata", _metadata(old), _metadata(new))
        found += _registration(old, new)
        for change in found:
            change.exchange, change.baseline_exchange = new.index, old.index
            change.hop = change.hop or new.authorize or (new.hops[0] if new.hops else None)
        changes += found
    return sorted(changes, key=lambda c: (c.exchange or 0, c.hop.seq if c.hop else 0, c.part, c.name))


def _params(part: str, old: Pairs | None, new: Pairs | None, hop: Hop | None, *,
            skip_values: set[str] = frozenset()) -> list[Change]:
    if old is None or new is None:
        return []
    before = {name: value for name, value in reversed(old) if value}
    after = {name: value for name, value in reversed(new) if value}
    changes = []
    for name in sorted(before.keys() | after.keys()):
        severity = "warning" if name in WATCHED else "info"
        if name not in after:
            changes.append(Change(part, name, "removed", _shown_value(name, before[name]), None, severity, hop=hop))
        elif name not in before:
            changes.append(Change(part, name, "added", None, _shown_value(name, after[name]), severity, hop=hop))
        elif name in STABLE_VALUES and name not in skip_values and stable(before[name]) != stable(after[name]):
            changes.append(Change(part, name, "changed", stable(before[name]), stable(after[name]), severity,
                                  hop=hop))
    return changes


def _shown_value(name: str, value: str) -> str:
    """Fresh values are not shown (they differ every run, and some are secrets): only that one is there."""
    return stable(value) if name in STABLE_VALUES else "(sent)"


def _token(old: Hop | None, new: Hop | None, registered: bool) -> list[Change]:
    if old is None or new is None:
        return []
    changes = _params("token request", body_params(old), body_params(new), new,
                      skip_values={"client_id"} if registered else set())
    changes = [c for c in changes if c.name not in ("client_secret", "client_id") or c.kind == "changed"]
    before, after = client_auth_used(old), client_auth_used(new)
    if before != after:
        changes.append(Change("token request", "client authentication", "changed", before, after, "warning",
                              hop=new))
    old_fields, new_fields = token_fields(old) or {}, token_fields(new) or {}
    if old.status == 200 and new.status == 200:
        changes += _params("token response", _pairs(old_fields), _pairs(new_fields), new)
    elif old.status != new.status:
        changes.append(Change("token response", "status", "changed", old.status, new.status, "warning", hop=new))
    return changes


def _pairs(fields: dict) -> Pairs:
    return [(str(k), v if isinstance(v, str) else str(v)) for k, v in fields.items() if v not in (None, "")]


def _chain_of(old: Exchange, new: Exchange) -> list[Change]:
    """The front channel's steps, authorize to callback: role, method, host and path."""
    before, after = _steps(old), _steps(new)
    if not before or not after or before == after:
        return []
    hosts_changed = {step.split(" ")[2].split("/")[0] for step in before} != \
        {step.split(" ")[2].split("/")[0] for step in after}
    return [Change("redirect chain", "", "changed", " → ".join(before), " → ".join(after),
                   "warning" if hosts_changed else "info", hop=new.authorize)]


def _steps(exchange: Exchange) -> list[str]:
    steps = []
    for hop in sorted(exchange.hops, key=lambda h: h.seq):
        role = exchange.roles.get(hop.seq)
        if role in FRONT_ROLES:
            url = stable(hop.upstream_url or hop.url)
            step = f"{role} {hop.method} {host(url)}{_port(url)}{path(url)}"
            if not steps or steps[-1] != step:
                steps.append(step)
    return steps


def _port(url: str) -> str:
    rest = url.split("//", 1)[-1].split("/", 1)[0]
    return ":" + rest.rsplit(":", 1)[1] if ":" in rest and not rest.endswith("]") else ""


def _metadata(exchange: Exchange) -> dict[str, tuple[Hop, dict]]:
    """Well-known path (loopback port blanked) -> the document, for AS and protected resource metadata."""
    mcp = chain(exchange)
    found = {}
    for hop in mcp.as_metadata + mcp.resource_metadata:
        document = json_document(hop)
        if document is not None:
            found[stable(base_url(hop.upstream_url or hop.url))] = (hop, document)
    return found


def _documents(part: str, old: dict, new: dict) -> list[Change]:
    changes = []
    for url in sorted(old.keys() | new.keys()):
        if url not in new:
            changes.append(Change(part, url, "removed", "(served)", None, "warning"))
            continue
        hop, after = new[url]
        if url not in old:
            changes.append(Change(part, url, "added", None, "(served)", "info", hop=hop))
            continue
        _, before = old[url]
        for name in sorted(before.keys() | after.keys()):
            if name not in METADATA_WATCHED and (name in before) == (name in after):
                continue
            label = f"{path(url)} {name}"
            if name not in after:
                changes.append(Change(part, label, "removed", stable(before[name]), None, "warning", hop=hop))
            elif name not in before:
                changes.append(Change(part, label, "added", None, stable(after[name]), "info", hop=hop))
            elif stable(before[name]) != stable(after[name]):
                changes.append(Change(part, label, "changed", stable(before[name]), stable(after[name]),
                                      "warning", hop=hop))
    return changes


def _registration(old: Exchange, new: Exchange) -> list[Change]:
    if not old.registrations or not new.registrations:
        return []
    changes = []
    for which, read in (("request", lambda h: h.req_json()), ("response", lambda h: h.resp_json())):
        before, after = read(old.registrations[-1]), read(new.registrations[-1])
        if not isinstance(before, dict) or not isinstance(after, dict):
            continue
        for name in REGISTRATION_WATCHED:
            if stable(before.get(name)) != stable(after.get(name)):
                kind = "added" if name not in before else "removed" if name not in after else "changed"
                changes.append(Change(f"registration {which}", name, kind, stable(before.get(name)),
                                      stable(after.get(name)), "warning", hop=new.registrations[-1]))
    status_before, status_after = old.registrations[-1].status, new.registrations[-1].status
    if status_before != status_after:
        changes.append(Change("registration response", "status", "changed", status_before, status_after,
                              "warning", hop=new.registrations[-1]))
    return changes


# --- output -------------------------------------------------------------------------------------------------


def render_text(changes: list[Change], baseline_name: str, trace_name: str) -> str:
    """What `oauthtrace diff` prints: one line per change, grouped by the pair of exchanges compared."""
    if not changes:
        return f"No drift: {trace_name} matches the baseline {baseline_name}.\n"
    lines = [f"{trace_name} compared with the baseline {baseline_name}:"]
    group = None
    for change in changes:
        key = (change.exchange, change.baseline_exchange)
        if key != group:
            group = key
            lines.append(f"exchange {change.exchange or '–'} ↔ baseline exchange {change.baseline_exchange or '–'}")
        where = f" (#{change.hop.seq})" if change.hop is not None else ""
        lines.append(f"  {change.severity:<8}{change.message}{where}")
    noun = "change" if len(changes) == 1 else "changes"
    lines.append(f"{len(changes)} {noun}.")
    return "\n".join(lines) + "\n"


def render_json(changes: list[Change], baseline_id: int, trace_id: int) -> dict:
    return {"baseline": baseline_id, "trace": trace_id, "drifted": bool(changes),
            "changes": [change.as_dict() for change in changes]}
