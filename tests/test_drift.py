"""Baseline drift (`oauthtrace diff BASELINE TRACE`, `check --baseline`): what changed between two recordings of
the same client and provider, and nothing when they are the same flow."""

from __future__ import annotations

import json

from click.testing import CliRunner

from oauthtrace.analysis.drift import changes_since, side
from oauthtrace.cli import cli
from oauthtrace.store import Store
from tests.hops import STATE, flow, metadata_hop, renumber
from tests.mcp_hops import mcp_flow


def changes(baseline, current):
    return [(c.part, c.name, c.kind) for c in changes_since(side(baseline), side(current))]


def test_two_identical_flows_do_not_drift():
    assert changes(flow(), flow()) == []
    assert changes(mcp_flow(), mcp_flow()) == []


def test_fresh_values_and_loopback_ports_are_not_drift():
    one = flow(provider="http://127.0.0.1:5001", redirect_uri="http://127.0.0.1:6001/aip/p/oauth/callback",
               state="A" * 32, code="c" * 30)
    two = flow(provider="http://127.0.0.1:5002", redirect_uri="http://127.0.0.1:6002/aip/p/oauth/callback",
               state="B" * 32, code="d" * 30)
    assert changes(one, two) == []


def test_client_started_sending_state():
    found = changes_since(side(flow(state=None)), side(flow(state=STATE)))
    assert [(c.part, c.name, c.kind, c.severity) for c in found] == [
        ("authorize", "state", "added", "warning"),
        ("authorization response", "state", "added", "warning"),
    ]
    assert found[0].after == "(sent)", "a fresh value is not shown"


def test_provider_started_sending_iss():
    assert changes(flow(), flow(extra_response=[("iss", "https://auth.example.com")])) == [
        ("authorization response", "iss", "added")]


def test_client_authentication_and_scope_changes():
    found = changes(flow(client_auth="post", scope="read write"), flow(client_auth="basic", scope="read"))
    assert ("token request", "client authentication", "changed") in found
    assert ("authorize", "scope", "changed") in found


def test_metadata_changes_are_reported():
    before = renumber([metadata_hop(0), *flow()])
    after = renumber([metadata_hop(0, code_challenge_methods_supported=None,
                                   authorization_response_iss_parameter_supported=True), *flow()])
    names = [(part, name.split(" ")[-1], kind) for part, name, kind in changes(before, after)]
    assert ("metadata", "code_challenge_methods_supported", "removed") in names
    assert ("metadata", "authorization_response_iss_parameter_supported", "added") in names


def test_redirect_chain_change_is_reported():
    found = changes(flow(), flow(login=False))
    assert ("redirect chain", "", "changed") in found


# --- the command ------------------------------------------------------------------------------------------


def _store(db_path, *recordings):
    with Store.open(db_path) as store:
        ids = []
        for name, hops in recordings:
            trace_id = store.create_trace(name)
            for hop in hops:
                hop.trace_id = trace_id
            store.insert_hops(hops)
            ids.append(trace_id)
    return ids


def test_diff_names_the_parameter_and_exits_1(db_path):
    _store(db_path, ("golden", flow(state=None)), ("today", flow(state=STATE)))
    result = CliRunner().invoke(cli, ["diff", "golden", "today", "--db", db_path])
    assert result.exit_code == 1, result.output
    assert "authorize.state: baseline ∅ → now (sent)" in result.output
    assert "2 changes." in result.output
    data = json.loads(CliRunner().invoke(cli, ["diff", "1", "2", "--db", db_path, "--format", "json"]).output)
    assert data["drifted"] is True and {c["name"] for c in data["changes"]} == {"state"}


def test_diff_of_identical_flows_exits_0(db_path):
    _store(db_path, ("golden", flow()), ("today", flow()))
    result = CliRunner().invoke(cli, ["diff", "golden", "today", "--db", db_path])
    assert result.exit_code == 0 and result.output.startswith("No drift")


def test_diff_of_an_unknown_trace_is_bad_input(db_path):
    _store(db_path, ("golden", flow()))
    result = CliRunner().invoke(cli, ["diff", "golden", "nope", "--db", db_path])
    assert result.exit_code == 2 and result.output.startswith("Error:")


def test_check_with_a_baseline_reports_drift_as_findings(db_path):
    _store(db_path, ("golden", flow(state=None)), ("today", flow(state=STATE)))
    result = CliRunner().invoke(cli, ["check", "today", "--db", db_path, "--baseline", "golden", "--format", "json",
                                      "--rule", "baseline-drift", "--fail-on", "warning"])
    assert result.exit_code == 1
    found = json.loads(result.output)["findings"]
    assert {(f["rule"], f["evidence"]["name"]) for f in found} == {("baseline-drift", "state")}
