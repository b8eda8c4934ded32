"""What the trace screen decides without Textual: where it opens, the title line, what the Findings tab says, the
rows the filter leaves, and the reads behind live polling and export (real SQLite, hand-made hops)."""

from __future__ import annotations

import pytest

import oauthtrace.analysis.engine as engine
from oauthtrace.analysis.engine import NotEvaluated
from oauthtrace.model import Finding, Trace
from oauthtrace.store import Store
from oauthtrace.tui.filters import parse_filter
from oauthtrace.tui.reader import Analysis, Reader
from oauthtrace.tui.trace_view import TraceView
from tests.hops import analyze, flow, make_hop


def analysis_of(hops, findings=None) -> Analysis:
    report = analyze(hops)
    return Analysis(1, exchanges=report.exchanges, roles=report.roles,
                    findings=report.findings if findings is None else findings)


def finding(severity: str, hop: int | None, rule: str = "some-rule") -> Finding:
    return Finding(rule, severity, "client", 1, 1, hop, "message", "spec", "fix")


def test_a_trace_opens_on_its_first_error_even_after_an_earlier_warning():
    hops = flow(returned_state=None)
    findings = [finding("info", 1), finding("warning", 2), finding("error", 4), finding("error", 3)]
    assert analysis_of(hops, findings).landing_seq() == 4  # the first error listed, not the lowest hop


def test_without_an_error_a_trace_opens_on_its_first_warning_then_on_its_first_hop():
    hops = flow()
    assert analysis_of(hops, [finding("info", 2), finding("warning", 3)]).landing_seq() == 3
    assert analysis_of(hops, [finding("error", None)]).landing_seq() == min(h.seq for h in hops)
    assert Analysis(1).landing_seq() is None  # no exchange: the screen stays on the list of hops


def test_the_findings_tab_says_why_rules_were_skipped_the_shortest_reasons_first():
    skipped = [NotEvaluated("a", None, "the body was cut at capture"), NotEvaluated("b", 1, "no token"),
               NotEvaluated("c", 1, "no token"), NotEvaluated("d", None, "redacted before import")]
    assert Analysis(1, not_evaluated=skipped).findings_note() == (
        "4 rule(s) not evaluated: no token; redacted before import (and 1 other reasons)")
    assert Analysis(1, not_evaluated=skipped, note="analysis failed: KeyError").findings_note() == (
        "analysis failed: KeyError")
    assert Analysis(1).findings_note() == ""


def test_the_title_line_counts_hops_exchanges_and_findings_and_names_the_filter():
    view = TraceView(3, live=True)
    assert view.title() is None  # nothing to say before the trace is read
    view.trace = Trace(3, "login\n[bold]x[/]", 0.0, "record", None)
    view.span = (1, 12, 12)
    view.analysis = analysis_of(flow(), [finding("error", 1), finding("warning", 2), finding("warning", 3)])
    view.filter, view.filtered = parse_filter("status:4xx"), [4, 7]
    assert view.title().plain == ("Trace 3 login⏎[bold]x[/]  12 hops  1 exchange  1 error  2 warnings  ● LIVE"
                                  "  filter: status:4xx (2 hops)")
    view.live, view.filter = False, parse_filter("")
    view.analysis = Analysis(3)
    assert view.title().plain == "Trace 3 login⏎[bold]x[/]  12 hops  0 exchanges  no findings"


def test_the_hop_rows_are_every_hop_of_the_span_or_those_the_filter_left():
    view = TraceView(1, span=(5, 9, 5))
    every = view.hop_source()
    assert (every.count, every.seq_at(0), every.seq_at(4), view.shown_seqs()) == (5, 5, 9, None)
    view.filter, view.filtered = parse_filter("role:token"), [6, 9]
    some = view.hop_source()
    assert (some.count, some.seq_at(1), some.row_of(9), view.shown_seqs()) == (2, 9, 1, {6, 9})


@pytest.fixture
def gapped_trace(db_path) -> int:
    """Hops 1, 2 and 5: what a recording holds after its writer skipped numbers."""
    with Store.open(db_path) as store:
        trace_id = store.create_trace("gapped")
        store.insert_hops([make_hop(seq, "GET", f"https://client.example/{seq}", trace_id=trace_id)
                           for seq in (1, 2, 5)])
    return trace_id


def test_polling_a_large_trace_reads_the_index_bounds_and_a_small_one_the_exact_count(db_path, gapped_trace):
    reader = Reader(db_path)
    assert reader.polled_span(gapped_trace, large=False) == (1, 5, 3)
    assert reader.polled_span(gapped_trace, large=True) == (1, 5, 5)  # no count: assumed contiguous


def test_a_failing_analysis_is_a_note_not_an_exception(db_path, gapped_trace, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("secret-looking value")

    monkeypatch.setattr(engine, "analyze", broken)
    found = Reader(db_path).analysis_or_failure(gapped_trace)
    assert (found.note, found.findings, found.exchanges) == ("analysis failed: KeyError", [], [])


def test_an_export_that_cannot_be_written_is_an_error_notice(db_path, gapped_trace, tmp_path):
    target = str(tmp_path / "missing" / "out.json")
    message, severity = Reader(db_path).export_notice(gapped_trace, target)
    assert severity == "error" and message.startswith(f"cannot write {target}")
    message, severity = Reader(db_path).export_notice(gapped_trace, str(tmp_path / "out.json"))
    assert (message, severity) == (f"Exported trace {gapped_trace} (redacted JSON) to {tmp_path / 'out.json'}",
                                   "information")
    assert (tmp_path / "out.json").read_text().startswith("{")
