"""Batches for the writer process, written into its pipe without ever making mitmproxy's event loop wait.

The pipe is non-blocking: what it does not take at once (the child busy, a burst larger than the pipe) stays here,
and the event loop calls back when the pipe has room (add_writer). Outside an event loop (a test driving the
addon, the proxy stopping) the rest is written out, waiting for the pipe as long as it takes.
"""

from __future__ import annotations

import os
import select
from collections import deque
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import asyncio

LIMIT_BYTES = 128 * 1024 * 1024  # waiting here beyond this, new batches are refused (the child is not keeping up)


class Outbox:
    def __init__(self, fd: int, on_lost: Callable[[int, OSError], None], *, limit: int = LIMIT_BYTES):
        """`on_lost(flows, error)`: the pipe broke (the child is gone) with `flows` flows still unwritten."""
        self._fd = fd
        self._on_lost = on_lost
        self._limit = limit
        self._queue: deque[list] = deque()  # [unwritten bytes, flows in the batch]
        self._bytes = 0
        self._watched_by: asyncio.AbstractEventLoop | None = None
        self.sent = 0  # flows wholly written into the pipe
        self._blocking_only = os.name == "nt"  # no non-blocking pipes nor add_writer for them on Windows
        if not self._blocking_only:
            os.set_blocking(fd, False)

    def send(self, data: bytes, flows: int) -> bool:
        """Queue a batch and write what the pipe takes now; False when it is refused, over the limit."""
        if self._bytes + len(data) > self._limit and self._queue:
            return False
        self._queue.append([memoryview(data), flows])
        self._bytes += len(data)
        self.drain()
        return True

    def drain(self) -> None:
        """Write what the pipe takes; within an event loop never wait, outside one wait until all is written."""
        loop = running_loop()
        wait = loop is None or self._blocking_only
        if self._write(wait):
            self._watch(loop if self._queue and not wait else None)

    def finish(self) -> None:
        """Write out everything queued, waiting for the pipe even on a running event loop: the writer is closing.

        `mitmdump -s` closes it from the done hook, on mitmproxy's loop, still running: drain() would leave there
        what the pipe had no room for, and closing the pipe then would cut a batch in half.
        """
        self._watch(None)
        self._write(wait=True)

    def _write(self, wait: bool) -> bool:
        """Write queued batches in order, waiting for the pipe if `wait`; False when the pipe broke."""
        try:
            while self._queue:
                entry = self._queue[0]
                try:
                    written = os.write(self._fd, entry[0])
                except BlockingIOError:
                    if not wait:
                        break
                    select.select([], [self._fd], [])
                    continue
                self._bytes -= written
                if written < len(entry[0]):
                    entry[0] = entry[0][written:]
                    continue
                self._queue.popleft()
                self.sent += entry[1]
        except OSError as exc:  # the child has gone: nothing queued can reach it any more
            lost = sum(flows for _, flows in self._queue)
            self._queue.clear()
            self._bytes = 0
            self._watch(None)
            self._on_lost(lost, exc)
            return False
        return True

    def _watch(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Have `loop` call drain() when the pipe has room (None: no longer)."""
        if self._watched_by is loop:
            return
        if self._watched_by is not None and not self._watched_by.is_closed():
            self._watched_by.remove_writer(self._fd)
        self._watched_by = loop
        if loop is not None:
            loop.add_writer(self._fd, self.drain)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running this thread (mitmproxy's, in the proxy), or None."""
    import asyncio  # loaded already on the proxy's side; the writer process, which imports this module, has no use

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
