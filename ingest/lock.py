"""Single-instance lock: at most one ingestor writes a database.

On SQLite the lock is an ``flock`` on ``<database>.lock`` beside the file; on PostgreSQL it is a
session advisory lock held on a dedicated connection. Both vanish when the process dies, even
by ``kill -9``, so a crash never leaves a stale lock behind, and a standby can wait for the lock
and take over. ``still_held`` tells whether the PostgreSQL session is still alive: if it ended
(server restart, ``pg_terminate_backend``), the lock is gone and another ingestor may hold it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ingest.errors import LockHeldError

ADVISORY_KEY = 0x70_61_69_72  # "pair"


class InstanceLock:
    """Held from ``acquire`` until ``release`` (or process exit)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._file: IO[str] | None = None
        self._conn: Connection | None = None

    def describe(self) -> str:
        """Where the lock lives, for messages."""
        if self._engine.dialect.name == "sqlite":
            return str(self._lock_path())
        return f"PostgreSQL advisory lock {ADVISORY_KEY}"

    def _lock_path(self) -> Path:
        database = self._engine.url.database or "memory"
        return Path(database).expanduser().resolve().with_name(Path(database).name + ".lock")

    def try_acquire(self) -> bool:
        """Take the lock if free; True on success."""
        if self._engine.dialect.name == "sqlite":
            handle = open(self._lock_path(), "a+", encoding="utf-8")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return False
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._file = handle
            return True
        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def acquire(self, wait: bool = False, stop: threading.Event | None = None) -> None:
        """Take the lock; raise ``LockHeldError`` or, with ``wait``, poll until it frees."""
        stop = stop or threading.Event()
        while not self.try_acquire():
            if not wait:
                raise LockHeldError(
                    f"another ingestor is already writing this database ({self.describe()}); "
                    "stop it first or run this one with --standby"
                )
            if stop.wait(1.0):
                raise LockHeldError("stopped while waiting for the lock")

    def still_held(self) -> bool:
        """False when the PostgreSQL session holding the advisory lock has ended (lock lost)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except DBAPIError:
            return False
        return True

    def release(self) -> None:
        """Give the lock back."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):  # a lost session has nothing left to release
                self._conn.close()
            self._conn = None
