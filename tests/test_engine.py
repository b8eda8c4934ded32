"""The engine: every rule runs or says why it did not; broken rules and malformed traffic never crash a run."""

from __future__ import annotations

import base64
import json

import pytest

from hops import CHATGPT_CALLBACK, NO_STORE, flow, interleave, make_hop, metadata_hop
from hops import analyze as analyze_hops
from oauthtrace.analysis import jwt
from oauthtrace.analysis.engine import analyze, check_trace, missing_sides
from oauthtrace.analysis.profiles import is_chatgpt_callback, known_client, severity_for
from oauthtrace.analysis.registry import RULES, rule
from oauthtrace.analysis.value_difference import describe_difference
from oauthtrace.errors import UserError
from oauthtrace.model import Exchange, Hit, Rule
from oauthtrace.store import Store


@pytest.fixture
def broken_rule():
    @rule("test-broken", family="Z", severity="error", blame="AS", needs="F", spec="none", quote="q", fix="f")
    def broken(exchange, ctx):
        secret = "at-super-secret-token"
        raise KeyError(secret)

    yield "test-broken"
    del RULES["test-broken"]


def test_a_rule_that_raises_is_not_evaluated_and_the_others_still_run(broken_rule):
    f = flow(returned_state=None)
    report = analyze_hops(f)
    failures = [n for n in report.not_evaluated if n.rule == broken_rule]
    assert [(n.exchange, n.reason.split(" at ")[0]) for n in failures] == [(1, "rule failed: KeyError")]
    assert "super-secret" not in failures[0].reason, "the exception's message may quote captured values"
    assert "state-dropped" in {x.rule for x in report.findings}


@pytest.fixture
def half_broken_rule():
    @rule("test-half-broken", family="Z", severity="error", blame="AS", needs="F", spec="none", quote="q", fix="f")
    def half_broken(exchange, ctx):
        yield Hit(hop=exchange.authorize, message="seen before the failure")
        raise ValueError("then broke")

    yield "test-half-broken"
    del RULES["test-half-broken"]


def test_a_rule_that_raises_after_a_hit_reports_nothing_on_that_exchange(half_broken_rule):
    report = analyze_hops(flow(returned_state=None))
    assert [x for x in report.findings if x.rule == half_broken_rule] == []
    assert [n.exchange for n in report.not_evaluated if n.rule == half_broken_rule] == [1]
    assert "state-dropped" in {x.rule for x in report.findings}


def test_rules_needing_an_unrecorded_side_are_not_evaluated():
    front_only = flow(back_channel=False)
    report = analyze_hops(front_only)
    skipped = {n.rule: n for n in report.not_evaluated}
    assert skipped["code-reuse"].reason == "no back-channel capture" and skipped["code-reuse"].exchange is None
    assert skipped["redirect-uri-mismatch"].reason == "no back-channel capture"
    assert "state-dropped" not in skipped
    assert "F" in report.sides and "B" not in report.sides

    back_only = [flow().token]
    skipped = {n.rule for n in analyze_hops(back_only).not_evaluated}
    assert {"state-dropped", "code-late-exchange"} <= skipped and "code-reuse" not in skipped


def test_needs_notation():
    assert missing_sides("F+B", {"F"}) == ["B"]
    assert missing_sides("F/B", {"B"}) == []
    assert missing_sides("M/F", set()) == ["M", "F"]
    assert missing_sides("F", {"F", "B"}) == []


def test_findings_sorted_by_exchange_then_hop():
    a = flow(state="A" * 32, code="codeA" * 5, returned_state=None, token_redirect_uri=CHATGPT_CALLBACK + "/")
    b = flow(state="B" * 32, code="codeB" * 5, returned_state="B" * 10, t0=1000.4)
    report = analyze_hops(interleave(a, b))
    keys = [(f.exchange, f.hop) for f in report.findings]
    assert keys == sorted(keys)
    assert {(f.exchange, f.rule) for f in report.findings} >= {(1, "state-dropped"), (1, "redirect-uri-mismatch"),
                                                              (2, "state-altered")}


def test_profile_chosen_per_exchange_and_forced():
    chatgpt = flow()
    other = flow(redirect_uri="https://client.test/cb")
    assert analyze_hops(chatgpt).profiles == {1: "gpt-actions"}  # a GPT Action's callback (the profile split)
    assert analyze_hops(other).profiles == {1: "oauth2"}
    assert analyze_hops(chatgpt, profile="mcp").profiles == {1: "mcp"}
    with pytest.raises(UserError):
        analyze_hops(chatgpt, profile="nope")


