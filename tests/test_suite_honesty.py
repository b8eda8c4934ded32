"""The suite cannot be made to pass by its environment: in CI (`CI` set) snapshots are only compared, never
rewritten, and Hypothesis draws the same examples on every run."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "snapshots"


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "OAUTHTRACE_UPDATE_SNAPSHOTS")}
    env.update({k: v for k, v in changes.items() if v is not None})
    return env


def _digests() -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(SNAPSHOTS.glob("*.svg"))}


def test_a_snapshot_update_asked_for_in_ci_fails_loudly_and_rewrites_nothing():
    before = _digests()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_tui_snapshots.py",
         "-k", "test_snapshot_traces"],
        cwd=ROOT, env=_env(CI="1", OAUTHTRACE_UPDATE_SNAPSHOTS="1"), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert "OAUTHTRACE_UPDATE_SNAPSHOTS is set while CI is: snapshots are never rewritten in CI" in done.stdout
    assert _digests() == before


def _fuzz_settings(**env: str | None) -> str:
    """derandomize and database of the settings tests/test_hardening_fuzz.py runs its properties with."""
    probe = ("import tests.conftest, tests.test_hardening_fuzz as fuzz; "
             "print(fuzz.FUZZ.derandomize, fuzz.FUZZ.database is None)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=_env(**env), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_hypothesis_draws_the_same_examples_in_ci_and_explores_elsewhere():
    assert _fuzz_settings(CI="1") == "True True"
    assert _fuzz_settings() == "False False"
