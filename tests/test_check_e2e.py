"""Each provider bug, recorded through the real proxy with real Chromium, is named at the right hop."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from oauthtrace.analysis.engine import check_trace
from oauthtrace.cli import cli
from oauthtrace.demo.scenario import run_demo
from oauthtrace.params import path
from oauthtrace.store import Store

pytestmark = pytest.mark.e2e

# bug mode -> (rule, the path of the hop at fault, what the finding must say)
EXPECTED = {
    "drop-state": ("state-dropped", "/login", "∅"),
    "mangle-state": ("state-altered", "/login", "truncated"),
    "error-without-state": ("state-dropped", "/login", "error"),
    "token-form-encoded": ("token-response-not-json", "/token", "application/x-www-form-urlencoded"),
    "token-without-token_type": ("token-fields-missing", "/token", "token_type"),
    "expires_in-as-string": ("expires-in-not-number", "/token", "expires_in"),
    "redirect-uri-mismatch": ("redirect-uri-mismatch", "/token", "trailing slash"),
}


def _record(db_path, chromium, **kwargs):
    result = run_demo(db_path, browser=chromium, **kwargs)
    store = Store.open(db_path)
    trace = store.resolve_trace(str(result.trace_id))
    return store, trace


@pytest.mark.parametrize("back_channel", ["reverse", "proxy"])
@pytest.mark.parametrize("bug", sorted(EXPECTED))
def test_bug_mode_yields_its_rule_at_the_right_hop(bug, back_channel, db_path, chromium):
    store, trace = _record(db_path, chromium, bug=bug, back_channel=back_channel)
    with store:
        report = check_trace(store, trace)
        hops = {hop.seq: hop for hop in store.hops(trace.id)}
        stored = store.findings(trace.id)
    rule, at_path, says = EXPECTED[bug]
    matching = [f for f in report.findings if f.rule == rule]
    assert matching, f"{rule} not reported; got {[f.rule for f in report.findings]}"
    finding = matching[0]
    assert finding.severity == "error"
    assert path(hops[finding.hop].url) == at_path
    assert says in finding.message + json.dumps(finding.evidence, ensure_ascii=False)
    assert any(f.rule == rule for f in stored), "findings are stored for the UI"


@pytest.mark.parametrize("pkce", [False, True], ids=["no-pkce", "pkce"])
@pytest.mark.parametrize("back_channel", ["reverse", "proxy"])
def test_good_flow_has_no_error_or_warning(pkce, back_channel, db_path, chromium):
    store, trace = _record(db_path, chromium, bug="good", pkce=pkce, back_channel=back_channel)
    with store:
        report = check_trace(store, trace)
    loud = [f"{f.rule}: {f.message}" for f in report.findings if f.severity in ("error", "warning")]
    assert loud == []
    assert len(report.exchanges) == 1
    assert report.exchanges[0].tokens, "the back-channel token request is joined to the exchange"


def test_check_command_exit_codes_and_json(db_path, chromium):
    run_demo(db_path, browser=chromium, bug="good", name="good")
    run_demo(db_path, browser=chromium, bug="drop-state", name="dropped")
    runner = CliRunner()
    clean = runner.invoke(cli, ["check", "--db", db_path, "good"])
    assert clean.exit_code == 0, clean.output
    failing = runner.invoke(cli, ["check", "--db", db_path, "dropped", "--format", "json"])
    assert failing.exit_code == 1
    findings = json.loads(failing.output)["findings"]
    dropped = next(f for f in findings if f["rule"] == "state-dropped")
    assert dropped["blame"] == "provider" and "6749" in dropped["spec"]
    assert set(dropped) >= {"rule", "severity", "blame", "trace", "exchange", "hop", "message", "spec", "fix",
                            "evidence"}
    bad = runner.invoke(cli, ["check", "--db", db_path, "no-such-trace"])
    assert bad.exit_code == 2
