"""`oauthtrace check` and `oauthtrace rules` on a temporary database, through click's CliRunner."""

from __future__ import annotations

import gc
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from hops import NO_STORE, flow, interleave, metadata_hop
from oauthtrace.analysis.docs import render
from oauthtrace.cli import cli
from oauthtrace.store import Store

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


@pytest.fixture
def db(tmp_path):
    """Three traces: a clean one, the motivating dropped-state one, and two interleaved exchanges."""
    path = str(tmp_path / "t.db")
    store = Store.open(path)
    clean = store.create_trace("clean")
    store.insert_hops([metadata_hop(1, trace_id=clean, token_endpoint_auth_methods_supported=["client_secret_post"])]
                      + renumbered(flow(trace_id=clean, pkce=True, token_headers=NO_STORE), 2))
    dropped = store.create_trace("dropped")
    store.insert_hops(flow(trace_id=dropped, returned_state=None, token_headers=NO_STORE))
    two = store.create_trace("two")
    store.insert_hops(interleave(flow(trace_id=two, state="A" * 32, code="codeA" * 5, token_headers=NO_STORE),
                                 flow(trace_id=two, state="B" * 32, code="codeB" * 5, returned_state="B" * 9,
                                      t0=1000.3, token_headers=NO_STORE)))
    store.close()
    return path


def renumbered(hops, first):
    for n, hop in enumerate(hops, start=first):
        hop.seq = n
    return hops


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_clean_trace_exits_zero(db):
    result = run("check", "--db", db, "clean")
    assert result.exit_code == 0, result.output
    assert "Summary: 0 error, 0 warning" in result.output


def test_dropped_state_text_shows_values_side_by_side_then_the_fix(db):
    result = run("check", "--db", db, "dropped")
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "state-dropped" in x)
    assert line.strip().startswith("authorize.state = 6ca9HZ… → callback.state = ∅")
    assert "state-dropped  error  provider  RFC 6749 §4.1.2" in line and "(hop #3)" in line
    after = result.output.splitlines()[result.output.splitlines().index(line) + 1]
    assert after.strip().startswith("fix: Provider: copy the state")
    assert "Not evaluated, no metadata capture:" in result.output


def test_a_caller_running_check_in_its_own_process_keeps_a_working_collector(db):
    assert gc.isenabled()
    result = run("check", "--db", db, "clean")
    assert result.exit_code == 0, result.output
    assert gc.isenabled(), "check left the cyclic garbage collector off for the rest of the process"


def test_latest_trace_by_default_and_several_traces(db):
    latest = run("check", "--db", db, "--format", "json")
    assert {f["trace"] for f in json.loads(latest.output)["findings"]} == {3}
    both = run("check", "--db", db, "clean", "dropped", "--format", "json")
    assert [t["name"] for t in json.loads(both.output)["traces"]] == ["clean", "dropped"]


def test_json_findings(db):
    result = run("check", "--db", db, "dropped", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.output)
    dropped = next(f for f in document["findings"] if f["rule"] == "state-dropped")
    # the keys findings always had, and since one finding stands for one cause, how many hops and which
    assert set(dropped) == {"rule", "severity", "blame", "trace", "exchange", "hop", "message", "spec", "fix",
                            "evidence", "count", "hops"}
    assert dropped["blame"] == "provider" and dropped["hop"] == 3 and dropped["exchange"] == 1
    assert dropped["count"] == 1 and dropped["hops"] == [3]
    assert dropped["evidence"]["returned"] is None
    assert any(n["rule"] == "pkce-not-advertised" for n in document["not_evaluated"])


def test_two_interleaved_exchanges_are_reported_apart(db):
    document = json.loads(run("check", "--db", db, "two", "--format", "json").output)
    assert document["traces"][0]["exchanges"] == 2
    altered = [f for f in document["findings"] if f["rule"] == "state-altered"]
    assert [(f["exchange"], f["evidence"]["difference"]) for f in altered] == [(2, "truncated")]


