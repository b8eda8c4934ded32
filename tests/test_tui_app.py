"""Pilot tests of the terminal UI on a trace recorded through the real proxy (the demo's drop-state bug)."""

from __future__ import annotations

import pytest

from oauthtrace.store import Store
from oauthtrace.tui.app import build_app
from oauthtrace.tui.screens.trace import TraceScreen
from oauthtrace.tui.widgets.detail_tabs import DetailTabs
from oauthtrace.tui.widgets.exchange_list import ExchangeList
from oauthtrace.tui.widgets.finding_list import FindingList
from oauthtrace.tui.widgets.hop_list import HopList
from tests.hops import make_hop
from tests.tui_support import flat, notices, screen_text, settle, widget_text

SIZE = (150, 40)


@pytest.fixture(scope="module")
def drop_state(tmp_path_factory):
    """A drop-state login recorded with the built-in agent: (db path, trace id, seq of the provider's redirect)."""
    from oauthtrace.demo.scenario import run_demo

    db = str(tmp_path_factory.mktemp("tui") / "demo.db")
    result = run_demo(db, bug="drop-state", browser=None)
    with Store.open(db) as store:
        hops = store.hops(result.trace_id)
    redirect = next(h for h in hops if h.location and "/oauth/callback" in h.location and "code=" in h.location)
    return db, result.trace_id, redirect.seq


def analysed(app) -> bool:
    return isinstance(app.screen, TraceScreen) and app.screen.analysis is not None


async def test_findings_and_params_say_the_provider_dropped_state_at_its_redirect(drop_state):
    db, trace_id, redirect_seq = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        # It opens on what went wrong: the provider's redirect, with the Params tab.
        assert app.screen.current_seq == redirect_seq
        text = screen_text(app)
        assert "state-dropped" in text  # exchange title in the swimlanes
        detail = flat(widget_text(app, app.screen.query_one(DetailTabs)))
        assert f"state sent " in detail
        assert f"returned ∅ — dropped by the provider at #{redirect_seq}" in detail

        await pilot.press("F")
        await settle(pilot)
        assert app.screen.query_one(DetailTabs).active == "findings"
        listed = flat(widget_text(app, app.screen.query_one(FindingList)))
        assert f"✗ error state-dropped provider #{redirect_seq} authorize.state = " in listed
        assert "→ callback.state = ∅" in listed
        detail = flat(widget_text(app, app.screen.query_one("#finding-detail-scroll")))
        assert "state-dropped error blame: provider" in detail  # errors first: the selected finding's details
        assert "Spec RFC 6749 §4.1.2" in detail and "Fix Provider: copy the state parameter" in detail

        # choosing a finding jumps to its hop
        await pilot.press("s")  # away to the swimlanes, on another hop
        swimlanes = app.screen.query_one(ExchangeList)
        await pilot.press("up")
        await settle(pilot)
        assert app.screen.current_seq != redirect_seq
        findings = app.screen.query_one(FindingList)
        app.screen.query_one(DetailTabs).active = "findings"
        findings.focus()
        findings.highlighted = next(i for i, f in enumerate(findings.findings) if f.rule == "state-dropped")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.current_seq == redirect_seq
        assert swimlanes.highlighted_seq() == redirect_seq
        assert app.screen.query_one(DetailTabs).active == "params"


async def test_filter_by_status_text_and_role(drop_state):
    db, trace_id, _ = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        hop_list = app.screen.query_one(HopList)
        total = hop_list.source.count
        await pilot.press("a", "slash", *"status:4xx", "enter")
        await settle(pilot, lambda: hop_list.source.seqs is not None)
        assert hop_list.source.count == 1
        assert "/oauth/callback" in screen_text(app) and "filter: status:4xx (1 hops)" in screen_text(app)

        await pilot.press("escape")  # clears the filter
        await settle(pilot, lambda: hop_list.source.seqs is None)
        assert hop_list.source.count == total

        # free text goes through the full-text index: the client's error body
        await pilot.press("slash", *"Missing", "enter")
        await settle(pilot, lambda: hop_list.source.seqs is not None)
        roles = app.screen.analysis.roles
        assert [roles[seq] for seq in hop_list.source.seqs] == ["callback"]

        await pilot.press("escape", "slash", *"role:authorize", "enter")
        await settle(pilot, lambda: hop_list.source.seqs is not None and "role:authorize" in screen_text(app))
        assert [roles[seq] for seq in hop_list.source.seqs] == ["authorize"]

        await pilot.press("slash", *"role:bogus", "enter")
        await settle(pilot)
        assert any(n.startswith("unknown role 'bogus'") for n in notices(app))
        assert "role:bogus" in screen_text(app)  # the filter box stays open to fix the term


