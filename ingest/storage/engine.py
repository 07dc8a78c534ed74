"""Engine factory: one place that knows how to open a pairwatch database.

``make_engine(url)`` accepts ``sqlite:///path`` (the parent directory is created) or
``postgresql+psycopg://...``. On SQLite every connection gets WAL journaling,
``synchronous=NORMAL`` and a 5 s busy timeout so one writer and many reader processes
coexist. On PostgreSQL ``trades`` is partitioned by day (see ``partitions``). With
``create=True`` (the ingestor and the CLI) the schema is created or migrated to the current
version (see ``migrations``); a reader (the dashboard) passes ``create=False``: nothing is
created, not even a SQLite file or its directory, and ``check_schema`` says whether the schema
it finds is usable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from ingest.storage.errors import NotInitialisedError, StorageError
from ingest.storage.migrations import ensure_schema

BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def sqlite_path(database: str | None) -> Path | None:
    """The file of SQLite database name ``database`` (None: in memory or a ``file:`` URI)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _prepare_sqlite_path(database: str | None) -> None:
    path = sqlite_path(database)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _sqlite_file_exists(database: str | None) -> bool:
    path = sqlite_path(database)
    return path is None or path.is_file()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Open the database at ``url`` and apply backend settings; ``create``: also create or
    migrate the schema (a reader passes False and runs no DDL)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"storage.url {url!r} is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if create:
            _prepare_sqlite_path(parsed.database)
        elif not _sqlite_file_exists(parsed.database):
            raise NotInitialisedError(
                f"database not initialised — start the ingestor (`python -m ingest run`): "
                f"{parsed.database} does not exist"
            )
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=4, max_overflow=4)
    else:
        raise StorageError(f"storage.url {url!r}: only sqlite and postgresql are supported")
    if create:
        try:
            ensure_schema(engine)
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StorageError(f"cannot open database {parsed!r}: {reason}") from None
    return engine
