"""A cheap proof that a database can be read right now: its schema version, read afresh.

A pooled SQLite connection answers from its page cache, so it can go on answering after its
file was overwritten with garbage. On SQLite ``probe_schema`` therefore reads ``schema_version``
on a DBAPI connection of its own, outside the pool (SQLite closes it itself, keeping the locks
of the process's other connections), and raises ``StorageError`` with SQLite's reason (``file
is not a database``, ``no such table: schema_version``) when that fails. On PostgreSQL the
server reads the pages, so a pooled connection does.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from ingest.storage.errors import StorageError
from ingest.storage.schema import schema_version

QUERY = select(func.max(schema_version.c.version))


def probe_schema(engine: Engine) -> None:
    """Read the schema version of ``engine``'s database; ``StorageError`` says why it cannot."""
    if engine.dialect.name != "sqlite":
        try:
            with engine.connect() as conn:
                conn.execute(QUERY)
        except SQLAlchemyError as exc:
            raise _unreadable(exc) from None
        return
    dialect = engine.dialect
    cargs, cparams = dialect.create_connect_args(engine.url)
    try:
        raw = dialect.connect(*cargs, **cparams)
        try:
            cursor = raw.cursor()
            cursor.execute(str(QUERY.compile(dialect=dialect)))
            cursor.fetchone()
        finally:
            raw.close()
    except dialect.loaded_dbapi.Error as exc:
        raise _unreadable(exc) from None


def _unreadable(exc: Exception) -> StorageError:
    """The error for a failed read, with the first line of the driver's reason."""
    lines = str(exc).strip().splitlines()
    return StorageError(f"database unreadable: {lines[0] if lines else type(exc).__name__}")
