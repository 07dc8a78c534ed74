"""Schema versions: creation of a fresh database and in-place migration of an older one.

This module owns the ``schema_version`` bookkeeping. ``ensure_schema`` runs under a
cross-process lock (an ``flock`` beside a SQLite file, an advisory lock on PostgreSQL) because
the ingestor and every gunicorn worker open the database at the same moment on first start. A
fresh database gets the current tables and version; an older one gets each missing step of
``MIGRATIONS`` applied in order, in one transaction per step; a newer one is refused, so an old
release never writes a schema it does not understand.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, inspect, select, text

from ingest.storage.errors import NotInitialisedError, SchemaVersionError
from ingest.storage.partitions import create_partitioned_trades
from ingest.storage.records import REJECT_KINDS, LinkState, reject_column
from ingest.storage.schema import (
    SCHEMA_VERSION,
    feed_kind,
    history,
    klines,
    metadata,
    notifications,
    rule_states,
    schema_version,
    screens,
)

SCHEMA_LOCK_KEY = 0x70_61_69_73  # "pais"


def _v2_feed_counters(conn: Connection) -> None:
    """Version 2: rejected-frame and dropped-trade counters get their own status columns."""
    for column in ("rejected_frames", "dropped_trades"):
        conn.exec_driver_sql(
            f"ALTER TABLE feed_status ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
        )


def _v3_rule_states(conn: Connection) -> None:
    """Version 3: ``rule_states``, the alert worker's persisted state of each rule."""
    rule_states.create(conn, checkfirst=True)


def _v4_history(conn: Connection) -> None:
    """Version 4: ``klines`` and ``history``, exchange candles loaded before trades began."""
    klines.create(conn, checkfirst=True)
    history.create(conn, checkfirst=True)


def _v5_feed_kind(conn: Connection) -> None:
    """Version 5: ``feed_kind`` (which market and stream kind the stored trade ids belong to);
    ``feed_status.rest_note`` (what holds REST back) and the USD-M mark price columns; symbol
    columns wide enough for market-qualified keys such as ``usdm:1000SHIBUSDT``."""
    feed_kind.create(conn, checkfirst=True)
    for column, kind in (
        ("rest_note", "VARCHAR(200) NOT NULL DEFAULT ''"),
        ("mark_price", "FLOAT"),
        ("funding_rate", "FLOAT"),
        ("next_funding_ms", "BIGINT"),
    ):
        conn.exec_driver_sql(f"ALTER TABLE feed_status ADD COLUMN {column} {kind}")
    if conn.dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        present = inspect(conn)
        for table in ("trades", "bars_1s", "feed_status", "gaps", "klines", "history"):
            if present.has_table(table):
                conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN symbol TYPE VARCHAR(28)")


def _v6_typed_feed_status(conn: Connection) -> None:
    """Version 6: the connection state, the failed attempt and per-kind reject counters get
    their own ``feed_status`` columns (they were only words inside ``reason``)."""
    columns = [
        ("link_state", f"VARCHAR(16) NOT NULL DEFAULT '{LinkState.STARTING.value}'"),
        ("connect_error", "VARCHAR(200) NOT NULL DEFAULT ''"),
        ("retry_at_ms", "BIGINT"),
        *((reject_column(kind), "INTEGER NOT NULL DEFAULT 0") for kind in REJECT_KINDS),
    ]
    for column, kind in columns:
        conn.exec_driver_sql(f"ALTER TABLE feed_status ADD COLUMN {column} {kind}")


def _v7_screens(conn: Connection) -> None:
    """Version 7: ``screens``, the screener's stored ranking per timeframe and window."""
    screens.create(conn, checkfirst=True)


def _add_missing_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name → SQL type) a table lacks; a table not created yet gets them
    from the current schema later, and one an earlier step created already has them."""
    present = inspect(conn)
    if not present.has_table(table):
        return
    have = {column["name"] for column in present.get_columns(table)}
    for column, kind in columns.items():
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


def _v8_relationship_alerts(conn: Connection) -> None:
    """Version 8: rule kinds; relationship alerts (BROKEN/RESTORED, wider directions) keep the
    Engle-Granger p and the persistence streak of their rule."""
    kind = "VARCHAR(12) NOT NULL DEFAULT 'z'"
    _add_missing_columns(conn, "alerts", {"kind": kind, "eg_p": "FLOAT"})
    streak = "INTEGER NOT NULL DEFAULT 0"
    _add_missing_columns(conn, "rule_states", {"kind": kind, "last_p": "FLOAT", "streak": streak})
    if conn.dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        widen = {"alerts": "direction", "rule_states": "last_direction"}
        for table, column in widen.items():
            if inspect(conn).has_table(table):
                conn.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR(8)")


def _v9_notifications(conn: Connection) -> None:
    """Version 9: ``notifications``, the outbox of alerts to deliver to each apprise target."""
    notifications.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _v2_feed_counters,
    3: _v3_rule_states,
    4: _v4_history,
    5: _v5_feed_kind,
    6: _v6_typed_feed_status,
    7: _v7_screens,
    8: _v8_relationship_alerts,
    9: _v9_notifications,
}


@contextmanager
def _schema_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SCHEMA_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(Path(database).expanduser().resolve().with_suffix(".schema.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def ensure_schema(engine: Engine) -> int:
    """Create or migrate the schema to ``SCHEMA_VERSION``; returns the version found before."""
    with _schema_lock(engine):
        found = _stored_version(engine)
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"database schema version {found} is newer than this pairwatch "
                f"({SCHEMA_VERSION}); upgrade pairwatch"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1) if found else ():
            with engine.begin() as conn:
                MIGRATIONS[version](conn)
                conn.execute(insert(schema_version).values(version=version))
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                create_partitioned_trades(conn)
        metadata.create_all(engine)
        if not found:
            with engine.begin() as conn:
                conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
    return found


def check_schema(engine: Engine) -> None:
    """Refuse, without writing anything, a database a reader cannot use as it stands.

    Raises ``NotInitialisedError`` when the schema is absent or older than this code (the
    ingestor creates and migrates it) and ``SchemaVersionError`` when it is newer.
    """
    found = _stored_version(engine)
    if found == SCHEMA_VERSION:
        return
    if found > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"database not usable: schema version {found} is newer than this pairwatch "
            f"({SCHEMA_VERSION}); upgrade pairwatch"
        )
    state = "has no pairwatch tables" if not found else f"is at schema version {found}"
    raise NotInitialisedError(
        f"database not initialised — start the ingestor (`python -m ingest run`): the database "
        f"{state}, this pairwatch needs version {SCHEMA_VERSION}"
    )


def _stored_version(engine: Engine) -> int:
    """The newest recorded version, 0 for a database without pairwatch tables."""
    if not inspect(engine).has_table("schema_version"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.version)).scalars().all()
    return max(versions, default=0)
