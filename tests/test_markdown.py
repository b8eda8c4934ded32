"""The Markdown report: the one-sentence cause, the Mermaid diagram with the failing hop marked, parameters side by
side, findings with quotes and fixes, redaction — and Mermaid/Markdown that captured text cannot break."""

from __future__ import annotations

import json
import re

import pytest
from hops import CODE, NO_STORE, PROVIDER, STATE, flow, make_hop

from oauthtrace.exporters.markdown import markdown_report
from oauthtrace.exporters.markdown_text import code, plain
from oauthtrace.exporters.mermaid import Message, Note, Participant, escape, sequence_diagram
from oauthtrace.model import Trace
from oauthtrace.store import Store
from tests.interchange_support import run_cli
from tests.test_redact import BASIC, SECRETS, encoded_forms, secret_trace

TRACE = Trace(id=1, name="seed", created=0.0)

# Captured text that has broken diagrams and tables: Mermaid statement ends, comments, directives, entity codes,
# HTML, keywords at line start, arrows, Markdown pipes and backticks, control characters.
NASTY = [
    "a;b", "#1 #x", "a:b", "wrap:text", "%%{init: {'theme':'dark'}}%%", "%% comment", "#59;", "#lt;script#gt;",
    "&amp; &#35;", "<br>line<b>bold</b>", "<script>alert(1)</script>", "line\nend\nBrowser->>Provider: forged",
    "Note over Browser: x", "-->> ->> --x", "end", "loop", "style x fill:#f00;", "classDef a fill:#fff;",
    "| pipe | cell |", "`tick` ``double``", "\x1b[31mred\x1b[0m", "\r\n\t", "", "   ",
    "ünïcødé ✓ ‹redacted:abc123›",
    "a" * 500, "%2F%3B%23", "participant Evil", "{}[]()", "\\n\\;",
]

_ENTITY = re.compile(r"#\d+;")
_MESSAGE_LINE = re.compile(r"^    (Browser|Client|Provider|RS)(->>|-->>|--x)(Browser|Client|Provider|RS): (.+)$")
_NOTE_LINE = re.compile(r"^    Note over (Browser|Client|Provider|RS)(,(Browser|Client|Provider|RS))?: (.+)$")
_PARTICIPANT_LINE = re.compile(r"^    participant (Browser|Client|Provider|RS) as (.+)$")


def unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: chr(int(m.group()[1:-1])), text)


def assert_safe_text(text: str) -> None:
    """What Mermaid's lexer and pre-parse rewrites need: no raw `#`, `;`, `:`, `%`, `<`, `>`, `&`, line breaks."""
    bare = _ENTITY.sub("", text)
    for forbidden in "#;:%<>&`\n\r":
        assert forbidden not in bare, f"{forbidden!r} left in {text!r}"
    assert text.strip(), "empty message text"


def assert_valid_diagram(source: str) -> None:
    lines = source.rstrip("\n").split("\n")
    assert lines[0] == "sequenceDiagram"
    for line in lines[1:]:
        match = _MESSAGE_LINE.match(line) or _NOTE_LINE.match(line) or _PARTICIPANT_LINE.match(line)
        assert match, f"not a line this diagram may have: {line!r}"
        assert_safe_text(match.groups()[-1])


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.S | re.M)


# -- Mermaid ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
def test_escaped_text_is_one_safe_line_that_shows_the_same_characters(text):
    escaped = escape(text, limit=10_000)
    assert_safe_text(escaped)
    flattened = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    assert unescape(escaped) == (flattened or "∅")


def test_long_text_is_cut_with_an_ellipsis():
    assert unescape(escape("x" * 500)).endswith("…")
    assert len(unescape(escape("x" * 500))) == 160


def test_diagram_of_nasty_messages_and_notes_has_only_well_formed_lines():
    people = [Participant("Browser", "Browser; #1"), Participant("Provider", "Pro:vider")]
    steps = []
    for text in NASTY:
        steps += [Message("Browser", "Provider", text), Message("Provider", "Browser", text, "response"),
                  Note(("Browser", "Provider"), text)]
    source = sequence_diagram(people, steps)
    assert_valid_diagram(source)
    assert source.count("\n") == 1 + len(people) + len(steps)


