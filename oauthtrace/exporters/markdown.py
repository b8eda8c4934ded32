"""The Markdown report of one trace, to paste into a forum post or an issue (GitHub renders the Mermaid diagram).

What failed in one sentence; per exchange a Mermaid sequence diagram with the failing hop marked and the OAuth
parameters side by side (authorization request, authorization response, callback, token request and response);
the findings with their spec quotes and fixes; the hops.

Redacted by default: the hops are redacted first (the shared Redactor) and the analysis runs on the redacted hops,
so the findings' messages and evidence can only quote fingerprints. The redaction keeps every finding (the
export's contract), and `state` stays readable, so "state came back altered" stays visible.
"""

from __future__ import annotations

from typing import Iterable

from oauthtrace.analysis.engine import Report, analyze
from oauthtrace.exporters.markdown_diagram import diagram
from oauthtrace.exporters.markdown_sections import (
    findings_section, hops_section, not_evaluated_section, parameter_table, state_line,
)
from oauthtrace.exporters.markdown_text import MAX_VALUE, code, plain
from oauthtrace.exporters.mcp_markdown import chain_section
from oauthtrace.interchange.redact import Redactor
from oauthtrace.model import Exchange, Finding, Hop, Trace, blame_word
from oauthtrace.report.exchange import exchange_view
from oauthtrace.report.headline import exchange_path, headline
from oauthtrace.report.marks import NOTEWORTHY
from oauthtrace.report.parties import Parties
from oauthtrace.report.rule_words import cause, rule_title
from oauthtrace.store import Store

MAX_EXCHANGES = 3  # exchanges drawn and tabulated; the findings of every exchange are listed


def markdown_report(
    trace: Trace, hops: list[Hop], *, redact: bool = True, extra: Iterable[str] = (), key: bytes | None = None,
    profile: str | None = None,
) -> str:
    """The report of `trace`; `extra` names more parameters or headers to redact, `key` fixes fingerprints."""
    shown = Redactor(hops, key=key, extra=extra).hops(hops) if redact else list(hops)
    report = analyze(shown, trace_id=trace.id, profile=profile, source=trace.source)
    return render_markdown(trace, shown, report, redacted=redact)


def export_markdown(store: Store, ref: str | None, *, redact: bool = True, extra: Iterable[str] = (),
                    key: bytes | None = None) -> list[bytes]:
    """`oauthtrace export --format markdown`: the report of trace `ref` (latest when None), as export_trace's
    chunks."""
    trace = store.resolve_trace(ref)
    return [markdown_report(trace, store.hops(trace.id), redact=redact, extra=extra, key=key).encode("utf-8")]


def render_markdown(trace: Trace, hops: list[Hop], report: Report, *, redacted: bool) -> str:
    """Pure rendering of an analysed trace (hops already redacted, or not, as `redacted` says)."""
    hops = sorted(hops, key=lambda hop: hop.seq)
    by_seq = {hop.seq: hop for hop in hops}
    parties = Parties.of(hops, report.roles)
    lines = [f"# OAuth trace: {plain(trace.name)}", "", f"**What failed:** {summary_sentence(report, by_seq)}", ""]
    lines += [_about(trace, hops, report, redacted), ""]
    for exchange in chosen_exchanges(report):
        lines += _exchange_section(exchange, hops, report, parties)
    lines += findings_section(report)
    lines += not_evaluated_section(report)
    lines += hops_section(hops, report, parties)
    secrets = ("Secrets are replaced by fingerprints `‹redacted:…›`: equal values have equal fingerprints."
               if redacted else "**Not redacted: this report holds secrets.**")
    lines += ["---", f"_Made with `oauthtrace export --format markdown`. {secrets}_"]
    return "\n".join(lines).rstrip() + "\n"


# -- the one sentence -------------------------------------------------------------------------------


