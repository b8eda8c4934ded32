"""Make the sample recordings under recordings/: each demo scenario recorded through the real proxy with the
built-in user agent, then exported redacted as HAR with `oauthtrace export`'s own code.

    python -m oauthtrace.demo.recordings [--out recordings] [--only drop-state ...]

Writes one `<scenario>.har` per scenario, `manifest.json` (what `oauthtrace check` must find in each, and the
provider origin to replay it against) and README.md. The plugin-style scenarios use one fixed provider origin,
`http://127.0.0.1:47601`, so a single `[tool.oauthtrace] targets` line replays all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from oauthtrace.interchange.export import export_trace, write_atomically
from oauthtrace.store import Store

PROVIDER_PORT = 47601
PROVIDER_ORIGIN = f"http://127.0.0.1:{PROVIDER_PORT}"
MANIFEST = "manifest.json"
STALL_SECONDS = 2.0  # the MCP demo's stall window (scenario.MCP_DEMO_STALL_SECONDS)


@dataclass
class Scenario:
    name: str  # also the file name: <name>.har
    kind: str  # "plugin" (DemoProvider + ChatGPT-like client) or "mcp" (MCP server, provider and connector)
    bug: str
    about: str
    expect: list[str]  # rules at error or warning level that `oauthtrace check` reports, nothing else
    pkce: bool = False
    stall_seconds: float | None = None  # `check --stall-seconds` needed to see a stalled client
    # What the pytest plugin's replay against a correct provider gives: "pass" (the provider's bug is gone),
    # "fail" (the client's own mistake is re-sent), None (not replayable: MCP flows talk to three servers).
    replay: str | None = None

    @property
    def file(self) -> str:
        return f"{self.name}.har"


SCENARIOS = [
    Scenario("drop-state", "plugin", "drop-state",
             "The seed case: the provider redirects to the callback with `code` but without `state`; the "
             "ChatGPT-like client answers \"Missing `state` param in response from OAuth provider\".",
             ["state-dropped"], replay="pass"),
    Scenario("good-chatgpt", "plugin", "good",
             "A correct login of a ChatGPT-plugin-like client (no PKCE, client_secret in the token request).",
             [], replay="pass"),
    Scenario("good-pkce", "plugin", "good", "A correct login with PKCE (S256), as MCP connectors do it.",
             [], pkce=True, replay="pass"),
    Scenario("mangle-state", "plugin", "mangle-state", "The provider returns a truncated `state`.",
             ["state-altered"], replay="pass"),
    Scenario("error-without-state", "plugin", "error-without-state",
             "The provider answers `error=access_denied` and drops `state` from that error redirect.",
             ["state-dropped"], replay="pass"),
    Scenario("token-form-encoded", "plugin", "token-form-encoded",
             "The provider answers the token request form-encoded instead of JSON.",
             ["token-response-not-json"], replay="pass"),
    Scenario("token-without-token_type", "plugin", "token-without-token_type",
             "The provider leaves `token_type` out of the token response.", ["token-fields-missing"], replay="pass"),
    Scenario("expires_in-as-string", "plugin", "expires_in-as-string",
             'The provider sends `"expires_in": "3600"`, a string.', ["expires-in-not-number"], replay="pass"),
    Scenario("redirect-uri-mismatch", "plugin", "redirect-uri-mismatch",
             "The client sends another `redirect_uri` (trailing slash) to /token; the provider refuses it.",
             ["redirect-uri-mismatch"], replay="fail"),
    Scenario("mcp-good", "mcp", "good",
             "A ChatGPT-like MCP connector: 401, resource metadata, AS metadata, registration, PKCE login, "
             "token, MCP session.", []),
    Scenario("mcp-no-resource-metadata", "mcp", "no-resource-metadata",
             "The MCP server's 401 names no `resource_metadata` and it serves none.",
             ["mcp-401-no-resource-metadata"]),
    Scenario("mcp-prm-resource-mismatch", "mcp", "prm-resource-mismatch",
             "The protected resource metadata names another resource (the server's public URL).",
             ["prm-resource-mismatch"]),
    Scenario("mcp-dcr-rejects-redirect", "mcp", "dcr-rejects-redirect",
             "The provider's registration refuses the connector's callback URL.", ["dcr-rejected"]),
    Scenario("mcp-resource-missing", "mcp", "resource-missing",
             "The connector leaves `resource` out of the authorization and token requests.", ["resource-missing"]),
    Scenario("mcp-token-rejected", "mcp", "token-rejected",
             "The MCP server refuses the fresh token (it expects another audience).", ["token-not-used"]),
    Scenario("mcp-token-never-used", "mcp", "token-never-used",
             "The connector gets a token and never calls the MCP server.", ["token-not-used"],
             stall_seconds=STALL_SECONDS),
    Scenario("mcp-callback-not-exchanged", "mcp", "callback-not-exchanged",
             "The connector receives the code and never asks for a token.", ["flow-stalled-after-callback"],
             stall_seconds=STALL_SECONDS),
]
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def record(scenario: Scenario, db_path: str, confdir: str, *, provider_port: int = PROVIDER_PORT):
    """Run the scenario through the real proxy into `db_path`; returns the demo's DemoResult."""
    # the scenario imports mitmproxy: the tests that only read MANIFEST and SCENARIOS do not need it
    from oauthtrace.demo.scenario import run_demo, run_mcp_demo

    if scenario.kind == "mcp":
        return run_mcp_demo(db_path, bug=scenario.bug, name=f"recording {scenario.name}", confdir=confdir)
    return run_demo(db_path, bug=scenario.bug, pkce=scenario.pkce, name=f"recording {scenario.name}",
                    confdir=confdir, provider_port=provider_port)


def make(out: Path, names: list[str] | None = None, *, echo=print) -> dict:
    """Record and export the scenarios (all, or `names`) into `out`; returns the manifest written."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(out)
    chosen = [BY_NAME[name] for name in names] if names else SCENARIOS
    with tempfile.TemporaryDirectory(prefix="oauthtrace-recordings-") as work:
        db_path = str(Path(work) / "recordings.db")
        for scenario in chosen:
            result = record(scenario, db_path, str(Path(work) / "ca"))
            if result.trace_id is None:
                raise RuntimeError(f"{scenario.name}: nothing was recorded")
            with Store.open(db_path) as store:
                write_atomically(str(out / scenario.file),
                                 export_trace(store, str(result.trace_id), fmt="har"), private=False)
            manifest[scenario.file] = _entry(scenario, result)
            echo(f"{scenario.file}: {result.stored} hops, client answered "
                 f"{(result.outcome or {}).get('status')}")
    order = [scenario.file for scenario in SCENARIOS]  # the seed case first, as the README tells it
    manifest = {file: manifest[file] for file in sorted(manifest, key=lambda f: (order.index(f) if f in order
                                                                                 else len(order), f))}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "README.md").write_text(readme(manifest))
    return manifest


def _entry(scenario: Scenario, result) -> dict:
    return {
        "scenario": scenario.name, "kind": scenario.kind, "bug": scenario.bug, "pkce": scenario.pkce,
        "about": scenario.about, "expect": sorted(scenario.expect), "stall_seconds": scenario.stall_seconds,
        "provider": result.provider_url, "replay": scenario.replay,
    }


def _read_manifest(out: Path) -> dict:
    path = out / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else {}


def readme(manifest: dict) -> str:
    rows = []
    for file, entry in manifest.items():
        expect = ", ".join(f"`{rule}`" for rule in entry["expect"]) or "nothing (clean)"
        stall = f" (`--stall-seconds {entry['stall_seconds']:g}`)" if entry.get("stall_seconds") else ""
        replay = {"pass": "passes", "fail": "fails (client bug)"}.get(entry.get("replay"), "lint only")
        rows.append(f"| [`{file}`]({file}) | {entry['about']} | {expect}{stall} | {replay} |")
    return README_TEMPLATE.format(rows="\n".join(rows), origin=PROVIDER_ORIGIN)


README_TEMPLATE = """# Sample recordings

Real logins recorded by oauthtrace itself: each demo scenario (`oauthtrace demo --bug …`, `oauthtrace demo --mcp
--bug …`) run through the real proxy with the built-in user agent, then exported with `oauthtrace export` —
redacted, so passwords, client secrets, codes, tokens and cookies are fingerprints `‹redacted:…›` (equal values
stay equal) while `state`, `client_id` and every parameter name stay readable. Open them in any HAR viewer
(Chrome DevTools: Network → Import HAR), or lint them:

    oauthtrace import recordings/drop-state.har --db /tmp/samples.db
    oauthtrace check --db /tmp/samples.db

| file | what happens | `oauthtrace check` finds (errors and warnings) | replay against a correct provider |
|---|---|---|---|
{rows}

`manifest.json` holds the same facts for the test suite (`tests/test_recordings.py` lints every file and checks
that no secret of the demo is in any of them).

## Replaying them as regression tests

The plugin-style recordings all talk to the demo provider at `{origin}`. oauthtrace's pytest plugin replays
each one against whatever provider that origin is mapped to, with fresh `state`, codes and PKCE pairs, and the
password and client secret from the environment (the recordings hold only fingerprints of them):

    OAUTHTRACE_TARGETS="{origin}=http://127.0.0.1:8000" \\
    OAUTHTRACE_SECRET_PASSWORD=… OAUTHTRACE_SECRET_CLIENT_SECRET=… \\
        pytest recordings -k "not mcp"

A recording passes when its replay has none of the recording's errors left and no new ones: against a correct
provider, every provider bug above passes; `redirect-uri-mismatch` is the client's own mistake, re-sent by the
replay, and fails until the client is fixed. The MCP recordings involve three servers and are for linting.
`tests/test_recordings_replay.py` does exactly this against the demo's correct provider. How to keep your own
recordings as regression tests: [docs/regression-tests.md](../docs/regression-tests.md).

## Making them again

    python -m oauthtrace.demo.recordings                    # all of them (needs port 47601 free)
    python -m oauthtrace.demo.recordings --only drop-state  # one

Fingerprints are keyed per export, so a new run changes every fingerprint and timestamp, not the findings.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="recordings", help="folder to write (default: recordings)")
    parser.add_argument("--only", nargs="+", choices=list(BY_NAME), metavar="SCENARIO",
                        help=f"only these scenarios: {', '.join(BY_NAME)}")
    args = parser.parse_args(argv)
    make(Path(args.out), args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
