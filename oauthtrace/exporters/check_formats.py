"""Findings as text, JSON, JUnit XML and SARIF 2.1.0 — the formats of `oauthtrace check`.

Captured values reach these outputs only through the rules' messages and evidence, which shorten credentials;
control characters are escaped so a hostile value cannot rewrite the terminal.
"""

from __future__ import annotations

import json
from collections import defaultdict
from importlib.metadata import PackageNotFoundError, version
from xml.etree import ElementTree as ET

from oauthtrace.analysis.engine import Report
from oauthtrace.analysis.registry import RULES
from oauthtrace.model import SEVERITY_RANK, Finding, Trace, blame_word, finding_dict

FAIL_ON = ("error", "warning", "never")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_MESSAGE_WIDTH = 64  # the value column of the text format; longer messages push the rest right


def where(finding: Finding) -> str:
    """`hop #5`, or for one finding seen at several hops `8 hops: #5, #9, …` (all of them: the user looks them up)."""
    if finding.hop is None:
        return "no hop"
    if finding.count <= 1:
        return f"hop #{finding.hop}"
    return f"{finding.count} hops: " + ", ".join(f"#{seq}" for seq in finding.hops)


def fails(reports: list[Report], fail_on: str) -> bool:
    """Whether any finding is at or above `fail_on` (never: nothing fails)."""
    if fail_on == "never":
        return False
    threshold = SEVERITY_RANK[fail_on]
    return any(SEVERITY_RANK.get(f.severity, 0) >= threshold for report in reports for f in report.findings)


def exit_code(reports: list[Report], fail_on: str) -> int:
    return 1 if fails(reports, fail_on) else 0


def render(fmt: str, reports: list[Report], traces: list[Trace], fail_on: str = "error") -> str:
    if fmt == "json":
        return format_json(reports, traces)
    if fmt == "junit":
        return format_junit(reports, traces, fail_on=fail_on)
    if fmt == "sarif":
        return format_sarif(reports, traces)
    return format_text(reports, traces)


# -- text ------------------------------------------------------------------------------------------


def format_text(reports: list[Report], traces: list[Trace]) -> str:
    lines: list[str] = []
    for report, trace in zip(reports, traces):
        lines += _trace_text(report, trace)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _trace_text(report: Report, trace: Trace) -> list[str]:
    count = len(report.exchanges)
    lines = [f"Trace {trace.id} {_safe(trace.name)!r} — {count} exchange{'s' if count != 1 else ''}, "
             f"{len(report.roles)} hops, recorded: {_sides(report.sides)}"]
    by_exchange: dict[int | None, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_exchange[finding.exchange].append(finding)
    for exchange in report.exchanges:
        found = by_exchange.get(exchange.index, [])
        lines.append(f"  Exchange {exchange.index}  {_path(exchange)}  [profile {report.profiles.get(exchange.index)}]")
        if not found:
            lines.append("    no findings")
        width = min(_MESSAGE_WIDTH, max((len(_safe(f.message)) for f in found), default=0))
        for finding in found:
            lines.append(f"    {_safe(finding.message).ljust(width)}   {finding.rule}  {finding.severity}  "
                         f"{blame_word(finding.blame)}  {finding.spec}  ({where(finding)})")
            lines.append(f"        fix: {_safe(finding.fix)}")
    lines += _not_evaluated_text(report)
    lines.append("  " + _summary(report.findings))
    return lines


def _path(exchange) -> str:
    """authorize #1 → callback #4 → token #5: the exchange's main hops at a glance."""
    steps = [("authorize", exchange.authorize), ("callback", exchange.callback)]
    steps += [("token", hop) for hop in exchange.tokens] + [("refresh", hop) for hop in exchange.refreshes]
    shown = [f"{name} #{hop.seq}" for name, hop in steps if hop is not None]
    if not shown:
        roles = sorted(set(exchange.roles.values()))
        return ", ".join(roles) + f" ({len(exchange.hops)} hops)"
    return " → ".join(shown)


def _not_evaluated_text(report: Report) -> list[str]:
    """One line per reason; a rule not evaluated on several exchanges for it named once, with those exchanges."""
    grouped: dict[str, dict[str, list[int | None]]] = defaultdict(dict)
    for item in report.not_evaluated:
        grouped[item.reason].setdefault(item.rule, []).append(item.exchange)
    return [f"  Not evaluated, {reason}: {', '.join(_rule_where(rule, at) for rule, at in rules.items())}"
            for reason, rules in grouped.items()]


def _rule_where(rule: str, exchanges: list[int | None]) -> str:
    named = [str(index) for index in exchanges if index is not None]
    if not named:
        return rule
    return f"{rule} (exchange{'s' if len(named) > 1 else ''} {', '.join(named)})"


def _summary(findings: list[Finding]) -> str:
    counts = {severity: 0 for severity in SEVERITY_RANK}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return "Summary: " + ", ".join(f"{n} {severity}" for severity, n in counts.items())


def _sides(sides: set[str]) -> str:
    names = {"F": "front channel", "B": "back channel", "M": "metadata"}
    return ", ".join(names[s] for s in "FBM" if s in sides) or "nothing OAuth"


def _safe(text: str | None) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text or "")


# -- JSON ------------------------------------------------------------------------------------------


