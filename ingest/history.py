"""Candle history on start: exchange klines before each symbol's first trade, in the background.

``HistoryLoader`` runs on its own thread beside live ingestion. Once a symbol has its first
stored trade it fixes the seam (``trades_from_s``: the first second wholly covered by trades)
and loads, through the shared ``RestClient``, the 1s klines of the configured hours before it
(spot only) and then the 1m klines of the configured days before the finer data, page by page
in time order, each page stored with its progress in ``history`` so ``status`` can show it.
Only closed candles are stored: a page never reaches past the last interval that has ended.
An exchange that refuses an interval (HTTP 4xx such as 400 "Invalid interval.") or serves no
candles marks it ``unavailable`` with the answer, logged once; a network or 5xx failure is
retried with backoff. A span already loaded by an earlier run or an import is not fetched
again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from ingest.binance import (
    VENUE_KLINE_INTERVALS,
    FrameError,
    kline_from_rest,
    klines_url,
    klines_weight,
)
from ingest.errors import RestError
from ingest.feedstate import now_ms
from ingest.ratelog import RateLimitedLog
from ingest.rest import RestClient
from ingest.settings import FeedSettings, HistorySettings
from ingest.storage import (
    KLINE_INTERVALS,
    HistoryRow,
    first_trade_second,
    insert_klines,
    kline_span,
    read_history,
    save_history,
)
from ingest.worker import Worker

log = logging.getLogger(__name__)
POLL_S = 1.0
RETRY_CAP_S = 300.0
CLOSE_MARGIN_S = 1


class HistoryLoader(Worker):
    """Loads the configured candle history of one market's symbols on its own thread.

    ``exchange`` maps each stored key to its exchange symbol (the name klines are asked by).
    """

    def __init__(
        self,
        engine: Engine,
        feed: FeedSettings,
        wanted: HistorySettings,
        exchange: dict[str, str],
        *,
        rest: RestClient,
    ) -> None:
        super().__init__("history")
        self._engine = engine
        self._feed = feed
        self._rest = rest
        self._exchange = exchange
        self._pending = [
            (symbol, interval)
            for symbol in exchange
            for interval in VENUE_KLINE_INTERVALS[feed.market]
            if _span_s(wanted, interval) > 0
        ]
        self._wanted = wanted
        self._started_s = now_ms() // 1000
        self._error_log = RateLimitedLog(log)

    def _run(self) -> None:
        failures = 0
        while self._pending and not self._stopping.is_set():
            try:
                self._pass()
                failures = 0
            except RestError as exc:
                if self._stopping.is_set():
                    return
                failures += 1
                wait = min(2.0**failures, RETRY_CAP_S)
                log.warning("history request failed (%s); retrying in %.0f s", exc, wait)
                self._stopping.wait(wait)
                continue
            except Exception:  # a database hiccup must not end history for the process's life
                self._error_log.exception("history pass failed; retrying")
            self._stopping.wait(POLL_S)

    def _pass(self) -> None:
        """Advance every pending (symbol, interval) whose symbol has traded; drop finished ones."""
        for symbol, interval in list(self._pending):
            if self._stopping.is_set():
                return
            row = self._plan(symbol, interval)
            if row is None:
                continue
            if row.state == "loading":
                row = self._load(row)
            if row.state != "loading":
                self._pending.remove((symbol, interval))

    def _plan(self, symbol: str, interval: str) -> HistoryRow | None:
        """The row to work on: stored, or new once the symbol's first trade fixes the seam."""
        with self._engine.connect() as conn:
            first_trade = first_trade_second(conn, symbol)
            rows = {row.interval: row for row in read_history(conn, (symbol,))}
            finer_from = kline_span(conn, symbol, "1s")[0] if "1s" in rows else None
        if first_trade is None:
            return None  # the seam is not known before the first trade
        trades_from = first_trade + 1
        if interval == "1s":
            to_s = trades_from
        else:
            finer = rows.get("1s")
            usable = finer is not None and finer.state != "unavailable" and finer_from is not None
            boundary = finer_from if usable and finer_from is not None else trades_from
            to_s = -(-boundary // 60) * 60
        from_s = (self._started_s - _span_s(self._wanted, interval)) // 60 * 60
        current = rows.get(interval)
        if current is not None and current.state == "unavailable":
            current = None  # asked again on every start: the venue may serve it now
        if current is not None and current.state == "loading":
            return current
        if current is not None and current.from_s <= from_s and current.to_s >= to_s:
            return current
        if from_s >= to_s:
            return HistoryRow(symbol, interval, to_s, to_s, to_s, trades_from, "loaded", "", 0)
        next_s = from_s
        if current is not None and current.from_s <= from_s <= current.to_s:
            from_s, next_s = current.from_s, current.to_s  # keep what an import or run holds
        row = HistoryRow(
            symbol, interval, from_s, to_s, next_s, trades_from, "loading", "", now_ms()
        )
        self._save(row)
        log.info(
            "history: %s %s loading %s before the first trade", symbol, interval, row.span_text
        )
        return row

    def _load(self, row: HistoryRow) -> HistoryRow:
        """Fetch pages of closed candles until the row is done or must wait for a close."""
        size = KLINE_INTERVALS[row.interval]
        began = time.monotonic()
        while row.next_s < row.to_s and not self._stopping.is_set():
            closed_to = (now_ms() // 1000 - CLOSE_MARGIN_S) // size * size
            end_s = min(row.to_s, closed_to)
            if row.next_s >= end_s:
                return row  # the seam's candle has not closed yet
            try:
                candles = self._fetch(row.symbol, row.interval, row.next_s, end_s)
            except RestError as exc:
                if not exc.refused:
                    raise
                return self._unavailable(row, f"refused: {exc}")
            if not candles:
                if row.next_s == row.from_s:
                    return self._unavailable(row, "the exchange served no candles")
                row = replace(row, next_s=end_s)
                continue
            with self._engine.begin() as conn:
                insert_klines(conn, row.symbol, row.interval, candles)
            row = replace(row, next_s=candles[-1]["ts_s"] + size, updated_ms=now_ms())
            self._save(row)
        if row.next_s >= row.to_s:
            row = replace(row, next_s=row.to_s, state="loaded", updated_ms=now_ms())
            self._save(row)
            log.info("history: %s (%.1f s)", row.describe(), time.monotonic() - began)
        return row

    def _fetch(self, symbol: str, interval: str, start_s: int, end_s: int) -> list[dict[str, Any]]:
        feed = self._feed
        name = self._exchange[symbol]
        url = klines_url(feed.rest_url, feed.market, name, interval, start_s=start_s, end_s=end_s)
        rows = self._rest.get_json(url, klines_weight(feed.market), self._stopping)
        try:
            candles = [kline_from_rest(row) for row in rows]
        except (TypeError, FrameError) as exc:
            raise RestError(f"unusable klines response: {exc}") from None
        return [c for c in candles if start_s <= c["ts_s"] < end_s]

    def _unavailable(self, row: HistoryRow, reason: str) -> HistoryRow:
        row = replace(row, state="unavailable", reason=reason[:200], updated_ms=now_ms())
        self._save(row)
        log.warning("history: %s; going on with trades", row.describe())
        return row

    def _save(self, row: HistoryRow) -> None:
        with self._engine.begin() as conn:
            save_history(conn, row)


def _span_s(wanted: HistorySettings, interval: str) -> int:
    """Seconds of history wanted at ``interval`` (0: disabled)."""
    if interval == "1s":
        return round(wanted.one_second_hours * 3600)
    return round(wanted.one_minute_days * 86_400)
