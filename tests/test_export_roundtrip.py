"""Export -> import round trips: the same hops come back, and a redacted export lints like the original."""

from __future__ import annotations

import json
import os

import pytest

from tests import hops as demo
from tests.interchange_support import FIXTURES, hops_of, run_cli, traces
from oauthtrace.interchange.export import render
from oauthtrace.interchange.har_import import hops_from_har
from oauthtrace.interchange.json_import import hops_from_json
from oauthtrace.model import Hop, Trace
from oauthtrace.store import Store

TRACE = Trace(id=1, name="t", created=0.0)


def store_trace(db_path, hops, name="original") -> None:
    with Store.open(db_path) as store:
        store.import_trace(name, "test", hops)


def visible(hop: Hop) -> tuple:
    return (hop.seq, hop.method, hop.url, hop.status, hop.query, hop.form, hop.location, hop.listener,
            hop.req_headers, hop.resp_headers, hop.req_body, hop.resp_body, hop.error, hop.upstream_url)


def mixed_flow() -> list[Hop]:
    """Front and back channel, PKCE, Basic auth, a failed request and a binary body."""
    hops = list(demo.flow(pkce=True, client_auth="basic"))
    hops[-1].upstream_url = "https://auth.example.com/token"
    hops.append(Hop(trace_id=1, seq=len(hops) + 1, method="GET", url="https://cdn.example/logo.png", started=2000.0,
                    ended=2000.25, status=200, resp_headers=[("Content-Type", "image/png")],
                    resp_body=b"\x89PNG\r\n\x1a\n\x00\xff", resp_truncated=True))
    hops.append(Hop(trace_id=1, seq=len(hops) + 1, method="GET", url="https://down.example/", started=2001.0,
                    error="connection refused"))
    return hops


@pytest.mark.parametrize("fmt", ["har", "json"])
def test_unredacted_export_imports_as_the_same_hops(capsys, tmp_path, db_path, fmt):
    original = mixed_flow()
    store_trace(db_path, original)
    out = tmp_path / f"trace.{fmt}"
    code, _, err = run_cli(capsys, "export", "--db", db_path, "--format", fmt, "--no-redact", "-o", out)
    assert code == 0, err
    other_db = tmp_path / "other.db"
    code, _, err = run_cli(capsys, "import", out, "--db", other_db)
    assert code == 0, err
    back = hops_of(other_db)
    assert [visible(h) for h in back] == [visible(h) for h in hops_of(db_path)]
    assert [h.started for h in back] == pytest.approx([h.started for h in original], abs=1e-6)
    assert [h.ended is None for h in back] == [h.ended is None for h in original] != [False] * len(original)
    assert back[-2].resp_truncated
    assert traces(other_db)[0].source == f"import:{fmt}"


def test_json_is_lossless_to_the_field(db_path, tmp_path):
    original = mixed_flow()
    store_trace(db_path, original)
    stored = hops_of(db_path)
    back = hops_from_json(json.loads(render(TRACE, stored, fmt="json", redact=False)), trace_id=stored[0].trace_id)
    for hop in back:
        hop.id = None
    for hop in stored:
        hop.id = None
    assert back == stored


def test_har_import_keeps_the_recorded_order_even_when_start_times_disagree():
    hops = list(demo.flow())
    hops[1].started, hops[2].started = hops[2].started, hops[1].started  # seq says otherwise than the clock
    back = hops_from_har(json.loads(render(TRACE, hops, fmt="har", redact=False)))
    assert [h.url for h in back] == [h.url for h in hops]


def test_output_file_is_written_atomically(capsys, tmp_path, db_path):
    store_trace(db_path, mixed_flow())
    target = tmp_path / "out.har"
    target.write_text("old")
    code, _, err = run_cli(capsys, "export", "--db", db_path, "-o", target)
    assert code == 0, err
    assert json.loads(target.read_text())["log"]["creator"]["name"] == "oauthtrace"
    assert sorted(os.listdir(tmp_path)) == sorted(["oauthtrace.db", "out.har"] + [
        name for name in os.listdir(tmp_path) if name.startswith("oauthtrace.db-")])
    code, _, err = run_cli(capsys, "export", "--db", db_path, "-o", tmp_path / "missing-dir" / "x.har")
    assert code == 2 and err.startswith("Error: cannot write")


