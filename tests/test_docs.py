"""docs/: every page is linked from the index, every link resolves, and every `oauthtrace …` command shown parses
with the real CLI (an option renamed in the code fails here, not in a reader's terminal)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from oauthtrace.capture.trust import trust_command
from oauthtrace.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "recordings" / "README.md"]
SHELL_ENDS = {"&&", "||", "|", ">", ">>", "&", ";"}


def code_blocks(text: str) -> list[str]:
    """Fenced and indented blocks, and inline code spans that hold a command."""
    return (re.findall(r"^ *```[a-z]*\n(.*?)^ *```", text, flags=re.S | re.M)
            + re.findall(r"(?:^    .*\n)+", text, flags=re.M)
            + [" ".join(span.split()) for span in re.findall(r"(?<!`)`(oauthtrace [^`]+)`", text)
               if len(span.split()) > 2])  # `oauthtrace import` alone names a command, it is no command line


def commands_in(text: str) -> list[list[str]]:
    """`oauthtrace …` command lines of the page's code blocks, continuation lines joined, comments dropped."""
    found = []
    for block in code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            start = line.find("oauthtrace ")
            if start < 0 or (start > 0 and not line[:start].rstrip().endswith(("&&", "$"))
                             and "=" not in line[:start]):
                continue
            try:
                words = shlex.split(line[start:], comments=True)
            except ValueError:
                continue
            argv = []
            for word in words[1:]:
                if word in SHELL_ENDS:
                    break
                argv.append(word)
            if argv and not argv[0].startswith("-") and "…" not in argv:  # `--bug …`: a placeholder
                found.append(argv)
    return found


def test_index_links_every_page_and_the_generated_rules():
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not link {page.name}"
    assert "python -m oauthtrace.analysis.docs" in index


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.name} links to missing {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_command_shown_parses(page):
    for argv in commands_in(page.read_text()):
        name, args = argv[0], argv[1:]
        assert name in COMMANDS, f"{page.name}: no command {name!r} ({' '.join(argv)})"
        command = cli.get_command(click.Context(cli), name)
        try:
            command.make_context(f"oauthtrace {name}", list(args), resilient_parsing=False)
        except click.UsageError as exc:
            pytest.fail(f"{page.name}: `oauthtrace {' '.join(argv)}`: {exc.format_message()}")


def test_the_pages_show_commands_at_all():
    shown = {argv[0] for page in PAGES for argv in commands_in(page.read_text())}
    assert {"record", "check", "export", "replay", "import", "diff", "demo"} <= shown


def test_trust_page_gives_the_commands_record_prints():
    page = (DOCS / "trust-the-ca.md").read_text()
    cert = Path("~/.mitmproxy/mitmproxy-ca-cert.pem")
    assert trust_command(cert, "darwin") in page
    assert trust_command(cert, "linux").split("   (")[0] in page
    assert "certutil -addstore root" in page and ".cer" in page
