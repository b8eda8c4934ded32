"""The seed recording as a new user replays it: `recordings/drop-state.har` (the provider dropped `state`, so the
client never asked for a token) against the demo provider on an OS-picked port, with no secret given at all.

The file is a redacted export: its login form's password is a fingerprint. The demo provider's login page fills in
its demo user's credentials, so the replay submits the page's own value, as a user pressing the button would, and
says so in a note; the client secret the recording never held is not asked for either: the token request is left
out, with a note on how to include it. A user's own value (--secret, an unredacted recording) wins over the page's;
a redacted field the page leaves empty is bad input naming the --secret to pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DemoProvider
from oauthtrace.demo.recordings import MANIFEST
from oauthtrace.replay.runner import PAGE_VALUE_NOTE, TOKEN_NOTE
from oauthtrace.store import Store

pytestmark = pytest.mark.e2e

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
SEED = RECORDINGS / "drop-state.har"
PASSWORD_NOTE = f"{PAGE_VALUE_NOTE}: password "


class BlankLoginProvider(DemoProvider):
    """The demo provider with a login page as most providers serve it: the password input starts empty."""

    def _login_page(self, args: dict) -> str:
        page = super()._login_page(args).replace(f'value="{DEMO_PASSWORD}"', 'value=""')
        assert DEMO_PASSWORD not in page  # the page really leaves it empty
        return page


def replay_seed(live_url: str, db: Path, *extra: str, env: dict[str, str] | None = None, seed: Path = SEED):
    """`oauthtrace replay recordings/drop-state.har --target …` as a user runs it, with no OAUTHTRACE_SECRET_* set."""
    recorded_origin = json.loads((RECORDINGS / MANIFEST).read_text())[SEED.name]["provider"]
    env = {**{name: value for name, value in os.environ.items() if not name.startswith("OAUTHTRACE_SECRET_")},
           **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "oauthtrace", "replay", str(seed), "--db", str(db),
         "--target", f"{recorded_origin}={live_url}", *extra],
        env=env, capture_output=True, text=True, timeout=120)


def test_the_seed_recording_passes_against_the_fixed_provider_with_no_secret_given(tmp_path, demo_provider):
    done = replay_seed(demo_provider("good").url, tmp_path / "replays.db", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert DEMO_PASSWORD not in done.stdout + done.stderr  # the page's value is sent, never printed
    report = json.loads(done.stdout)
    assert [f["rule"] for f in report["fixed"]] == ["state-dropped"]
    assert report["new"] == [] and report["problems"] == []
    assert report["token_request_left_out"] is True
    password_note, token_note = report["notes"]
    assert password_note.startswith(PASSWORD_NOTE) and "--secret password=ENVVAR" in password_note
    assert token_note.startswith(TOKEN_NOTE) and "--secret client_secret=ENVVAR" in token_note
    assert report["replay"]["requests"] == 2  # authorize and the login form: nothing for the leg left out


def test_the_seed_recording_fails_against_the_provider_that_still_drops_state(tmp_path, demo_provider):
    done = replay_seed(demo_provider("drop-state").url, tmp_path / "replays.db")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split()[:3] == ["still", "present", "state-dropped"] for line in lines), done.stdout
    (note,) = [line for line in lines if line.strip().startswith(f"note: {PAGE_VALUE_NOTE}")]
    assert note.strip().startswith(f"note: {PASSWORD_NOTE}") and DEMO_PASSWORD not in done.stdout
    assert lines[-1] == "FAIL: 1 error-level finding remains."


def test_a_password_the_user_gives_wins_over_the_live_pages(tmp_path, demo_provider):
    """--secret password=… is sent, not the page's: a wrong one is refused by the provider and the replay says so."""
    done = replay_seed(demo_provider("good").url, tmp_path / "replays.db", "--secret", "password=SEED_PASSWORD",
                       "--format", "json", env={"SEED_PASSWORD": "not-the-demo-password"})
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["completed"] is False
    assert any("answered 401 to POST" in problem for problem in report["problems"]), report["problems"]
    assert not any(note.startswith(PAGE_VALUE_NOTE) for note in report["notes"])


def test_an_unredacted_recordings_password_wins_over_the_live_pages(tmp_path, demo_provider):
    """The user's own database holds what was typed: that is sent, not what the page fills in."""
    har = json.loads(SEED.read_text())
    login = next(entry for entry in har["log"]["entries"] if entry["request"]["method"] == "POST")
    post = login["request"]["postData"]
    (field,) = [param for param in post["params"] if param["name"] == "password"]
    assert field["value"].startswith("‹redacted:")
    post["text"] = post["text"].replace(quote(field["value"]), "typed-at-recording-time")
    field["value"] = "typed-at-recording-time"
    assert "redacted" not in post["text"]
    seed = tmp_path / "drop-state-unredacted.har"
    seed.write_text(json.dumps(har))
    done = replay_seed(demo_provider("good").url, tmp_path / "replays.db", "--format", "json", seed=seed)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert any("answered 401 to POST" in problem for problem in report["problems"]), report["problems"]
    assert not any(note.startswith(PAGE_VALUE_NOTE) for note in report["notes"])


def test_a_redacted_password_the_live_page_leaves_empty_is_bad_input_naming_the_secret(tmp_path, demo_provider):
    db = tmp_path / "replays.db"
    done = replay_seed(demo_provider("good", BlankLoginProvider).url, db)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1 and done.stderr.startswith("Error: ")
    assert "the replay needs password" in done.stderr
    assert "--secret password=ENVVAR" in done.stderr
    with Store.open(str(db)) as store:  # nothing stored for a replay that could not log in
        assert store.traces() == []


def test_with_the_client_secret_the_token_request_is_sent_and_linted(tmp_path, demo_provider):
    """The note's advice works: the token request is included, and a provider bug on it shows up as new."""
    done = replay_seed(demo_provider("token-form-encoded").url, tmp_path / "replays.db",
                       "--secret", "client_secret=SEED_CLIENT_SECRET", "--format", "json",
                       env={"SEED_CLIENT_SECRET": DEMO_CLIENT_SECRET})
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["token_request_left_out"] is False
    assert any("sent a standard one" in note for note in report["notes"])
    assert "state-dropped" in [f["rule"] for f in report["fixed"]]
    assert "token-response-not-json" in [f["rule"] for f in report["new"]]
