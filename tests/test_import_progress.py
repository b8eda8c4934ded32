"""A progress bar on large files, on stderr, only when stderr is a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from tests.interchange_support import run_cli


def big_har(path, count=2500):
    entries = [
        {"startedDateTime": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z", "time": 1,
         "request": {"method": "GET", "url": f"https://as.example/p/{i}", "headers": []},
         "response": {"status": 200, "headers": [], "content": {"text": "ok"}}}
        for i in range(count)
    ]
    path.write_text(json.dumps({"log": {"entries": entries}}))
    return path


def test_no_progress_output_when_stderr_is_not_a_terminal(capsys, tmp_path, db_path):
    code, out, err = run_cli(capsys, "import", big_har(tmp_path / "big.har"), "--db", db_path)
    assert code == 0
    assert err == ""
    assert "2500 hops" in out


def test_progress_bar_on_a_terminal(tmp_path, db_path):
    har = big_har(tmp_path / "big.har")
    controller, terminal = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "oauthtrace", "import", str(har), "--db", db_path],
            stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, timeout=120,
            env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
        )
        os.close(terminal)
        terminal = None
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal is not None:
            os.close(terminal)
        os.close(controller)
    assert process.returncode == 0
    assert b"2500 hops" in process.stdout
    assert b"reading big.har" in shown and b"storing big.har" in shown
    assert b"100%" in shown
