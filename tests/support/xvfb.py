"""A virtual X display for a browser that opens a window (`record --browser`), on a machine without a desktop."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from contextlib import contextmanager


@contextmanager
def virtual_display(timeout: float = 30):
    """Start Xvfb on a display number it picks itself (-displayfd); yields the DISPLAY value."""
    binary = shutil.which("Xvfb")
    if binary is None:
        raise FileNotFoundError("Xvfb is not installed (apt-get install -y xvfb)")
    read_end, write_end = os.pipe()
    process = subprocess.Popen([binary, "-displayfd", str(write_end), "-nolisten", "tcp", "-screen", "0",
                                "1280x800x24"], pass_fds=(write_end,), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    os.close(write_end)
    try:
        number = b""
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_end], [], [], timeout)
            chunk = os.read(read_end, 16) if ready else b""
            if not chunk:
                raise RuntimeError("Xvfb did not say which display it opened")
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_end)
        process.terminate()
        process.wait(10)
