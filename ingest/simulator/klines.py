"""Binance klines (spot ``/api/v3/klines``, USD-M ``/fapi/v1/klines``) over the simulated tape.

This module owns what each klines endpoint accepts (intervals, ``limit`` default and maximum,
request weight), Binance's window rules, and ``KlineBook``. With ``startTime``, rows begin at
the first kline opening at or after it. With only ``endTime``, they are the newest ``limit``
opening at or before it. With neither, they are the newest ``limit``, the still-open interval
included. ``KlineBook`` answers a request from two sources: the generated past (``past``)
before the tape start, and the aggregation of ``TradeHistory`` trades from then on. It merges
them per interval (the kline holding the tape start combines both) and pads intervals without
trades with flat, zero-volume klines. Spot serves ``1s``; both endpoints serve ``1m`` and the
minute multiples that divide a day (``3m`` .. ``1d``), built from 1m bars. ``3d``/``1w``/``1M``
(calendar-aligned on Binance) and USD-M ``1s`` (absent on Binance) answer -1120 like unknown
strings. Errors are ``KlineError`` with Binance's code and message, turned into HTTP 400 by
``rest``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.simulator import wire
from ingest.simulator.bars import Bars, fill, from_trades, merge
from ingest.simulator.errors import SimulatorError
from ingest.simulator.history import TradeHistory, TradeRows
from ingest.simulator.past import MINUTE_MS, SECOND_MS, PastTape

MINUTE_INTERVALS: dict[str, int] = {
    name: minutes * MINUTE_MS
    for name, minutes in (
        ("1m", 1),
        ("3m", 3),
        ("5m", 5),
        ("15m", 15),
        ("30m", 30),
        ("1h", 60),
        ("2h", 120),
        ("4h", 240),
        ("6h", 360),
        ("8h", 480),
        ("12h", 720),
        ("1d", 1440),
    )
}
INVALID_INTERVAL = "Invalid interval."


class KlineError(SimulatorError):
    """A Binance-style rejection: ``code`` and ``msg`` as in the 400 body."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def _mandatory(name: str) -> KlineError:
    return KlineError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


@dataclass(frozen=True, slots=True)
class KlineEndpoint:
    """One klines endpoint: its intervals (name -> ms), limits and weight tiers.

    ``weight_tiers`` are ``(highest limit, weight)`` pairs in ascending order.
    """

    path: str
    intervals: Mapping[str, int]
    default_limit: int
    max_limit: int
    weight_tiers: tuple[tuple[int, int], ...]

    def weight(self, limit: int) -> int:
        return next(w for top, w in self.weight_tiers if limit <= top)


# Spot: weight 2, default 500, max 1000, intervals incl. 1s. Source: binance/binance-spot-api-docs
# rest-api.md, "Kline/Candlestick data" (commit a5e0bc3, 2026-07-21).
SPOT = KlineEndpoint(
    "/api/v3/klines", {"1s": SECOND_MS, **MINUTE_INTERVALS}, 500, 1000, ((sys.maxsize, 2),)
)
# USD-M: weight by LIMIT [1,100) 1, [100,500) 2, [500,1000] 5, >1000 10; default 500, max 1500.
# Source: developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/
# Kline-Candlestick-Data
USDM = KlineEndpoint(
    "/fapi/v1/klines",
    dict(MINUTE_INTERVALS),
    500,
    1500,
    ((99, 1), (499, 2), (1000, 5), (sys.maxsize, 10)),
)
ENDPOINTS: dict[str, KlineEndpoint] = {e.path: e for e in (SPOT, USDM)}


def wall_ms() -> int:
    return int(time.time() * 1000)


def _floor(ms: int, step: int) -> int:
    return ms - ms % step