def summary_sentence(report: Report, by_seq: dict[int, Hop]) -> str:
    if not report.exchanges:
        return f"No OAuth exchange was found in {len(by_seq)} hop{'s' if len(by_seq) != 1 else ''}."
    finding = headline(report.findings)
    if finding is None:
        count = len(report.exchanges)
        return (f"Nothing: no errors or warnings in {count} exchange{'s' if count != 1 else ''} "
                f"({exchange_path(report.exchanges[0])}).")
    where = f" (#{finding.hop})" if finding.hop is not None else ""
    said = cause(finding) or _title_cause(finding)
    exchange = next((ex for ex in report.exchanges if ex.index == finding.exchange), None)
    consequence = outcome(exchange) if exchange is not None else ""
    sentence = f"{said}{where}{', so ' + consequence if consequence else ''}."
    others = [f for f in report.findings if f is not finding and f.severity in NOTEWORTHY]
    if others:
        sentence += f" Also {_count(others)} below."
    return sentence


def _title_cause(finding: Finding) -> str:
    title = rule_title(finding.rule)
    if not title.endswith("."):  # no title, or one cut at the end of its docstring's first line
        return f"`{finding.rule}` ({blame_word(finding.blame)}): {code(finding.message)}"
    return f"{title.rstrip('.')} (`{finding.rule}`, {blame_word(finding.blame)})"


def outcome(exchange: Exchange) -> str:
    """What the failure led to, read from the traffic: the client refused the callback, the token request failed …"""
    failed = [hop for hop in exchange.tokens if hop.status and hop.status >= 400]
    if failed:
        said = _said(failed[-1])
        return "the token request failed" + (f" ({code(said)})" if said else "")
    callback = exchange.callback
    if callback is not None and callback.status and callback.status >= 400:
        said = _said(callback)
        return "the client refused the login" + (f" ({code(said)})" if said else "")
    refused = [hop for hop in exchange.resources if hop.status in (401, 403) and hop.req_header("authorization")]
    if refused:
        return f"the resource server refused the token (#{refused[-1].seq})"
    if exchange.authorize is not None and callback is None:
        return "the flow never reached the client's callback"
    return ""


def _said(hop: Hop) -> str | None:
    """A short message from an error response's JSON body (`message`, `error_description` or `error`)."""
    data = hop.resp_json()
    if not isinstance(data, dict):
        return None
    for name in ("message", "error_description", "error"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_VALUE]
    return None


def _count(findings: list[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    parts = [f"{errors} more error{'s' if errors != 1 else ''}" if errors else "",
             f"{warnings} {'more ' if not errors else ''}warning{'s' if warnings != 1 else ''}" if warnings else ""]
    return " and ".join(part for part in parts if part)


def _about(trace: Trace, hops: list[Hop], report: Report, redacted: bool) -> str:
    sides = {"F": "front channel", "B": "back channel", "M": "metadata"}
    recorded = ", ".join(sides[s] for s in "FBM" if s in report.sides) or "nothing OAuth"
    profiles = sorted(set(report.profiles.values()))
    count = len(report.exchanges)
    return (f"Trace {trace.id} · {len(hops)} hops · {count} exchange{'s' if count != 1 else ''} · recorded: "
            f"{recorded} · profile: {', '.join(profiles) or '-'} · "
            f"{'redacted' if redacted else '**NOT redacted**'}")


# -- per exchange -----------------------------------------------------------------------------------


def chosen_exchanges(report: Report) -> list[Exchange]:
    """The exchanges drawn: those with errors or warnings first (in order), else the first ones."""
    flagged = {f.exchange for f in report.findings if f.severity in NOTEWORTHY}
    picked = [ex for ex in report.exchanges if ex.index in flagged]
    picked += [ex for ex in report.exchanges if ex.index not in flagged]
    return sorted(picked[:MAX_EXCHANGES], key=lambda ex: ex.index)


def _exchange_section(exchange: Exchange, hops: list[Hop], report: Report, parties: Parties) -> list[str]:
    view = exchange_view(exchange, report.findings)
    lines = [f"## Exchange {exchange.index}: {exchange_path(exchange)}", ""]
    lines += ["```mermaid", diagram(exchange, hops, report, parties).rstrip("\n"), "```", ""]
    table = parameter_table(view)
    if table:
        lines += ["### Parameters side by side", ""] + table + [""]
    state = state_line(view)
    if state:
        lines += [state, ""]
    chain = chain_section(exchange, report.findings)
    if chain:
        lines += [chain.rstrip("\n"), ""]
    return lines