def test_unredacted_file_is_private(capsys, tmp_path, db_path):
    store_trace(db_path, mixed_flow())
    target = tmp_path / "secret.json"
    run_cli(capsys, "export", "--db", db_path, "--format", "json", "--no-redact", "-o", target)
    assert os.stat(target).st_mode & 0o077 == 0


def test_export_of_unknown_trace_is_a_clean_error(capsys, db_path):
    store_trace(db_path, mixed_flow())
    code, _, err = run_cli(capsys, "export", "nope", "--db", db_path)
    assert code == 2 and "no trace 'nope'" in err


# -- linting the redacted export gives the findings of the original --------------------------------------


def lint(hops):
    from oauthtrace.analysis.engine import analyze

    return sorted((f.rule, f.hop, f.severity) for f in analyze(hops, trace_id=1).findings)


def via_redacted_har(hops):
    return hops_from_har(json.loads(render(TRACE, hops, fmt="har")), trace_id=1)


SCENARIOS = {
    "good": lambda: demo.flow(),
    "state dropped": lambda: demo.flow(returned_state=None),
    "state truncated": lambda: demo.flow(returned_state="6ca9HZ"),
    "error response": lambda: demo.flow(error="access_denied"),
    "basic auth": lambda: demo.flow(client_auth="basic"),
    "form_post": lambda: demo.flow(response_mode="form_post"),
    "fragment": lambda: demo.flow(response_mode="fragment"),
    "redirect_uri changed": lambda: demo.flow(token_redirect_uri=demo.CHATGPT_CALLBACK + "/"),
    "code reused": lambda: demo.sequential(demo.flow(), demo.flow(state="Zq0xW9vU8tS7rR6qP5oN4mM3lL2kK1jJ")),
    "pkce": lambda: demo.flow(pkce=True),
    "pkce verifier mismatch": lambda: demo.flow(
        pkce=True, token_verifier="Wrong-verifier-but-well-formed-0123456789abcdef"),
    "pkce plain": lambda: demo.flow(pkce=True, challenge=demo.VERIFIER, challenge_method="plain"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_redacted_export_lints_like_the_original(scenario):
    original = list(SCENARIOS[scenario]())
    assert lint(via_redacted_har(original)) == lint(original)


@pytest.mark.parametrize("fmt", ["har", "json"])
def test_streamed_export_is_the_indented_document(fmt):
    from oauthtrace.interchange.har_export import har_document
    from oauthtrace.interchange.json_export import json_document

    hops = mixed_flow()
    whole = (har_document if fmt == "har" else json_document)(TRACE, hops, redacted=False)
    assert render(TRACE, hops, fmt=fmt, redact=False) == (
        json.dumps(whole, ensure_ascii=False, indent=2) + "\n").encode()


SAMPLES = sorted(
    str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*")
    if path.is_file() and path.suffix in (".har", ".zhar", ".mitm") and path.parent.name != "corrupted_har"
)


@pytest.mark.parametrize("relative", SAMPLES)
def test_every_sample_survives_har_export_and_import(relative):
    from oauthtrace.interchange.importer import read_file

    hops = read_file(str(FIXTURES / relative)).hops
    back = hops_from_har(json.loads(render(TRACE, hops, fmt="har", redact=False)))
    assert [visible(h) for h in back] == [visible(h) for h in hops]
    redacted = hops_from_har(json.loads(render(TRACE, hops, fmt="har")))
    assert [(h.method, h.status, len(h.query)) for h in redacted] == [(h.method, h.status, len(h.query)) for h in hops]
