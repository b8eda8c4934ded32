"""Command palette (ctrl+p): jump to a trace, to an exchange of the open trace, or to the hop a rule fired on."""

from __future__ import annotations

import asyncio
from functools import partial

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider

from oauthtrace.tui.text import one_line


class JumpCommands(Provider):
    async def startup(self) -> None:
        reader = self.app.reader
        try:
            self._traces = await asyncio.to_thread(reader.traces)  # the UI thread never reads the database
        except Exception:
            self._traces = []

    def _candidates(self) -> list[tuple[str, object, str]]:
        from oauthtrace.tui.screens.trace import TraceScreen

        found: list[tuple[str, object, str]] = []
        for row in getattr(self, "_traces", []):
            found.append((f"Open trace {row.trace.id}: {one_line(row.trace.name, 60)}", partial(self.app.open_trace, row.trace.id),
                          f"{row.trace.hop_count} hops"))
        screen = self.screen
        if isinstance(screen, TraceScreen) and screen.analysis is not None:
            for exchange in screen.analysis.exchanges:
                first = min(hop.seq for hop in exchange.hops)
                found.append((f"Go to exchange {exchange.index}", partial(screen.jump_to_hop, first),
                              f"{len(exchange.hops)} hops from #{first}"))
            seen: set[str] = set()
            for finding in screen.analysis.findings:
                if finding.rule in seen or finding.hop is None:
                    continue
                seen.add(finding.rule)
                found.append((f"Go to rule {finding.rule}", partial(screen.jump_to_hop, finding.hop),
                              f"{finding.severity} at #{finding.hop}"))
        return found

    async def discover(self) -> Hits:
        for text, command, help_text in self._candidates():
            yield DiscoveryHit(Text(text), command, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._candidates():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _highlighted(matcher, text), command, text=text, help=help_text)


def _highlighted(matcher, text: str) -> Text:
    """The candidate with the matched characters marked, as Text: Matcher.highlight would parse a trace name
    holding `[@click=…]` as markup."""
    shown = Text(text)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        shown.stylize("reverse", offset, offset + 1)
    return shown
