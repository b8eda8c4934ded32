"""Run the rules over a trace: classify hops, join them into exchanges, collect findings.

A rule whose side of the traffic was not recorded is reported as not evaluated, never passed in silence; a rule
that raises is reported the same way (with where it failed) and the run goes on.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field
from typing import Iterable

import oauthtrace.analysis.rules  # noqa: F401  registers every rule (load_rules)
from oauthtrace.analysis import drift
from oauthtrace.analysis.classify import FRONT_ROLES, classify_with_sources, is_mcp_call
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.oauth import param, request_params
from oauthtrace.analysis.profiles import check_profile, fix_for, profile_for, severity_for, severity_table
from oauthtrace.analysis.registry import PRECONDITIONS, RULES, TRAITS, Context, applies, exchange_parts, exchange_traits
from oauthtrace.analysis.sanitized import (
    Capture, capture_facts, not_evaluated_reason, rule_reads, trace_unknowns, unknown_values,
)
from oauthtrace.errors import UserError
from oauthtrace.gc_pause import gc_paused
from oauthtrace.model import SEVERITY_RANK, Exchange, Finding, Hit, Hop, Rule, Trace, reverse_listener

SIDE_NAMES = {"F": "front-channel", "B": "back-channel", "M": "metadata"}


@dataclass
class NotEvaluated:
    rule: str
    exchange: int | None  # None: for every exchange of the trace
    reason: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "exchange": self.exchange, "reason": self.reason}


@dataclass
class Report:
    trace_id: int
    exchanges: list[Exchange]
    roles: dict[int, str]
    findings: list[Finding]
    not_evaluated: list[NotEvaluated]
    sides: set[str] = field(default_factory=set)
    profiles: dict[int, str] = field(default_factory=dict)  # exchange index -> profile applied
    rules: list[str] = field(default_factory=list)  # the rule ids that were run


def load_rules() -> dict[str, Rule]:
    """Every registered rule (importing the rules package, above, registers them)."""
    return RULES


def select_rules(only: Iterable[str] | None = None) -> list[Rule]:
    rules = load_rules()
    if not only:
        return [rules[key] for key in sorted(rules, key=lambda k: (rules[k].family, k))]
    unknown = [name for name in only if name not in rules]
    if unknown:
        raise UserError(f"unknown rule {', '.join(unknown)} (see `oauthtrace rules`)")
    return [rules[name] for name in dict.fromkeys(only)]


def analyze(
    hops: list[Hop], *, trace_id: int, profile: str | None = None, only: Iterable[str] | None = None,
    baseline: list[Hop] | None = None, stall_seconds: float | None = None, listeners: Iterable[str] = (),
    source: str | None = None,
) -> Report:
    """Findings for one trace's hops. `profile` None chooses per exchange (chatgpt for ChatGPT callbacks).

    `baseline`: the hops of a golden recording of the same client and provider (baseline-drift compares with
    it); `stall_seconds`: how long flow-health rules wait for a client's next step (default 30); `listeners`:
    what the recording listened on (Store.trace_listeners), to say why a back channel is missing; `source`:
    where the hops came from (Trace.source): an imported capture may have been sanitized (analysis/sanitized.py);
    None takes the hops as complete.
    """
    try:
        check_profile(profile)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with gc_paused():
        return _analyze(hops, trace_id, profile, select_rules(only), baseline=baseline,
                        stall_seconds=stall_seconds, listeners=tuple(listeners), source=source)


def _analyze(hops: list[Hop], trace_id: int, profile: str | None, rules: list[Rule], *,
             baseline: list[Hop] | None = None, stall_seconds: float | None = None,
             listeners: tuple[str, ...] = (), source: str | None = None) -> Report:
    hops = sorted(hops, key=lambda hop: hop.seq)
    capture = capture_facts(hops, source)
    roles, sources = classify_with_sources(hops)
    exchanges = correlate(hops, roles, sources=sources)
    sides = recorded_sides(hops, roles)
    ctx = Context(trace_id=trace_id, hops=hops, exchanges=exchanges, roles=roles, sides=sides,
                  metadata=metadata_documents(hops, roles))
    if baseline is not None:
        ctx.baseline = drift.side(baseline)
    if stall_seconds is not None:
        ctx.stall_seconds = stall_seconds
    report = Report(trace_id=trace_id, exchanges=exchanges, roles=roles, findings=[], not_evaluated=[],
                    sides=sides, rules=[rule.id for rule in rules])
    ctx.facts = {}  # what rules read from each exchange, read once for the run (rules._shared.facts)
    runnable = []
    hint = back_channel_hint(listeners, hops, exchanges) if "B" not in sides else ""
    for rule in rules:
        missing = missing_sides(rule.needs, sides)
        if missing and exchanges:
            reason = _missing_reason(missing, rule.needs) + (hint if "B" in missing else "")
            report.not_evaluated.append(NotEvaluated(rule.id, None, reason))
        elif not missing:
            runnable.append(rule)
    table = severity_table()  # the profiles' severities, once per run rather than per finding
    findings = report.findings
    # the rules that can report on an exchange holding given parts and traits; few shapes, so few lists
    by_parts: dict[frozenset[str], list[Rule]] = {}
    runnable, readers = _sanitized_out(runnable, capture, report, exchanges)
    traits = sorted({name for rule in runnable for name in PRECONDITIONS.get(rule.id, ()) if name in TRAITS})
    for exchange in exchanges:
        ctx.profile = report.profiles[exchange.index] = profile_for(exchange, profile)
        parts = exchange_parts(exchange) | exchange_traits(exchange, ctx, traits)  # a trait may read the profile
        applicable = by_parts.get(parts)
        if applicable is None:
            applicable = by_parts[parts] = [rule for rule in runnable if applies(rule.id, parts)]
        hidden = _hidden(exchange, ctx, capture, readers, report) if readers else ()
        for rule in applicable:  # the run's innermost loop (rules × exchanges), and most calls find nothing
            if hidden and rule.id in hidden:
                continue
            try:
                hits = rule.check(exchange, ctx)
                if hits is None:
                    continue
                # each hit becomes a finding as the rule yields it: no list of hits for the 95% of calls that
                # yield none. The exchange's profile resolved once (None would have every finding choose it again)
                start, made = len(findings), None
                for hit in hits:
                    finding = _finding(rule, hit, exchange, trace_id, ctx.profile, table)
                    if made is None:
                        made = [hit]  # most calls yield one hit: nothing to merge it with
                    elif _merged(findings, start, made, finding, hit):
                        continue
                    else:
                        made.append(hit)
                    findings.append(finding)
            except Exception as exc:  # one broken rule must not hide the others' findings
                _drop_partial(findings, rule, exchange)
                report.not_evaluated.append(NotEvaluated(rule.id, exchange.index, f"rule failed: {_where(exc)}"))
    ctx.facts = None  # the run is over: let them go with their exchanges
    report.findings.sort(key=_finding_order)
    return report


def check_trace(store, trace: Trace | int, profile: str | None = None, only: Iterable[str] | None = None, *,
                baseline: Trace | int | None = None, stall_seconds: float | None = None) -> Report:
    """Analyze a stored trace and store its findings (a run limited by `only` leaves stored findings alone).

    `baseline`: a stored trace to compare with (baseline-drift)."""
    trace_id = trace if isinstance(trace, int) else trace.id
    with gc_paused():
        baseline_hops = None
        if baseline is not None:
            baseline_hops = store.hops(baseline if isinstance(baseline, int) else baseline.id)
        stored = trace if isinstance(trace, Trace) else store.trace_header(trace_id)  # its source; no hop count
        report = analyze(store.hops(trace_id), trace_id=trace_id, profile=profile, only=only,
                         baseline=baseline_hops, stall_seconds=stall_seconds,
                         listeners=store.trace_listeners(trace_id), source=stored.source if stored else None)
        if not only:
            # still paused: storing makes as many objects again, and a pass here would rescan every hop
            store.replace_findings(trace_id, report.findings)
    return report


def _finding(rule: Rule, hit: Hit, exchange: Exchange, trace_id: int, profile: str,
             table: dict[str, dict[str, str]]) -> Finding:
    return Finding(
        rule=rule.id,
        severity=severity_for(rule, hit, profile, table=table),
        blame=hit.blame or rule.blame,
        trace=trace_id,
        exchange=exchange.index,
        hop=hit.hop.seq if hit.hop is not None else None,
        message=hit.message,
        spec=rule.spec,
        fix=fix_for(rule, profile),
        evidence=dict(hit.evidence or {}),
        hops=[hit.hop.seq] if hit.hop is not None else [],
    )


def _sanitized_out(runnable: list[Rule], capture: Capture, report: Report, exchanges: list[Exchange]
                   ) -> tuple[list[Rule], list[tuple[Rule, frozenset[str]]]]:
    """(the rules to run, those of them that read values a sanitized capture may hide, with those values).

    A value hidden from the whole capture (headers stripped) takes its readers out of the run, reported once
    like a side that was not recorded; the others are asked per exchange (_hidden)."""
    readers = [(rule, reads) for rule in runnable if (reads := rule_reads(rule))]
    if not capture.may_hold_placeholders:
        readers = []  # a proxy's capture: no exchange to ask (the values are what went over the wire)
    hidden_everywhere = trace_unknowns(capture)
    if not hidden_everywhere or not exchanges:
        return runnable, readers
    out = set()
    for rule, reads in readers:
        reason = not_evaluated_reason(reads, hidden_everywhere)
        if reason is not None:
            report.not_evaluated.append(NotEvaluated(rule.id, None, reason))
            out.add(rule.id)
    return ([rule for rule in runnable if rule.id not in out],
            [(rule, reads) for rule, reads in readers if rule.id not in out])


def _hidden(exchange: Exchange, ctx: Context, capture: Capture, readers: list[tuple[Rule, frozenset[str]]],
            report: Report) -> set[str]:
    """The rules that cannot be evaluated on this exchange because a value they read is a placeholder, each
    reported as not evaluated with the reason (whether or not its preconditions hold: skipping changes nothing).
    A value that fails to be read counts as known: the rules that need it run and report their own failure."""
    try:
        unknown = unknown_values(exchange, ctx, capture)
    except Exception:  # noqa: BLE001
        return set()
    if not unknown:
        return set()  # the usual exchange
    hidden = set()
    for rule, reads in readers:
        reason = not_evaluated_reason(reads, unknown)
        if reason is not None:
            report.not_evaluated.append(NotEvaluated(rule.id, exchange.index, reason))
            hidden.add(rule.id)
    return hidden


def _merged(findings: list[Finding], start: int, made: list[Hit], finding: Finding, hit: Hit) -> bool:
    """Fold `finding` into the one this rule call already made for the same cause, if any: one finding per cause.

    The same cause: the same rule on the same exchange (this call), the same endpoint (method and URL without
    query), the same severity and blame, and the same thing said — the hit's explicit `cause` when the rule gives
    one, else its message and evidence. The kept finding counts the hops it was seen at.
    """
    for kept, kept_hit in zip(findings[start:], made):
        if kept.severity != finding.severity or kept.blame != finding.blame:
            continue
        if hit.cause is not None or kept_hit.cause is not None:
            if hit.cause != kept_hit.cause:
                continue
        elif kept.message != finding.message or kept.evidence != finding.evidence:
            continue
        if hit.hop is None or kept_hit.hop is None or _endpoint(hit.hop) != _endpoint(kept_hit.hop):
            continue
        if hit.hop.seq not in kept.hops:
            kept.hops.append(hit.hop.seq)
            kept.count = len(kept.hops)
        return True
    return False


def _endpoint(hop: Hop) -> tuple[str, str]:
    return hop.method, hop.url.split("?", 1)[0].split("#", 1)[0]


def _drop_partial(findings: list[Finding], rule: Rule, exchange: Exchange) -> None:
    """Take back the findings a rule made on an exchange before it failed: a failed rule reports nothing there.
    They are the list's tail (the engine runs each rule once per exchange)."""
    while findings and findings[-1].rule == rule.id and findings[-1].exchange == exchange.index:
        findings.pop()


