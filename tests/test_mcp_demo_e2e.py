"""The MCP demo through the real proxy: a ChatGPT-like connector logging in to an MCP server, in either revision of
MCP (2025-11-25 with its session, 2026-07-28 stateless). Each bug mode makes its rule fire (and nothing else loud) in
both; the good flows are clean; two good recordings do not drift."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from oauthtrace.analysis.engine import check_trace
from oauthtrace.analysis.mcp import MODERN, exchange_era, rpc_method
from oauthtrace.capture.recorder import STOPPED_WHILE_STREAMING
from oauthtrace.cli import cli
from oauthtrace.demo.scenario import MCP_BUGS, MCP_DEMO_STALL_SECONDS, MCP_REVISIONS, MCP_STALL_BUGS, run_mcp_demo
from oauthtrace.params import path
from oauthtrace.store import Store
from tests.interop.harness import PROXY_ENV

pytestmark = pytest.mark.e2e

# bug mode -> (rule, the hop at fault as METHOD path)
EXPECTED = {
    "no-resource-metadata": ("mcp-401-no-resource-metadata", "POST /mcp"),
    "prm-resource-mismatch": ("prm-resource-mismatch", "GET /.well-known/oauth-protected-resource/mcp"),
    "dcr-rejects-redirect": ("dcr-rejected", "POST /register"),
    "resource-missing": ("resource-missing", "GET /authorize"),
    "token-never-used": ("token-not-used", "POST /token"),
    "token-rejected": ("token-not-used", "POST /mcp"),
    "callback-not-exchanged": ("flow-stalled-after-callback", "GET /connector/oauth/demo-connector"),
}

# the connector's way to a token, the same in both revisions: (role, method, path, status) of each hop in order
CONNECTOR_LOGIN = [
    ("other", "GET", "/start", 302),
    ("resource", "POST", "/mcp", 401),
    ("metadata", "GET", "/.well-known/oauth-protected-resource/mcp", 200),
    ("metadata", "GET", "/.well-known/oauth-authorization-server", 200),
    ("registration", "POST", "/register", 201),
    ("authorize", "GET", "/authorize", 200),
    ("login", "POST", "/login", 303),
    ("callback", "GET", "/connector/oauth/demo-connector", 200),
    ("token", "POST", "/token", 200),
]


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


def record(db_path, confdir, bug, browser=None, revision=MCP_REVISIONS[0]):
    result = run_mcp_demo(db_path, bug=bug, browser=browser, confdir=confdir, revision=revision)
    stall = MCP_DEMO_STALL_SECONDS if bug in MCP_STALL_BUGS else None
    with Store.open(db_path) as store:
        report = check_trace(store, result.trace_id, stall_seconds=stall)
        hops = {hop.seq: hop for hop in store.hops(result.trace_id)}
    return result, report, hops


def hop_roles(report, hops):
    return [(report.roles[seq], hop.method, path(hop.url), hop.status) for seq, hop in sorted(hops.items())]


def loud(report):
    return sorted({f.rule for f in report.findings if f.severity in ("error", "warning")})


def test_every_bug_mode_has_an_expected_rule():
    assert set(EXPECTED) == set(MCP_BUGS) - {"good"}


def test_good_connector_flow_is_clean(db_path, confdir):
    result, report, hops = record(db_path, confdir, "good")
    assert result.outcome == {"message": "Connected", "status": 200}
    roles = hop_roles(report, hops)
    assert roles[:11] == CONNECTOR_LOGIN + [
        ("resource", "POST", "/mcp", 200),   # initialize, answered as an event stream
        ("resource", "POST", "/mcp", 202),   # notifications/initialized
    ]
    # the GET event stream (open until the DELETE) and tools/list go out at the same time, in either order
    assert sorted(roles[11:]) == [("resource", "DELETE", "/mcp", 200), ("resource", "GET", "/mcp", 200),
                                  ("resource", "POST", "/mcp", 200)]
    get_stream = next(hop for hop in hops.values() if hop.method == "GET" and path(hop.url) == "/mcp")
    delete = next(hop for hop in hops.values() if hop.method == "DELETE")
    assert get_stream.resp_content_type == "text/event-stream" and get_stream.ended >= delete.started
    assert len(report.exchanges) == 1 and report.profiles == {1: "mcp"}
    assert report.findings == [] and report.not_evaluated == []


def test_good_stateless_connector_flow_is_clean(db_path, confdir):
    """2026-07-28: server/discover instead of initialize, no session, every POST with Mcp-Method, and the
    subscriptions/listen stream still open when the recording stops — recorded, recognised, no stall, no finding."""
    result, report, hops = record(db_path, confdir, "good", revision="2026-07-28")
    assert result.outcome == {"message": "Connected", "status": 200}
    assert hop_roles(report, hops)[:9] == CONNECTOR_LOGIN
    calls = [hop for seq, hop in sorted(hops.items()) if path(hop.url) == "/mcp"]
    assert [(rpc_method(hop), hop.status) for hop in calls] == [
        ("server/discover", 401), ("server/discover", 200), ("subscriptions/listen", 200), ("tools/list", 200),
        ("tools/call", 200)]
    for hop in calls:
        assert hop.method == "POST" and hop.req_header("mcp-method") == hop.req_json()["method"]
        assert hop.req_header("mcp-protocol-version") == "2026-07-28" and hop.req_header("mcp-session-id") is None
        assert hop.req_json()["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert calls[-1].req_header("mcp-name") == "whoami"
    listen = calls[2]
    assert listen.resp_content_type == "text/event-stream" and b"notifications/subscriptions/acknowledged" in \
        listen.resp_body
    assert listen.error == STOPPED_WHILE_STREAMING and listen.ended >= calls[-1].ended, \
        "the listen stream stayed open after the other calls, until the recording stopped"
    assert len(report.exchanges) == 1 and report.profiles == {1: "mcp"}
    assert exchange_era(report.exchanges[0]) == MODERN
    assert report.findings == [] and report.not_evaluated == []


@pytest.mark.parametrize("revision", MCP_REVISIONS)
@pytest.mark.parametrize("bug", sorted(EXPECTED))
def test_bug_mode_fires_its_rule(db_path, confdir, bug, revision):
    _, report, hops = record(db_path, confdir, bug, revision=revision)
    rule, at = EXPECTED[bug]
    found = [f for f in report.findings if f.rule == rule]
    assert found, f"{rule} did not fire: {[(f.rule, f.message) for f in report.findings]}"
    hop = hops[found[0].hop]
    assert f"{hop.method} {path(hop.url)}" == at
    assert loud(report) == [rule], [(f.rule, f.message) for f in report.findings]


def test_good_flow_with_chromium(db_path, confdir, chromium):
    result, report, _ = record(db_path, confdir, "good", browser=chromium)
    assert result.outcome == {"message": "Connected", "status": 200}
    assert loud(report) == [] and report.findings == [f for f in report.findings if f.severity == "info"]


def test_two_good_recordings_do_not_drift_and_a_dropped_resource_does(db_path, confdir):
    first = run_mcp_demo(db_path, bug="good", confdir=confdir).trace_id
    second = run_mcp_demo(db_path, bug="good", confdir=confdir).trace_id
    third = run_mcp_demo(db_path, bug="resource-missing", confdir=confdir).trace_id
    same = CliRunner().invoke(cli, ["diff", str(first), str(second), "--db", db_path])
    assert same.exit_code == 0, same.output
    drifted = CliRunner().invoke(cli, ["diff", str(first), str(third), "--db", db_path, "--format", "json"])
    assert drifted.exit_code == 1
    changes = json.loads(drifted.output)["changes"]
    assert {(c["part"], c["name"], c["change"]) for c in changes} == {
        ("authorize", "resource", "removed"), ("token request", "resource", "removed")}


def test_demo_command_shows_the_finding(db_path):
    result = CliRunner().invoke(cli, ["demo", "--mcp", "--bug", "prm-resource-mismatch", "--no-browser", "--no-ui",
                                      "--db", db_path])
    assert result.exit_code == 0, result.output
    assert "prm-resource-mismatch" in result.output and "https://mcp.example.com/mcp" in result.output
    wrong = CliRunner().invoke(cli, ["demo", "--bug", "prm-resource-mismatch", "--no-browser", "--no-ui",
                                     "--db", db_path])
    assert wrong.exit_code == 2 and "needs --mcp" in wrong.output


def test_two_good_stateless_recordings_do_not_drift(db_path, confdir):
    first = run_mcp_demo(db_path, bug="good", confdir=confdir, revision="2026-07-28").trace_id
    second = run_mcp_demo(db_path, bug="good", confdir=confdir, revision="2026-07-28").trace_id
    same = CliRunner().invoke(cli, ["diff", str(first), str(second), "--db", db_path])
    assert same.exit_code == 0, same.output


def test_demo_command_offers_both_revisions_the_current_one_by_default(db_path):
    current = CliRunner().invoke(cli, ["demo", "--mcp", "--no-browser", "--no-ui", "--db", db_path])
    assert current.exit_code == 0, current.output
    assert "Demo (MCP 2026-07-28)" in current.output and "no findings" in current.output
    legacy = CliRunner().invoke(cli, ["demo", "--mcp", "--mcp-revision", "2025-11-25", "--no-browser", "--no-ui",
                                      "--db", db_path])
    assert legacy.exit_code == 0, legacy.output
    assert "Demo (MCP 2025-11-25)" in legacy.output and "no findings" in legacy.output
    with Store.open(db_path) as store:
        traces = [trace.id for trace in store.traces()]
        methods = [{hop.req_header("mcp-method") for hop in store.hops(trace)} - {None} for trace in traces[-2:]]
    assert methods == [{"server/discover", "subscriptions/listen", "tools/list", "tools/call"}, set()]
    wrong = CliRunner().invoke(cli, ["demo", "--mcp-revision", "2025-11-25", "--no-browser", "--no-ui",
                                     "--db", db_path])
    assert wrong.exit_code == 2 and "--mcp-revision needs --mcp" in wrong.output


def test_markdown_report_walks_the_chain(db_path, confdir):
    result = run_mcp_demo(db_path, bug="resource-missing", confdir=confdir)
    report = CliRunner().invoke(cli, ["export", str(result.trace_id), "--format", "markdown", "--db", db_path])
    assert report.exit_code == 0, report.output
    section = report.output.split("### MCP authorization chain", 1)[1]
    steps = [row.split(" | ")[0].lstrip("| ") for row in section.splitlines() if row.startswith("| ") and " | #" in row]
    assert steps == ["MCP request without a token", "Protected resource metadata", "Authorization server metadata",
                     "Dynamic client registration", "Authorization request", "Callback", "Token request",
                     "MCP calls with the token"]
    assert "resource ∅" in section and "`resource-missing`" in section
    with Store.open(db_path) as store:
        token = next(hop for hop in store.hops(result.trace_id) if path(hop.url) == "/token").resp_json()
    assert token["access_token"] not in report.output
