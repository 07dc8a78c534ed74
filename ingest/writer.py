"""The writer thread: the only code that writes trades, bars, gaps and status.

``Writer`` drains the reader's buffer every ``ingest.flush_ms`` or as soon as
``ingest.batch_max`` trades wait, and commits each batch in one transaction: an idempotent
executemany of the trades, the 1-second bars (merged incrementally for fresh ids, rebuilt from
the table for late ones), newly detected gaps, and the ``feed_status`` heartbeat (each fact of
the ``FeedState`` in its own column, the ``reason`` for display only). A failed commit puts
the batch back and rewinds the gap tracker, so the retry records the same gaps; a commit that
keeps failing is logged once a minute with a count (``ingest.ratelog``), not on every retry.
Backfill results arrive on a second queue and go through the same transaction path, so SQLite
only ever sees one writer. Subscribers registered with ``on_commit`` are told the newest bar
second after each commit (the alert worker listens).
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from ingest.feedstate import FeedState, now_ms
from ingest.gaps import GapTracker
from ingest.ratelog import RateLimitedLog
from ingest.settings import IngestSettings
from ingest.storage import (
    aggregate_trades,
    close_gap,
    insert_trades,
    last_trades,
    merge_bars,
    open_gap,
    rebuild_bars,
    upsert_status,
)
from ingest.storage.records import GapState, LinkState, Trade
from ingest.worker import Worker

log = logging.getLogger(__name__)
STATUS_EVERY_MS = 500
RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class BackfillBatch:
    """Trades fetched for gap ``gap_id``; ``final_state`` closes the gap when set."""

    gap_id: int
    symbol: str
    trades: list[Trade]
    final_state: GapState | None = None
    reason: str = ""


class Writer(Worker):
    """Batches trades from ``buffer`` into ``engine`` until stopped, then drains.

    ``stop`` returns only once the drain has ended or the budget is spent (then False: the
    caller must not hand the database to another writer yet).
    """

    def __init__(
        self,
        engine: Engine,
        settings: IngestSettings,
        buffer: deque[Trade],
        states: tuple[FeedState, ...],
    ) -> None:
        super().__init__("writer")
        self._engine = engine
        self._settings = settings
        self._buffer = buffer
        self._states = states
        self.backfills: queue.Queue[BackfillBatch] = queue.Queue()
        self._listeners: list[Callable[[int], None]] = []
        self._rates: dict[str, float] = {}
        self._last_status_ms = 0
        self._last_flush = time.monotonic()
        self._error_log = RateLimitedLog(log)
        self.written = 0
        with engine.connect() as conn:
            symbols = tuple(symbol for state in states for symbol in state.symbols)
            self.tracker = GapTracker(last_trades(conn, symbols))

    def on_commit(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(newest_bar_second)`` after every commit that wrote trades."""
        self._listeners.append(listener)

    def _run(self) -> None:
        period = self._settings.flush_ms / 1000
        while True:
            stopping = self._stopping.is_set()
            wrote = self._flush_once()
            if stopping and not wrote and not self._buffer and self.backfills.empty():
                break
            if len(self._buffer) < self._settings.batch_max and not stopping:
                self._stopping.wait(max(0.0, period - (time.monotonic() - self._last_flush)))
        self._write_status(final=True)

    def _take(self) -> list[Trade]:
        buffer, limit = self._buffer, self._settings.batch_max
        count = min(len(buffer), limit)
        return [buffer.popleft() for _ in range(count)]

    def _flush_once(self) -> bool:
        self._last_flush = time.monotonic()
        batch = self._take()
        backfill = self._take_backfill()
        if not batch and not backfill and now_ms() - self._last_status_ms < STATUS_EVERY_MS:
            return False
        marks = dict(self.tracker.last)
        try:
            newest = self._commit(batch, backfill)
        except Exception:
            self._error_log.exception("write of %d trades failed; retrying them", len(batch))
            self.tracker.last = marks  # the retry must see the same gaps again
            self._buffer.extendleft(reversed(batch))
            for item in backfill:
                self.backfills.put(item)
            time.sleep(RETRY_PAUSE_S)  # not the stop event: a failing drain must not spin
            return False
        self.written += len(batch)
        if newest is not None:
            for listener in self._listeners:
                listener(newest)
        return bool(batch or backfill)

    def _take_backfill(self) -> list[BackfillBatch]:
        items: list[BackfillBatch] = []
        while len(items) < 20:
            try:
                items.append(self.backfills.get_nowait())
            except queue.Empty:
                break
        return items

    def _commit(self, batch: list[Trade], backfill: list[BackfillBatch]) -> int | None:
        split = self.tracker.split(batch)
        late = split.late + [t for item in backfill for t in item.trades]
        stamp = now_ms()
        with self._engine.begin() as conn:
            insert_trades(conn, split.fresh)
            merge_bars(conn, aggregate_trades(split.fresh))
            if late:
                insert_trades(conn, late)
                _rebuild_seconds(conn, late)
            for gap in split.gaps:
                open_gap(conn, gap, stamp)
            for item in backfill:
                if item.final_state:
                    close_gap(conn, item.gap_id, item.final_state, stamp, item.reason)
            self._write_status(conn=conn, batch=split.fresh)
        for gap in split.gaps:
            log.warning("gap in %s: ids %d-%d missing", gap.symbol, gap.from_id, gap.to_id)
        if not split.fresh:
            return None
        return max(t.ts_ms for t in split.fresh) // 1000

    def _write_status(
        self, conn: Connection | None = None, batch: list[Trade] | None = None, final: bool = False
    ) -> None:
        stamp = now_ms()
        elapsed_s = max((stamp - self._last_status_ms) / 1000, 1e-3) if self._last_status_ms else 1
        counts: dict[str, int] = {}
        for trade in batch or ():
            counts[trade.symbol] = counts.get(trade.symbol, 0) + 1
        rows = []
        for state in self._states:
            rows += self._status_rows(state, counts, elapsed_s, stamp, final=final)
        self._last_status_ms = stamp
        if conn is not None:
            upsert_status(conn, rows)
            return
        with self._engine.begin() as own:
            upsert_status(own, rows)

    def _status_rows(
        self,
        state: FeedState,
        counts: dict[str, int],
        elapsed_s: float,
        stamp: int,
        *,
        final: bool,
    ) -> list[dict[str, Any]]:
        """The ``feed_status`` rows of one connection's symbols."""
        rejects = state.reject_columns()
        rows = []
        for symbol in state.symbols:
            instant = counts.get(symbol, 0) / elapsed_s
            rate = 0.8 * self._rates.get(symbol, instant) + 0.2 * instant
            self._rates[symbol] = rate
            reason = "ingestor stopped" if final else state.reason
            if symbol in state.stale and not final:
                reason = f"{symbol} went silent (no trade for feed.silence_s); feed reconnected"
            rows.append(
                {
                    "symbol": symbol,
                    "connected": state.connected and not final,
                    "last_trade_ms": state.last_trade_ms.get(symbol),
                    "last_msg_ms": state.last_msg_ms,
                    "reconnects": state.reconnects,
                    "updated_ms": stamp,
                    "last_trade_id": self.tracker.last_id(symbol),
                    "rate": rate,
                    "source": state.source,
                    "reason": reason,
                    "link_state": LinkState.STOPPED if final else state.link,
                    "connect_error": state.connect_error,
                    "retry_at_ms": state.retry_at_ms,
                    **rejects,
                    "dropped_trades": state.dropped,
                    "rest_note": state.rest_note,
                    **_mark_columns(state.marks.get(symbol)),
                }
            )
        return rows


def _mark_columns(mark: tuple[float, float, int] | None) -> dict[str, Any]:
    """The USD-M mark price columns of a status row (None for spot symbols)."""
    price, rate, next_ms = mark if mark is not None else (None, None, None)
    return {"mark_price": price, "funding_rate": rate, "next_funding_ms": next_ms}


def _rebuild_seconds(conn: Connection, trades: list[Trade]) -> None:
    """Recompute the bars touched by ``trades`` (which may overlap stored ones)."""
    spans: dict[str, list[int]] = {}
    for trade in trades:
        second = trade.ts_ms // 1000
        span = spans.setdefault(trade.symbol, [second, second])
        span[0], span[1] = min(span[0], second), max(span[1], second)
    for symbol, (first, last) in spans.items():
        rebuild_bars(conn, symbol, first, last)
