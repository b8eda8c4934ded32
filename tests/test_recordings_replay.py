"""`pytest recordings` with oauthtrace's plugin: each plugin-style sample replays against a correct provider with
the outcome its manifest states (provider bugs pass, the client's own bug fails)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD, DemoProvider
from oauthtrace.demo.recordings import MANIFEST, PROVIDER_ORIGIN
from oauthtrace.replay.runner import PAGE_VALUE_NOTE, TOKEN_NOTE

pytestmark = pytest.mark.e2e

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


@pytest.fixture
def good_provider():
    provider = DemoProvider("good").start()
    yield provider
    provider.stop()


def test_replayable_recordings_pass_or_fail_as_the_manifest_says(tmp_path, good_provider):
    manifest = json.loads((RECORDINGS / MANIFEST).read_text())
    replayable = {name: entry["replay"] for name, entry in manifest.items() if entry["replay"]}
    assert "drop-state.har" in replayable
    folder = tmp_path / "project" / "recordings"
    folder.mkdir(parents=True)
    for name in manifest:
        shutil.copy(RECORDINGS / name, folder / name)
    # no password: each recording's is redacted, and the demo's login page fills in its demo user's (as a user
    # pressing the button sends it); the client secret of the recorded token requests is the user's to give
    env = {**{k: v for k, v in os.environ.items() if k != "OAUTHTRACE_SECRET_PASSWORD"},
           "OAUTHTRACE_TARGETS": f"{PROVIDER_ORIGIN}={good_provider.url}",
           "OAUTHTRACE_SECRET_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "recordings", "-k", "not mcp", "-rA", "-p", "no:cacheprovider"],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=300)
    outcomes = {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED) recordings/(\S+?)::",
                                                              done.stdout, flags=re.M)}
    expected = {name: "PASSED" if outcome == "pass" else "FAILED" for name, outcome in replayable.items()}
    assert outcomes == expected, done.stdout[-3000:] + done.stderr[-2000:]
    assert "still present  redirect-uri-mismatch" in done.stdout  # the failing one says why


def test_the_seed_recording_passes_with_no_secret_and_says_what_it_filled_in_and_left_out(tmp_path, good_provider):
    """drop-state.har ends before the token request (the client stopped at the missing `state`) and holds its
    password redacted: with only the target configured, the plugin replays what was recorded with the password the
    demo's login page fills in, passes, and says both — which field the page filled, and how to add the token leg."""
    folder = tmp_path / "project" / "recordings"
    folder.mkdir(parents=True)
    shutil.copy(RECORDINGS / "drop-state.har", folder / "drop-state.har")
    (folder.parent / "pyproject.toml").write_text(
        "[tool.oauthtrace]\n"
        f'targets = {{ "{PROVIDER_ORIGIN}" = "{good_provider.url}" }}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("OAUTHTRACE_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "recordings", "-rA", "-p", "no:cacheprovider"],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^PASSED recordings/drop-state\.har::", done.stdout, flags=re.M), done.stdout[-3000:]
    assert DEMO_PASSWORD not in done.stdout
    (filled,) = [line for line in done.stdout.splitlines() if line.startswith(PAGE_VALUE_NOTE)]
    assert filled.startswith(f"{PAGE_VALUE_NOTE}: password ")
    assert 'secrets = { password = "ENVVAR" }' in filled, filled
    (note,) = [line for line in done.stdout.splitlines() if line.startswith(TOKEN_NOTE)]
    assert 'secrets = { client_secret = "ENVVAR" }' in note, note
