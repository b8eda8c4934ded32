"""Mermaid `sequenceDiagram` text from participants, messages and notes, safe whatever the captured text holds.

Mermaid ends a message at `#`, `;` or a line break, reads `%%{…}%%` anywhere as a directive, strips
`style…:…#…;` patterns before parsing, renders `<…>` as HTML and `&…;` as entities. Message text therefore goes
out with every such character written as a Mermaid entity code (`#35;` for `#`), which Mermaid shows as the
character itself; control characters and line breaks become spaces.
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters written as `#<decimal>;` entity codes. `:` too: a message's text begins after the first colon, and
# a colon further on could let a captured "style…:…#…;" or "wrap:" reach Mermaid's pre-parse rewrites.
_ENTITY_CHARS = frozenset("#;:%<>&`")
MAX_TEXT = 160  # Mermaid does not wrap; a longer label makes an unreadable diagram

ARROWS = {"request": "->>", "response": "-->>", "failed": "--x"}


@dataclass
class Participant:
    id: str  # letters only: safe as a Mermaid identifier
    label: str


@dataclass
class Message:
    sender: str
    receiver: str
    text: str
    arrow: str = "request"  # a key of ARROWS


@dataclass
class Note:
    over: tuple[str, ...]  # one or two participant ids
    text: str


def escape(text: str, *, limit: int = MAX_TEXT) -> str:
    """`text` as one line of Mermaid message text that shows exactly these characters (cut at `limit`)."""
    flat = "".join(ch if ch.isprintable() else " " for ch in str(text))
    flat = " ".join(flat.split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return "".join(f"#{ord(ch)};" if ch in _ENTITY_CHARS else ch for ch in flat) or "∅"


def sequence_diagram(participants: list[Participant], steps: list[Message | Note]) -> str:
    """The diagram's source, without the Markdown fence."""
    known = {p.id for p in participants}
    lines = ["sequenceDiagram"]
    for participant in participants:
        if not participant.id.isalpha():
            raise ValueError(f"participant id {participant.id!r} must be letters only")
        lines.append(f"    participant {participant.id} as {escape(participant.label, limit=40)}")
    for step in steps:
        if isinstance(step, Note):
            unknown = [who for who in step.over if who not in known]
            if unknown or not 1 <= len(step.over) <= 2:
                raise ValueError(f"note over {step.over!r}: not one or two known participants")
            lines.append(f"    Note over {','.join(step.over)}: {escape(step.text)}")
        else:
            if step.sender not in known or step.receiver not in known:
                raise ValueError(f"message between unknown participants {step.sender!r}, {step.receiver!r}")
            lines.append(f"    {step.sender}{ARROWS[step.arrow]}{step.receiver}: {escape(step.text)}")
    return "\n".join(lines) + "\n"
