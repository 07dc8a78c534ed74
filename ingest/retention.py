"""Retention of raw trades: old ``trades`` rows go, ``bars_1s`` stay.

``prune_once`` removes trades older than ``storage.retention_days``. On SQLite it deletes in
chunks of a few thousand rows per short transaction, oldest first, pausing between chunks, so
the writer is never blocked for more than a few milliseconds. On PostgreSQL it drops whole day
partitions (instant, no dead rows), so retention there works at day granularity. ``Pruner``
runs it every few minutes in the ingest process.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine

from ingest.storage import delete_trades_before
from ingest.storage.partitions import drop_partitions_before
from ingest.worker import Worker

log = logging.getLogger(__name__)
CHUNK_ROWS = 5000
PAUSE_S = 0.02
PRUNE_EVERY_S = 300.0


def prune_once(
    engine: Engine,
    symbols: tuple[str, ...],
    retention_days: float,
    now_ms: int,
    stop: threading.Event | None = None,
) -> int:
    """Delete trades older than the retention; returns rows (SQLite) or partitions (PG) removed."""
    cutoff_ms = now_ms - int(retention_days * 86_400_000)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            dropped = drop_partitions_before(conn, cutoff_ms)
        return len(dropped)
    removed = 0
    for symbol in symbols:
        while stop is None or not stop.is_set():
            with engine.begin() as conn:
                deleted = delete_trades_before(conn, symbol, cutoff_ms, CHUNK_ROWS)
            removed += deleted
            if deleted < CHUNK_ROWS:
                break
            time.sleep(PAUSE_S)
    return removed


class Pruner(Worker):
    """Runs ``prune_once`` every ``PRUNE_EVERY_S`` seconds until stopped."""

    def __init__(self, engine: Engine, symbols: tuple[str, ...], retention_days: float) -> None:
        super().__init__("retention")
        self._engine = engine
        self._symbols = symbols
        self._days = retention_days

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                removed = prune_once(
                    self._engine,
                    self._symbols,
                    self._days,
                    time.time_ns() // 1_000_000,
                    self._stopping,
                )
                if removed:
                    log.info("retention: removed %d old trade rows/partitions", removed)
            except Exception:
                log.exception("retention pass failed; will retry")
            self._stopping.wait(PRUNE_EVERY_S)
