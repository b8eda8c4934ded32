"""MCP 2026-07-28 (stateless) recognised beside 2025-11-25: which revision a call speaks, the session as one MCP
exchange, and the flow-health rules reading both.

What the revision changed, as its changelog says it (specification/2026-07-28/changelog.mdx, "Major changes"):
"Remove protocol-level sessions and the `Mcp-Session-Id` header"; "remove the `initialize`/`notifications/initialized`
handshake. Every request now carries its protocol version and client capabilities in `_meta`"; "Add
`server/discover`"; "Replace the HTTP GET endpoint … with `subscriptions/listen`: a single long-lived POST-response
stream"; and (minor change 4) "Require standard MCP request headers (`Mcp-Method`, `Mcp-Name`) on Streamable HTTP
POST requests".
"""

from __future__ import annotations

import json

from oauthtrace.analysis.classify import is_mcp_call
from oauthtrace.analysis.mcp import (
    LEGACY, MIXED, MODERN, call_era, chain_steps, exchange_era, is_listen_stream, protocol_version, rpc_method,
)
from tests.hops import analyze, findings, make_hop
from tests.mcp_hops import ACCESS_TOKEN, INITIALIZE, MCP_URL, SESSION, mcp_flow
from tests.mcp_stateless_hops import (
    HEADER_MISMATCH, STOPPED, UNSUPPORTED_PROTOCOL_VERSION, legacy_call, modern_request, stateless_flow,
)
from tests.test_rules_flow_health import later


def post(body, headers=(), **kwargs):
    return make_hop(1, "POST", MCP_URL, json_body=body, req_headers=list(headers), **kwargs)


def loud(report):
    return [(f.rule, f.severity, f.message) for f in report.findings if f.severity in ("error", "warning")]


# --- which revision a call speaks ---------------------------------------------------------------------------


def test_a_stateless_request_is_read_from_its_headers_and_its_meta():
    body, headers = modern_request("tools/call")
    hop = post(body, headers)
    assert (rpc_method(hop), protocol_version(hop), call_era(hop)) == ("tools/call", "2026-07-28", MODERN)
    assert hop.req_header("mcp-name") == "whoami"


def test_server_discover_and_a_meta_version_are_modern_even_without_the_headers():
    body, _ = modern_request("server/discover")
    assert call_era(post(body)) == MODERN and rpc_method(post(body)) == "server/discover"
    body, _ = modern_request("tools/list")
    assert call_era(post(body)) == MODERN and protocol_version(post(body)) == "2026-07-28"


def test_the_2025_shape_is_legacy():
    initialize = post(INITIALIZE)
    assert (rpc_method(initialize), protocol_version(initialize), call_era(initialize)) == \
        ("initialize", "2025-11-25", LEGACY)
    stream = make_hop(1, "GET", MCP_URL, req_headers=SESSION)
    assert call_era(stream) == LEGACY and protocol_version(stream) == "2025-11-25" and rpc_method(stream) is None
    assert call_era(post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})) is None  # says nothing by itself
    # a version header alone: the handshake revisions are legacy, any other (a later one) modern
    assert call_era(make_hop(1, "DELETE", MCP_URL, req_headers=[("MCP-Protocol-Version", "2025-06-18")])) == LEGACY
    assert call_era(make_hop(1, "GET", MCP_URL, req_headers=[("MCP-Protocol-Version", "2026-07-28")])) == MODERN


def test_a_post_recorded_without_its_body_is_still_an_mcp_call_by_its_mcp_method_header():
    _, headers = modern_request("tools/list")
    bodiless = make_hop(1, "POST", MCP_URL, req_headers=headers + [("Authorization", f"Bearer {ACCESS_TOKEN}")])
    assert is_mcp_call(bodiless) and rpc_method(bodiless) == "tools/list" and call_era(bodiless) == MODERN
    assert not is_mcp_call(make_hop(1, "POST", MCP_URL, req_headers=[("Mcp-Method", "")]))
    assert not is_mcp_call(make_hop(1, "GET", "https://app.example.com/style.css"))


def test_the_listen_stream_is_told_from_other_event_streams():
    flow = stateless_flow()
    listen = [hop for hop in flow if is_listen_stream(hop)]
    assert [rpc_method(hop) for hop in listen] == ["subscriptions/listen"] and listen[0].error == STOPPED
    assert not any(is_listen_stream(hop) for hop in mcp_flow())  # 2025's GET stream is no listen stream


