"""Severity as every view marks it: one symbol per severity, and the worst finding at each hop."""

from __future__ import annotations

from typing import Iterable

from oauthtrace.model import SEVERITY_RANK, Finding

# Text reports (Markdown, the MCP chain table, Mermaid notes): a symbol that reads in any font.
MARKS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}
NOTEWORTHY = ("error", "warning")  # what a diagram or a summary marks; information is listed, not flagged


def worst(findings: Iterable[Finding]) -> str:
    """The most severe severity among `findings` (at least one)."""
    return max((f.severity for f in findings), key=lambda s: SEVERITY_RANK.get(s, 0))


def findings_by_hop(findings: Iterable[Finding], severities: tuple[str, ...] = NOTEWORTHY) -> dict[int, list[Finding]]:
    """hop seq -> the findings of `severities` seen there: a finding seen at several hops marks every one."""
    by_hop: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.hop is not None and finding.severity in severities:
            for seq in finding.hops or (finding.hop,):
                by_hop.setdefault(seq, []).append(finding)
    return by_hop


def worst_by_seq(findings: Iterable[Finding]) -> dict[int, str]:
    """hop seq -> the most severe finding's severity at that hop (information included)."""
    return {seq: worst(found) for seq, found in findings_by_hop(findings, tuple(SEVERITY_RANK)).items()}
