"""The README's promises: its two first commands, what the first one prints, and that CI runs exactly the README's
test command."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _code_blocks(text: str) -> list[str]:
    parts = text.split("```")
    return [parts[i].split("\n", 1)[1].strip() for i in range(1, len(parts), 2)]


def test_readme_starts_with_install_demo_and_test_commands():
    first, second = _code_blocks((ROOT / "README.md").read_text())[:2]
    assert "pip install" in first and first.endswith("oauthtrace demo")
    assert "'.[test]'" in second and "pytest" in second


def test_ci_runs_the_readme_test_command():
    test_command = _code_blocks((ROOT / "README.md").read_text())[1].split("&&")[-1].strip()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def _verdict_pattern(line: str) -> re.Pattern:
    """The README's verdict line as a pattern: its state value stands for any (each run draws a fresh one), runs of
    spaces for any whitespace (the column padding and a terminal's line wrapping)."""
    state = re.search(r"authorize\.state = (\S+)…", line).group(1)
    escaped = [re.escape(word).replace(re.escape(state), r"\S+") for word in line.split()]
    return re.compile(r"\s+".join(escaped))


def test_the_plain_demo_prints_the_verdict_line_the_readme_shows(tmp_path):
    """`oauthtrace demo` exactly as the README's first command runs it (no option; the database lands in the
    current directory), the real command in a process of its own."""
    verdict = _code_blocks((ROOT / "README.md").read_text())[2]
    assert verdict.count("\n") == 0 and "state-dropped  error  provider" in verdict
    env = {k: v for k, v in os.environ.items() if k not in ("OAUTHTRACE_DB", "COLUMNS")}
    binary = shutil.which("oauthtrace")
    command = [binary] if binary else [sys.executable, "-m", "oauthtrace"]
    done = subprocess.run([*command, "demo"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _verdict_pattern(verdict).search(done.stdout), done.stdout
    assert "Missing `state` param in response from OAuth provider" in done.stdout
    assert (tmp_path / "oauthtrace.db").is_file()


def test_the_readme_names_the_install_commands_the_tests_and_ci_use():
    """What the README tells a new machine to install is what the skipping tests ask for and what .ci/run runs."""
    from tests.interop.node_provider import INSTALL_HINT
    from tests.test_interop_mcp_sdk import SDK_VERSION

    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"`{INSTALL_HINT}`" in readme and INSTALL_HINT in ci
    assert f"pip install mcp=={SDK_VERSION}`" in readme and f"'mcp=={SDK_VERSION}'" in ci
    assert "~/.cache/oauthtrace/mcp-venv" in readme and "$HOME/.cache/oauthtrace/mcp-venv" in ci
    for package in ("chromium", "tmux"):
        assert f"apt-get install -y {package}" in readme and f"need_apt+=({package})" in ci
