"""An exchange as a sequence diagram: one row per hop, an arrow from the lane that sent it to the lane that got it.

Lanes are the parties of an OAuth flow (oauthtrace.report.parties: who sent each hop to whom, the same as the
Markdown report's diagram): Browser, Client, Provider, and the Resource server when the exchange calls one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from oauthtrace.model import Exchange, Finding, Hop
from oauthtrace.params import path
from oauthtrace.report.marks import worst_by_seq
from oauthtrace.report.parties import BROWSER, CLIENT, PARTY_LABELS, PROVIDER, RESOURCE, Parties
from oauthtrace.report.stages import authorize_stage
from oauthtrace.timeline import redirect_summary, status_word
from oauthtrace.tui.text import one_line

LANE_WIDTH = 12
LABEL_WIDTH = 16

ROLE_STYLE = {
    "authorize": "bold cyan", "callback": "bold magenta", "token": "bold yellow", "refresh": "yellow",
    "login": "blue", "consent": "blue", "metadata": "green", "registration": "green", "resource": "white",
}
SEVERITY_MARK = {"error": ("✗", "bold red"), "warning": ("!", "bold yellow"), "info": ("i", "cyan")}


@dataclass
class SwimRow:
    seq: int
    text: Text


def status_style(hop: Hop) -> str:
    if hop.error is not None or hop.status is None:
        return "bold red"
    if hop.status >= 400:
        return "bold red"
    return "yellow" if hop.status >= 300 else "green"


def status_text(hop: Hop) -> str:
    return status_word(hop.status, hop.error)


def parties(exchange: Exchange, roles: dict[int, str]) -> dict[int, tuple[str, str]]:
    """hop seq -> (sender lane, receiver lane)."""
    known = Parties.of(exchange.hops, roles)
    return {hop.seq: known.route(hop) for hop in exchange.hops}


def lanes_for(exchange: Exchange, roles: dict[int, str]) -> list[str]:
    lanes = [BROWSER, CLIENT, PROVIDER]
    if any(receiver == RESOURCE for _, receiver in parties(exchange, roles).values()):
        lanes.append(RESOURCE)
    return lanes


def header_row(lanes: list[str]) -> Text:
    text = Text(" " * LABEL_WIDTH)
    for lane in lanes:
        text.append(PARTY_LABELS[lane][:LANE_WIDTH].center(LANE_WIDTH), style="bold underline")
    return text


def exchange_title(exchange: Exchange, findings: list[Finding]) -> Text:
    text = Text(f"Exchange {exchange.index}", style="bold")
    if exchange.authorize is not None:
        client_id = authorize_stage(exchange).value("client_id")
        if client_id:
            text.append("  client ")
            text.append(one_line(client_id, 40), style="italic")
    text.append(f"  {len(exchange.hops)} hops")
    mine = [f for f in findings if f.exchange == exchange.index]
    errors = [f for f in mine if f.severity == "error"]
    if errors:
        text.append("  ✗ " + ", ".join(dict.fromkeys(f.rule for f in errors)), style="bold red")
    elif mine:
        text.append(f"  {len(mine)} finding(s)", style="yellow")
    else:
        text.append("  ✓ no findings", style="green")
    return text


def swim_rows(exchange: Exchange, roles: dict[int, str], findings: list[Finding]) -> list[SwimRow]:
    lanes = lanes_for(exchange, roles)
    who = parties(exchange, roles)
    worst = worst_by_seq([f for f in findings if f.exchange == exchange.index])
    return [SwimRow(hop.seq, hop_row(hop, roles.get(hop.seq, "other"), who[hop.seq], lanes, worst.get(hop.seq)))
            for hop in sorted(exchange.hops, key=lambda h: h.seq)]


def hop_row(hop: Hop, role: str, who: tuple[str, str], lanes: list[str], severity: str | None) -> Text:
    mark, mark_style = SEVERITY_MARK.get(severity, (" ", ""))
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(mark, style=mark_style)
    text.append(f"#{hop.seq:<4} ")
    text.append(role.upper()[:10].ljust(10), style=ROLE_STYLE.get(role, "dim"))
    text.append(_arrow(lanes, *who), style="bold red" if severity == "error" else "")
    text.append(" ")
    text.append(one_line(f"{hop.method} {path(hop.url)}", 48))
    text.append(" ")
    text.append(status_text(hop), style=status_style(hop))
    if hop.location:
        text.append(" → " + one_line(redirect_summary(hop.location), 60), style="dim")
    return text


def _arrow(lanes: list[str], sender: str, receiver: str) -> str:
    """`     ●───────────────────▶     ` across the lanes, one LANE_WIDTH cell per lane."""
    cells = [" "] * (LANE_WIDTH * len(lanes))
    start = lanes.index(sender) * LANE_WIDTH + LANE_WIDTH // 2
    end = lanes.index(receiver) * LANE_WIDTH + LANE_WIDTH // 2
    step = 1 if end >= start else -1
    for i in range(start, end, step):
        cells[i] = "─"
    cells[start] = "●"
    cells[end] = "▶" if step > 0 else "◀"
    return "".join(cells)
