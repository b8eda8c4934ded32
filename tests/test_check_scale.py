"""The check benchmark's generated trace (benchmarks/check_scale.py), small: what `check` finds in it through the
store's read path is exactly what the analysis finds in the generated hops themselves, and the provider bugs it
plants are all found."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from oauthtrace.analysis.engine import analyze, check_trace
from oauthtrace.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import check_scale  # noqa: E402

EXCHANGES = 150  # every kind and every planted bug, ten times over


def _outcome(report) -> tuple:
    return (
        [finding.as_dict() for finding in report.findings],
        [item.as_dict() for item in report.not_evaluated],
        [[hop.seq for hop in exchange.hops] for exchange in report.exchanges],
        report.roles,
        report.profiles,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    store = Store.open(tmp_path_factory.mktemp("scale") / "scale.db")
    trace_id = store.create_trace("scale")
    for hops in check_scale.generate(EXCHANGES, trace_id):
        store.insert_hops(hops)
    report = check_trace(store, trace_id)
    yield store, trace_id, report
    store.close()


def test_check_through_the_store_finds_what_the_generated_hops_show(stored):
    store, trace_id, report = stored
    generated = [hop for hops in check_scale.generate(EXCHANGES, trace_id) for hop in hops]
    assert _outcome(report) == _outcome(analyze(generated, trace_id=trace_id))
    assert [f.as_dict() for f in store.findings(trace_id)] == [f.as_dict() for f in report.findings]


def test_every_planted_provider_bug_is_found(stored):
    _, _, report = stored
    buggy = [n for n in range(EXCHANGES) if n % 5 == 4]  # check_scale._one: kind 4 carries a provider bug
    expected = {
        "state-dropped": sum(1 for n in buggy if (n // 5) % 3 == 0),
        "state-altered": sum(1 for n in buggy if (n // 5) % 3 != 0),
        "redirect-uri-omitted-at-token": sum(1 for n in buggy if (n // 5) % 3 == 2),
    }
    found = Counter(finding.rule for finding in report.findings if finding.severity == "error")
    assert {rule: found[rule] for rule in expected} == expected
    assert len(report.exchanges) == EXCHANGES
