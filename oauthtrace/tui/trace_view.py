"""What the trace screen knows of its trace, as plain data its behaviours (loading, live polling, filtering,
exporting) share, and the title line drawn from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from oauthtrace.model import Hop, Trace
from oauthtrace.tui.filters import HopFilter
from oauthtrace.tui.reader import ANALYSIS_LIMIT, Analysis, HopSource
from oauthtrace.tui.text import one_line


@dataclass
class TraceView:
    trace_id: int | None  # None while live and waiting for the recorder to create a trace
    live: bool = False
    trace: Trace | None = None  # None until its header is read
    span: tuple[int, int, int] = (0, 0, 0)  # lowest seq, highest seq, hop count
    analysis: Analysis | None = None
    filter: HopFilter = field(default_factory=HopFilter)
    filtered: list[int] = field(default_factory=list)  # the seqs the filter lets through, while there is one
    current_seq: int | None = None  # the hop the detail shows

    @property
    def analysable(self) -> bool:
        """Small enough for the UI to analyse itself (see reader.ANALYSIS_LIMIT)."""
        return self.span[2] <= ANALYSIS_LIMIT

    def known_hop(self, seq: int) -> Hop | None:
        """The hop when the analysis already holds it (every hop of an exchange), else None: read it then."""
        return self.analysis.hops.get(seq) if self.analysis else None

    def hop_source(self) -> HopSource:
        """The rows of the All hops list: every hop, or those the filter lets through."""
        return HopSource.for_span(self.span) if self.filter.empty else HopSource.for_seqs(self.filtered)

    def shown_seqs(self) -> set[int] | None:
        """The hop rows the swimlanes keep; None for all of them."""
        return None if self.filter.empty else set(self.filtered)

    def title(self) -> Text | None:
        """`Trace 3 name  12 hops  2 exchanges  1 error  ● LIVE  filter: …`; None before the trace is read."""
        if self.trace is None:
            return None
        text = Text(f"Trace {self.trace.id} ", style="bold")
        text.append(one_line(self.trace.name, 40), style="bold")
        text.append(f"  {self.span[2]} hops")
        analysis = self.analysis
        if analysis is not None and not analysis.note:
            text.append(f"  {len(analysis.exchanges)} exchange{'s' if len(analysis.exchanges) != 1 else ''}")
        if analysis is not None:
            counts = {s: sum(1 for f in analysis.findings if f.severity == s) for s in ("error", "warning", "info")}
            for severity, style in (("error", "bold red"), ("warning", "yellow"), ("info", "cyan")):
                if counts[severity]:
                    text.append(f"  {counts[severity]} {severity}{'s' if counts[severity] > 1 else ''}", style=style)
            if not analysis.findings and not analysis.note:
                text.append("  no findings", style="green")
        if self.live:
            text.append("  ● LIVE", style="bold green")
        if not self.filter.empty:
            shown = len(self.filtered)
            text.append(f"  filter: {one_line(self.filter.describe(), 50)} ({shown} hops)", style="bold magenta")
        return text
