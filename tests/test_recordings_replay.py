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