def test_chatgpt_profile_softens_what_chatgpt_does_but_not_what_the_provider_must_do():
    f = flow(returned_state=None)  # no PKCE (a GPT Action) and the provider drops state
    by_rule = {x.rule: x for x in analyze_hops(f).findings}
    assert by_rule["pkce-missing"].severity == "info"
    assert "accept" in by_rule["pkce-missing"].fix
    assert by_rule["state-dropped"].severity == "error"
    plain = {x.rule: x for x in analyze_hops(f, profile="oauth2").findings}
    assert plain["pkce-missing"].severity == "warning"


def test_severity_for_uses_profile_then_hit_then_rule():
    meta = RULES["state-missing"]
    hit = Hit(hop=None, message="", severity="info")
    assert severity_for(meta, hit, "oauth2") == "info"
    assert severity_for(meta, Hit(hop=None, message=""), "oauth2") == "error"
    assert severity_for(RULES["redirect-uri-omitted-at-token"], Hit(hop=None, message=""), "oauth21") == "info"


def test_chatgpt_callbacks_are_recognised():
    for url in ("https://chat.openai.com/aip/p-1/oauth/callback", "https://chatgpt.com/aip/g-abc/oauth/callback",
                "https://chatgpt.com/connector/oauth/abc123", "https://chatgpt.com/connector_platform_oauth_redirect"):
        assert is_chatgpt_callback(url), url
    for url in ("https://chatgpt.com.evil.test/aip/x/oauth/callback", "https://client.test/cb", None):
        assert not is_chatgpt_callback(url), url
    assert known_client("https://claude.ai/api/mcp/auth_callback") == "Claude"


def test_only_selected_rules_run_and_unknown_rules_are_bad_input():
    report = analyze_hops(flow(returned_state=None), only=["state-dropped"])
    assert {f.rule for f in report.findings} == {"state-dropped"}
    with pytest.raises(UserError, match="no-such-rule"):
        analyze_hops(flow(), only=["no-such-rule"])


def test_check_trace_stores_findings(tmp_path):
    store = Store.open(tmp_path / "t.db")
    trace_id = store.create_trace("t")
    store.insert_hops(flow(trace_id=trace_id, returned_state=None))
    report = check_trace(store, store.trace(trace_id))
    stored = store.findings(trace_id)
    assert [(f.rule, f.hop) for f in stored] == [(f.rule, f.hop) for f in report.findings]
    check_trace(store, trace_id, only=["code-weak"])
    assert len(store.findings(trace_id)) == len(stored), "a partial run leaves the stored findings alone"


def test_metadata_documents_reach_the_rules():
    hops = [metadata_hop(90)] + list(flow(state=None, pkce=True))
    report = analyze_hops(hops)
    assert "M" in report.sides
    [missing] = [f for f in report.findings if f.rule == "state-missing"]
    assert missing.evidence["pkce_advertised"] is True


def test_good_flow_with_no_store_is_clean():
    f = flow(pkce=True, token_headers=NO_STORE, redirect_uri="https://client.test/cb")
    meta = metadata_hop(90, token_endpoint_auth_methods_supported=["client_secret_post"])
    loud = [(x.rule, x.message) for x in analyze_hops([meta] + list(f)).findings
            if x.severity in ("error", "warning")]
    assert loud == []


# Malformed traffic: findings or nothing, never a traceback — across every rule of every family.

def _malformed_hops():
    f = flow(extra_authorize=[("state", "dup-state-value-000000")], token_resp_body=b"", pkce=True)
    bad = [
        make_hop(40, "GET", "https://auth.example.com/authorize?client_id=c&response_type=code&state=%FF%FE"
                            "&redirect_uri=%E0%A4%A", started=1100, status=302,
                 location="https://chat.openai.com/aip/p-1/oauth/callback?code=\udcff&state=%FF"),
        make_hop(41, "GET", "https://chat.openai.com/aip/p-1/oauth/callback?code=x&state=%FF", started=1101,
                 resp_body=b"\xff\xfe\x00garbage", content_type="text/html"),
        make_hop(42, "POST", "https://auth.example.com/token", started=1102, listener="reverse:x",
                 body=b"\xff\xfegrant_type=authorization_code&code=x",
                 req_headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", "Basic ###")],
                 resp_body=b"", content_type="application/json"),
        make_hop(43, "POST", "https://auth.example.com/token", started=1103, listener="reverse:x",
                 form=[("grant_type", "authorization_code"), ("code", "x"), ("code", "y")],
                 resp_json={"access_token": "a", "token_type": "Bearer", "id_token": "not.a.jwt",
                            "expires_in": "soon"}),
        make_hop(44, "POST", "https://auth.example.com/token", started=1104, listener="reverse:x",
                 json_body=[1, 2, 3], resp_body=b"[1,2", content_type="application/json"),
        make_hop(45, "GET", "https://auth.example.com/.well-known/openid-configuration", started=1105,
                 resp_body=b"<html>not json</html>", content_type="application/json"),
        make_hop(46, "POST", "https://auth.example.com/register", started=1106,
                 json_body={"redirect_uris": "not-a-list"}, status=201, resp_json={"client_id": None}),
        make_hop(47, "GET", "https://api.example.com/me", started=1107,
                 req_headers=[("Authorization", "Bearer " + "e30." * 3)], status=401,
                 resp_headers=[("WWW-Authenticate", "Bearer ,,,")]),
    ]
    return list(f) + bad


