"""recordings/: every sample is listed, lints to what its manifest says, holds no secret, and reports the seed case."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus

import pytest

from oauthtrace.analysis.engine import analyze
from oauthtrace.demo.provider import DEMO_CLIENT_SECRET, DEMO_PASSWORD
from oauthtrace.demo.recordings import MANIFEST, PROVIDER_ORIGIN, SCENARIOS
from oauthtrace.interchange.importer import read_file
from oauthtrace.exporters.markdown import markdown_report
from oauthtrace.model import SECRET_PARAMS, Hop, Trace, is_redacted
from oauthtrace.params import query_pairs

RECORDINGS = Path(__file__).resolve().parent.parent / "recordings"
FILES = sorted(path.name for path in RECORDINGS.glob("*.har"))


def manifest() -> dict:
    return json.loads((RECORDINGS / MANIFEST).read_text())


def hops_of(name: str) -> list[Hop]:
    return read_file(str(RECORDINGS / name)).hops


def test_every_recording_is_in_the_manifest_the_readme_and_the_generator():
    listed = manifest()
    assert FILES and sorted(listed) == FILES
    assert sorted(scenario.file for scenario in SCENARIOS) == FILES
    readme = (RECORDINGS / "README.md").read_text()
    for name, entry in listed.items():
        [line] = [line for line in readme.splitlines() if line.startswith(f"| [`{name}`]")]
        for rule in entry["expect"]:
            assert f"`{rule}`" in line


def test_the_seed_case_and_the_good_flows_are_there():
    listed = manifest()
    assert listed["drop-state.har"]["expect"] == ["state-dropped"]
    assert {name for name, entry in listed.items() if not entry["expect"]} >= {"good-chatgpt.har", "good-pkce.har"}
    plugin = [entry for entry in listed.values() if entry["kind"] == "plugin"]
    assert {entry["provider"] for entry in plugin} == {PROVIDER_ORIGIN}  # one target line replays them all


@pytest.mark.parametrize("name", FILES)
def test_recording_lints_to_its_expected_findings(name):
    entry = manifest()[name]
    report = analyze(hops_of(name), trace_id=1, stall_seconds=entry["stall_seconds"])
    found = sorted({f.rule for f in report.findings if f.severity in ("error", "warning")})
    assert found == entry["expect"]


@pytest.mark.parametrize("name", FILES)
def test_every_secret_bearing_field_is_a_fingerprint(name):
    for hop in hops_of(name):
        for where, value in secret_places(hop):
            assert is_redacted(value), f"{name} hop #{hop.seq}: {where} is not redacted"


@pytest.mark.parametrize("name", FILES)
def test_no_demo_credential_in_any_form(name):
    data = (RECORDINGS / name).read_bytes()
    for secret in (DEMO_PASSWORD, DEMO_CLIENT_SECRET):
        for form in encoded_forms(secret):
            assert form.encode() not in data, f"{name} holds {form!r}"


def test_report_of_the_seed_recording_names_state_dropped_and_the_providers_hop():
    hops = hops_of("drop-state.har")
    report = markdown_report(Trace(id=1, name="drop-state", created=0.0), hops)
    provider_hop = next(hop for hop in hops if hop.method == "POST" and hop.url.startswith(PROVIDER_ORIGIN))
    assert "```mermaid\nsequenceDiagram\n" in report
    assert f"The provider dropped `state` from its redirect to the callback (#{provider_hop.seq}), so the client " \
           f"refused the login" in report
    assert f"### ❌ `state-dropped` · error · provider · hop #{provider_hop.seq}" in report
    assert any(line.startswith("    Provider-->>Browser: ❌") for line in report.splitlines())


# -- what counts as a secret, found the way a reader of the file would look -----------------------------


def secret_places(hop: Hop):
    """(where, value) for every place of `hop` that names a secret: parameters, JSON members, credentials."""
    for where, pairs in (("query", hop.query), ("form", hop.form),
                         ("Location", query_pairs(hop.location) if hop.location else [])):
        for key, value in pairs:
            if key.lower() in SECRET_PARAMS and value:
                yield f"{where} {key}", value
    for response, body in ((False, hop.req_body), (True, hop.resp_body)):
        yield from _json_secrets(body, response)
    for headers in (hop.req_headers, hop.resp_headers):
        for key, value in headers:
            lowered = key.lower()
            if lowered in ("authorization", "proxy-authorization"):
                scheme, _, credentials = value.partition(" ")
                if scheme.lower() == "basic":
                    user, _, password = base64.b64decode(credentials).decode().partition(":")
                    yield "Basic password", unquote_plus(password)
                else:
                    yield f"{key}", credentials
            elif lowered in ("cookie", "set-cookie"):
                cookies = value.split(";") if lowered == "cookie" else value.split(";")[:1]
                for cookie in cookies:
                    cookie_name, equals, cookie_value = cookie.strip().partition("=")
                    if equals and cookie_value:
                        yield f"cookie {cookie_name}", cookie_value


def _json_secrets(body: bytes | None, response: bool):
    try:
        data = json.loads(body or b"")
    except ValueError:
        return
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                error_code = response and key == "code"  # `{"code": "invalid_request"}` is not a secret
                if key.lower() in SECRET_PARAMS and isinstance(value, (str, int)) and value != "" and not error_code:
                    yield f"JSON {key}", str(value)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def encoded_forms(value: str) -> set[str]:
    raw = value.encode()
    return {value, quote(value, safe=""), quote_plus(value), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("="), json.dumps(value)[1:-1]}


# -- a fresh run of each scenario, unredacted, against its redacted export ------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_fresh_run_exported_like_the_recordings_holds_none_of_its_secrets(scenario, tmp_path):
    from oauthtrace.demo.recordings import record
    from oauthtrace.interchange.export import export_trace
    from oauthtrace.store import Store

    db = str(tmp_path / "fresh.db")
    result = record(scenario, db, str(tmp_path / "ca"), provider_port=0)
    with Store.open(db) as store:
        hops = store.hops(result.trace_id)
        exported = b"".join(export_trace(store, str(result.trace_id), fmt="har"))
    exported += _everything_said_about(db, result.trace_id)
    secrets = {value for hop in hops for _, value in secret_places(hop) if len(value) >= 4}
    recorded = [place for hop in hops_of(scenario.file) for place in secret_places(hop)]
    assert bool(secrets) == bool(recorded)  # where the recording has secrets, this run has some to look for
    for secret in secrets:
        for form in encoded_forms(secret):
            assert form.encode() not in exported, f"{scenario.name}: a secret left as {form!r}"
    report = analyze(hops, trace_id=result.trace_id, stall_seconds=scenario.stall_seconds)
    found = sorted({f.rule for f in report.findings if f.severity in ("error", "warning")})
    assert found == sorted(scenario.expect), "the scenario no longer does what its recording shows"


def _everything_said_about(db: str, trace_id: int) -> bytes:
    """Every export format and every report the CLI prints of a trace, stdout and stderr together."""
    from click.testing import CliRunner

    from oauthtrace.cli import cli

    runner = CliRunner()
    said = b""
    commands = [["export", str(trace_id), "--format", fmt] for fmt in ("har", "json", "markdown")]
    commands += [["check", str(trace_id), "--format", fmt] for fmt in ("text", "json", "junit", "sarif")]
    commands += [["show", str(trace_id)], ["show", str(trace_id), "--format", "json"], ["list"]]
    for command in commands:
        result = runner.invoke(cli, [*command, "--db", db])
        assert result.exit_code in (0, 1), (command, result.output)
        said += result.stdout_bytes + (result.stderr_bytes or b"")
    return said
