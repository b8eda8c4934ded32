"""The MCP revisions the demo's connector and MCP server speak, oldest first: 2025-11-25 (sessions, a GET event
stream) and 2026-07-28 (stateless). One list, so that the two sides and `demo --mcp-revision` offer the same ones."""

from __future__ import annotations

PROTOCOL_VERSION = "2025-11-25"
MODERN_VERSION = "2026-07-28"
REVISIONS = (PROTOCOL_VERSION, MODERN_VERSION)


def known_revision(revision: str) -> str:
    """`revision`, when the demo speaks it; a ValueError naming the ones it does otherwise."""
    if revision not in REVISIONS:
        raise ValueError(f"unknown MCP revision {revision!r}; choose from {', '.join(REVISIONS)}")
    return revision
