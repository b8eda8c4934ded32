"""The motivating case end to end: record the demo's drop-state bug through the real proxy, then replay it.

Against the fixed provider the bug is reported fixed (exit 0); against the same bug it is still present (exit 1);
against a provider with another bug a new finding appears (exit 1). The replay never leaves its targets.
"""

from __future__ import annotations

import json
import threading
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from oauthtrace.cli import cli
from oauthtrace.demo.provider import DEMO_CLIENT_SECRET
from oauthtrace.demo.scenario import run_demo
from oauthtrace.model import BROWSER_LISTENER
from oauthtrace.params import origin
from oauthtrace.store import Store
from oauthtrace.web import App, Response

pytestmark = pytest.mark.e2e

SECRET_ENV = {"DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET}
NO_SECRET_ENV = {"DEMO_CLIENT_SECRET": None, "OAUTHTRACE_SECRET_CLIENT_SECRET": None}  # None: unset for the run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A database holding one drop-state login recorded through the proxy; (db path, trace id, provider origin)."""
    base = tmp_path_factory.mktemp("replay-demo")
    db = str(base / "oauthtrace.db")
    result = run_demo(db, bug="drop-state", confdir=str(base / "ca"))
    assert result.outcome["message"].startswith("Missing `state`"), result.outcome
    return db, result.trace_id, result.provider_url, result.client_url


def replay(db, trace_id, recorded_origin, live_url, *extra, secret=True):
    """`oauthtrace replay` of the recording against live_url; without `secret`, neither --secret nor the client
    secret in the environment."""
    args = ["replay", str(trace_id), "--db", db, "--target", f"{recorded_origin}={live_url}", *extra]
    if secret:
        args += ["--secret", "client_secret=DEMO_CLIENT_SECRET"]
    return CliRunner().invoke(cli, args, env=SECRET_ENV if secret else NO_SECRET_ENV, catch_exceptions=False)


def test_fixed_provider_reports_state_dropped_as_fixed(recorded, demo_provider):
    db, trace_id, recorded_url, client_url = recorded
    fixed = demo_provider("good")
    result = replay(db, trace_id, recorded_url, fixed.url, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["passed"] is True
    assert "state-dropped" in [f["rule"] for f in report["fixed"]]
    assert report["new"] == []
    with Store.open(db) as store:
        trace = store.trace(report["replay"]["trace"])
        assert (trace.source, trace.parent_id) == ("replay", trace_id)
        hops = store.hops(trace.id)
        stored_rules = {f.rule for f in store.findings(trace.id)}
    assert "state-dropped" not in stored_rules  # the replay trace was linted and its findings stored
    assert {origin(hop.url) for hop in hops} == {fixed.url}  # only the target: never the client's callback
    assert not any(hop.url.startswith(client_url) for hop in hops)
    front = [hop for hop in hops if hop.listener == BROWSER_LISTENER]
    back = [hop for hop in hops if hop.listener != BROWSER_LISTENER]
    assert [hop.method for hop in front] == ["GET", "POST"]  # authorize, then the login form
    assert "state=" in front[1].location  # the fixed provider echoed the fresh state
    token = [hop for hop in back if hop.url.endswith("/token")]
    assert token and token[0].status == 200 and json.loads(token[0].resp_body)["access_token"]


def test_same_bug_is_still_present(recorded, demo_provider):
    db, trace_id, recorded_url, _ = recorded
    result = replay(db, trace_id, recorded_url, demo_provider("drop-state").url, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert "state-dropped" in [f["rule"] for f in report["still_present"]]
    assert report["fixed"] == [] or "state-dropped" not in [f["rule"] for f in report["fixed"]]


def test_another_bug_shows_up_as_new(recorded, demo_provider):
    db, trace_id, recorded_url, _ = recorded
    result = replay(db, trace_id, recorded_url, demo_provider("token-form-encoded").url)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:2] == ["fixed", "state-dropped"] for line in lines), result.output
    assert any(line.split()[:2] == ["new", "token-response-not-json"] for line in lines), result.output
    assert lines[-1].startswith("FAIL:") and "1 new finding" in lines[-1]


def test_junit_output_has_a_failing_case_per_problem(recorded, demo_provider):
    db, trace_id, recorded_url, _ = recorded
    result = replay(db, trace_id, recorded_url, demo_provider("token-form-encoded").url, "--format", "junit")
    assert result.exit_code == 1
    suite = ET.fromstring(result.output).find("testsuite")
    cases = {case.get("name").split(": ", 1)[1]: case.find("failure") for case in suite.iter("testcase")}
    assert cases["flow runs to the end"] is None
    assert cases["state-dropped fixed"] is None
    assert cases["new token-response-not-json"] is not None
    assert suite.get("failures") == "1"


def test_without_a_client_secret_the_unrecorded_token_request_is_left_out_and_the_fix_shows(recorded, demo_provider):
    """The client never asked for a token (it stopped at the missing `state`), so the recording holds no token
    request and no client secret. The replay answers what the user asks — does `state` come back now? — and says
    how to include the token request. (Until issue 14 this exited 2: "the replay needs client_secret".)"""
    db, trace_id, recorded_url, _ = recorded
    fixed = demo_provider("good")
    result = replay(db, trace_id, recorded_url, fixed.url, secret=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:2] == ["fixed", "state-dropped"] for line in lines), result.output
    (note,) = [line for line in lines if line.strip().startswith("note: token request not sent")]
    assert "--secret client_secret=ENVVAR" in note
    assert lines[-1].startswith("PASS:") and "no token request" in lines[-1]
    with Store.open(db) as store:
        replayed = store.traces()[-1]
        hops = store.hops(replayed.id)
    assert replayed.source == "replay" and [hop.method for hop in hops] == ["GET", "POST"]
    assert "state=" in hops[-1].location  # the fixed provider's redirect, with the fresh state echoed
    assert not any(hop.url.endswith("/token") for hop in hops)  # nothing sent for the leg it left out


