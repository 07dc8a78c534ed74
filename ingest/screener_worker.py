"""The screener the ingestor keeps ready: default rankings recomputed after each bar close.

``ScreenerWorker`` runs in the ingest process beside the alert worker. The writer calls
``notify(newest_second)`` after each commit; when a bar of a configured timeframe
(``screener.timeframes``, 1m and 5m by default) has closed since the last pass, the worker reads
the last ``screener.window`` bars of every streamed symbol (``read_bars``, the analysis reader),
puts their closes on one grid with the pairs' alignment rule (``analytics.align_legs``), ranks
every pair with ``analytics.screen_pairs`` and replaces the stored ranking of that timeframe and
window (``save_screen``). Only closed bars are used, so a stored ranking is causal: ``as_of_s``
is the start of the newest bar it saw. The dashboard opens that ranking without computing.
The closes of each timeframe are kept between passes and only the bars closed since the last
pass are read, so a pass over a day of 1-second bars of 50 symbols reads a minute of them; every
``FULL_READ_EVERY`` passes the whole window is read again, so bars a backfill recovered later
enter the ranking too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict

import pandas as pd
from sqlalchemy import Engine

from analytics.bars import align_legs, closes, resample_bars
from analytics.errors import AnalyticsError
from analytics.screener import screen_pairs
from analytics.vocabulary import BAR_SECONDS, Timeframe
from ingest.settings import Settings
from ingest.storage import read_bars, save_screen
from ingest.worker import CommitListener

log = logging.getLogger(__name__)
FULL_READ_EVERY = 60
_EMPTY = pd.Series(dtype="float64", index=pd.Index([], dtype="int64", name="ts_s"))


class ScreenerWorker(CommitListener):
    """Ranks every pair of the streamed symbols after each closed bar of each timeframe."""

    wait_s = 5.0

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__("screener")
        self._engine = engine
        self._settings = settings
        self._done: dict[str, int] = {}
        self._kept: dict[str, dict[str, pd.Series]] = {}
        self._read_to: dict[str, int] = {}
        self._reads: dict[str, int] = {}
        self.passes = 0

    def _pass(self, newest_second: int) -> None:
        for tf in self._settings.screener.timeframes:
            if self._stopping.is_set():
                return
            bar = BAR_SECONDS[tf]
            last_closed = newest_second // bar * bar - bar
            if last_closed > self._done.get(tf, -1):
                self._done[tf] = last_closed
                try:
                    self.rank(tf, last_closed)
                except Exception:
                    log.exception("screener pass at %s failed", tf)

    def rank(self, tf: Timeframe, last_closed_s: int) -> int:
        """Rank every pair on bars up to ``last_closed_s`` and store it; returns the pairs."""
        started = time.monotonic()
        window = self._settings.screener.window
        grid = self._closes(tf, last_closed_s)
        try:
            ranked = screen_pairs(grid, window, log=self._settings.analytics.log_prices)
        except AnalyticsError as exc:
            log.debug("no screener ranking at %s yet: %s", tf, exc)
            ranked = []
        with self._engine.begin() as conn:
            save_screen(
                conn,
                tf=tf,
                window=window,
                as_of_s=last_closed_s,
                computed_ms=time.time_ns() // 1_000_000,
                pairs=[asdict(pair) for pair in ranked],
            )
        self.passes += 1
        log.info(
            "screener %s: %d pairs ranked in %.2f s (%d bars)",
            tf,
            len(ranked),
            time.monotonic() - started,
            len(grid),
        )
        return len(ranked)

    def _closes(self, tf: Timeframe, last_closed_s: int) -> pd.DataFrame:
        """The last ``window`` closed bars of every symbol on one grid, read incrementally."""
        bar, window = BAR_SECONDS[tf], self._settings.screener.window
        start = last_closed_s - (window - 1) * bar
        self._reads[tf] = self._reads.get(tf, 0) + 1
        if self._reads[tf] % FULL_READ_EVERY == 0:
            self._kept.pop(tf, None)
            self._read_to.pop(tf, None)
        kept = self._kept.setdefault(tf, {})
        read_from = max(start, self._read_to.get(tf, start - bar) + bar)
        with self._engine.connect() as conn:
            for symbol in self._settings.symbols:
                fresh = resample_bars(
                    read_bars(conn, symbol, read_from, last_closed_s + bar - 1, bar), tf
                )
                old = kept.get(symbol, _EMPTY)
                joined = pd.concat([old[old.index >= start], closes(fresh)]) if len(fresh) else old
                kept[symbol] = joined[joined.index >= start]
        self._read_to[tf] = last_closed_s
        grid = align_legs(
            {s: series for s, series in kept.items() if not series.empty},
            bar_seconds=bar,
            max_stale_bars=self._settings.analytics.max_stale_bars,
        )
        return grid.loc[:last_closed_s]
