"""Noticing that the database file was deleted or replaced while the recorder holds it open.

On Linux and macOS a deleted SQLite file stays writable through the open connection, so commits go on
"succeeding" into a file nobody can open again: without this check a whole recording vanishes without a word.
"""

from __future__ import annotations

import os

from oauthtrace.store import Store

SAME, DELETED, REPLACED = "same", "deleted", "replaced"


class DbFile:
    """The identity (device, inode) of the file the recorder opened."""

    def __init__(self, path: str):
        self.path = path
        self.identity = _identity(path)

    def status(self) -> str:
        now = _identity(self.path)
        if now is None:
            return DELETED
        return SAME if now == self.identity else REPLACED

    def remember(self) -> None:
        self.identity = _identity(self.path)


def restore(store: Store, path: str) -> None:
    """Write the deleted database back at `path` from the still-open connection, and close that connection.

    The copy goes to a spare name first and is linked into place, so a file that appeared at `path` meanwhile
    is never overwritten. The old connection is closed before the link: closing removes `path`-wal and -shm by
    name, which must not be the new file's. Raises (and keeps `store` open) when the copy cannot be written.
    """
    spare = f"{path}.restoring-{os.getpid()}"
    try:
        store.checkpoint()
        store.copy_to(spare)
        store.close()
        os.link(spare, path)
    finally:
        if os.path.exists(spare):
            os.unlink(spare)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino
