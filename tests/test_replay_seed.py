"""The seed recording as a new user replays it: `recordings/drop-state.har` (the provider dropped `state`, so the
client never asked for a token) against the demo provider on an OS-picked port, with no client secret anywhere.

The file is a redacted export, so the user's password comes from the environment as for any redacted recording;
the client secret it never held is not asked for: the token request is left out, with a note on how to include it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DemoProvider
from oauthtrace.demo.recordings import MANIFEST

pytestmark = pytest.mark.e2e

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
SEED = RECORDINGS / "drop-state.har"


@pytest.fixture
def provider():
    started = []

    def start(bug: str) -> DemoProvider:
        started.append(DemoProvider(bug).start())
        return started[-1]

    yield start
    for running in started:
        running.stop()


def replay_seed(live_url: str, db: Path, *extra: str, env: dict[str, str] | None = None):
    """`oauthtrace replay recordings/drop-state.har` as a user runs it, with no OAUTHTRACE_SECRET_* set."""
    recorded_origin = json.loads((RECORDINGS / MANIFEST).read_text())[SEED.name]["provider"]
    env = {**{name: value for name, value in os.environ.items() if not name.startswith("OAUTHTRACE_SECRET_")},
           "SEED_PASSWORD": DEMO_PASSWORD, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "oauthtrace", "replay", str(SEED), "--db", str(db),
         "--target", f"{recorded_origin}={live_url}", "--secret", "password=SEED_PASSWORD", *extra],
        env=env, capture_output=True, text=True, timeout=120)


def test_the_seed_recording_passes_against_the_fixed_provider_without_a_client_secret(tmp_path, provider):
    done = replay_seed(provider("good").url, tmp_path / "replays.db", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert [f["rule"] for f in report["fixed"]] == ["state-dropped"]
    assert report["new"] == [] and report["problems"] == []
    assert report["token_request_left_out"] is True
    (note,) = report["notes"]
    assert note.startswith("token request not sent") and "--secret client_secret=ENVVAR" in note
    assert report["replay"]["requests"] == 2  # authorize and the login form: nothing for the leg left out


def test_the_seed_recording_fails_against_the_provider_that_still_drops_state(tmp_path, provider):
    done = replay_seed(provider("drop-state").url, tmp_path / "replays.db")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.split()[:3] == ["still", "present", "state-dropped"] for line in lines), done.stdout
    assert lines[-1] == "FAIL: 1 error-level finding remains."


def test_with_the_client_secret_the_token_request_is_sent_and_linted(tmp_path, provider):
    """The note's advice works: the token request is included, and a provider bug on it shows up as new."""
    done = replay_seed(provider("token-form-encoded").url, tmp_path / "replays.db",
                       "--secret", "client_secret=SEED_CLIENT_SECRET", "--format", "json",
                       env={"SEED_CLIENT_SECRET": DEMO_CLIENT_SECRET})
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["token_request_left_out"] is False
    assert any("sent a standard one" in note for note in report["notes"])
    assert "state-dropped" in [f["rule"] for f in report["fixed"]]
    assert "token-response-not-json" in [f["rule"] for f in report["new"]]
