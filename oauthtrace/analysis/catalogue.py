"""The rule catalogue as data and as a plain table (for `oauthtrace rules`)."""

from __future__ import annotations

from oauthtrace.analysis.engine import load_rules
from oauthtrace.analysis.profiles import severity_table
from oauthtrace.model import blame_word


def catalogue() -> list[dict]:
    table = severity_table()
    return [
        {
            "id": rule.id, "family": rule.family, "title": rule.title, "severity": rule.severity,
            "profiles": {name: values[rule.id] for name, values in table.items() if rule.id in values},
            "blame": blame_word(rule.blame), "needs": rule.needs, "spec": rule.spec, "quote": rule.quote,
            "fix": rule.fix,
        }
        for rule in sorted(load_rules().values(), key=lambda r: (r.family, r.id))
    ]


def catalogue_text() -> str:
    rows = [("id", "severity", "blame", "side", "spec")]
    rows += [(r["id"], r["severity"], r["blame"], r["needs"], r["spec"]) for r in catalogue()]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    return "\n".join(lines) + f"\n\n{len(rows) - 1} rules; `oauthtrace rules --format json` for quotes and fixes.\n"
