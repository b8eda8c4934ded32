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
    env = {**os.environ, "OAUTHTRACE_TARGETS": f"{PROVIDER_ORIGIN}={good_provider.url}",
           "OAUTHTRACE_SECRET_PASSWORD": DEMO_PASSWORD, "OAUTHTRACE_SECRET_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "recordings", "-k", "not mcp", "-rA", "-p", "no:cacheprovider"],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=300)
    outcomes = {name: outcome for outcome, name in re.findall(r"^(PASSED|FAILED) recordings/(\S+?)::",
                                                              done.stdout, flags=re.M)}
    expected = {name: "PASSED" if outcome == "pass" else "FAILED" for name, outcome in replayable.items()}
    assert outcomes == expected, done.stdout[-3000:] + done.stderr[-2000:]
    assert "still present  redirect-uri-mismatch" in done.stdout  # the failing one says why


def test_the_seed_recording_passes_without_a_client_secret_and_says_how_to_include_the_token_request(
        tmp_path, good_provider):
    """drop-state.har ends before the token request (the client stopped at the missing `state`): with only the
    user's password configured, the plugin replays what was recorded, passes, and says how to add the token leg."""
    folder = tmp_path / "project" / "recordings"
    folder.mkdir(parents=True)
    shutil.copy(RECORDINGS / "drop-state.har", folder / "drop-state.har")
    (folder.parent / "pyproject.toml").write_text(
        "[tool.oauthtrace]\n"
        f'targets = {{ "{PROVIDER_ORIGIN}" = "{good_provider.url}" }}\n'
        'secrets = { password = "SEED_PASSWORD" }\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OAUTHTRACE_")}, "SEED_PASSWORD": DEMO_PASSWORD}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "recordings", "-rA", "-p", "no:cacheprovider"],
        cwd=folder.parent, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert re.search(r"^PASSED recordings/drop-state\.har::", done.stdout, flags=re.M), done.stdout[-3000:]
    (note,) = [line for line in done.stdout.splitlines() if line.startswith("token request not sent")]
    assert 'secrets = { client_secret = "ENVVAR" }' in note, note
