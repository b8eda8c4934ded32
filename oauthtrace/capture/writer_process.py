"""The recorder's writer in a process of its own, fed through a pipe.

mitmproxy's event loop bounds the proxy's throughput, and every thread of its process takes turns with it for the
GIL: a writer thread converting and storing hops there took its time from the loop (benchmarks/proxy_overhead).
So the loop only reads each flow's parts (flows.flow_parts, about 10 µs), and every BATCH_SECONDS or BATCH_ROWS
flows hands them, marshalled, to a pipe that never makes it wait (capture/outbox.py). A child process converts them
and commits them with HopWriter, on the other core.

The child ends on end of file, never on a signal: Ctrl-C reaches the whole process group, and a proxy killed
outright still closes the pipe, so whatever the child was sent gets stored.
"""

from __future__ import annotations

import json
import logging
import marshal
import os
import select
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from oauthtrace.capture.outbox import Outbox, running_loop
from oauthtrace.capture.writer import BATCH_ROWS, BATCH_SECONDS, HopWriter, WriterStats
from oauthtrace.errors import UserError
from oauthtrace.flows import flow_parts

log = logging.getLogger(__name__)

START_SECONDS = 30.0  # for the child to open the database and say so
PIPE_BYTES = 1 << 20  # a larger pipe lets a burst of flows go out without waiting for the child to read it
_READY = "ready"
_FAILED = "error "


class ProcessWriter:
    """HopWriter's interface (start, put, close -> WriterStats) with the work done in a child process.

    put() runs on mitmproxy's event loop; so do the flushes it schedules. close() runs after the loop has ended
    (ProxyRunner) or on it, from the done hook (`mitmdump -s`): either way it waits until all is in the pipe.
    """

    def __init__(self, db_path: str, trace_name: str, **options):
        """HopWriter's arguments (source, body_cap, listeners), handed to the HopWriter in the child."""
        self.db_path = db_path
        self._writer_args = {"db_path": db_path, "trace_name": trace_name, **options}
        self.stats = WriterStats()  # what went wrong on this side; the child's figures are added at close()
        self._process: subprocess.Popen | None = None
        self._pending: list[tuple[int, tuple]] = []
        self._outbox: Outbox | None = None
        self._closed = False
        self._child_lost = False

    def start(self) -> None:
        """Start the child and wait until it has the database open: a bad path fails here, in one line."""
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, json.dumps(self._writer_args)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(), bufsize=0,
            )
        except OSError as exc:  # no Python to run it with (a frozen mitmproxy binary), no processes left
            raise UserError(f"cannot start the recorder's writer process: {exc.strerror or exc}") from None
        _widen_pipe(self._process.stdin.fileno())
        answer = _read_line(self._process.stdout, START_SECONDS)
        if answer == _READY:
            self._outbox = Outbox(self._process.stdin.fileno(), self._pipe_broke)
            return
        self._process.kill()
        self._process.wait()
        if answer.startswith(_FAILED):
            raise UserError(answer[len(_FAILED):])
        raise UserError(f"the recorder's writer process did not start ({answer or 'no answer'})")

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def put(self, flow, seq: int) -> None:
        if self._closed:  # never silently: the flow is counted as lost
            self.stats.failed += 1
            self._say(f"flow #{seq} finished after the recorder had stopped; not stored")
            return
        try:
            parts = flow_parts(flow)
        except Exception as exc:  # one odd flow must not cost the others; the message may quote captured data
            self.stats.failed += 1
            self.stats.last_error = f"could not read flow #{seq}: {type(exc).__name__}"
            self._say(self.stats.last_error)
            return
        self._pending.append((seq, parts))
        if len(self._pending) >= BATCH_ROWS:
            self.flush()
        elif len(self._pending) == 1:
            self._flush_later()

    def flush(self) -> None:
        """Send what is pending to the child."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        if self._child_lost:  # said when it happened; the total is in the final figures
            self.stats.failed += len(batch)
            return
        data, count = _marshalled(batch, self._unsendable)
        if not self._outbox.send(data, count):
            self.stats.failed += count
            self.stats.last_error = "the writer process is not keeping up"
            self._say(f"{self.stats.last_error}: dropping flows until it does")

    def close(self, timeout: float = 60.0) -> WriterStats:
        """Flush, let the child store everything and stop; its figures and this side's. Safe to call twice."""
        if self._closed or self._process is None:
            return self.stats
        self.flush()
        self._outbox.finish()  # whatever the pipe had no room for goes now, waiting, even on a running loop
        self._closed = True
        self._process.stdin.close()
        report = _read_line(self._process.stdout, timeout)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._merge(report)
        return self.stats

    def _flush_later(self) -> None:
        loop = running_loop()
        if loop is None:  # called outside an event loop (a test driving the addon's hooks): send at once
            self.flush()
            return
        loop.call_later(BATCH_SECONDS, self.flush)

    def _merge(self, report: str) -> None:
        try:
            child = WriterStats(**json.loads(report))
        except (ValueError, TypeError):  # killed, say by the out-of-memory killer: nothing sent is confirmed
            sent = self._outbox.sent
            self.stats.failed += sent
            self.stats.last_error = (f"the writer process ended without a report (exit {self._process.returncode}); "
                                     f"{sent} hop(s) sent to it are unconfirmed")
            self._say(self.stats.last_error)
            return
        mine = self.stats
        unaccounted = self._outbox.sent - (child.stored + child.failed)
        if unaccounted > 0:  # sent whole, yet the child neither stored nor counted them: a batch reached it cut
            child.failed += unaccounted
            mine.last_error = f"{unaccounted} hop(s) sent to the writer process were not received whole"
            self._say(mine.last_error)
        child.failed += mine.failed
        child.last_error = mine.last_error or child.last_error
        child.errors = (mine.errors + child.errors)[-20:]
        self.stats = child

    def _unsendable(self, seq: int) -> None:
        self.stats.failed += 1
        self.stats.last_error = f"could not send flow #{seq} to the writer process"
        self._say(self.stats.last_error)

    def _pipe_broke(self, count: int, error: OSError) -> None:
        self._child_lost = True
        self.stats.failed += count
        self.stats.last_error = f"the writer process has stopped ({error.strerror or error})"
        self._say(f"{self.stats.last_error}: {count} hop(s) not stored")

    def _say(self, message: str) -> None:
        if not self.stats.errors or self.stats.errors[-1] != message:
            log.error(message)
            self.stats.errors.append(message)
            del self.stats.errors[:-20]