def test_without_a_client_secret_the_same_bug_still_fails(recorded, demo_provider):
    db, trace_id, recorded_url, _ = recorded
    result = replay(db, trace_id, recorded_url, demo_provider("drop-state").url, "--format", "json", secret=False)
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["completed"] is True and report["token_request_left_out"] is True
    assert "state-dropped" in [f["rule"] for f in report["still_present"]]


def test_junit_marks_the_left_out_token_request_skipped(recorded, demo_provider):
    db, trace_id, recorded_url, _ = recorded
    result = replay(db, trace_id, recorded_url, demo_provider("good").url, "--format", "junit", secret=False)
    assert result.exit_code == 0, result.output
    suite = ET.fromstring(result.output).find("testsuite")
    cases = {case.get("name").split(": ", 1)[1]: case for case in suite.iter("testcase")}
    skipped = cases["token request"].find("skipped")
    assert skipped is not None and "--secret client_secret=" in skipped.get("message")
    assert cases["state-dropped fixed"].find("failure") is None
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")


def test_a_named_secret_variable_that_is_unset_is_named_before_anything_is_sent(recorded, demo_provider):
    """--secret client_secret=VAR asks for the token request: an unset VAR is bad input, not a reason to skip it."""
    db, trace_id, recorded_url, _ = recorded
    with Store.open(db) as store:
        before = len(store.traces())
    result = CliRunner().invoke(cli, ["replay", str(trace_id), "--db", db, "--target",
                                      f"{recorded_url}={demo_provider('good').url}",
                                      "--secret", "client_secret=NOT_SET_ANYWHERE"],
                                env={"NOT_SET_ANYWHERE": None}, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "client_secret ($NOT_SET_ANYWHERE is not set)" in result.output and "--secret" in result.output
    with Store.open(db) as store:
        assert len(store.traces()) == before


def test_no_target_for_the_recorded_provider_is_bad_input(recorded):
    db, trace_id, recorded_url, _ = recorded
    result = CliRunner().invoke(cli, ["replay", str(trace_id), "--db", db, "--target",
                                      "https://elsewhere.example=http://127.0.0.1:9"], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"no --target for {recorded_url}" in result.output


class Counting:
    """A loopback server that records every request it gets."""

    def __init__(self, answer):
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.app = App()
        for method in ("GET", "POST"):
            self.app.route(method, "/", self._handle)
        self.answer = answer

    def _handle(self, request):
        with self.lock:
            self.requests.append(f"{request.method} {request.path}")
        return self.answer(request)

    def __enter__(self):
        self.app.start()
        return self

    def __exit__(self, *exc):
        self.app.stop()


def test_redirect_to_a_host_outside_the_targets_stops_the_replay(recorded):
    db, trace_id, recorded_url, _ = recorded
    with Counting(lambda request: Response(200, "<h1>phished</h1>", "text/html")) as outsider, \
            Counting(lambda request: Response.redirect(f"{outsider.app.url}/login?from=provider")) as target:
        result = replay(db, trace_id, recorded_url, target.app.url, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert target.requests == ["GET /authorize"]
    assert outsider.requests == []  # nothing reached the host the user did not name
    (problem,) = report["problems"]
    assert f"{outsider.app.url}/login" in problem and "sent nothing there" in problem
    assert "from=provider" not in problem
    assert report["fixed"] == []  # stopped early: the recorded bug is "not reached", never "fixed"
    assert "state-dropped" in [f["rule"] for f in report["not_checked"]]
