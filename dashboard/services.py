"""The per-process data context of the dashboard: settings, clock, a read-only engine, memo.

``DataService`` is what ``dashboard.context.services()`` returns inside a request. It owns one
SQLAlchemy engine per process, created lazily (so gunicorn workers never share one) with
``make_engine(create=False)``: the dashboard is a reader and runs no DDL, so a read-only database
role works and a mistyped ``storage.url`` is refused instead of creating an empty database. The
schema is checked on each use until it is found usable (the ingestor may create it a moment
after the dashboard starts); until then every read raises ``NotInitialisedError`` whose message
says to start the ingestor. On each use it also checks that a SQLite path still names the file
the engine opened (``FileWatch``, one ``stat``): when that file was removed or replaced while
running, the engine is disposed, so no pooled connection keeps serving the old file, and every
later use raises ``DatabaseLostError`` saying so, until the process restarts (the supervisor
does not restart the ingestor then either). ``check_database`` is what ``/healthz`` asks: that,
and the schema read afresh (``probe_schema``), so a file overwritten with garbage is noticed.
It also owns the data stamp, the shared-results memo and the heavy-work limiter
(``dashboard.limiter``); the reads themselves live in ``dashboard.data``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import Engine

from dashboard.limiter import HeavyLimiter
from dashboard.memo import SharedResults
from ingest.settings import Settings
from ingest.storage import (
    DatabaseLostError,
    FileWatch,
    check_schema,
    data_versions,
    last_bar_time,
    make_engine,
    probe_schema,
)

T = TypeVar("T")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DataService:
    """Settings, clock, engine, shared results and heavy slots of one dashboard process."""

    def __init__(
        self, settings: Settings, clock_ms: Callable[[], int] = _now_ms, share: bool = True
    ) -> None:
        self.settings = settings
        self._share = share
        self._clock_ms = clock_ms
        self._engine: Engine | None = None
        self._watch: FileWatch | None = None
        self._lost = ""
        self._schema_ok = False
        self._engine_lock = threading.Lock()
        self._shared = SharedResults()
        self.limiter = HeavyLimiter()

    @property
    def engine(self) -> Engine:
        """The process's read-only engine, once the schema it finds is usable, while its file
        is the one it opened."""
        with self._engine_lock:
            if self._lost:
                raise DatabaseLostError(self._lost)
            if self._engine is None:
                engine = make_engine(self.settings.storage.url, create=False)
                self._watch = FileWatch.of(engine)
                self._engine = engine
            elif self._watch is not None:
                self._check_file(self._watch, self._engine)
            if not self._schema_ok:
                check_schema(self._engine)
                self._schema_ok = True
            return self._engine

    def _check_file(self, watch: FileWatch, engine: Engine) -> None:
        """Drop ``engine`` for good once its file is gone: its pooled connections would go on
        reading the old file."""
        try:
            watch.check()
        except DatabaseLostError as exc:
            self._lost = str(exc)
            self._engine = None
            engine.dispose()
            raise

    def check_database(self) -> None:
        """Raise ``StorageError`` saying why unless the database exists, is the file the engine
        opened, has a usable schema and can be read now (on a fresh connection)."""
        probe_schema(self.engine)

    def now_ms(self) -> int:
        return self._clock_ms()

    def data_stamp(self) -> tuple[object, ...]:
        """What every page result depends on: newest bars, heartbeat, latest alert and gap."""
        with self.engine.connect() as conn:
            newest = last_bar_time(conn, self.settings.symbols)
            return (tuple(sorted(newest.items())), *data_versions(conn))

    def shared(self, name: str, args: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """``compute()``, shared by every request for the same page, arguments and data."""
        if not self._share:
            return compute()
        key = (name, args, self.data_stamp(), self.now_ms() // 1000)
        return self._shared.get(key, compute)

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` (which must say everything the result depends on)."""
        return self._shared.get(("cached", key), compute) if self._share else compute()
