"""The recorder's problems while it runs (disk full, database deleted) as `Error: …` lines on stderr.

mitmproxy's own log handler would swallow them (its terminal log is off), and the writer process has none.
"""

from __future__ import annotations

import logging
import sys

LOGGER = "oauthtrace.capture"


class _UserLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{'Error' if record.levelno >= logging.ERROR else 'Warning'}: {record.getMessage()}"


def user_lines_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_UserLine())
    return handler
