"""Findings: what `check` found in a trace, replaced whole each time it runs."""

from __future__ import annotations

import json
from typing import Iterable

from oauthtrace.model import Finding
from oauthtrace.store.connection import StoreConnection
from oauthtrace.store.hop_rows import encode_json

# json.dumps with options builds an encoder per call: 34k findings on a 100k-hop trace
_encode_evidence = json.JSONEncoder(ensure_ascii=False, default=str).encode


class FindingQueries(StoreConnection):
    def replace_findings(self, trace_id: int, findings: Iterable[Finding]) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM findings WHERE trace_id = ?", (trace_id,))
            # the hop's id looked up by SQLite per finding (an index probe) rather than every hop's id read
            # into a dict first: a 100k-hop trace has a third as many findings as hops
            conn.executemany(
                "INSERT INTO findings (trace_id, hop_id, exchange, hop_seq, rule, severity, blame, message, spec,"
                " fix, evidence, count, hops)"
                " VALUES (?, (SELECT id FROM hops WHERE trace_id = ? AND seq = ?), ?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        trace_id, trace_id, f.hop, f.exchange, f.hop, f.rule, f.severity, f.blame, f.message,
                        f.spec, f.fix, _encode_evidence(f.evidence), f.count, _hops_json(f.hops),
                    )
                    for f in findings
                ],
            )

    def findings(self, trace_id: int) -> list[Finding]:
        rows = self.conn.execute(
            "SELECT rule, severity, blame, trace_id, exchange, hop_seq, message, spec, fix, evidence, count, hops"
            " FROM findings WHERE trace_id = ? ORDER BY id",
            (trace_id,),
        ).fetchall()
        return [Finding(*row[:9], evidence=json.loads(row[9] or "{}"), count=row[10], hops=json.loads(row[11]))
                for row in rows]

    def severity_counts(self) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        for trace_id, severity, n in self.conn.execute(
            "SELECT trace_id, severity, count(*) FROM findings GROUP BY trace_id, severity"
        ):
            counts.setdefault(trace_id, {})[severity] = n
        return counts


def _hops_json(hops: list[int]) -> str:
    if len(hops) == 1:
        return f"[{hops[0]}]"  # nearly every finding: one hop, no encoder call
    return encode_json(hops)
