"""The pytest plugin: `pytest recordings/` replays each recording against the server named in pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from oauthtrace.cli import cli
from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD
from oauthtrace.demo.scenario import run_demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project folder with the drop-state login, exported redacted, under recordings/."""
    base = tmp_path_factory.mktemp("plugin")
    db = str(base / "recorded.db")
    recorded = run_demo(db, bug="drop-state", confdir=str(base / "ca"))
    folder = base / "project"
    (folder / "recordings").mkdir(parents=True)
    exported = CliRunner().invoke(cli, ["export", str(recorded.trace_id), "--db", db, "--format", "json",
                                        "-o", str(folder / "recordings" / "drop-state.json")])
    assert exported.exit_code == 0, exported.output
    return folder, recorded.provider_url


def run_pytest(folder, recorded_url: str, live_url: str, *args: str):
    (folder / "pyproject.toml").write_text(
        "[tool.oauthtrace]\n"
        f'targets = {{ "{recorded_url}" = "{live_url}" }}\n'
        'secrets = { client_secret = "MY_CLIENT_SECRET", password = "MY_PASSWORD" }\n'
    )
    env = {**os.environ, "MY_CLIENT_SECRET": DEMO_CLIENT_SECRET, "MY_PASSWORD": DEMO_PASSWORD}
    env.pop("OAUTHTRACE_TARGETS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "recordings", "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_recording_passes_against_the_fixed_server(project, demo_provider):
    folder, recorded_url = project
    done = run_pytest(folder, recorded_url, demo_provider("good").url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_recording_fails_against_the_buggy_server_with_the_findings_diff(project, demo_provider):
    folder, recorded_url = project
    done = run_pytest(folder, recorded_url, demo_provider("drop-state").url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert any(line.split()[:2] == ["still", "present"] and "state-dropped" in line
               for line in done.stdout.splitlines()), done.stdout


def test_without_targets_the_item_fails_with_a_one_line_reason(project):
    folder, _ = project
    (folder / "pyproject.toml").write_text("[tool.other]\n")
    env = {k: v for k, v in os.environ.items() if k != "OAUTHTRACE_TARGETS"}
    done = subprocess.run([sys.executable, "-m", "pytest", "recordings", "-q", "-p", "no:cacheprovider"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Error: no targets" in done.stdout
