"""REST backfill of the gap ledger, in a thread that never blocks live ingestion.

``Backfiller`` polls ``gaps`` for open ranges, pages through Binance's ``historicalTrades``
(or ``aggTrades`` for the aggTrade stream) 1,000 ids at a time and hands each page to the
writer, which inserts idempotently and rebuilds the affected bars. A gap ends ``filled`` when
every id came back, ``lost`` when the exchange no longer serves some of them (the reason says how
many). Its calls go through the process's one ``RestClient``, which paces the request weight
and honours 429/418 ``Retry-After``, so backfill and history share one budget. A failed
attempt is retried with exponential backoff (capped at five minutes) for as long as it takes,
because an unreachable exchange is not a lost trade; only a gap the exchange explicitly refuses
(HTTP 4xx, e.g. a futures ``historicalTrades`` call without an API key) three times ends
``lost`` with the answer as its reason; a region refusal (451) is not the gap's fault, so its
gaps stay open for a later run from elsewhere.

A few seconds after every (re)connection it also asks REST for the newest trade of each symbol
that has not traded since, and hands it to the writer as if streamed: when trades happened while
the ingestor was down or disconnected and the symbol then went quiet, no live trade would reveal
that hole; the newest REST trade does, and the writer opens the gap. Symbols that did trade are
left alone, because their first live trade already revealed any hole. ``stop``
interrupts those waits at once, so a shutdown during a backfill is not delayed by them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from ingest.binance import (
    FrameError,
    backfill_url,
    latest_trade_url,
    trade_from_rest,
    trades_weight,
)
from ingest.errors import RestError
from ingest.feedstate import FeedState, now_ms
from ingest.ratelog import RateLimitedLog
from ingest.rest import RestClient
from ingest.settings import FeedSettings
from ingest.storage import GapState, note_gap_attempt, read_gaps
from ingest.storage.records import Trade
from ingest.worker import Worker
from ingest.writer import BackfillBatch, Writer

log = logging.getLogger(__name__)
PAGE = 1000
USDM_REST_HISTORY_H = 48
POLL_S = 1.0
PROBE_AFTER_S = 3.0
RETRY_CAP_S = 300.0
MAX_REFUSALS = 3


class Backfiller(Worker):
    """Fills the open gaps of one connection's symbols from REST on its own thread.

    ``exchange`` maps each stored key the backfiller owns to its exchange symbol (REST names).
    ``clock`` (monotonic seconds) times the retries and ``poll_s`` is the pause between passes.
    """

    def __init__(
        self,
        engine: Engine,
        feed: FeedSettings,
        writer: Writer,
        state: FeedState,
        live: deque[Trade],
        *,
        rest: RestClient,
        exchange: dict[str, str],
        clock: Callable[[], float] = time.monotonic,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__("backfill")
        self._engine = engine
        self._feed = feed
        self._writer = writer
        self._state = state
        self._live = live
        self._probed_connection = 0
        self._probe_failures = 0
        self._probe_retry_at = 0.0
        self._rest = rest
        self._exchange = exchange
        self._clock = clock
        self._poll_s = poll_s
        self._error_log = RateLimitedLog(log)
        self._woken = threading.Event()
        self._done: set[int] = set()
        self._retry_at: dict[int, float] = {}

    def _wake(self) -> None:
        self._woken.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._pass()
            except Exception:  # a database hiccup must not end backfill for the process's life
                self._error_log.exception("backfill pass failed; retrying")
            self._woken.wait(self._poll_s)
            self._woken.clear()

    def _pass(self) -> None:
        self._probe_newest_trades()
        with self._engine.connect() as conn:
            pending = read_gaps(conn, state=GapState.OPEN)
        for gap in pending.sort_values("id").itertuples(index=False):
            if gap.symbol not in self._exchange:
                continue  # another connection's symbol
            gap_id = int(gap.id)
            if self._stopping.is_set():
                return
            if gap_id in self._done or self._clock() < self._retry_at.get(gap_id, 0.0):
                continue
            try:
                self._fill(gap_id, gap.symbol, int(gap.from_id), int(gap.to_id), gap.from_ms)
            except RestError as exc:
                if self._stopping.is_set():
                    return
                self._failed(gap_id, gap.symbol, int(gap.attempts) + 1, exc)

    def _failed(self, gap_id: int, symbol: str, attempts: int, exc: RestError) -> None:
        """Back off after a failed attempt; a gap the exchange keeps refusing ends ``lost``."""
        log.warning("backfill of %s gap %d (attempt %d): %s", symbol, gap_id, attempts, exc)
        if exc.refused and attempts >= MAX_REFUSALS:
            reason = f"REST refused {attempts} times: {exc}"
            self._writer.backfills.put(BackfillBatch(gap_id, symbol, [], GapState.LOST, reason))
            self._done.add(gap_id)
            return
        with self._engine.begin() as conn:
            note_gap_attempt(conn, gap_id, str(exc))
        self._retry_at[gap_id] = self._clock() + min(2.0**attempts, RETRY_CAP_S)

    def _fill(
        self, gap_id: int, symbol: str, from_id: int, to_id: int, from_ms: float | None
    ) -> None:
        next_id, missing = from_id, 0
        while next_id <= to_id and not self._stopping.is_set():
            page = self._fetch_page(symbol, next_id, min(PAGE, to_id - next_id + 1))
            wanted = [t for t in page if next_id <= t.trade_id <= to_id]
            if not wanted:
                break
            missing += wanted[0].trade_id - next_id + _holes(wanted)
            self._writer.backfills.put(BackfillBatch(gap_id, symbol, wanted))
            next_id = wanted[-1].trade_id + 1
        if self._stopping.is_set():
            return
        missing += max(0, to_id - next_id + 1)
        state = GapState.FILLED if missing == 0 else GapState.LOST
        reason = "" if missing == 0 else f"{missing} of {to_id - from_id + 1} ids not served"
        if missing and self._feed.market == "usdm":
            reason += _usdm_import_hint(self._exchange[symbol], from_ms)
        self._writer.backfills.put(BackfillBatch(gap_id, symbol, [], state, reason))
        self._done.add(gap_id)
        log.info("gap %s %d-%d %s %s", symbol, from_id, to_id, state, reason)

    def _probe_newest_trades(self) -> None:
        """Once per connection: feed each quiet symbol's newest REST trade to the writer."""
        state = self._state
        connection = state.connections
        if not state.connected or connection == self._probed_connection:
            return
        if now_ms() - state.connected_ms < PROBE_AFTER_S * 1000:
            return
        if self._clock() < self._probe_retry_at:
            return
        quiet = [s for s in state.symbols if state.last_trade_ms.get(s, 0) < state.connected_ms]
        feed = self._feed
        try:
            for symbol in quiet:
                name = self._exchange[symbol]
                url = latest_trade_url(feed.rest_url, feed.market, feed.stream, name)
                self._live.extend(self._fetch(url, symbol)[-1:])
        except RestError as exc:
            self._probe_failures += 1
            wait = min(2.0**self._probe_failures, RETRY_CAP_S)
            log.warning("newest-trade probe failed (%s); retrying in %.0f s", exc, wait)
            self._probe_retry_at = self._clock() + wait
            return
        self._probed_connection = connection
        self._probe_failures = 0

    def _fetch_page(self, symbol: str, from_id: int, limit: int) -> list[Trade]:
        feed = self._feed
        name = self._exchange[symbol]
        url = backfill_url(
            feed.rest_url, feed.market, feed.stream, name, from_id=from_id, limit=limit
        )
        return self._fetch(url, symbol)

    def _fetch(self, url: str, symbol: str) -> list[Trade]:
        weight = trades_weight(self._feed.market, self._feed.stream)
        rows = self._rest.get_json(url, weight, self._stopping)
        try:
            return sorted(trade_from_rest(row, symbol) for row in rows)
        except (TypeError, FrameError) as exc:
            raise RestError(f"unusable response: {exc}") from None


def _holes(trades: list[Trade]) -> int:
    """Ids missing inside a sorted page."""
    return trades[-1].trade_id - trades[0].trade_id + 1 - len(trades)


def _usdm_import_hint(symbol: str, from_ms: float | None) -> str:
    """Where a gap older than USD-M's 48 h ``aggTrades`` history can still be found."""
    if from_ms is None or math.isnan(from_ms):  # the gap's time is unknown
        day = "YYYY-MM-DD"
    else:
        day = datetime.fromtimestamp(from_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
    return (
        f"; USD-M REST keeps about {USDM_REST_HISTORY_H} h of aggTrades: import "
        f"data.binance.vision futures/um/daily/aggTrades/{symbol}/{symbol}-aggTrades-{day}.zip"
    )
