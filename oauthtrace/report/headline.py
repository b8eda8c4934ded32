"""The one finding a summary names, and the sentence that says its cause."""

from __future__ import annotations

from oauthtrace.model import Exchange, Finding

# Which cause a summary names when several findings fall on one hop: the root cause before what followed from it
# (a dropped state before the error response it came back with, an unparsable token response before its
# missing fields).
CAUSE_ORDER = (
    "state-dropped", "state-altered", "callback-target-mismatch", "authz-error", "redirect-uri-mismatch",
    "token-response-not-json", "token-fields-missing", "expires-in-not-number", "pkce-verifier-mismatch",
    "dcr-rejected", "redirect-uri-rejected", "mcp-401-no-resource-metadata", "prm-resource-mismatch",
    "resource-missing", "flow-stalled-after-callback", "token-not-used",
)


def headline(findings: list[Finding]) -> Finding | None:
    """The earliest error (else warning), the root cause first at the same hop; None when there is neither."""
    for severity in ("error", "warning"):
        found = [f for f in findings if f.severity == severity]
        if found:
            return min(found, key=_place)
    return None


def _place(finding: Finding) -> tuple:
    rank = CAUSE_ORDER.index(finding.rule) if finding.rule in CAUSE_ORDER else len(CAUSE_ORDER)
    return finding.exchange or 0, finding.hop if finding.hop is not None else 1 << 30, rank, finding.rule


def exchange_path(exchange: Exchange) -> str:
    """`authorize #2 → callback #5 → token #6`: the exchange's main hops at a glance."""
    steps = [("authorize", exchange.authorize), ("callback", exchange.callback)]
    steps += [("token", hop) for hop in exchange.tokens]
    shown = [f"{name} #{hop.seq}" for name, hop in steps if hop is not None]
    return " → ".join(shown) if shown else f"{len(exchange.hops)} hops"