def test_diagram_refuses_unknown_participants():
    with pytest.raises(ValueError):
        sequence_diagram([Participant("Browser", "B")], [Message("Browser", "Evil", "x")])


# -- the seed case ----------------------------------------------------------------------------------


def test_seed_case_names_state_dropped_and_the_providers_redirect():
    hops = flow(returned_state=None, back_channel=False, callback_status=400)
    hops.callback.resp_body = json.dumps({"message": "Missing `state` param in response from OAuth provider"}).encode()
    hops.callback.resp_headers = [("Content-Type", "application/json")]
    report = markdown_report(TRACE, list(hops))
    provider_hop = hops.authz_response.seq
    first_line = next(line for line in report.splitlines() if line.startswith("**What failed:**"))
    assert f"The provider dropped `state` from its redirect to the callback (#{provider_hop})" in first_line
    assert "so the client refused the login" in first_line and "Missing `state` param" in first_line
    [diagram] = mermaid_blocks(report)
    assert_valid_diagram(diagram)
    assert diagram.startswith("sequenceDiagram\n")
    for name in ("Browser", "Client", "Provider"):
        assert f"participant {name}" in diagram
    marked = [line for line in diagram.splitlines() if "❌" in line]
    assert marked[0].startswith("    Provider-->>Browser:") and f"#35;{provider_hop} " not in marked[0]
    assert "302 → auth.example.com" not in marked[0] and "chat.openai.com/aip/p-1/oauth/callback ?code" in unescape(
        marked[0])
    assert any(line.startswith("    Note over Browser,Provider:") and "state-dropped" in line for line in marked)
    assert f"### ❌ `state-dropped` · error · provider · hop #{provider_hop}" in report
    assert "RFC 6749 §4.1.2" in report and "The exact value received from the client" in report
    assert "**Fix:** Provider: copy the state parameter" in report
    assert f"**`state`:** sent `{STATE}` (#1) → returned ∅ (#{provider_hop})" in report and "❌ dropped" in report


def test_parameters_side_by_side_show_where_state_went_and_the_code_as_one_fingerprint():
    report = markdown_report(TRACE, list(flow(returned_state=STATE[:10])))
    header = next(line for line in report.splitlines() if line.startswith("| parameter |"))
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "parameter", "authorization request #1", "authorization response (query) #3", "callback #4",
        "token request #5", "token response #5"]
    state_row = next(line for line in report.splitlines() if line.startswith("| `state` |"))
    assert state_row.count(f"`{STATE}`") == 1 and state_row.count(f"`{STATE[:10]}`") == 2
    code_row = next(line for line in report.splitlines() if line.startswith("| `code` |"))
    fingerprints = re.findall(r"‹redacted:[0-9a-f]{6}›", code_row)
    assert len(fingerprints) == 3 and len(set(fingerprints)) == 1
    assert CODE not in report
    assert "❌ altered" in report
    assert "The provider sent back another `state`" in report


def test_token_response_values_keep_their_json_type():
    hops = flow(token_json={"access_token": "at-x9", "token_type": "Bearer", "expires_in": "3600"})
    report = markdown_report(TRACE, list(hops))
    row = next(line for line in report.splitlines() if line.startswith("| `expires_in` |"))
    assert row.rstrip().endswith('| `"3600"` |')
    assert "The provider sent `expires_in` as a string instead of a number" in report


def test_a_clean_flow_says_nothing_failed():
    report = markdown_report(TRACE, list(flow(pkce=True, token_headers=NO_STORE)))
    assert "**What failed:** Nothing: no errors or warnings in 1 exchange" in report
    [diagram] = mermaid_blocks(report)
    assert "❌" not in diagram and "⚠️" not in diagram


def test_hops_outside_oauth_are_listed_but_not_drawn():
    hops = list(flow()) + [make_hop(9, "GET", "https://cdn.example.net/logo.png", started=1010.0,
                                    content_type="image/png")]
    report = markdown_report(TRACE, hops)
    [diagram] = mermaid_blocks(report)
    assert "logo.png" not in diagram
    assert "| 9 | Browser → ? | `GET https://cdn.example.net/logo.png` | 200 | other |" in report


def test_no_oauth_at_all_is_one_sentence_and_no_diagram():
    report = markdown_report(TRACE, [make_hop(1, "GET", "https://example.com/")])
    assert "No OAuth exchange was found in 1 hop." in report
    assert mermaid_blocks(report) == []


