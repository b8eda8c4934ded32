"""Rule preconditions (`@rule(when=…)`): the engine skips a rule on an exchange holding none of the parts it
names, so a precondition must be implied by the rule's own code — a rule never reports on an exchange that lacks
them, and skipping it changes no finding."""

from __future__ import annotations

from pathlib import Path

import pytest
from hops import flow, metadata_hop, renumber, sequential
from mcp_hops import mcp_flow

from oauthtrace.analysis import engine, registry
from oauthtrace.analysis.classify import classify_with_sources
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.registry import EXCHANGE_PARTS, PRECONDITIONS, Context, applies, exchange_parts
from oauthtrace.interchange.importer import read_file
from oauthtrace.model import Exchange, Hop, Rule

RECORDINGS = sorted((Path(__file__).resolve().parent.parent / "recordings").glob("*.har"))


def hand_made_traces() -> dict[str, list[Hop]]:
    """Flows that hold parts the recordings lack, and flows that lack parts (no callback, no back channel)."""
    return {
        "error-response": list(flow(error="access_denied", returned_state=None)),
        "implicit-fragment": list(flow(response_type="token", back_channel=False)),
        "no-callback": list(flow(callback=False, back_channel=False)),
        "no-back-channel": list(flow(back_channel=False)),
        "token-error": list(flow(token_status=400, token_json={"error": "invalid_grant"})),
        "metadata-and-flow": renumber([metadata_hop(1), *flow(pkce=True, seq=2)]),
        "mcp": list(mcp_flow()),
        "mcp-without-authorize": list(mcp_flow(authorize=False)),
        "two-flows": sequential(list(flow()), list(flow(state="another-state-value-123456789"))),
    }


def traces() -> dict[str, list[Hop]]:
    found = {path.name: read_file(str(path)).hops for path in RECORDINGS}
    found.update(hand_made_traces())
    return found


def _context(hops: list[Hop]) -> tuple[Context, list[Exchange]]:
    hops = sorted(hops, key=lambda hop: hop.seq)
    roles, sources = classify_with_sources(hops)
    exchanges = correlate(hops, roles, sources=sources)
    ctx = Context(trace_id=1, hops=hops, exchanges=exchanges, roles=roles, sides={"F", "B", "M"},
                  metadata=engine.metadata_documents(hops, roles))
    return ctx, exchanges


def test_every_precondition_belongs_to_a_rule_and_names_exchange_parts():
    rules = engine.load_rules()
    assert PRECONDITIONS, "no rule declares a precondition"
    for rule_id, parts in PRECONDITIONS.items():
        assert rule_id in rules
        assert parts and parts <= set(EXCHANGE_PARTS)


def test_exchange_parts_are_the_parts_present():
    hop = Hop(trace_id=1, seq=1, started=0.0, method="GET", url="https://as.test/authorize")
    assert exchange_parts(Exchange(index=0)) == frozenset()
    assert exchange_parts(Exchange(index=0, authorize=hop, tokens=[hop])) == {"authorize", "tokens"}
    assert applies("no-such-rule", frozenset())  # no precondition: every exchange


def test_an_unknown_part_is_refused_at_registration():
    with pytest.raises(ValueError, match="unknown exchange parts"):
        registry.rule("x-test", family="Z", severity="info", blame="C", needs="F", spec="", quote="", fix="",
                      when=("token",))


@pytest.mark.parametrize("name", sorted(traces()))
def test_no_rule_reports_on_an_exchange_lacking_its_precondition(name):
    ctx, exchanges = _context(traces()[name])
    for exchange in exchanges:
        parts = exchange_parts(exchange)
        for rule in engine.select_rules():
            ctx.profile = "oauth2"
            hits = list(rule.check(exchange, ctx) or [])
            if hits:
                assert applies(rule.id, parts), f"{rule.id} reported on an exchange holding only {sorted(parts)}"
    assert exchanges


@pytest.mark.parametrize("name", sorted(traces()))
def test_skipping_by_precondition_changes_no_finding(name, monkeypatch):
    hops = traces()[name]
    skipped = engine.analyze(hops, trace_id=1)
    monkeypatch.setattr(registry, "PRECONDITIONS", {})
    every_rule_run = engine.analyze(hops, trace_id=1)
    assert [f.__dict__ for f in skipped.findings] == [f.__dict__ for f in every_rule_run.findings]
    assert skipped.not_evaluated == every_rule_run.not_evaluated


def test_the_engine_does_not_call_a_rule_whose_parts_are_absent(monkeypatch):
    calls: list[int] = []

    def needs_registration(exchange, ctx):
        calls.append(exchange.index)
        return []

    probe = Rule(id="x-probe", family="Z", severity="info", blame="C", needs="F", spec="", quote="", fix="",
                 check=needs_registration)
    monkeypatch.setitem(PRECONDITIONS, "x-probe", frozenset({"registrations"}))
    hops = list(flow())
    engine._analyze(hops, 1, None, [probe])
    assert calls == []
    monkeypatch.setitem(PRECONDITIONS, "x-probe", frozenset({"registrations", "tokens"}))
    engine._analyze(hops, 1, None, [probe])
    assert len(calls) == 1  # the flow's one exchange
