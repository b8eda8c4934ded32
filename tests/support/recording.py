"""Start `oauthtrace record` as a user would (a real process) and read where it listens."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

PROXY_LINE = re.compile(r"^Browser proxy\s+(http://\S+)")
REVERSE_LINE = re.compile(r"^Reverse proxy\s+(http://\S+) -> (\S+)")


@dataclass
class RecordProcess:
    process: subprocess.Popen
    proxy_url: str = ""
    reverse: dict[str, str] = field(default_factory=dict)  # upstream -> listener URL
    lines: list[str] = field(default_factory=list)

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> str:
        """Stop it and return everything it printed."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout)
        self._reader.join(timeout)
        return "\n".join(self.lines)


def start_record(db_path: str, *args: str, confdir: str, timeout: float = 30,
                 env: dict[str, str] | None = None) -> RecordProcess:
    """`env`: the whole environment to run it in (default: this process's)."""
    cmd = [sys.executable, "-m", "oauthtrace", "record", "--db", db_path, "--port", "0", "--confdir", confdir, *args]
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    record = RecordProcess(process)
    ready = threading.Event()

    def read():
        for line in process.stdout:
            record.lines.append(line.rstrip("\n"))
            if m := PROXY_LINE.match(line):
                record.proxy_url = m.group(1)
            if m := REVERSE_LINE.match(line):
                record.reverse[m.group(2)] = m.group(1)
            if line.startswith("Recording into"):
                ready.set()
        ready.set()

    record._reader = threading.Thread(target=read, daemon=True)
    record._reader.start()
    if not ready.wait(timeout) or not record.proxy_url:
        process.kill()
        raise AssertionError("oauthtrace record did not start:\n" + "\n".join(record.lines))
    return record


@contextmanager
def recording(db_path: str, *args: str, confdir: str, env: dict[str, str] | None = None):
    record = start_record(db_path, *args, confdir=confdir, env=env)
    try:
        yield record
    finally:
        if record.process.poll() is None:
            record.stop()