def _marshalled(batch: list, on_unsendable) -> tuple[bytes, int]:
    """The batch as bytes for the pipe, and how many flows they carry."""
    try:
        return marshal.dumps(batch), len(batch)
    except ValueError:  # a value marshal cannot carry (a str subclass another addon put on the flow): count that one
        sendable = []
        for item in batch:
            try:
                marshal.dumps(item)
                sendable.append(item)
            except ValueError:
                on_unsendable(item[0])
        return marshal.dumps(sendable), len(sendable)


def _widen_pipe(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or above the system's limit: the default will do
        pass


def _read_line(stream, timeout: float) -> str:
    if os.name != "nt":  # Windows cannot wait on a pipe with select: there the read just blocks
        ready, _, _ = select.select([stream], [], [], timeout)
        if not ready:
            return ""
    return stream.readline().decode("utf-8", "replace").strip()


def _child_env() -> dict:
    """The parent's environment, with this package importable even when it runs from a source tree."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


# -- the child ---------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    [writer_args] = argv
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    from oauthtrace.capture.userlog import LOGGER, user_lines_handler

    logging.getLogger(LOGGER).addHandler(user_lines_handler())
    writer = HopWriter(**json.loads(writer_args))
    try:
        writer.start()
    except UserError as exc:
        _answer(_FAILED + str(exc))
        return 2
    _answer(_READY)
    _receive(sys.stdin.buffer, writer)
    _answer(json.dumps(asdict(writer.close())))
    return 0


def _receive(stream, writer: HopWriter) -> None:
    while True:
        try:
            batch = marshal.load(stream)
        except EOFError:
            return
        except (ValueError, TypeError):  # cut off mid-batch: the proxy died, or closed the pipe, while writing it
            log.error("a batch of flows from the proxy arrived cut off; its flows are not stored")
            return
        for seq, parts in batch:
            writer.put_parts(parts, seq)
        writer.commit_soon()  # the proxy already waited up to BATCH_SECONDS to send it


def _answer(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
