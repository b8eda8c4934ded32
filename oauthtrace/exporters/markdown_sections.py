"""The tables and lists of the Markdown report: parameters side by side, the `state` line, findings, rules not
evaluated, hops. Values come from the report layer; verdicts are the findings'."""

from __future__ import annotations

import json

from oauthtrace.analysis.engine import Report
from oauthtrace.exporters.markdown_text import code, cut, fenced, plain, trusted
from oauthtrace.model import SEVERITY_RANK, Hop, Pairs, blame_word
from oauthtrace.report.exchange import ExchangeView
from oauthtrace.report.marks import MARKS, findings_by_hop, worst
from oauthtrace.report.parties import PARTY_LABELS, Parties
from oauthtrace.report.rule_words import rule_quote
from oauthtrace.report.verdicts import Verdict

MAX_FINDINGS = 60
MAX_HOP_ROWS = 100


def parameter_columns(view: ExchangeView) -> list[tuple[str, Hop, Pairs]]:
    """(heading, hop, parameters) for each stage of the exchange that was recorded."""
    authorize = view.exchange.authorize
    columns: list[tuple[str, Hop, Pairs]] = []
    for stage in view.stages:
        if stage.kind == "authorize":
            columns.append(("authorization request", stage.hop, stage.pairs))
        elif stage.kind == "response" and stage.hop is not authorize:
            columns.append((f"authorization response ({stage.mode})", stage.hop, stage.pairs))
        elif stage.kind == "callback":
            columns.append(("callback", stage.hop, stage.pairs))
        elif stage.kind == "token":
            columns.append(("token request", stage.hop, stage.pairs + [("(client authentication)", view.client_auth)]))
        elif stage.kind == "token response":
            columns.append(("token response", stage.hop, stage.pairs))
    return columns


def parameter_table(view: ExchangeView) -> list[str]:
    columns = parameter_columns(view)
    names = list(dict.fromkeys(name for _, _, pairs in columns for name, _ in pairs))
    if not names:
        return []
    header = "| parameter | " + " | ".join(f"{heading} #{hop.seq}" for heading, hop, _ in columns) + " |"
    rows = [header, "|---|" + "---|" * len(columns)]
    for name in names:
        cells = []
        for _, _, pairs in columns:
            values = [value for key, value in pairs if key == name]
            cells.append(", ".join(code(value, table=True) if value != "" else "(empty)" for value in values)
                         if values else "∅")
        rows.append(f"| {code(name, table=True)} | " + " | ".join(cells) + " |")
    return rows


_STATE_WORDS = {
    "ok": " — ✅ came back unchanged", "state-dropped": " — ❌ dropped", "state-altered": " — ❌ altered",
    "state-missing": " — no state was sent", "state-unsolicited": " — ⚠️ a state came back that was never sent",
}


def state_line(view: ExchangeView) -> str:
    """`state` sent → returned → at the callback, with the verdict of the state rules."""
    authorize = view.stage("authorize")
    if authorize is None:
        return ""
    steps = [f"sent {_maybe(authorize.value('state'))} (#{authorize.hop.seq})"]
    response = view.stage("response")
    if response is not None and response.hop is not authorize.hop:
        steps.append(f"returned {_maybe(response.value('state'))} (#{response.hop.seq})")
    callback = view.stage("callback")
    if callback is not None:
        steps.append(f"at the callback {_maybe(callback.value('state'))} (#{callback.hop.seq})")
    verdict = next((v for v in view.verdicts if v.param == "state"), None)
    words = "" if len(steps) == 1 or verdict is None else _STATE_WORDS.get(verdict.outcome, _not_judged(verdict))
    return "**`state`:** " + " → ".join(steps) + words


def _not_judged(verdict: Verdict) -> str:
    return " — not judged" if verdict.finding is None else f" — {MARKS.get(verdict.severity, '')} `{verdict.outcome}`"


def _maybe(value: str | None) -> str:
    return code(value) if value is not None else "∅"


def findings_section(report: Report) -> list[str]:
    lines = ["## Findings", ""]
    if not report.findings:
        return lines + ["None.", ""]
    ordered = sorted(report.findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.exchange or 0,
                                                     f.hop if f.hop is not None else 0, f.rule))
    for finding in ordered[:MAX_FINDINGS]:
        where = f"hop #{finding.hop}" if finding.hop is not None else "no single hop"
        if finding.count > 1:
            where = f"{finding.count} hops: " + ", ".join(f"#{seq}" for seq in finding.hops)
        lines.append(f"### {MARKS.get(finding.severity, '')} `{finding.rule}` · {finding.severity} · "
                     f"{blame_word(finding.blame)} · {where} (exchange {finding.exchange})")
        lines += ["", code(finding.message), ""]
        quote = rule_quote(finding.rule)
        lines.append(f"> **{trusted(finding.spec)}**" + (f": “{trusted(quote)}”" if quote else ""))
        lines += ["", f"**Fix:** {trusted(finding.fix)}", ""]
        if finding.evidence:
            evidence = json.dumps(finding.evidence, ensure_ascii=False, indent=2, default=str)
            lines += ["<details><summary>evidence</summary>", ""] + fenced(evidence, "json") + ["", "</details>", ""]
    if len(ordered) > MAX_FINDINGS:
        lines += [f"… and {len(ordered) - MAX_FINDINGS} more (see `oauthtrace check`).", ""]
    return lines


def not_evaluated_section(report: Report) -> list[str]:
    if not report.not_evaluated:
        return []
    grouped: dict[str, list[str]] = {}
    for item in report.not_evaluated:
        grouped.setdefault(item.reason, []).append(item.rule)
    lines = ["## Not evaluated", ""]
    for reason, rules in grouped.items():
        lines.append(f"- {trusted(reason)}: " + ", ".join(f"`{rule}`" for rule in dict.fromkeys(rules)))
    return lines + [""]


def hops_section(hops: list[Hop], report: Report, parties: Parties) -> list[str]:
    flagged = findings_by_hop(report.findings)
    lines = ["## Hops", "", "| # | from → to | request | status | role |", "|---|---|---|---|---|"]
    for hop in hops[:MAX_HOP_ROWS]:
        receiver = parties.receiver(hop)
        route = f"{PARTY_LABELS[parties.sender(hop)]} → {PARTY_LABELS[receiver] if receiver else '?'}"
        status = str(hop.status) if hop.status is not None else f"no response ({hop.error or '-'})"
        if hop.seq in flagged:
            status = f"{MARKS[worst(flagged[hop.seq])]} {status}"
        lines.append(f"| {hop.seq} | {route} | {code(cut(f'{hop.method} {hop.url}'), table=True)} | "
                     f"{plain(status, table=True)} | {report.roles.get(hop.seq, '')} |")
    if len(hops) > MAX_HOP_ROWS:
        lines.append(f"\n… and {len(hops) - MAX_HOP_ROWS} more hops.")
    return lines + [""]
