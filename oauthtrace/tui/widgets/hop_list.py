"""The all-hops list: a Line-API ScrollView over SQLite pages, so a million hops open as fast as ten.

Only the rows on screen are rendered; their page (reader.PAGE rows) is fetched in a thread worker the first time
it is needed, and a row shows `…` until its page arrives. Nothing here reads the database on the UI thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from oauthtrace.timeline import listener_label, redirect_summary, status_word
from oauthtrace.tui.lanes import ROLE_STYLE, SEVERITY_MARK
from oauthtrace.tui.reader import PAGE, HopSource, Reader
from oauthtrace.tui.text import one_line
from oauthtrace.tui.widgets.hop_message import HopMessage

CACHED_PAGES = 64
_DIM, _RED, _YELLOW, _GREEN = Style(dim=True), Style(color="red", bold=True), Style(color="yellow"), Style(color="green")


@lru_cache(maxsize=64)
def _style(definition: str) -> Style:
    return Style.parse(definition) if definition else Style()


class HopList(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump_start", "First", show=False),
        Binding("end,G", "jump_end", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]
    COMPONENT_CLASSES = {"hop-list--cursor"}
    DEFAULT_CSS = """
    HopList { height: 1fr; }
    HopList > .hop-list--cursor { background: $primary 50%; text-style: bold; }
    HopList:focus > .hop-list--cursor { background: $accent; }
    """

    cursor = reactive(0, always_update=True, init=False)

    class Highlighted(HopMessage):
        """The cursor is on hop `seq`."""

    class Selected(HopMessage):
        """Enter on hop `seq`."""

    def __init__(self, reader: Reader, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reader = reader
        self.trace_id: int | None = None
        self.source = HopSource(count=0)
        self.roles: dict[int, str] = {}
        self.marks: dict[int, str] = {}
        self.seq_width = 3
        self._pages: OrderedDict[int, dict[int, tuple]] = OrderedDict()  # page -> row -> summary
        self._pending: set[int] = set()
        self._strips: dict[tuple[int, int], Strip] = {}  # (seq, width) -> the row drawn, until marks change
        self._generation = 0
        self.painted = 0  # rows painted with real data: lets tests and the benchmark see the first real paint
        self.last_painted_seq: int | None = None
        self.last_painted_at = 0.0  # perf_counter of that row's drawing (the benchmark times jumps with it)
        self.follow = False  # live: keep the cursor on the newest hop while it is on the last row

    # -- data ------------------------------------------------------------------------------------

    def show(self, trace_id: int, source: HopSource, *, max_seq: int | None = None) -> None:
        """Show `source`'s rows, from the top; drops every cached page."""
        self.trace_id = trace_id
        self._generation += 1
        self._pages.clear()
        self._pending.clear()
        self.source = source
        self.seq_width = max(3, len(str(max_seq or source.count)))
        self.virtual_size = Size(self.size.width, source.count)
        self.cursor = min(self.cursor, max(source.count - 1, 0)) if source.count else 0
        if source.count > PAGE:
            self._want((source.count - 1) // PAGE)  # End is the first jump people make: have it ready
        self.refresh()

    def grow(self, source: HopSource, *, max_seq: int | None = None) -> None:
        """Live mode: more rows arrived. Keeps full pages of a contiguous list; follows the end if the cursor was
        on the last row."""
        at_end = self.follow and self.cursor >= self.source.count - 1
        keep = not source.by_offset and source.seqs is None and not self.source.by_offset
        self._generation += 1
        if keep:
            for page in [p for p, rows in self._pages.items() if len(rows) < PAGE]:
                del self._pages[page]
        else:
            self._pages.clear()
        self._pending.clear()
        self.source = source
        self.seq_width = max(self.seq_width, len(str(max_seq or source.count)))
        self.virtual_size = Size(self.size.width, source.count)
        if at_end and source.count:
            self.cursor = source.count - 1
        self.refresh()

    def set_marks(self, roles: dict[int, str], marks: dict[int, str]) -> None:
        self.roles, self.marks = roles, marks
        self._strips.clear()
        self.refresh()

    def seq_at_cursor(self) -> int | None:
        row = self._row(self.cursor)
        if row is not None:
            return row[1]
        return self.source.seq_at(self.cursor)

    def move_to_seq(self, seq: int) -> bool:
        row = self.source.row_of(seq)
        if row is None:
            return False
        self.cursor = row
        return True

    def _row(self, index: int) -> tuple | None:
        rows = self._pages.get(index // PAGE)
        return rows.get(index) if rows is not None else None

    def _want(self, page: int) -> None:
        if page in self._pending or self.trace_id is None:
            return
        self._pending.add(page)
        generation, trace_id, source = self._generation, self.trace_id, self.source
        self.run_worker(lambda: self._fetch(generation, trace_id, source, page), thread=True, group="hop-pages",
                        exit_on_error=False)

    def _fetch(self, generation: int, trace_id: int, source: HopSource, page: int) -> None:
        rows = self.reader.page(trace_id, source, page)
        self.app.call_from_thread(self._arrived, generation, page, rows)

    def _arrived(self, generation: int, page: int, rows: list[tuple]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page)
        start = page * PAGE
        if self.source.seqs is not None or self.source.by_offset:
            by_row = {start + i: row for i, row in enumerate(rows)}
        else:
            by_row = {row[1] - self.source.first_seq: row for row in rows}
        self._pages[page] = by_row
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        self._announce()

    # -- rendering -------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        if y == 0:
            self._prefetch(index)
        if index >= self.source.count:
            return Strip.blank(width, self.rich_style)
        row = self._row(index)
        if row is None and (index // PAGE) not in self._pages:
            self._want(index // PAGE)
            strip = Strip([Segment("  …", _DIM)])
        elif row is None:  # a gap in the seqs (a hop still being written): drawn empty, not fetched again
            strip = Strip([Segment(f" #{self.source.seq_at(index) or '?'}", _DIM)])
        else:
            self.painted += 1
            self.last_painted_seq, self.last_painted_at = row[1], time.perf_counter()
            strip = self._strips.get((row[1], width))
            if strip is None:
                strip = Strip(self.row_segments(row))
                self._strips[(row[1], width)] = strip
                if len(self._strips) > 4 * PAGE:
                    self._strips.pop(next(iter(self._strips)))
        strip = strip.crop(0, width).extend_cell_length(width).apply_style(self.rich_style)
        if index == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("hop-list--cursor"))
        return strip

    def _prefetch(self, top: int) -> None:
        """The pages a page-up or page-down from here would show, fetched before the key is pressed."""
        height = max(self.size.height, 1)
        for index in (top - height, top + 2 * height):
            page = index // PAGE
            if 0 <= index < self.source.count and page not in self._pages:
                self._want(page)

    def row_segments(self, row: tuple) -> list[Segment]:
        """One row as segments built directly (no Text layout): this runs for every row scrolled into view."""
        _id, seq, _started, listener, method, url, status, location, error = row
        mark, mark_style = SEVERITY_MARK.get(self.marks.get(seq), (" ", ""))
        role = self.roles.get(seq, "")
        status_text = status_word(status, error)
        status_style = _RED if error is not None or status is None or status >= 400 else (
            _YELLOW if status >= 300 else _GREEN)
        segments = [
            Segment(mark, _style(mark_style)),
            Segment(f"#{seq:<{self.seq_width}} "),
            Segment(role.upper()[:10].ljust(10), _style(ROLE_STYLE.get(role, "dim"))),
            Segment(f"{one_line(listener_label(listener), 10):<10} ", _DIM),
            Segment(f"{one_line(method, 7):<7} "),
            Segment(f"{status_text:>5} ", status_style),
            Segment(one_line(_target(url), 70)),
        ]
        if location:
            segments.append(Segment(" → " + one_line(redirect_summary(location), 60), _DIM))
        return segments

    def row_text(self, row: tuple) -> Text:
        """The row as plain Text (for tests and exports of what the list shows)."""
        return Text("".join(segment.text for segment in self.row_segments(row)))

    # -- keys and mouse --------------------------------------------------------------------------

    def watch_cursor(self, cursor: int) -> None:
        top, height = int(self.scroll_y), self.scrollable_content_region.height or self.size.height
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif height and cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()
        self._announce()

    def _announce(self) -> None:
        seq = self.seq_at_cursor()
        if seq is not None and seq != getattr(self, "_announced", None):
            self._announced = seq
            self.post_message(self.Highlighted(seq))

    def action_move(self, delta: int) -> None:
        if self.source.count:
            self.cursor = max(0, min(self.source.count - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump_start(self) -> None:
        self.cursor = 0

    def action_jump_end(self) -> None:
        if self.source.count:
            self.cursor = self.source.count - 1

    def action_select(self) -> None:
        seq = self.seq_at_cursor()
        if seq is not None:
            self.post_message(self.Selected(seq))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < self.source.count:
            self.cursor = index
            if event.chain >= 2:
                self.action_select()


def _target(url: str) -> str:
    """host:port/path?query without the scheme."""
    return url.split("://", 1)[-1]