async def test_findings_only_keeps_the_hops_with_findings(drop_state):
    db, trace_id, redirect_seq = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        await pilot.press("f")
        hop_list = app.screen.query_one(HopList)
        await settle(pilot, lambda: hop_list.source.seqs is not None)
        flagged = {f.hop for f in app.screen.analysis.findings if f.hop is not None}
        assert hop_list.source.seqs == sorted(flagged) and redirect_seq in flagged


async def test_copy_as_curl_holds_the_recorded_request(drop_state):
    db, trace_id, redirect_seq = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        assert app.screen.current_seq == redirect_seq  # the provider's login POST that redirected
        await pilot.press("c")
        await settle(pilot)
        with Store.open(db) as store:
            hop = store.hop_by_seq(trace_id, redirect_seq)
        copied = app.clipboard
        assert copied.startswith("curl \\\n  -X POST \\\n  ")
        assert hop.url in copied and f"--data-raw '{hop.req_body.decode()}'" in copied
        assert any(n.startswith(f"Copied hop #{redirect_seq} as a curl command") for n in notices(app))


async def test_live_mode_shows_a_hop_written_after_the_ui_opened(tmp_path):
    db = str(tmp_path / "live.db")
    with Store.open(db) as store:
        trace_id = store.create_trace("live")
        store.insert_hops([make_hop(1, "GET", "https://client.example/start", trace_id=trace_id, status=302,
                                    location="https://auth.example.com/authorize?client_id=c&response_type=code")])
    app = build_app(db, str(trace_id), live=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await settle(pilot, lambda: app.screen.query_one(HopList).painted > 0)
        assert "LIVE" in screen_text(app)
        with Store.open(db) as store:  # the recorder, from another connection
            store.insert_hops([make_hop(2, "GET", "https://auth.example.com/authorize?client_id=c&response_type=code"
                                        "&state=late-arrival", trace_id=trace_id, started=1001.0)])
        hop_list = app.screen.query_one(HopList)
        await settle(pilot, lambda: "#2 AUTHORIZE browser GET 200 auth.example.com/authorize?client_id=c"
                     in flat(widget_text(app, hop_list)))
        assert hop_list.source.count == 2


async def test_live_mode_without_a_trace_follows_the_one_the_recorder_creates(tmp_path):
    db = str(tmp_path / "live.db")
    Store.open(db).close()
    app = build_app(db, None, live=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "waiting for the first flow" in screen_text(app)
        with Store.open(db) as store:
            trace_id = store.create_trace("record 1")
            store.insert_hops([make_hop(1, "GET", "https://auth.example.com/.well-known/openid-configuration",
                                        trace_id=trace_id, resp_json={"issuer": "https://auth.example.com"})])
        await settle(pilot, lambda: "Trace 1 record 1" in screen_text(app))
        await pilot.press("a")
        await settle(pilot, lambda: "openid-configuration" in screen_text(app))


INJECTION = "[bold red]BOLD[/] [@click=app.quit]CLICK[/] [link=https://evil.example]LINK[/link]"


async def test_markup_in_captured_text_renders_literally_and_does_nothing(tmp_path):
    db = str(tmp_path / "inject.db")
    with Store.open(db) as store:
        trace_id = store.create_trace(f"name {INJECTION}")
        store.insert_hops([make_hop(
            1, "POST", "https://auth.example.com/login?next=[bold]x[/bold]", trace_id=trace_id,
            req_headers=[("X-Payload", INJECTION)], form=[("user", INJECTION)], status=200,
            resp_headers=[("X-Echo", INJECTION)], resp_body=f"<p>{INJECTION}</p>", content_type="text/html",
        )])
    app = build_app(db, str(trace_id))
    async with app.run_test(size=(220, 50)) as pilot:
        await settle(pilot, lambda: analysed(app))
        await pilot.press("a")
        await settle(pilot, lambda: "[bold]x[/bold]" in screen_text(app))
        assert "Trace 1 name [bold red]BOLD[/] [@click=app.quit" in screen_text(app)  # the name, cut in the title
        await pilot.press("h")
        await settle(pilot)
        text = flat(widget_text(app, app.screen.query_one(DetailTabs)))
        assert f"X-Payload {INJECTION}" in text and f"X-Echo {INJECTION}" in text
        await pilot.press("b")
        await settle(pilot)
        assert f"<p>{INJECTION}</p>" in flat(widget_text(app, app.screen.query_one(DetailTabs)))
        # clicking where "CLICK" is drawn runs no action: the app is still running, on the same screen
        line_no, line = next((i, row) for i, row in enumerate(screen_text(app).splitlines()) if "CLICK" in row)
        await pilot.click(offset=(line.index("CLICK") + 1, line_no))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, TraceScreen)


async def test_traces_screen_lists_counts_and_opens_a_trace(drop_state):
    db, trace_id, _ = drop_state
    app = build_app(db)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: "demo drop-state" in screen_text(app) and "…" not in screen_text(app))
        row = next(line for line in screen_text(app).splitlines() if "demo drop-state" in line).split()
        with Store.open(db) as store:
            hops = store.hop_count(trace_id)
        # id, name (2 words), date, time, hops, exchanges, errors, warnings, info
        assert row[0] == str(trace_id) and row[5:8] == [str(hops), "1", "1"]
        await pilot.press("enter")
        await settle(pilot, lambda: analysed(app))
        assert app.screen.trace.id == trace_id
        await pilot.press("escape")
        await settle(pilot)
        assert "Traces in" in screen_text(app)


