"""The Mermaid sequence diagram of one exchange in the Markdown report: its hops between the parties, the
failing ones marked, and the hops no exchange claims that lead up to it (the client's start page)."""

from __future__ import annotations

from oauthtrace.analysis.engine import Report
from oauthtrace.exporters.mermaid import Message, Note, Participant, sequence_diagram
from oauthtrace.model import Exchange, Hop
from oauthtrace.params import path
from oauthtrace.report.marks import MARKS, findings_by_hop, worst
from oauthtrace.report.parties import BROWSER, CLIENT, PARTY_LABELS, PARTY_ORDER, PROVIDER, Parties
from oauthtrace.timeline import redirect_summary

MAX_DIAGRAM_HOPS = 40


def diagram_hops(exchange: Exchange, hops: list[Hop], report: Report, parties: Parties) -> list[Hop]:
    """The exchange's hops, and the hops no exchange claims that lead up to it (the client's start page)."""
    claimed = {hop.seq for ex in report.exchanges for hop in ex.hops}
    starts = sorted(min(hop.seq for hop in ex.hops) for ex in report.exchanges if ex.hops)
    own = {hop.seq for hop in exchange.hops}
    first = min(own) if own else 0
    earlier = [start for start in starts if start < first]
    after = earlier[-1] if earlier else 0
    last = starts[-1] if starts else 0
    picked = []
    for hop in hops:
        if hop.seq in own:
            picked.append(hop)
        elif hop.seq not in claimed and parties.receiver(hop) is not None:
            leads_up = after < hop.seq < first
            trailing = first == last and hop.seq > first  # after the last exchange: still part of its story
            if leads_up or trailing:
                picked.append(hop)
    return picked


def diagram(exchange: Exchange, hops: list[Hop], report: Report, parties: Parties) -> str:
    flagged = findings_by_hop(report.findings)
    picked = [hop for hop in diagram_hops(exchange, hops, report, parties) if parties.receiver(hop) is not None]
    if len(picked) > MAX_DIAGRAM_HOPS:
        keep = {hop.seq for hop in picked[:MAX_DIAGRAM_HOPS]} | set(flagged)
        left_out = len(picked) - len([hop for hop in picked if hop.seq in keep])
        picked = [hop for hop in picked if hop.seq in keep]
    else:
        left_out = 0
    steps: list[Message | Note] = []
    used: set[str] = set()
    for hop in picked:
        sender, receiver = parties.sender(hop), parties.receiver(hop)
        used |= {sender, receiver}
        steps.append(Message(sender, receiver, request_label(hop)))
        findings = flagged.get(hop.seq, [])
        icon = MARKS[worst(findings)] + " " if findings else ""
        if hop.status is None:
            steps.append(Message(receiver, sender, f"{icon}no response: {hop.error or 'none recorded'}", "failed"))
        else:
            steps.append(Message(receiver, sender, icon + response_label(hop), "response"))
        if findings:
            over = (sender, receiver) if sender != receiver else (sender,)
            names = ", ".join(dict.fromkeys(f"{f.rule} ({f.severity})" for f in findings))
            steps.append(Note(over, f"{icon}{names}"))
    if left_out:
        steps.append(Note((BROWSER,), f"… {left_out} more hops not drawn"))
        used.add(BROWSER)
    participants = [Participant(pid, PARTY_LABELS[pid]) for pid in PARTY_ORDER
                    if pid in used or pid in (BROWSER, CLIENT, PROVIDER)]
    return sequence_diagram(participants, steps)


def request_label(hop: Hop) -> str:
    """`#2 GET /authorize ?response_type,client_id,state`: parameter names only, values are in the table."""
    text = f"#{hop.seq} {hop.method} {path(hop.url) or '/'}"
    names = list(dict.fromkeys(name for name, _ in hop.query))
    if names:
        text += " ?" + ",".join(names)
    form = list(dict.fromkeys(name for name, _ in hop.form))
    if form:
        text += " form " + ",".join(form)
    data = hop.req_json()
    if isinstance(data, dict) and isinstance(data.get("method"), str):
        text += f" {data['method']}"  # a JSON-RPC call (MCP)
    return text


def response_label(hop: Hop) -> str:
    text = str(hop.status)
    if hop.location:
        text += " → " + redirect_summary(hop.location)
        return text
    data = hop.resp_json()
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            return f"{text} error={data['error']}"
        keys = list(data)[:6]
        return f"{text} {{{','.join(keys)}{',…' if len(data) > 6 else ''}}}"
    content_type = hop.resp_content_type
    return f"{text} {content_type}" if content_type else text
