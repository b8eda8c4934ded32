"""The report's diagrams parsed and drawn by the real Mermaid (the library GitHub renders with), in headless Chromium.

Mermaid's bundle is installed with the node test packages (tests/interop/node). Without it, or without Chromium, the
test is skipped, except in CI, which has both.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from oauthtrace.interchange.importer import read_file
from oauthtrace.exporters.markdown import markdown_report
from oauthtrace.exporters.mermaid import Message, Note, Participant, sequence_diagram
from oauthtrace.model import Trace
from tests.test_markdown import NASTY, mermaid_blocks

# Pinned in tests/interop/node/package.json, installed by .ci/run before the tests: the test itself stays offline.
BUNDLE = Path(__file__).resolve().parent / "interop" / "node" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def mermaid_js() -> str:
    if not BUNDLE.is_file():
        _unavailable("Mermaid is not installed: npm ci --prefix tests/interop/node (.ci/run does it)")
    return BUNDLE.read_text()


@pytest.fixture(scope="module")
def mermaid_page(mermaid_js):
    from oauthtrace.capture.browser import find_chromium

    binary = find_chromium()
    if binary is None:
        _unavailable("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        page.add_script_tag(content=mermaid_js)
        page.evaluate("mermaid.initialize({startOnLoad: false, securityLevel: 'strict'})")
        yield page
        browser.close()


def parse_error(page, source: str) -> str | None:
    return page.evaluate(
        "async (text) => { try { await mermaid.parse(text); return null; } catch (e) { return String(e.message); } }",
        source)


def drawn_texts(page, source: str) -> list[str]:
    svg = page.evaluate("async (text) => (await mermaid.render('d' + Date.now(), text)).svg", source)
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return [re.sub(r"<[^>]+>", "", text) for text in texts]


def test_the_check_has_teeth(mermaid_page):
    assert parse_error(mermaid_page, "sequenceDiagram\n    participant A\n    A->>A: a ; b\n    end\n")


def test_nasty_text_parses_and_is_drawn_as_written(mermaid_page):
    steps = []
    for text in NASTY:
        steps += [Message("Browser", "Provider", text), Note(("Browser", "Provider"), text)]
    source = sequence_diagram([Participant("Browser", "Browser"), Participant("Provider", "Provider")], steps)
    assert parse_error(mermaid_page, source) is None
    drawn = html.unescape(" ".join(drawn_texts(mermaid_page, source)))
    for shown in ("a;b", "#1 #x", "wrap:text", "style x fill:#f00;", "%%{init: {'theme':'dark'}}%%"):
        assert shown in drawn, shown


@pytest.mark.parametrize("recording", sorted(path.name for path in RECORDINGS.glob("*.har")))
def test_every_recordings_report_has_diagrams_mermaid_accepts(mermaid_page, recording):
    hops = read_file(str(RECORDINGS / recording)).hops
    report = markdown_report(Trace(id=1, name=recording, created=0.0), hops)
    blocks = mermaid_blocks(report)
    assert blocks
    for block in blocks:
        assert parse_error(mermaid_page, block) is None, block
