"""Reading hops: a whole trace for the analysis, one hop at a time, and light rows for the terminal UI's long
virtual lists, read by ranges of the (trace_id, seq) index so that a million-hop trace pages as fast as a small one."""

from __future__ import annotations

from oauthtrace.model import Hop
from oauthtrace.store.connection import StoreConnection
from oauthtrace.store.hop_rows import SELECT_HOP, hops_from_rows

# What a list row shows: (id, seq, started, listener, method, url, status, location, error).
_SUMMARY = "SELECT id, seq, started, listener, method, url, status, location, error FROM hops"


class HopReads(StoreConnection):
    def hops(self, trace_id: int, *, after_seq: int | None = None, limit: int | None = None) -> list[Hop]:
        sql = f"{SELECT_HOP} WHERE trace_id = ?"
        args: list = [trace_id]
        if after_seq is not None:
            sql += " AND seq > ?"
            args.append(after_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return hops_from_rows(self.conn.execute(sql, args))

    def hop(self, hop_id: int) -> Hop | None:
        found = hops_from_rows(self.conn.execute(f"{SELECT_HOP} WHERE id = ?", (hop_id,)))
        return found[0] if found else None

    def hop_by_seq(self, trace_id: int, seq: int) -> Hop | None:
        found = hops_from_rows(self.conn.execute(
            f"{SELECT_HOP} WHERE trace_id = ? AND seq = ?", (trace_id, seq)
        ))
        return found[0] if found else None

    def hop_count(self, trace_id: int | None = None) -> int:
        if trace_id is None:
            return self.conn.execute("SELECT count(*) FROM hops").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]

    def max_seq(self, trace_id: int) -> int:
        row = self.conn.execute("SELECT max(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()
        return row[0] or 0

    def seq_span(self, trace_id: int) -> tuple[int, int, int]:
        """(lowest seq, highest seq, hop count) of a trace; (0, 0, 0) when it has no hops."""
        row = self.conn.execute(
            "SELECT min(seq), max(seq), count(*) FROM hops WHERE trace_id = ?", (trace_id,)
        ).fetchone()
        return (row[0] or 0, row[1] or 0, row[2] or 0)

    def seq_bounds(self, trace_id: int) -> tuple[int, int]:
        """(lowest seq, highest seq) from the (trace_id, seq) index alone: instant at any size, unlike a count."""
        low = self.conn.execute("SELECT min(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]
        high = self.conn.execute("SELECT max(seq) FROM hops WHERE trace_id = ?", (trace_id,)).fetchone()[0]
        return (low or 0, high or 0)

    def hop_summaries(self, trace_id: int, offset: int = 0, limit: int = 100) -> list[tuple]:
        """Light rows for long lists: (id, seq, started, listener, method, url, status, location, error)."""
        return self.conn.execute(
            f"{_SUMMARY} WHERE trace_id = ? ORDER BY seq LIMIT ? OFFSET ?", (trace_id, limit, offset),
        ).fetchall()

    def hop_summaries_between(self, trace_id: int, first_seq: int, last_seq: int) -> list[tuple]:
        """hop_summaries rows with first_seq <= seq <= last_seq: an index range, fast at any depth (no OFFSET)."""
        return self.conn.execute(
            f"{_SUMMARY} WHERE trace_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (trace_id, first_seq, last_seq),
        ).fetchall()

    def hop_summaries_for(self, trace_id: int, seqs: list[int]) -> list[tuple]:
        """hop_summaries rows for the given sequence numbers, in seq order."""
        rows: list[tuple] = []
        for start in range(0, len(seqs), 500):  # stay under SQLite's bound-parameter limit
            chunk = seqs[start:start + 500]
            rows += self.conn.execute(
                f"{_SUMMARY} WHERE trace_id = ? AND seq IN ({', '.join('?' * len(chunk))})",
                (trace_id, *chunk),
            ).fetchall()
        return sorted(rows, key=lambda row: row[1])

    def filter_hop_seqs(
        self, trace_id: int, *, host: str | None = None, status: tuple[int, int] | None = None,
        limit: int = 1_000_000,
    ) -> list[int]:
        """Sequence numbers of hops whose URL host contains `host` and whose status is within `status`."""
        sql = "SELECT seq FROM hops WHERE trace_id = ?"
        args: list = [trace_id]
        if host:
            # the authority sits between '://' and the next '/': match it there, not anywhere in the URL
            sql += (" AND instr(lower(substr(url, instr(url, '://') + 3,"
                    " CASE WHEN instr(substr(url, instr(url, '://') + 3), '/') > 0"
                    " THEN instr(substr(url, instr(url, '://') + 3), '/') - 1 ELSE length(url) END)), lower(?)) > 0")
            args.append(host)
        if status:
            sql += " AND status BETWEEN ? AND ?"
            args += list(status)
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit)
        return [row[0] for row in self.conn.execute(sql, args)]