def test_an_exchange_speaks_one_era_or_both():
    assert exchange_era(analyze(stateless_flow()).exchanges[0]) == MODERN
    assert exchange_era(analyze(mcp_flow()).exchanges[0]) == LEGACY
    # a dual-era client: its modern request refused, then the legacy handshake
    mixed = stateless_flow(calls=[("server/discover", 400, UNSUPPORTED_PROTOCOL_VERSION), legacy_call(200)])
    assert exchange_era(analyze(mixed).exchanges[0]) == MIXED


# --- one MCP exchange, clean --------------------------------------------------------------------------------


def test_the_stateless_session_is_one_clean_mcp_exchange():
    flow = stateless_flow()
    report = analyze(later(flow, 45))
    assert len(report.exchanges) == 1 and report.profiles == {1: "mcp"}
    assert [report.roles[hop.seq] for hop in flow[-4:]] == ["resource"] * 4
    assert loud(report) == []


def test_the_chain_report_names_each_stateless_call_by_its_method():
    [*_, calls] = chain_steps(analyze(stateless_flow()).exchanges[0])
    assert calls.step == "MCP calls with the token"
    assert calls.detail == ("POST server/discover 200, POST subscriptions/listen 200 event stream, "
                            "POST tools/list 200, POST tools/call 200")
    [*_, legacy] = chain_steps(analyze(mcp_flow()).exchanges[0])
    assert legacy.detail == "POST 200 event stream, POST 202, GET 200 event stream, DELETE 200"


# --- flow health across both revisions ----------------------------------------------------------------------


def test_a_listen_stream_open_when_the_recording_stopped_is_neither_a_stall_nor_an_unused_token():
    hops = later(stateless_flow(calls=[("server/discover", 200), ("subscriptions/listen", 200)]), 45)
    assert findings(hops, "token-not-used") == [] and findings(hops, "flow-stalled-after-callback") == []


def test_the_first_authenticated_server_discover_is_the_token_used():
    assert findings(later(stateless_flow(calls=[("server/discover", 200)]), 45), "token-not-used") == []
    unused = stateless_flow(calls=[])
    [finding] = findings(later(unused, 45), "token-not-used")
    assert finding.hop == unused.token.seq and finding.evidence["calls"] == 0


def test_a_token_refused_at_server_discover_blames_the_resource_server_and_names_the_method():
    hops = stateless_flow(calls=[("server/discover", 401)])
    [finding] = findings(hops, "token-not-used")
    assert finding.hop == hops[-1].seq and finding.blame == "RS" and finding.evidence["status"] == 401
    assert "POST /mcp (server/discover) answered 401" in finding.message


def test_a_2025_client_at_a_2026_only_server_is_told_apart_from_a_refused_token():
    """Compatibility matrix (basic/versioning): "Legacy | Modern | Fails. … HTTP: the request is missing the
    required headers and is rejected per server validation with 400 Bad Request"."""
    hops = stateless_flow(calls=[legacy_call(400, HEADER_MISMATCH)])
    [finding] = findings(hops, "token-not-used")
    assert finding.hop == hops[-1].seq and finding.blame == "either" and finding.severity == "warning"
    assert finding.evidence["error_code"] == HEADER_MISMATCH and finding.evidence["era"] == LEGACY
    assert "(initialize) answered 400 HeaderMismatch" in finding.message


def test_a_protocol_version_the_server_does_not_speak_names_the_ones_it_does():
    hops = stateless_flow(calls=[("tools/list", 400, UNSUPPORTED_PROTOCOL_VERSION)])
    [finding] = findings(hops, "token-not-used")
    assert finding.blame == "either" and finding.evidence["supported"] == ["2026-07-28"]
    assert "the server speaks 2026-07-28" in finding.message


def test_a_modern_call_whose_headers_do_not_match_its_body_is_the_clients():
    hops = stateless_flow(calls=[("tools/list", 400, HEADER_MISMATCH)])
    [finding] = findings(hops, "token-not-used")
    assert finding.blame == "C" and "do not match its body" in finding.message


def test_a_dual_era_client_that_fell_back_to_the_handshake_used_its_token():
    hops = stateless_flow(calls=[("server/discover", 400, UNSUPPORTED_PROTOCOL_VERSION), legacy_call(200)])
    assert findings(hops, "token-not-used") == []


def test_a_plain_400_is_not_read_as_a_revision_error():
    hops = stateless_flow(calls=[("tools/list", 400)])
    hops[-1].resp_headers = [("Content-Type", "application/json")]
    hops[-1].resp_body = json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad"}}).encode()
    assert findings(hops, "token-not-used") == []
