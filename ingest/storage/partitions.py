"""PostgreSQL day partitions of ``trades``: creation ahead of time and retention by dropping.

On PostgreSQL ``trades`` is declaratively partitioned by range of ``ts_ms``, one partition per
UTC day named ``trades_dYYYYMMDD``. PostgreSQL requires the partition key in every unique
key, so the primary key there is ``(symbol, trade_id, ts_ms)``; a Binance trade id never
changes its time, so this deduplicates exactly like ``(symbol, trade_id)`` does on SQLite.
Partitions are created for today and the next days when the schema is ensured, and on demand
for any day a write touches (backfill and imports reach into the past); retention drops whole
partitions, which is instant and never blocks writers.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable

from sqlalchemy import Connection

DAY_MS = 86_400_000
DAYS_AHEAD = 2
_NAME = re.compile(r"^trades_d(\d{8})$")

PARTITIONED_TRADES = """
CREATE TABLE IF NOT EXISTS trades (
    symbol VARCHAR(28) NOT NULL,
    trade_id BIGINT NOT NULL,
    ts_ms BIGINT NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    qty DOUBLE PRECISION NOT NULL,
    buyer_maker BOOLEAN NOT NULL,
    PRIMARY KEY (symbol, trade_id, ts_ms)
) PARTITION BY RANGE (ts_ms)
"""
TRADES_TIME_INDEX = "CREATE INDEX IF NOT EXISTS ix_trades_symbol_ts ON trades (symbol, ts_ms)"


def partition_name(day: int) -> str:
    """Name of the partition holding UTC day number ``day`` (days since the epoch)."""
    return "trades_d" + (dt.date(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")


def ensure_partitions(conn: Connection, days: Iterable[int]) -> None:
    """Create the partitions of the given UTC day numbers if they do not exist."""
    for day in sorted(set(days)):
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF trades "
            f"FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})"
        )


def create_partitioned_trades(conn: Connection) -> None:
    """Create the partitioned parent table, its time index and the next days' partitions."""
    conn.exec_driver_sql(PARTITIONED_TRADES)
    conn.exec_driver_sql(TRADES_TIME_INDEX)
    today = int(time.time() * 1000) // DAY_MS
    ensure_partitions(conn, range(today, today + DAYS_AHEAD + 1))


def drop_partitions_before(conn: Connection, cutoff_ms: int) -> list[str]:
    """Drop every day partition that ends at or before ``cutoff_ms``; returns their names."""
    children = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = 'trades' AND p.relnamespace = c.relnamespace "
        "AND pg_table_is_visible(p.oid)"
    ).scalars()
    dropped = []
    for name in children:
        match = _NAME.match(name)
        if not match:
            continue
        day = (dt.datetime.strptime(match.group(1), "%Y%m%d").date() - dt.date(1970, 1, 1)).days
        if (day + 1) * DAY_MS <= cutoff_ms:
            conn.exec_driver_sql(f"DROP TABLE {name}")
            dropped.append(name)
    return dropped
