"""Replay from a redacted HAR export: the secrets come from the environment, never from the file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from oauthtrace.cli import cli
from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DemoProvider
from oauthtrace.demo.scenario import run_demo
from oauthtrace.replay.runner import PAGE_VALUE_NOTE

pytestmark = pytest.mark.e2e

NO_SECRETS = {"OAUTHTRACE_SECRET_PASSWORD": None, "OAUTHTRACE_SECRET_CLIENT_SECRET": None}  # None: unset for the run


@pytest.fixture(scope="module")
def har(tmp_path_factory):
    """A good login (password form, PKCE, token request with client_secret) exported as a redacted HAR."""
    base = tmp_path_factory.mktemp("replay-har")
    db = str(base / "recorded.db")
    result = run_demo(db, bug="good", pkce=True, confdir=str(base / "ca"))
    assert result.outcome["message"] == "Connected", result.outcome
    path = base / "login.har"
    exported = CliRunner().invoke(cli, ["export", str(result.trace_id), "--db", db, "--format", "har", "-o", str(path)])
    assert exported.exit_code == 0, exported.output
    text = path.read_text()
    assert DEMO_PASSWORD not in text and DEMO_CLIENT_SECRET not in text and "‹redacted:" in text
    return str(path), result.provider_url, str(base / "replays.db")


@pytest.fixture
def fixed():
    provider = DemoProvider("good").start()
    yield provider
    provider.stop()


def test_replay_from_redacted_har_with_secrets_from_the_environment(har, fixed):
    path, recorded_url, db = har
    env = {"TEST_PASSWORD": DEMO_PASSWORD, "TEST_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    result = CliRunner().invoke(cli, [
        "replay", path, "--db", db, "--target", f"{recorded_url}={fixed.url}", "--format", "json",
        "--secret", "password=TEST_PASSWORD", "--secret", "client_secret=TEST_CLIENT_SECRET",
    ], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["completed"] and report["problems"] == [] and report["new"] == []
    assert report["source"]["file"] == path
    assert report["replay"]["requests"] == 4  # authorize, login, token, userinfo with the live token


def test_without_the_secrets_one_line_names_the_client_secret_the_token_request_needs(har, fixed):
    """The recorded token request's client_secret is redacted and nothing else gives it: named before anything is
    sent. The redacted password is not (it was until the live page's value could stand in for it, issue 14): the
    demo's login page fills it in, and only the replay itself sees that page."""
    path, recorded_url, db = har
    result = CliRunner().invoke(cli, ["replay", path, "--db", db, "--target", f"{recorded_url}={fixed.url}"],
                                env=NO_SECRETS, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert "client_secret" in result.output and "password" not in result.output


def test_a_redacted_password_takes_the_live_login_pages_value_and_says_so(har, fixed):
    path, recorded_url, db = har
    env = {**NO_SECRETS, "TEST_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    result = CliRunner().invoke(cli, [
        "replay", path, "--db", db, "--target", f"{recorded_url}={fixed.url}", "--format", "json",
        "--secret", "client_secret=TEST_CLIENT_SECRET",
    ], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD not in result.output
    report = json.loads(result.output)
    assert report["completed"] and report["problems"] == [] and report["new"] == []
    (note,) = [note for note in report["notes"] if note.startswith(PAGE_VALUE_NOTE)]
    assert note.startswith(f"{PAGE_VALUE_NOTE}: password ") and "--secret password=ENVVAR" in note
    assert report["replay"]["requests"] == 4  # the login was accepted: token and userinfo followed


def test_a_named_variable_that_is_not_set_is_named_too(har, fixed):
    path, recorded_url, db = har
    result = CliRunner().invoke(cli, [
        "replay", path, "--db", db, "--target", f"{recorded_url}={fixed.url}",
        "--secret", "password=UNSET_PW", "--secret", "client_secret=SET_CS",
    ], env={"SET_CS": DEMO_CLIENT_SECRET}, catch_exceptions=False)
    assert result.exit_code == 2
    assert "password ($UNSET_PW is not set)" in result.output and "client_secret" not in result.output
