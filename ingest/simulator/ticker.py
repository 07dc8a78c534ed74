"""Binance's rolling 24 h ticker (spot ``/api/v3/ticker/24hr``, USD-M ``/fapi/v1/ticker/24hr``).

This module owns the rows of both ticker endpoints and their request weight. A traded symbol's
statistics are those of its newest 1,440 1m klines, exactly what ``klines?interval=1m&
limit=1440`` serves (the minute open now and the 1,439 before it): open of the first, high,
low, close of the last, summed volume, quote volume and trade count, ``weightedAvgPrice`` =
quote volume / volume, ``prevClosePrice`` the close of the kline before. ``firstId``,
``lastId`` and ``lastQty`` come from the live tape's trades in the window (the generated past
keeps no single trades: without a live trade they are ``-1``, ``-1`` and 0), so ``count``,
which includes the past's trades, may exceed ``lastId - firstId + 1``. The simulator keeps no
order book: spot's bid and ask print as zeros, as Binance prints an empty book. A halted
symbol (listed, not trading) and a symbol without klines get a row of zeros with ids ``-1``.
Fields, their order and decimals as strings follow each market's documented answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.simulator.bars import Bars
from ingest.simulator.klines import KlineBook
from ingest.simulator.past import MINUTE_MS

WINDOW_MINUTES = 1440

# binance-spot-api-docs rest-api.md (commit a5e0bc3, 2026-07-21), "24hr ticker price change
# statistics", Response - FULL.
SPOT_FIELDS = (
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
)
# binance-connector-python 29da329 (2026-08-21), USD-M rest_api/models/
# ticker24hr_price_change_statistics_response1.py: spot's fields without prevClosePrice and
# the book's bid and ask.
USDM_FIELDS = tuple(
    f
    for f in SPOT_FIELDS
    if f not in {"prevClosePrice", "bidPrice", "bidQty", "askPrice", "askQty"}
)
FIELDS = {"spot": SPOT_FIELDS, "usdm": USDM_FIELDS}

# Weight by the number of symbols asked for (None: every symbol). Spot (rest-api.md, same
# section): ``symbol`` 2, ``symbols`` 1-20 → 2, 21-100 → 40, 101 or more → 80, neither → 80.
# USD-M (connector 29da329 market_data_api.py ``ticker24hr_price_change_statistics``): 1 for a
# single symbol, 40 when the symbol parameter is omitted.
WEIGHT_TIERS: dict[str, tuple[tuple[int, int], ...]] = {
    "spot": ((20, 2), (100, 40)),
    "usdm": ((1, 1),),
}
ALL_SYMBOLS_WEIGHT = {"spot": 80, "usdm": 40}


def weight(market: str, asked: int | None) -> int:
    """Request weight of a ticker call for ``asked`` symbols (None: all of them)."""
    if asked is not None:
        for top, tier_weight in WEIGHT_TIERS[market]:
            if asked <= top:
                return tier_weight
    return ALL_SYMBOLS_WEIGHT[market]


def _decimal(value: float) -> str:
    return f"{value:.8f}"


class TickerBook:
    """The 24 h ticker of every listed symbol: the traded ones of ``klines``, then ``halted``."""

    def __init__(self, klines: KlineBook, halted: tuple[str, ...]) -> None:
        self.klines = klines
        self.halted = halted

    @property
    def listed(self) -> tuple[str, ...]:
        """Every symbol the exchange lists, traded ones first."""
        return (*self.klines.histories, *self.halted)

    def row(self, market: str, symbol: str) -> dict[str, Any]:
        """The ticker object of ``symbol`` (one of ``listed``) as ``market`` answers it."""
        now_ms = self.klines.clock()
        bars = Bars.empty()
        if symbol in self.klines.histories:
            bars = self.klines.bars(symbol, MINUTE_MS, None, None, WINDOW_MINUTES + 1)
        stats = self._zeros(symbol, now_ms) if len(bars) == 0 else self._stats(symbol, bars, now_ms)
        return {name: stats[name] for name in FIELDS[market]}

    @staticmethod
    def _zeros(symbol: str, now_ms: int) -> dict[str, Any]:
        zero = _decimal(0.0)
        row: dict[str, Any] = dict.fromkeys(SPOT_FIELDS, zero)
        row |= {"symbol": symbol, "priceChangePercent": "0.000"}
        row |= {"openTime": now_ms - WINDOW_MINUTES * MINUTE_MS, "closeTime": now_ms}
        return row | {"firstId": -1, "lastId": -1, "count": 0}

    def _stats(self, symbol: str, bars: Bars, now_ms: int) -> dict[str, Any]:
        prev_close = float(bars.close[0]) if len(bars) > WINDOW_MINUTES else 0.0
        bars = bars.take(slice(-WINDOW_MINUTES, None))
        open_ms = int(bars.open_time[0])
        close_ms = min(now_ms, int(bars.open_time[-1]) + MINUTE_MS - 1)
        trades = self.klines.histories[symbol].rows()
        inside = np.flatnonzero((trades.ts >= open_ms) & (trades.ts <= close_ms))
        ids = trades.ids[inside]
        last = inside[np.argmax(ids)] if len(ids) else None
        first_price, last_price = float(bars.open[0]), float(bars.close[-1])
        volume, quote = float(bars.volume.sum()), float(bars.quote.sum())
        change = last_price - first_price
        zero = _decimal(0.0)
        return {
            "symbol": symbol,
            "priceChange": _decimal(change),
            "priceChangePercent": f"{100.0 * change / first_price:.3f}",
            "weightedAvgPrice": _decimal(quote / volume if volume > 0 else 0.0),
            "prevClosePrice": _decimal(prev_close),
            "lastPrice": _decimal(last_price),
            "lastQty": _decimal(0.0 if last is None else float(trades.qty[last])),
            "bidPrice": zero,
            "bidQty": zero,
            "askPrice": zero,
            "askQty": zero,
            "openPrice": _decimal(first_price),
            "highPrice": _decimal(float(bars.high.max())),
            "lowPrice": _decimal(float(bars.low.min())),
            "volume": _decimal(volume),
            "quoteVolume": _decimal(quote),
            "openTime": open_ms,
            "closeTime": close_ms,
            "firstId": int(ids.min()) if len(ids) else -1,
            "lastId": int(ids.max()) if len(ids) else -1,
            "count": int(bars.trades.sum()),
        }