async def test_help_and_command_palette(drop_state):
    db, trace_id, redirect_seq = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        await pilot.press("question_mark")
        await settle(pilot)
        assert "copy the hop as a curl command" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("s", "up")
        await settle(pilot)
        assert app.screen.current_seq != redirect_seq
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"rule state-dropped")
        await settle(pilot, lambda: "Go to rule state-dropped" in screen_text(app))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.current_seq == redirect_seq)
        await pilot.press("escape")  # opened directly: escape brings in the list of traces
        await settle(pilot, lambda: "Traces in" in screen_text(app))


async def test_export_writes_a_redacted_json_file(drop_state, tmp_path, monkeypatch):
    db, trace_id, redirect_seq = drop_state
    monkeypatch.chdir(tmp_path)
    with Store.open(db) as store:
        code = next(h for h in store.hops(trace_id) if h.seq == redirect_seq).location.split("code=")[1]
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        await pilot.press("e")
        target = tmp_path / f"oauthtrace-trace-{trace_id}.json"
        await settle(pilot, lambda: target.exists())
        assert any(n.startswith(f"Exported trace {trace_id} (redacted JSON) to ") for n in notices(app))
    data = target.read_text()
    assert '"oauthtrace"' in data and "/oauth/callback" in data and code not in data


async def test_mouse_click_on_a_row_shows_that_hop(drop_state):
    db, trace_id, redirect_seq = drop_state
    app = build_app(db, str(trace_id))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: analysed(app))
        await pilot.click("#left Tab#--content-tab-hops")  # the "All hops" tab, by mouse
        hop_list = app.screen.query_one(HopList)
        await settle(pilot, lambda: hop_list.painted > 0)
        await pilot.click(HopList, offset=(10, 0))  # the first row
        await settle(pilot)
        assert app.screen.current_seq == 1 and hop_list.cursor == 0


async def test_command_palette_shows_a_marked_up_trace_name_literally(tmp_path):
    db = str(tmp_path / "palette.db")
    with Store.open(db) as store:
        store.create_trace("one")
        second = store.create_trace("two [@click=app.quit]QUIT[/]")
        store.insert_hops([make_hop(1, "GET", "https://client.example/", trace_id=second)])
    app = build_app(db, "1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"two")
        await settle(pilot, lambda: "Open trace 2: two [@click=app.quit]QUIT[/]" in screen_text(app))
        await pilot.press("enter")
        await settle(pilot, lambda: isinstance(app.screen, TraceScreen) and app.screen.trace is not None
                     and app.screen.trace.id == second)
        assert app.is_running