def _where(exc: Exception) -> str:
    """The exception's type and the rule source line; not its message, which may quote a captured secret."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {os.path.basename(last.filename)}:{last.lineno}"


def _finding_order(finding: Finding) -> tuple:
    return (finding.exchange or 0, finding.hop or 0, -SEVERITY_RANK.get(finding.severity, 0), finding.rule)


def recorded_sides(hops: list[Hop], roles: dict[int, str]) -> set[str]:
    """Which sides the trace holds: F (browser front channel), B (client's server calls), M (metadata)."""
    sides: set[str] = set()
    for hop in hops:
        role = roles.get(hop.seq)
        if role in FRONT_ROLES:
            sides.add("F")
        elif role in ("token", "refresh") or (role == "resource" and hop.req_header("authorization")):
            sides.add("B")
        elif role == "resource" and is_mcp_call(hop):
            sides.add("B")  # an MCP client's server calls are recorded, whether it had a token yet or not
        elif role in ("metadata", "registration"):
            sides.add("M")
        if hop.is_reverse:
            sides.add("B")
        if len(sides) == 3:
            break  # all of F, B and M: the rest of a large trace cannot add any
    return sides


def missing_sides(needs: str, sides: set[str]) -> list[str]:
    """The sides a rule needs that were not recorded: "F+B" needs both, "F/B" either one."""
    needs = (needs or "").replace(" ", "")
    if not needs:
        return []
    if "+" in needs:
        return [side for side in needs.split("+") if side not in sides]
    options = needs.split("/")
    return [] if any(side in sides for side in options) else options


def back_channel_hint(listeners: tuple[str, ...], hops: list[Hop], exchanges: list[Exchange]) -> str:
    """Why a recording has no back channel, when what it listened on says: the usual setup slip.

    Only where a token request was due: a client that took a code at its callback went on to exchange it. A flow
    that broke before (the motivating dropped `state`) never made one, wherever its token URL points.
    """
    if not listeners or not any(_code_taken(exchange) for exchange in exchanges):
        return ""
    reverse = [name for name in listeners if reverse_listener(name)]
    if not reverse:
        return (" (recorded without --reverse: the client's server-to-server calls reach oauthtrace through a "
                "reverse listener, or through the proxy when the client has HTTPS_PROXY set)")
    heard = {hop.listener for hop in hops}
    silent = [_reverse_listener(name) for name in reverse if name not in heard]
    if not silent:
        return ""
    return (f" ({' and '.join(silent)} saw no request: point the client's token URL at "
            f"{'it' if len(silent) == 1 else 'them'} instead of at the provider)")


def _code_taken(exchange: Exchange) -> bool:
    callback = exchange.callback
    if callback is None or callback.status is None or callback.status >= 400:
        return False
    return param(request_params(callback), "code") is not None


def _reverse_listener(name: str) -> str:
    """`reverse:https://auth.example.com@8081` -> `the reverse listener on port 8081 for https://auth.example.com`."""
    upstream, port = reverse_listener(name)
    return f"the reverse listener on port {port} for {upstream}" if port else f"the reverse listener for {upstream}"


def _missing_reason(missing: list[str], needs: str) -> str:
    names = [SIDE_NAMES.get(side, side) for side in missing]
    joined = " or ".join(names) if "/" in needs else " and ".join(names)
    return f"no {joined} capture"


def metadata_documents(hops: list[Hop], roles: dict[int, str]) -> dict[str, dict]:
    """issuer -> authorization server metadata (RFC 8414 / OIDC discovery) found in the trace."""
    documents: dict[str, dict] = {}
    for hop in hops:
        if roles.get(hop.seq) != "metadata" or not hop.status or hop.status >= 400:
            continue
        document = hop.resp_json()
        if isinstance(document, dict) and isinstance(document.get("issuer"), str) and "resource" not in document:
            documents.setdefault(document["issuer"], document)
    return documents
