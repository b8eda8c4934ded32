"""Captured text as Rich Text: never markup, never terminal control sequences.

Everything the UI shows from a recording (URLs, headers, bodies, names) goes through `plain`, so a header holding
`[bold]`, `[@click=app.quit]` or `[link=…]` is displayed as those characters and an ESC byte cannot move the cursor.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(value: str) -> str:
    """Control characters (and bidi overrides) as `\\xNN` / `\\uNNNN` escapes; tabs and newlines kept."""
    return _CONTROL.sub(_escape, value)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value, style: str = "") -> Text:
    """A Text holding `value` literally (None shows as ∅)."""
    if value is None:
        return Text("∅", style="dim")
    return Text(visible(str(value)), style=style, no_wrap=False)


def one_line(value, width: int | None = None) -> str:
    """`value` on one line (newlines shown as ⏎), cut to `width` with an ellipsis."""
    text = visible(str(value)).replace("\r", "").replace("\n", "⏎").replace("\t", " ")
    if width is not None and len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text


def short(value: str | None, keep: int = 6) -> str:
    """A value cut to a recognisable prefix, as the findings quote it: `6ca9HZ…`; ∅ when absent."""
    if value is None:
        return "∅"
    if value == "":
        return "\"\""
    text = one_line(value)
    return text if len(text) <= keep + 1 else text[:keep] + "…"