def _ceil(ms: int, step: int) -> int:
    return -((-ms) // step) * step


def window(
    first: int, last: int, step: int, *, start: int | None, end: int | None, limit: int
) -> tuple[int, int]:
    """Open times ``(a, b)`` of the first and last kline to serve, Binance rules, within the
    available ``first..last`` (``a > b`` means none)."""
    if start is not None:
        a = max(_ceil(start, step), first)
        b = min(a + (limit - 1) * step, last)
        if end is not None:
            b = min(b, _floor(end, step))
        return a, b
    b = last if end is None else min(last, _floor(end, step))
    return max(b - (limit - 1) * step, first), b


class KlineBook:
    """Klines of every symbol: ``past`` (None = no generated past) then the trades of
    ``histories`` from ``tape_start_ms`` on (see module docstring).

    ``sorted_ts`` says the histories' trade times never decrease (the synthetic market), so
    windows are found by binary search; replayed files are scanned instead. Without a past the
    klines span the first to the last trade; with one, they run up to the interval open now.
    """

    def __init__(
        self,
        histories: dict[str, TradeHistory],
        enabled: bool,
        past: PastTape | None,
        tape_start_ms: int | None,
        *,
        sorted_ts: bool,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.histories = histories
        self.enabled = enabled
        self.past = past
        self.tape_start_ms = tape_start_ms
        self.sorted_ts = sorted_ts
        self.clock = clock

    def rows(
        self,
        symbol: str | None,
        interval: str | None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        *,
        endpoint: KlineEndpoint = SPOT,
    ) -> list[list[Any]]:
        """Exactly the JSON rows the endpoint serves; ``KlineError`` when Binance would refuse."""
        if not self.enabled:
            raise KlineError(-1120, INVALID_INTERVAL)
        if not symbol:
            raise _mandatory("symbol")
        if not interval:
            raise _mandatory("interval")
        step = endpoint.intervals.get(interval)
        if step is None:
            raise KlineError(-1120, INVALID_INTERVAL)
        if symbol not in self.histories:
            raise KlineError(-1121, "Invalid symbol.")
        n = endpoint.default_limit if limit is None else limit
        if not (1 <= n <= endpoint.max_limit):
            raise KlineError(-1130, "Data sent for parameter 'limit' is not valid.")
        return wire.kline_rows(self.bars(symbol, step, start_ms, end_ms, n), step)

    def bars(
        self, symbol: str, step: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> Bars:
        """The klines of ``symbol`` for an interval of ``step`` ms (validated arguments)."""
        res = SECOND_MS if step == SECOND_MS else MINUTE_MS
        trades = self.histories[symbol].rows()
        bounds = self._bounds(trades, step, res)
        if bounds is None:
            return Bars.empty()
        a, b = window(*bounds, step, start=start_ms, end=end_ms, limit=limit)
        if a > b:
            return Bars.empty()
        live = from_trades(self._trades_between(trades, a, b + step), res)
        if self.past is not None:
            past = self.past.bars(symbol, res).window(a, b + step)
            merged = merge(Bars.concat([past, live]), step)
        else:
            merged = merge(live, step)
        return fill(merged, a, b, step, self._close_before(symbol, trades, a, res))

    def _bounds(self, trades: TradeRows, step: int, res: int) -> tuple[int, int] | None:
        """Open times of the first and last kline that exist."""
        if self.past is not None:
            first = self.past.start_1s_ms if res == SECOND_MS else self.past.start_1m_ms
            return _ceil(first, step), _floor(self.clock(), step)
        if len(trades) == 0:
            return None
        ts = trades.ts
        lo, hi = (int(ts[0]), int(ts[-1])) if self.sorted_ts else (int(ts.min()), int(ts.max()))
        return _floor(lo, step), _floor(hi, step)

    def _trades_between(self, trades: TradeRows, lo: int, hi: int) -> TradeRows:
        """Trades of the live tape with ``lo <= ts < hi``."""
        if self.tape_start_ms is not None:
            lo = max(lo, self.tape_start_ms)
        ts = trades.ts
        if self.sorted_ts:
            a = int(np.searchsorted(ts, lo, side="left"))
            b = int(np.searchsorted(ts, hi, side="left"))
            return trades.take(slice(a, b))
        return trades.take(np.flatnonzero((ts >= lo) & (ts < hi)))

    def _close_before(self, symbol: str, trades: TradeRows, ms: int, res: int) -> float | None:
        """The last price printed before ``ms``: the latest earlier trade, else the past's close."""
        ts = trades.ts
        floor = self.tape_start_ms if self.tape_start_ms is not None else -sys.maxsize
        if self.sorted_ts:
            i = int(np.searchsorted(ts, ms, side="left"))
            if i > 0 and ts[i - 1] >= floor:
                return float(trades.price[i - 1])
        else:
            earlier = np.flatnonzero((ts < ms) & (ts >= floor))
            if len(earlier):
                t = ts[earlier]
                # latest time; among equal times the last by id
                return float(trades.price[earlier[len(t) - 1 - int(np.argmax(t[::-1]))]])
        if self.past is None:
            return None
        past = self.past.bars(symbol, res)
        i = int(np.searchsorted(past.open_time, ms, side="left"))
        return float(past.close[i - 1]) if i > 0 else None
