"""Cyclic garbage collection held off while a large trace is parsed, stored or analysed.

Those steps allocate a small object or several per hop and make almost no reference cycles, so the collector's
passes find nothing to free, yet each pass rescans every object still alive: on a large trace that rescanning costs
about as much as the work itself. Reference counting still frees everything as usual.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """No cyclic collection inside the block; the collector is restored as it was (nested blocks leave it to the
    outermost). `freeze`: move what the block left alive to the permanent generation, so no later pass (nor the one
    at exit) rescans it — for a command that ends soon after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
