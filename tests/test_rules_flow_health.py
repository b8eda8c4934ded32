"""Family O: where a third-party client stopped, callbacks loaded twice, and drift from a baseline recording."""

from __future__ import annotations

import copy

from tests.hops import STATE, analyze, findings, flow, make_hop, renumber
from tests.mcp_hops import MCP_URL, mcp_flow


def later(hops, seconds: float):
    """The user looking at the client's page `seconds` after the last hop: the recording went on that long."""
    end = max(h.ended or h.started for h in hops)
    page = make_hop(0, "GET", "https://claude.ai/settings/connectors", started=end + seconds, content_type="text/html",
                    resp_body="<p>Not connected</p>")
    return renumber([*hops, page])


# --- flow-stalled-after-callback --------------------------------------------------------------------------


def test_code_delivered_but_no_token_request_within_the_window():
    chain = mcp_flow(back_channel=False)
    hops = later(chain, 45)
    [finding] = findings(hops, "flow-stalled-after-callback")
    assert finding.hop == chain.callback.seq and finding.blame == "C" and finding.severity == "warning"
    assert finding.evidence["window_seconds"] == 30 and finding.evidence["token_requests"] == 0


def test_the_window_is_configurable():
    hops = later(mcp_flow(back_channel=False), 3)
    assert findings(hops, "flow-stalled-after-callback") == []
    assert len(findings(hops, "flow-stalled-after-callback", stall_seconds=2)) == 1


def test_a_recording_that_ended_before_the_window_cannot_tell():
    assert findings(mcp_flow(back_channel=False), "flow-stalled-after-callback") == []


def test_token_request_in_time_is_fine():
    assert findings(later(mcp_flow(), 45), "flow-stalled-after-callback") == []


def test_without_a_back_channel_it_is_not_evaluated_never_guessed():
    report = analyze(later(flow(back_channel=False), 45))
    assert [f for f in report.findings if f.rule == "flow-stalled-after-callback"] == []
    [reason] = [n.reason for n in report.not_evaluated if n.rule == "flow-stalled-after-callback"]
    assert reason == "no back-channel capture"


def test_a_callback_the_client_refused_is_not_a_stall():
    hops = later(mcp_flow(back_channel=False, callback_status=400, returned_state=None), 45)
    assert findings(hops, "flow-stalled-after-callback") == []


# --- token-not-used ---------------------------------------------------------------------------------------


def test_token_issued_and_never_used():
    chain = mcp_flow(calls=[])
    hops = later(chain, 45)
    [finding] = findings(hops, "token-not-used")
    assert finding.hop == chain.token.seq and finding.blame == "C" and finding.evidence["calls"] == 0


def test_token_never_used_cannot_be_told_before_the_window_ends():
    assert findings(mcp_flow(calls=[]), "token-not-used") == []


def test_token_refused_by_the_resource_server():
    hops = mcp_flow(calls=[("POST", 403)])
    [finding] = findings(hops, "token-not-used")
    assert finding.hop == hops[-1].seq and finding.blame == "RS" and finding.evidence["status"] == 403


def test_streamable_http_405_for_get_and_delete_and_a_scope_step_up_are_not_refusals():
    hops = mcp_flow(calls=[("POST", 200), ("GET", 405), ("DELETE", 405)])
    assert findings(hops, "token-not-used") == []
    step_up = mcp_flow(calls=[("POST", 403)])
    step_up[-1].resp_headers = [("WWW-Authenticate", 'Bearer error="insufficient_scope", scope="admin"')]
    assert findings(step_up, "token-not-used") == []


def test_a_tokens_calls_are_read_in_order_whatever_order_the_hops_come_in():
    from oauthtrace.analysis.rules.flow_health import _uses

    hops = mcp_flow(calls=[("POST", 403), ("POST", 401), ("POST", 403)])
    [calls] = [uses for uses in _uses(list(reversed(hops))).values() if len(uses) == 3]
    assert [hop.seq for hop in calls] == [hop.seq for hop in hops[-3:]]


def test_a_plain_oauth_client_need_not_call_anything():
    assert findings(later(flow(), 45), "token-not-used") == []


# --- callback-replayed ------------------------------------------------------------------------------------


def test_the_same_callback_loaded_twice():
    hops = flow()
    again = copy.deepcopy(hops.callback)
    again.started += 5
    again.ended += 5
    again.status = 400
    hops = renumber([*hops, again])
    [finding] = findings(hops, "callback-replayed")
    assert finding.hop == again.seq and finding.severity == "info"
    assert finding.evidence["first"] == hops[3].seq


def test_one_callback_is_not_replayed():
    assert findings(flow(), "callback-replayed") == []


# --- baseline-drift ---------------------------------------------------------------------------------------


def test_client_started_sending_state():
    baseline = flow(state=None)
    current = flow(state=STATE)
    found = findings(current, "baseline-drift", baseline=baseline)
    names = {(f.evidence["part"], f.evidence["name"], f.evidence["change"]) for f in found}
    assert ("authorize", "state", "added") in names
    assert ("authorization response", "state", "added") in names
    state = next(f for f in found if f.evidence["part"] == "authorize")
    assert state.severity == "warning" and state.hop == current.authorize.seq


def test_identical_flows_do_not_drift():
    assert findings(mcp_flow(), "baseline-drift", baseline=mcp_flow()) == []


def test_without_a_baseline_the_rule_is_silent():
    report = analyze(flow(state=None))
    assert [f for f in report.findings if f.rule == "baseline-drift"] == []
    assert "baseline-drift" not in [n.rule for n in report.not_evaluated]


def test_mcp_resource_dropped_on_reconnect_drifts():
    found = findings(mcp_flow(authorize_resource=None, token_resource=None), "baseline-drift", baseline=mcp_flow())
    assert {(f.evidence["part"], f.evidence["name"]) for f in found} == {("authorize", "resource"),
                                                                         ("token request", "resource")}
    assert all(f.evidence["before"] == MCP_URL for f in found)
