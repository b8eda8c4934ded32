"""How a finding reads in the UI: one line in the list, and its full explanation (spec quote, fix, evidence)."""

from __future__ import annotations

import json

from rich.console import Group
from rich.text import Text

from oauthtrace.model import Finding, blame_word
from oauthtrace.report.rule_words import rule_quote, rule_title
from oauthtrace.tui.lanes import SEVERITY_MARK
from oauthtrace.tui.text import one_line, plain

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def finding_line(finding: Finding) -> Text:
    mark, style = SEVERITY_MARK.get(finding.severity, ("?", ""))
    text = Text(f"{mark} ", style=style)
    text.append(f"{finding.severity:<8}", style=SEVERITY_STYLE.get(finding.severity, ""))
    text.append(f"{finding.rule:<26}", style="bold")
    text.append(f"{blame_word(finding.blame):<16}")
    text.append(f"#{finding.hop}" if finding.hop is not None else "—", style="underline")
    if finding.count > 1:
        text.append(f" ×{finding.count}")  # one finding for the same cause at several hops
    text.append("\n    ")
    text.append(one_line(finding.message, 200))
    return text


def finding_detail(finding: Finding) -> Group:
    title, quote = rule_title(finding.rule), rule_quote(finding.rule)
    head = Text(f"{finding.rule}", style="bold")
    head.append(f"  {finding.severity}", style=SEVERITY_STYLE.get(finding.severity, ""))
    head.append(f"  blame: {blame_word(finding.blame)}")
    head.append(f"  exchange {finding.exchange}  hop #{finding.hop}" if finding.hop is not None else "")
    parts = [head, plain(finding.message)]
    if finding.count > 1:
        parts.append(Text(f"seen {finding.count} times, at hops " + ", ".join(f"#{seq}" for seq in finding.hops)))
    if title:
        parts.append(plain(title, "italic"))
    parts.append(Text(""))
    spec = Text("Spec  ", style="bold") + plain(finding.spec)
    parts.append(spec)
    if quote:
        parts.append(plain(f"“{quote}”", "italic"))
    parts.append(Text(""))
    parts.append(Text("Fix   ", style="bold") + plain(finding.fix))
    if finding.evidence:
        parts.append(Text(""))
        parts.append(Text("Evidence", style="bold"))
        parts.append(plain(json.dumps(finding.evidence, indent=2, ensure_ascii=False, default=str)))
    return Group(*parts)