def test_malformed_traffic_never_breaks_a_rule():
    report = analyze_hops(_malformed_hops())
    failed = [(n.rule, n.reason) for n in report.not_evaluated if n.reason.startswith("rule failed")]
    assert failed == []
    assert "param-duplicated" in {f.rule for f in report.findings}


def test_empty_and_non_oauth_traces():
    assert analyze([], trace_id=1).findings == []
    page = make_hop(1, "GET", "https://news.test/", content_type="text/html", resp_body="<p>hi</p>")
    report = analyze([page], trace_id=1)
    assert report.findings == [] and report.not_evaluated == [] and report.exchanges == []


# compare / jwt: shared helpers other families rely on

@pytest.mark.parametrize("sent,got,others,word", [
    ("abc", "abc", (), "identical"),
    ("abcdef", "abc", (), "truncated"),
    ("a b", "a+b", (), "'+' vs '%20'"),
    ("a/b", "a%2Fb", (), "double-encoded"),
    ("a%2Fb", "a/b", (), "decoded twice"),
    ("AbC", "abc", (), "case changed"),
    ("https://c.test/cb", "https://c.test/cb/", (), "trailing slash"),
    ("xyz123", "other1", {"other1"}, "another flow's value"),
    ("abc", "zzz", (), "different"),
])
def test_describe_difference(sent, got, others, word):
    assert describe_difference(sent, got, others=others) == word


def test_jwt_decodes_without_verification_and_never_raises():
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'RS256'})}.{part({'iss': 'https://a.test', 'nonce': 'n'})}.sig"
    decoded = jwt.decode(token)
    assert decoded.alg == "RS256" and decoded.claims["nonce"] == "n"
    for junk in (None, 42, "", "a.b", "a.b.c", "....", f"{part([1])}.{part({})}.x", "\udcff.\udcff.x",
                 "eyJ" * 50000, f"{part({'alg': 'none'})}.%%%.x"):
        assert jwt.decode(junk) is None


def test_exchange_type_is_the_models():
    [ex] = analyze_hops(flow()).exchanges
    assert isinstance(ex, Exchange) and isinstance(RULES["state-dropped"], Rule)


# -- why a back channel is missing -------------------------------------------------------------------------------


def _back_channel_reason(hops, listeners):
    report = analyze(hops, trace_id=1, listeners=listeners)
    return {item.reason for item in report.not_evaluated if item.rule == "token-response-not-json"}


def test_a_silent_reverse_listener_is_named_with_what_to_do():
    front_only = flow(back_channel=False)
    [reason] = _back_channel_reason(front_only, ["browser", "reverse:https://auth.example.com@8081"])
    assert reason == ("no back-channel capture (the reverse listener on port 8081 for https://auth.example.com saw no "
                      "request: point the client's token URL at it instead of at the provider)")


def test_recording_without_reverse_says_how_the_back_channel_is_seen():
    [reason] = _back_channel_reason(flow(back_channel=False), ["browser"])
    assert reason.startswith("no back-channel capture (recorded without --reverse:")


def test_no_hint_where_the_listeners_are_unknown_or_the_back_channel_was_heard():
    assert _back_channel_reason(flow(back_channel=False), []) == {"no back-channel capture"}, "an import: not known"
    assert _back_channel_reason(flow(), ["browser", "reverse:https://auth.example.com@8081"]) == set()


def test_no_hint_where_the_flow_broke_before_a_token_request_was_due():
    """The motivating case: the client refused the callback without state, so it never asked for a token."""
    refused = flow(returned_state=None, callback_status=400, back_channel=False)
    assert _back_channel_reason(refused, ["browser", "reverse:https://auth.example.com@8081"]) == {
        "no back-channel capture"}
