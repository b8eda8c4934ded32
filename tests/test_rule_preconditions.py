"""Rule preconditions (`@rule(when=…)`): the engine skips a rule on an exchange holding none of the parts or
traits it names, so a precondition must be implied by the rule's own code — a rule never reports on an exchange
that lacks them, and skipping it changes no finding."""

from __future__ import annotations

from pathlib import Path

import pytest
from hops import PROVIDER, VERIFIER, flow, metadata_hop, renumber, sequential
from mcp_hops import RS, mcp_flow
from test_rules_issuer import jwt
from test_rules_mcp import CIMD, _with_document
from test_rules_par import par_flow, pushed

from oauthtrace.analysis import engine, registry
from oauthtrace.analysis.classify import classify_with_sources
from oauthtrace.analysis.correlate import correlate
from oauthtrace.analysis.registry import (
    EXCHANGE_PARTS, PRECONDITIONS, TRAITS, Context, applies, exchange_parts, exchange_traits,
)
from oauthtrace.interchange.importer import read_file
from oauthtrace.model import Exchange, Hop, Rule

RECORDINGS = sorted((Path(__file__).resolve().parent.parent / "recordings").glob("*.har"))


def hand_made_traces() -> dict[str, list[Hop]]:
    """Flows that hold parts the recordings lack, and flows that lack parts (no callback, no back channel)."""
    return {
        "error-response": list(flow(error="access_denied", returned_state=None)),
        "client-error-redirected": list(flow(error="invalid_client")),
        "implicit-fragment": list(flow(response_type="token", back_channel=False)),
        "no-callback": list(flow(callback=False, back_channel=False)),
        "no-back-channel": list(flow(back_channel=False)),
        "token-error": list(flow(token_status=400, token_json={"error": "invalid_grant"})),
        "metadata-and-flow": renumber([metadata_hop(1), *flow(pkce=True, seq=2)]),
        "mcp": list(mcp_flow()),
        "mcp-without-authorize": list(mcp_flow(authorize=False)),
        "two-flows": sequential(list(flow()), list(flow(state="another-state-value-123456789"))),
        # flows with the content the traits name
        "token-error-200": list(flow(token_status=200, token_json={"error": "Invalid_Grant"})),
        "basic-auth": list(flow(client_auth="basic", client_id="client:with space")),
        "pkce-plain": list(flow(pkce=True, challenge_method="plain")),
        "pkce-mismatch": list(flow(pkce=True, token_verifier="x" * 43)),
        "pkce-downgrade": list(flow(extra_token=[("code_verifier", VERIFIER)])),
        "oidc": renumber([metadata_hop(1), *flow(scope="openid", nonce="n-0S6_WzA2Mj", token_json={
            "access_token": "at-1", "token_type": "Bearer",
            "id_token": jwt({"iss": PROVIDER + "/", "aud": "another-client", "nonce": "other", "exp": 1})})]),
        "nonce-reused": sequential(list(flow(scope="openid", nonce="n-1")),
                                   list(flow(scope="openid", nonce="n-1", state="another-state-value-123456789"))),
        "pkce-verifier-short": list(flow(pkce=True, token_verifier="short")),
        "pkce-verifier-omitted": list(flow(pkce=True, token_verifier=None)),
        "invalid-client": list(flow(client_auth="basic", token_status=400, token_json={"error": "invalid_client"})),
        "error-charset": list(flow(error="access_denied", error_description='denied "by" policy',
                                   returned_state=None)),
        "openid-without-nonce": list(flow(scope="openid", response_type="id_token", back_channel=False)),
        "iss": renumber([metadata_hop(1), *flow(extra_response=[("iss", "https://other.example.com")])]),
        "par-reused": sequential(renumber([pushed(), *par_flow()]), list(par_flow())),
        "cimd-mismatch": list(_with_document({"client_id": CIMD + "?v=2"})[0]),
        # resource-mismatch: a resource sent (resource_sent), and invalid_target with none sent (error)
        "resource-mismatch": list(mcp_flow(token_resource=f"{RS}/")),
        "invalid-target": list(flow(token_status=400, token_json={"error": "invalid_target"})),
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


def test_every_precondition_belongs_to_a_rule_and_names_exchange_parts_or_traits():
    rules = engine.load_rules()
    assert PRECONDITIONS, "no rule declares a precondition"
    for rule_id, parts in PRECONDITIONS.items():
        assert rule_id in rules
        assert parts and parts <= set(EXCHANGE_PARTS) | TRAITS.keys()


def test_every_trait_is_seen_and_every_rule_needing_one_reports_in_these_traces():
    """The traces below exercise what they are for: each trait holds somewhere, and the rules that need a trait
    report somewhere (so the test that they never report without it is not vacuous)."""
    seen, reported = set(), set()
    for hops in traces().values():
        ctx, exchanges = _context(hops)
        for exchange in exchanges:
            ctx.profile = "oauth2"
            seen |= exchange_traits(exchange, ctx, TRAITS)
        reported |= {finding.rule for finding in engine.analyze(hops, trace_id=1).findings}
    assert TRAITS.keys() - seen == set()
    needing = {rule_id for rule_id, names in PRECONDITIONS.items() if names & TRAITS.keys()}
    assert needing - reported == set()


def test_a_trait_that_fails_counts_as_present(monkeypatch):
    def broken(exchange, ctx):
        raise KeyError("boom")

    monkeypatch.setitem(TRAITS, "x-broken", broken)
    ctx, [exchange] = _context(list(flow()))
    assert exchange_traits(exchange, ctx, ["x-broken"]) == {"x-broken"}


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
        ctx.profile = "oauth2"
        parts = exchange_parts(exchange) | exchange_traits(exchange, ctx, TRAITS)
        for rule in engine.select_rules():
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