def format_json(reports: list[Report], traces: list[Trace]) -> str:
    document = {
        "traces": [
            {
                "id": trace.id, "name": trace.name, "exchanges": len(report.exchanges), "hops": len(report.roles),
                "recorded": sorted(report.sides), "profiles": {str(k): v for k, v in report.profiles.items()},
            }
            for report, trace in zip(reports, traces)
        ],
        "findings": [finding_dict(f) for report in reports for f in report.findings],
        "not_evaluated": [dict(item.as_dict(), trace=report.trace_id)
                          for report in reports for item in report.not_evaluated],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


# -- JUnit -----------------------------------------------------------------------------------------


def format_junit(reports: list[Report], traces: list[Trace], *, fail_on: str = "error") -> str:
    """One testsuite per trace, one testcase per exchange; findings at or above fail_on are failures."""
    threshold = SEVERITY_RANK.get(fail_on, 99)
    root = ET.Element("testsuites", name="oauthtrace check")
    for report, trace in zip(reports, traces):
        suite = ET.SubElement(root, "testsuite", name=f"trace {trace.id} {_safe(trace.name)}")
        failures = 0
        by_exchange: dict[int | None, list[Finding]] = defaultdict(list)
        for finding in report.findings:
            by_exchange[finding.exchange].append(finding)
        for exchange in report.exchanges:
            case = ET.SubElement(suite, "testcase", classname=f"oauthtrace.trace{trace.id}",
                                 name=f"exchange {exchange.index}: {_path(exchange)}")
            failing = [f for f in by_exchange.get(exchange.index, [])
                       if SEVERITY_RANK.get(f.severity, 0) >= threshold]
            if failing:
                failures += 1
                failure = ET.SubElement(case, "failure", type=failing[0].rule,
                                        message=f"{failing[0].rule}: {_safe(failing[0].message)}")
                failure.text = "\n".join(_finding_line(f) for f in failing)
            others = [f for f in by_exchange.get(exchange.index, []) if f not in failing]
            skipped = [n for n in report.not_evaluated if n.exchange in (None, exchange.index)]
            if others or skipped:
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join([_finding_line(f) for f in others]
                                     + [f"not evaluated: {n.rule} ({n.reason})" for n in skipped])
        suite.set("tests", str(len(report.exchanges)))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _finding_line(finding: Finding) -> str:
    return (f"{finding.severity} {finding.rule} ({blame_word(finding.blame)}, {where(finding)}): "
            f"{_safe(finding.message)} — "
            f"{finding.spec}. Fix: {_safe(finding.fix)}")


# -- SARIF -----------------------------------------------------------------------------------------


def format_sarif(reports: list[Report], traces: list[Trace]) -> str:
    used = sorted({rule for report in reports for rule in report.rules} | {
        f.rule for report in reports for f in report.findings})
    index = {rule_id: n for n, rule_id in enumerate(used)}
    results = []
    for report, trace in zip(reports, traces):
        for finding in report.findings:
            result = {
                "ruleId": finding.rule,
                "ruleIndex": index[finding.rule],
                "level": SARIF_LEVEL.get(finding.severity, "note"),
                "message": {"text": f"{_safe(finding.message)} — {finding.spec}. Fix: {_safe(finding.fix)}"},
                "locations": [_sarif_location(trace, finding.exchange, finding.hop)],
                "properties": {"trace": trace.id, "traceName": trace.name, "exchange": finding.exchange,
                               "hop": finding.hop, "blame": blame_word(finding.blame),
                               "evidence": finding.evidence, "count": finding.count, "hops": list(finding.hops)},
            }
            if finding.count > 1:
                # SARIF 2.1.0 §3.27.12: no more than one location unless the fix needs a change at every one; a
                # result seen again is its occurrenceCount ("the number of times this logically unique result was
                # observed in this run"), the other hops related locations
                result["occurrenceCount"] = finding.count
                result["relatedLocations"] = [_sarif_location(trace, finding.exchange, seq, id_=n)
                                              for n, seq in enumerate(finding.hops[1:], 1)]
            results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "oauthtrace",
                "version": _version(),
                "informationUri": "https://www.rfc-editor.org/rfc/rfc6749",
                "rules": [_sarif_rule(rule_id) for rule_id in used],
            }},
            "results": results,
        }],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def _sarif_location(trace: Trace, exchange: int | None, hop: int | None, *, id_: int | None = None) -> dict:
    location = {"logicalLocations": [{
        "name": f"hop #{hop}" if hop is not None else f"exchange {exchange}",
        "fullyQualifiedName": f"trace {trace.id}/exchange {exchange}/hop {hop}",
        "kind": "resource",
    }]}
    if id_ is not None:
        location = {"id": id_, **location}
    return location


def _sarif_rule(rule_id: str) -> dict:
    rule = RULES.get(rule_id)
    if rule is None:
        return {"id": rule_id}
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.spec}: {rule.quote}"},
        "help": {"text": rule.fix},
        "defaultConfiguration": {"level": SARIF_LEVEL.get(rule.severity, "note")},
        "properties": {"family": rule.family, "blame": blame_word(rule.blame), "needs": rule.needs,
                       "spec": rule.spec},
    }


def _version() -> str:
    try:
        return version("oauthtrace")
    except PackageNotFoundError:
        return "0"
