"""The order of imported hops: the recorder's own sequence when the file kept it, else start time; seq from 1."""

from __future__ import annotations

from oauthtrace.model import Hop


def number_hops(hops: list[Hop], recorded_seqs: list[int | None] | None = None) -> list[Hop]:
    """Sort and renumber in place. A recording's seq is kept when every hop has a distinct one (an oauthtrace
    export, a flow file written with the recorder), so findings keep pointing at the same hop numbers."""
    seqs = recorded_seqs or []
    if len(seqs) == len(hops) and all(isinstance(s, int) for s in seqs) and len(set(seqs)) == len(seqs):
        order = sorted(range(len(hops)), key=lambda i: seqs[i])
    else:
        order = sorted(range(len(hops)), key=lambda i: hops[i].started or 0.0)  # stable: ties keep the file's order
    ordered = [hops[i] for i in order]
    for seq, hop in enumerate(ordered, 1):
        hop.seq = seq
    return ordered