def test_fail_on(db):
    assert run("check", "--db", db, "dropped", "--fail-on", "never").exit_code == 0
    assert run("check", "--db", db, "clean", "--fail-on", "warning").exit_code == 0
    # the chatgpt profile keeps pkce-missing at info; under oauth2 it is a warning
    assert run("check", "--db", db, "dropped", "--rule", "pkce-missing", "--fail-on", "warning").exit_code == 0
    assert run("check", "--db", db, "dropped", "--rule", "pkce-missing", "--fail-on", "warning",
               "--profile", "oauth2").exit_code == 1


def test_rule_filter(db):
    result = run("check", "--db", db, "dropped", "--rule", "state-dropped,code-weak", "--format", "json")
    assert {f["rule"] for f in json.loads(result.output)["findings"]} == {"state-dropped"}


@pytest.mark.parametrize("args,says", [
    (("no-such-trace",), "no trace 'no-such-trace'"),
    (("dropped", "--rule", "no-such-rule"), "unknown rule no-such-rule"),
])
def test_bad_input_is_one_line_and_exit_2(db, args, says):
    result = run("check", "--db", db, *args)
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output


def test_bad_profile_and_missing_database_exit_2(db, tmp_path):
    assert run("check", "--db", db, "--profile", "nope").exit_code == 2
    result = run("check", "--db", str(tmp_path / "missing.db"))
    assert result.exit_code == 2 and not (tmp_path / "missing.db").exists()


def test_findings_are_stored_for_the_ui(db):
    run("check", "--db", db, "dropped")
    store = Store.open(db)
    trace = store.resolve_trace("dropped")
    assert "state-dropped" in {f.rule for f in store.findings(trace.id)}


def test_sarif_structure(db):
    result = run("check", "--db", db, "dropped", "--format", "sarif")
    assert result.exit_code == 1
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    [run_] = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "oauthtrace"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert "state-dropped" in rule_ids and len(rule_ids) == len(set(rule_ids))
    for result_ in run_["results"]:
        assert result_["ruleId"] in rule_ids
        assert driver["rules"][result_["ruleIndex"]]["id"] == result_["ruleId"]
        assert result_["level"] in ("error", "warning", "note", "none")
        assert result_["message"]["text"]
        assert result_["locations"] and result_["locations"][0]["logicalLocations"][0]["name"]
    dropped = next(r for r in run_["results"] if r["ruleId"] == "state-dropped")
    assert dropped["level"] == "error" and dropped["properties"]["hop"] == 3


def test_junit_one_testcase_per_exchange(db):
    result = run("check", "--db", db, "two", "--format", "junit")
    root = ET.fromstring(result.output)
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 2 and suite.get("tests") == "2"
    failures = [case for case in cases if case.find("failure") is not None]
    assert len(failures) == 1 and failures[0].find("failure").get("type") == "state-altered"
    assert suite.get("failures") == "1"


def test_rules_command_lists_every_rule():
    text = run("rules")
    assert text.exit_code == 0
    assert text.output.splitlines()[0].split() == ["id", "severity", "blame", "side", "spec"]
    line = next(x for x in text.output.splitlines() if x.startswith("state-dropped "))
    assert line.split()[1:4] == ["error", "provider", "F"]
    catalogue = json.loads(run("rules", "--format", "json").output)
    ids = [r["id"] for r in catalogue]
    assert len(ids) == len(set(ids)) >= 20
    state_missing = next(r for r in catalogue if r["id"] == "state-missing")
    assert state_missing["spec"] and state_missing["fix"] and state_missing["quote"] and state_missing["needs"] == "F"
    assert next(r for r in catalogue if r["id"] == "redirect-uri-omitted-at-token")["profiles"]["oauth21"] == "info"


def test_docs_rules_md_is_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/rules.md is out of date: run `python -m oauthtrace.analysis.docs > docs/rules.md`")
