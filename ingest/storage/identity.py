"""Whether a SQLite database path still names the file this process opened.

SQLite goes on reading and writing the file it has open after that file is deleted or another
one is moved onto its path, so a process would keep writing where nothing is kept, or keep
reading what nobody writes any more. ``FileWatch.of(engine)`` records the device and inode the
database path names when the watch begins; ``check`` compares them with what the path names now
and raises ``DatabaseLostError`` naming the path and what happened, including whether the file
this process still has open is deleted (its link count, from ``os.fstat`` on the process's own
descriptors of it as ``/proc/self/fd`` or ``/dev/fd`` lists them). It never opens or closes a
descriptor of the database itself: closing one would drop the POSIX locks SQLite holds on the
file for the whole process. PostgreSQL and in-memory databases have no file (``of`` gives None).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from ingest.storage.engine import sqlite_path
from ingest.storage.errors import DatabaseLostError

LOST = "database file was removed or replaced while running"
DESCRIPTOR_DIRS = ("/proc/self/fd", "/dev/fd")


@dataclass(frozen=True, slots=True)
class FileWatch:
    """The file ``path`` named, by device and inode, when the watch began."""

    path: Path
    device: int
    inode: int

    @classmethod
    def of(cls, engine: Engine) -> FileWatch | None:
        """Watch the file ``engine``'s database path names now (None: no file to watch)."""
        path = sqlite_path(engine.url.database) if engine.dialect.name == "sqlite" else None
        if path is None:
            return None
        found = os.stat(path)
        return cls(path.absolute(), found.st_dev, found.st_ino)

    def check(self) -> None:
        """Raise ``DatabaseLostError`` saying what happened unless ``path`` names the file."""
        try:
            found = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            there = "no file is there now"
        else:
            if (found.st_dev, found.st_ino) == (self.device, self.inode):
                return
            there = "another file is there now"
        links = self.open_links()
        if links == 0:
            there += "; the file this process has open is deleted"
        elif links is not None:
            there += "; the file this process has open lives on under another name"
        raise DatabaseLostError(
            f"{LOST}: {self.path} ({there}); restore it or start over, then restart pairwatch"
        )

    def open_links(self) -> int | None:
        """Link count of the watched file through a descriptor this process holds on it (None
        when it holds none, or its descriptors cannot be listed)."""
        for name in _descriptors():
            with contextlib.suppress(OSError, ValueError):  # closed since it was listed
                found = os.fstat(int(name))
                if (found.st_dev, found.st_ino) == (self.device, self.inode):
                    return found.st_nlink
        return None


def _descriptors() -> list[str]:
    """This process's open descriptor numbers, where the system lists them ([] elsewhere)."""
    for folder in DESCRIPTOR_DIRS:
        with contextlib.suppress(OSError):
            return os.listdir(folder)
    return []
