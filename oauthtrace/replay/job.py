"""One replay from start to end: load the source, check what it needs, walk it, store it, lint it, compare."""

from __future__ import annotations

import os
from dataclasses import dataclass

from oauthtrace.analysis.engine import Report, analyze, check_trace, missing_sides
from oauthtrace.analysis.registry import RULES
from oauthtrace.errors import UserError
from oauthtrace.interchange.importer import read_file
from oauthtrace.model import Finding, Hop
from oauthtrace.replay.findings_diff import Diff, diff_findings, passed
from oauthtrace.replay.plan import (check_supported, check_targets, missing_secrets, recorded_flows, target_url,
                                    unsent_token_requests)
from oauthtrace.replay.runner import Replayer, RunResult
from oauthtrace.replay.secrets import Secrets
from oauthtrace.replay.session import Targets
from oauthtrace.store import Store


@dataclass
class Source:
    label: str  # how the user knows it: `trace 3 "demo drop-state"` or a file name
    hops: list[Hop]
    trace_id: int | None = None  # None for a file
    path: str | None = None


@dataclass
class ReplayResult:
    source: Source
    trace_id: int
    trace_name: str
    run: RunResult
    recorded: Report
    replayed: Report
    diff: Diff

    @property
    def passed(self) -> bool:
        return passed(self.diff, self.replayed.findings, self.run.completed)


def load_source(ref: str | None, store: Store | None) -> Source:
    """A recording file (HAR, oauthtrace JSON, mitmproxy flows) when `ref` is one, else a trace of the database."""
    if ref is not None and os.path.isfile(ref):
        parsed = read_file(ref)
        return Source(os.path.basename(ref), parsed.hops, None, ref)
    if store is None:
        raise UserError(f"no recording file {ref!r} and no database to look for a trace in")
    trace = store.resolve_trace(ref) if ref is not None else _latest_recording(store)
    return Source(f'trace {trace.id} "{trace.name}"', store.hops(trace.id), trace.id)


def _latest_recording(store: Store):
    """Without a SOURCE: the latest trace that is not itself a replay (replaying twice must not chain)."""
    recordings = [trace for trace in store.traces() if trace.source != "replay"]
    return recordings[-1] if recordings else store.resolve_trace(None)


def replay(source: Source, store: Store, *, targets: Targets, secrets: Secrets, client_auth: str | None = None,
           profile: str | None = None, timeout: float = 15.0) -> ReplayResult:
    flows = recorded_flows(source.hops)
    if not flows:
        raise UserError(f"{source.label} has no authorization request to replay")
    check_supported(flows)
    check_targets(flows, targets)
    missing = missing_secrets(flows, secrets, client_auth)
    if missing:
        raise UserError(secrets.describe_missing(missing))
    no_token = unsent_token_requests(flows, secrets, client_auth)
    recorded = analyze(source.hops, trace_id=source.trace_id or 0, profile=profile)  # checks --profile first
    run = Replayer(targets, secrets, client_auth=client_auth, timeout=timeout).run(flows, no_token=no_token)
    name = f"replay of {source.label}"
    trace_id = store.create_trace(name, source="replay", parent_id=source.trace_id)
    for hop in run.hops:
        hop.trace_id = trace_id
    store.insert_hops(run.hops)
    replayed = check_trace(store, trace_id, profile=profile)
    by_seq = {hop.seq: hop for hop in source.hops}
    diff = diff_findings(recorded.findings, replayed.findings, completed=run.completed,
                   client_side=lambda f: _client_side(f, by_seq, recorded.roles, targets),
                   needs_left_out=lambda f: run.token_left_out and _needs_back_channel(f.rule))
    return ReplayResult(source, trace_id, name, run, recorded, replayed, diff)


def _needs_back_channel(rule_id: str) -> bool:
    """A rule that cannot be evaluated from the front channel and metadata alone (RULES.md's "B", "F+B" …)."""
    rule = RULES.get(rule_id)
    return rule is not None and bool(missing_sides(rule.needs, {"F", "M"}))


def _client_side(finding: Finding, hops: dict[int, Hop], roles: dict[int, str], targets: Targets) -> bool:
    hop = hops.get(finding.hop) if finding.hop is not None else None
    if hop is None:
        return False
    return roles.get(hop.seq) == "callback" or targets.live_url(target_url(hop)) is None
