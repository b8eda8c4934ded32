"""The MCP authorization chain of one exchange as a Markdown section of the report: one row per step, with the
hop, what it showed and the findings at that hop. Paths, statuses and public metadata values only (no query
strings, no bodies), and every captured value inside a code span, so nothing needs redacting or can inject."""

from __future__ import annotations

from oauthtrace.analysis.mcp import chain_steps, is_mcp_exchange
from oauthtrace.exporters.markdown_text import code
from oauthtrace.model import Exchange, Finding
from oauthtrace.params import origin, path
from oauthtrace.report.marks import MARKS


def chain_section(exchange: Exchange, findings: list[Finding] = ()) -> str:
    """`### MCP authorization chain` and its table, or "" when the exchange is not an MCP flow."""
    if not is_mcp_exchange(exchange):
        return ""
    by_hop: dict[int, list[Finding]] = {}
    for finding in findings:
        if finding.exchange == exchange.index and finding.hop is not None:
            by_hop.setdefault(finding.hop, []).append(finding)
    lines = ["### MCP authorization chain", "", "| step | hop | request | result | findings |", "|---|---|---|---|---|"]
    for step in chain_steps(exchange):
        hop = step.hop
        here = [f for h in [hop, *step.also] for f in by_hop.get(h.seq, [])]
        found = ", ".join(f"{MARKS.get(f.severity, '')} `{f.rule}`" for f in here) or "✓"
        request = code(f"{hop.method} {origin(hop.url)}{path(hop.url)}", table=True)
        lines.append(f"| {step.step} | #{hop.seq} | {request} | {code(step.detail, table=True)} | {found} |")
    return "\n".join(lines) + "\n"