# -- captured text cannot break the Markdown --------------------------------------------------------


def test_nasty_captured_values_keep_tables_and_the_diagram_intact():
    hops = list(flow(extra_authorize=[(f"p{n}", text) for n, text in enumerate(NASTY)]))
    hops[0].url = hops[0].url.replace("/authorize", "/auth%3Bor;ize#x:y")
    report = markdown_report(Trace(id=1, name="name | with `ticks` <b>\n# heading", created=0.0), hops)
    [diagram] = mermaid_blocks(report)
    assert_valid_diagram(diagram)
    assert report.startswith("# OAuth trace: name \\| with \\`ticks\\` \\<b\\>\\\\n\\# heading\n")
    header = next(line for line in report.splitlines() if line.startswith("| parameter |"))
    params = [line for line in report.splitlines() if line.startswith("| `p")]
    assert len(params) == len(NASTY), "a captured value broke a row in two"
    for line in params:
        assert cell_count(line) == cell_count(header), f"a captured value split a table row: {line!r}"


def cell_count(row: str) -> int:
    """Cells of a GitHub table row: `|` separates cells unless escaped as `\\|`."""
    return len(re.split(r"(?<!\\)\|", row.strip())) - 2


def test_code_spans_survive_backticks_and_pipes():
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("a|b", table=True) == "`a\\|b`"
    assert code("line\nbreak") == "`line\\nbreak`"
    assert plain("*not bold* [link](x)") == "\\*not bold\\* \\[link\\]\\(x\\)"


# -- redaction --------------------------------------------------------------------------------------


@pytest.fixture
def secret_db(db_path):
    with Store.open(db_path) as store:
        store.import_trace("secrets", "test", secret_trace())
    return db_path


def test_report_holds_no_raw_secret(capsys, secret_db):
    status, out, err = run_cli(capsys, "export", "--db", secret_db, "--format", "markdown",
                               "--redact", "X-Tenant-Secret", "--redact", "tenant_key")
    assert status == 0, err
    for name, value in SECRETS.items():
        for form_of_value in encoded_forms(value):
            assert form_of_value not in out, f"{name} leaked as {form_of_value!r}"
    assert BASIC not in out
    assert re.search(r"‹redacted:[0-9a-f]{6}›", out)
    assert "```mermaid" in out


def test_no_redact_shows_the_values_and_warns(capsys, secret_db, tmp_path):
    target = tmp_path / "report.md"
    status, out, err = run_cli(capsys, "export", "--db", secret_db, "--format", "markdown", "--no-redact",
                               "-o", target)
    assert status == 0, err
    text = target.read_text()
    assert SECRETS["code"] in text
    assert "NOT redacted" in text
    assert "NOT redacted" in err


def test_cli_writes_the_report_of_the_latest_trace(capsys, db_path, tmp_path):
    with Store.open(db_path) as store:
        store.import_trace("seed", "test", list(flow(returned_state=None, back_channel=False)))
    target = tmp_path / "report.md"
    status, out, err = run_cli(capsys, "export", "--db", db_path, "--format", "markdown", "-o", target)
    assert status == 0, err
    text = target.read_text()
    assert text.startswith("# OAuth trace: seed\n") and "state-dropped" in text
    assert PROVIDER.split("//")[1] in text


def test_the_sentence_counts_the_other_problems():
    # server_error: the provider's failure, an error (access_denied would be the user's answer, information)
    hops = flow(error="server_error", returned_state=None, callback_status=400)
    line = next(line for line in markdown_report(TRACE, list(hops)).splitlines() if line.startswith("**What failed"))
    assert line.startswith("**What failed:** The provider dropped `state` from its redirect to the callback (#3)")
    assert line.endswith("Also 1 more error below.")


def test_a_rule_without_a_phrase_is_told_by_its_title_or_its_message():
    hops = flow(token_headers=[], pkce=True)  # the token response may be cached: no phrase of its own
    line = next(line for line in markdown_report(TRACE, list(hops)).splitlines() if line.startswith("**What failed"))
    assert line.startswith("**What failed:** A response carrying tokens may be cached")
    assert "(`token-cache-headers`, provider) (#5)" in line
