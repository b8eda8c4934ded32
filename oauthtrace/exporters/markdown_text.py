"""Captured and project text as Markdown that shows it literally: inline code, escaped prose, fenced blocks."""

from __future__ import annotations

MAX_VALUE = 120


def flat(text: str) -> str:
    """`text` on one line of printable characters: control characters as their escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def cut(text: str, limit: int = MAX_VALUE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code(text: str, *, table: bool = False) -> str:
    """`text` as an inline code span that shows it literally (a table cell also needs `|` escaped)."""
    text = cut(flat(text))
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or not text.strip() else text
    if table:
        padded = padded.replace("|", "\\|")
    return f"{fence}{padded}{fence}"


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+!|~")


def plain(text: str | None, *, table: bool = False) -> str:
    """Captured or user text as literal Markdown prose: every character that could format, link or open HTML
    is backslash-escaped; control characters are shown as escapes."""
    return "".join(f"\\{ch}" if ch in _MARKDOWN_SPECIAL else ch for ch in flat(text or ""))


def trusted(text: str | None) -> str:
    """The project's own text (rule quotes, fixes): its Markdown (`code`) kept, on one line, no raw HTML."""
    return " ".join(flat(text or "").split()).replace("<", "&lt;")


def fenced(text: str, language: str = "") -> list[str]:
    """A fenced code block whose fence no line of `text` can close."""
    longest = max((len(line) - len(line.lstrip("`")) for line in text.splitlines()), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]
