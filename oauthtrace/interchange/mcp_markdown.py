"""The MCP authorization chain of one exchange as a Markdown section, for the report: one row per step, with the
hop, what it showed and the findings at that hop. Paths and statuses only, so nothing needs redacting."""

from __future__ import annotations

from oauthtrace.analysis.mcp import chain_steps, is_mcp_exchange
from oauthtrace.model import Exchange, Finding
from oauthtrace.params import origin, path

MARKS = {"error": "✗", "warning": "!", "info": "i"}


def chain_section(exchange: Exchange, findings: list[Finding] = ()) -> str:
    """`### MCP authorization chain` and its table, or "" when the exchange is not an MCP flow."""
    if not is_mcp_exchange(exchange):
        return ""
    by_hop: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.exchange == exchange.index and finding.hop is not None:
            by_hop.setdefault(finding.hop, []).append(finding)
    lines = [f"### MCP authorization chain (exchange {exchange.index})", "",
             "| step | hop | request | result | findings |", "|---|---|---|---|---|"]
    for step in chain_steps(exchange):
        hop = step.hop
        here = [f for h in [hop, *step.also] for f in by_hop.get(h.seq, [])]
        found = ", ".join(f"{MARKS.get(f.severity, '')} `{f.rule}`" for f in here) or "✓"
        request = f"{hop.method} {origin(hop.url)}{path(hop.url)}"
        lines.append(f"| {_cell(step.step)} | #{hop.seq} | `{_cell(request)}` | {_cell(step.detail)} | {found} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
