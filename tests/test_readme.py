"""The README's promises: its two first commands, and that CI runs exactly the README's test command."""

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
