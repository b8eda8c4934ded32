"""The message a hop list posts about one of its rows: the screen only needs the hop's seq to show it."""

from __future__ import annotations

from textual.message import Message


class HopMessage(Message):
    def __init__(self, seq: int) -> None:
        super().__init__()
        self.seq = seq
