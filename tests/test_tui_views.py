"""What the UI's pure view builders say about hand-made hops: params side by side, checks, curl, filters, JWTs."""

from __future__ import annotations

import base64
import json
import shlex

import pytest
from rich.console import Console

from oauthtrace.errors import UserError
from oauthtrace.report.exchange import exchange_view
from oauthtrace.tui.curl import curl_command
from oauthtrace.tui.exchange_params import checks, diff_text, render_exchange
from oauthtrace.tui.filters import parse_filter
from oauthtrace.tui.headers_and_body import body_view, found_jwts, headers_view
from oauthtrace.tui.lanes import BROWSER, CLIENT, PROVIDER, parties, swim_rows
from oauthtrace.tui.text import one_line, plain, short
from tests.hops import CODE, STATE, analyze, flow, make_hop


def rendered(renderable, width: int = 160) -> str:
    console = Console(width=width, record=True, file=None, color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def exchange_of(hops):
    report = analyze(hops)
    assert len(report.exchanges) == 1
    return report.exchanges[0], report.roles


def view_of(hops):
    """The report layer's view of the one exchange of `hops`, with the findings of the analysis."""
    report = analyze(hops)
    assert len(report.exchanges) == 1
    return exchange_view(report.exchanges[0], report.findings)


def test_dropped_state_is_named_with_the_provider_hop_at_fault():
    hops = flow(returned_state=None)
    state = next(c for c in checks(view_of(hops)) if c.param == "state")
    assert state.verdict == "bad"
    assert state.text.plain.split() == ["state", "sent", f"{STATE[:6]}…", "/", "returned", "∅", "—", "dropped",
                                        "by", "the", "provider", "at", f"#{hops.authz_response.seq}"]
    assert state.text.spans and "red" in str(state.text.spans[-1].style)


def test_altered_state_shows_how_it_differs_and_a_character_diff():
    hops = flow(returned_state=STATE[:6])
    state = next(c for c in checks(view_of(hops)) if c.param == "state")
    assert state.verdict == "bad"
    assert "truncated" in state.text.plain
    struck = [state.text.plain[s.start:s.end] for s in state.text.spans if "strike" in str(s.style)]
    assert struck == [STATE[6:]]


def test_good_flow_checks_pass_and_the_table_has_every_stage():
    hops = flow()
    view = view_of(hops)
    verdicts = {c.param: c.verdict for c in checks(view)}
    assert verdicts == {"state": "ok", "code": "ok", "redirect_uri": "ok"}
    text = rendered(render_exchange(view))
    assert f"authorize #{hops.authorize.seq}" in text and f"token #{hops.token.seq}" in text
    assert CODE[:20] in text


def test_pkce_verifier_that_does_not_match_is_flagged():
    hops = flow(pkce=True, challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-XX")
    pkce = next(c for c in checks(view_of(hops)) if c.param == "code_verifier")
    assert pkce.verdict == "bad" and "≠ challenge E9Melh…" in pkce.text.plain
    good = {c.param: c.verdict for c in checks(view_of(flow(pkce=True)))}
    assert good["code_verifier"] == "ok"


def test_diff_marks_removed_and_added_characters():
    text = diff_text("https://a.example/cb", "https://a.example/cb/")
    added = [text.plain[s.start:s.end] for s in text.spans if "underline" in str(s.style)]
    assert text.plain == "https://a.example/cb/" and added == ["/"]


def test_lanes_put_front_channel_on_the_browser_and_token_on_the_client():
    hops = flow()
    exchange, roles = exchange_of(hops)
    who = parties(exchange, roles)
    assert who[hops.authorize.seq] == (BROWSER, PROVIDER)
    assert who[hops.callback.seq] == (BROWSER, CLIENT)
    assert who[hops.token.seq] == (CLIENT, PROVIDER)
    rows = {row.seq: row.text.plain for row in swim_rows(exchange, roles, [])}
    assert "AUTHORIZE" in rows[hops.authorize.seq] and "▶" in rows[hops.authorize.seq]
    assert "TOKEN" in rows[hops.token.seq]


def test_curl_command_resends_the_same_request():
    hop = make_hop(3, "POST", "https://auth.example.com/token?a=1&b=2", body=b"{\"note\": \"it's\"}",
                   req_headers=[("Host", "auth.example.com"), ("Authorization", "Basic eDp5"),
                                ("Content-Type", "application/json")])
    command = curl_command(hop)
    assert command.splitlines()[0] == "curl \\"
    assert "-X POST" in command and "'https://auth.example.com/token?a=1&b=2'" in command
    assert "-H 'Authorization: Basic eDp5'" in command and "Host:" not in command
    assert """--data-raw '{"note": "it'"'"'s"}'""" in command
    argv = shlex.split(command)  # what the shell hands curl
    assert argv[argv.index("--data-raw") + 1] == "{\"note\": \"it's\"}"


def test_filter_terms_parse_and_bad_ones_are_one_line_errors():
    found = parse_filter("host:Auth.Example.com role:token status:4xx missing state")
    assert (found.hosts, found.roles, found.status, found.text) == (["auth.example.com"], ["token"], (400, 499),
                                                                     "missing state")
    assert parse_filter("status:302").status == (302, 302)
    with pytest.raises(UserError, match="unknown role"):
        parse_filter("role:nope")
    with pytest.raises(UserError, match="bad status"):
        parse_filter("status:abc")


def test_captured_text_stays_text():
    payload = "[bold]x[/bold] [@click=app.quit]q[/] [link=https://evil.example]y[/link]\x1b[2J"
    text = plain(payload)
    assert text.plain == payload.replace("\x1b", "\\x1b") and not text.spans
    assert one_line("a\nb", 10) == "a⏎b" and short(None) == "∅" and short("6ca9HZ3vQ1") == "6ca9HZ…"


def _jwt(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def test_jwts_in_a_token_response_are_decoded_with_dates():
    token = _jwt({"iss": "https://auth.example.com", "exp": 1700000000, "iat": 1699996400})
    hop = make_hop(5, "POST", "https://auth.example.com/token", form=[("grant_type", "authorization_code")],
                   resp_json={"access_token": "opaque", "id_token": token})
    assert found_jwts(hop) == [("response id_token", token)]
    text = rendered(body_view(hop))
    assert "exp       2023-11-14 22:13:20 UTC" in text and "iat       2023-11-14 21:13:20 UTC" in text
    assert "grant_type" in text and "authorization_code" in text  # the form as a table


def test_headers_view_lists_both_sides():
    hop = make_hop(2, "GET", "https://auth.example.com/authorize?x=1", req_headers=[("Cookie", "sid=1")],
                   status=302, location="https://client.example/cb?code=1")
    text = rendered(headers_view(hop))
    assert "GET https://auth.example.com/authorize?x=1" in text and "Cookie" in text and "Location" in text


def test_a_finding_seen_at_several_hops_is_one_line_with_its_count_and_marks_each_hop():
    from oauthtrace.tui.findings_view import finding_detail, finding_line
    from oauthtrace.tui.lanes import worst_by_seq
    from tests.test_finding_groups import firebase_refreshes

    report = analyze(firebase_refreshes())
    [finding] = [f for f in report.findings if f.rule == "expires-in-not-number"]
    line = finding_line(finding).plain
    assert "expires-in-not-number" in line and "#1 ×8" in line
    assert "seen 8 times, at hops #1, #2, #3, #4, #5, #6, #7, #8" in rendered(finding_detail(finding))
    assert all(worst_by_seq([finding]).get(seq) == "error" for seq in range(1, 9))
