"""The report layer (oauthtrace.report): what every view shows of an exchange, computed once from the analysis.

Hand-made hops (tests/hops.py); the same recording read by check, show, the Markdown report and the TUI is in
test_interop_oidc_provider.py.
"""

from __future__ import annotations

from oauthtrace.analysis.registry import RULES, rule
from oauthtrace.exporters.check_formats import format_text
from oauthtrace.exporters.markdown_sections import state_line
from oauthtrace.model import Finding, Trace, blame_word
from oauthtrace.report.exchange import exchange_view
from oauthtrace.report.headline import headline
from oauthtrace.report.parties import Parties
from oauthtrace.report.rule_words import cause
from oauthtrace.tui import lanes
from oauthtrace.tui.findings_view import finding_line
from tests.hops import STATE, analyze, flow, renumber
from tests.mcp_hops import mcp_flow
from tests.test_rules_par import par_flow, pushed


def test_a_pushed_request_is_read_as_the_rules_read_it():
    """RFC 9126 §4: the /authorize URL carries client_id and request_uri; state travels in the pushed request."""
    report = analyze(renumber([pushed(), *par_flow()]))
    [exchange] = report.exchanges
    view = exchange_view(exchange, report.findings)
    authorize = view.stage("authorize")
    assert "state=" not in exchange.authorize.url
    assert authorize.pushed is exchange.pushed[0] and authorize.value("state") == STATE
    [state] = [v for v in view.verdicts if v.param == "state"]
    assert (state.outcome, state.sent, state.got) == ("ok", STATE, STATE)
    assert state_line(view).endswith("— ✅ came back unchanged")
    assert not [f for f in report.findings if f.rule.startswith("state-")], "check agrees"


def test_a_verdict_is_the_finding_of_its_rule_never_decided_again():
    report = analyze(flow(returned_state=None))
    [exchange] = report.exchanges
    [judged] = [v for v in exchange_view(exchange, report.findings).verdicts if v.param == "state"]
    assert judged.outcome == "state-dropped" and judged.finding.rule == "state-dropped"
    # without the findings the values alone decide nothing: a dropped state is not judged by the view itself
    [alone] = [v for v in exchange_view(exchange, []).verdicts if v.param == "state"]
    assert (alone.outcome, alone.sent, alone.got, alone.finding) == ("unchecked", STATE, None, None)


def test_the_markdown_report_and_the_tui_lanes_name_the_same_parties():
    for hops in (mcp_flow(), flow()):
        report = analyze(hops)
        known = Parties.of(hops, report.roles)
        for exchange in report.exchanges:
            drawn = lanes.parties(exchange, report.roles)
            for hop in exchange.hops:
                if known.receiver(hop) is not None:
                    assert drawn[hop.seq] == (known.sender(hop), known.receiver(hop)), hop.url


def test_a_shared_blame_reads_the_same_in_every_view():
    finding = Finding("state-altered", "error", "AS/C", 1, 1, 3, "authorize.state = a → callback.state = b",
                      "RFC 6749 §4.1.2", "fix")
    assert blame_word("AS/C") == "provider / client" and blame_word("user") == "user"
    assert "provider / client" in finding_line(finding).plain
    report = analyze(flow())
    report.findings = [finding]
    assert "  error  provider / client  " in format_text([report], [Trace(id=1, name="t", created=0.0)])


def test_the_summary_names_the_rules_cause_and_the_root_cause_first():
    report = analyze(flow(returned_state=None))
    first = headline(report.findings)
    assert first.rule == "state-dropped"
    assert cause(first) == "The provider dropped `state` from its redirect to the callback"


def test_a_rule_without_a_cause_still_registers():
    @rule("report-layer-test-rule", family="Z", severity="info", blame="C", needs="F", spec="s", quote="q", fix="f")
    def _never(exchange, ctx):
        return ()

    try:
        assert RULES["report-layer-test-rule"].cause == ""
    finally:
        del RULES["report-layer-test-rule"]
