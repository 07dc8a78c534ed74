"""Columnar OHLCV bars (the contents of klines) and the reductions that build them.

This module owns ``Bars``: open time, open/high/low/close, volume, quote volume, trade count
and taker-buy base/quote volume of consecutive intervals, as numpy columns sorted by open time.
It also owns the three ways bars are made. ``from_trades`` gives one bar per interval that holds
trades: open is the first trade by id, close the last, and taker volumes sum the trades whose
buyer is not the maker. ``merge`` folds consecutive bars that share a coarser open time.
``fill`` pads intervals without trades with flat, zero-volume bars at the previous close, the
way Binance prints quiet intervals. The simulator holds no other kline arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from ingest.simulator.history import F64, I64, TradeRows


@dataclass(frozen=True, slots=True)
class Bars:
    """OHLCV columns of consecutive intervals, ascending by ``open_time`` (ms)."""

    open_time: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    quote: F64
    trades: I64
    taker_base: F64
    taker_quote: F64

    def __len__(self) -> int:
        return len(self.open_time)

    @classmethod
    def empty(cls) -> Bars:
        f, i = np.empty(0), np.empty(0, np.int64)
        return cls(i, f, f, f, f, f, f, i, f, f)

    @classmethod
    def concat(cls, parts: Sequence[Bars]) -> Bars:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, n) for p in parts]) for n in FIELDS))

    def take(self, index: npt.NDArray[np.intp] | slice) -> Bars:
        return Bars(*(getattr(self, n)[index] for n in FIELDS))

    def window(self, lo: int, hi: int) -> Bars:
        """The bars with ``lo <= open_time < hi``."""
        a = int(np.searchsorted(self.open_time, lo, side="left"))
        b = int(np.searchsorted(self.open_time, hi, side="left"))
        return self.take(slice(a, b))


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Bars))
"""Column names in Binance kline order (close time and the ignored field are derived)."""


def _runs(keys: I64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end (inclusive) index of every run of equal consecutive ``keys``."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)] - 1
    return starts, ends


def from_trades(rows: TradeRows, interval_ms: int) -> Bars:
    """One bar per ``interval_ms`` interval holding at least one of ``rows`` (id order)."""
    if len(rows) == 0:
        return Bars.empty()
    key = rows.ts - rows.ts % interval_ms
    if len(key) > 1 and bool((key[1:] < key[:-1]).any()):
        rows = rows.take(np.argsort(key, kind="stable"))  # replay files may be out of time order
        key = rows.ts - rows.ts % interval_ms
    starts, ends = _runs(key)
    price, qty = rows.price, rows.qty
    taker_qty = np.where(rows.maker, 0.0, qty)
    return Bars(
        open_time=key[starts],
        open=price[starts],
        high=np.maximum.reduceat(price, starts),
        low=np.minimum.reduceat(price, starts),
        close=price[ends],
        volume=np.add.reduceat(qty, starts),
        quote=np.add.reduceat(price * qty, starts),
        trades=(ends - starts + 1).astype(np.int64),
        taker_base=np.add.reduceat(taker_qty, starts),
        taker_quote=np.add.reduceat(price * taker_qty, starts),
    )


def merge(bars: Bars, interval_ms: int) -> Bars:
    """Fold consecutive bars into ``interval_ms`` bars (open of the first, close of the last,
    extreme high/low, summed volumes and counts); equal open times are folded too."""
    if len(bars) == 0:
        return bars
    key = bars.open_time - bars.open_time % interval_ms
    starts, ends = _runs(key)
    if len(starts) == len(bars):
        return Bars(key, *(getattr(bars, n) for n in FIELDS[1:]))
    return Bars(
        open_time=key[starts],
        open=bars.open[starts],
        high=np.maximum.reduceat(bars.high, starts),
        low=np.minimum.reduceat(bars.low, starts),
        close=bars.close[ends],
        volume=np.add.reduceat(bars.volume, starts),
        quote=np.add.reduceat(bars.quote, starts),
        trades=np.add.reduceat(bars.trades, starts),
        taker_base=np.add.reduceat(bars.taker_base, starts),
        taker_quote=np.add.reduceat(bars.taker_quote, starts),
    )


def fill(bars: Bars, first: int, last: int, interval_ms: int, prev_close: float | None) -> Bars:
    """Bars for every open time ``first, first + interval_ms, .., last``: those in ``bars``
    as they are, the others flat at the previous close with zero volume and trades.

    ``prev_close`` is the close before ``first``; when it is None, leading intervals without a
    bar are left out (nothing had traded yet).
    """
    timeline = np.arange(first, last + 1, interval_ms, dtype=np.int64)
    n = len(timeline)
    if n == 0 or (len(bars) == 0 and prev_close is None):
        return Bars.empty()
    if len(bars) == 0:
        bars = Bars(*(np.zeros(1, getattr(bars, c).dtype) for c in FIELDS))  # never read
        present = np.zeros(n, np.bool_)
        src = np.zeros(n, np.intp)
    else:
        idx = np.searchsorted(bars.open_time, timeline)
        src = np.minimum(idx, len(bars) - 1)
        present = (idx < len(bars)) & (bars.open_time[src] == timeline)
        if present.all():
            return bars.take(src)
    # close of the latest present slot at or before each slot; before the first: prev_close
    last_present = np.maximum.accumulate(np.where(present, np.arange(n), -1))
    before = np.nan if prev_close is None else prev_close
    carried = np.where(last_present >= 0, bars.close[src[np.maximum(last_present, 0)]], before)

    def col(name: str) -> F64:
        values: F64 = getattr(bars, name)[src]
        return np.where(present, values, carried if name in _PRICES else 0.0)

    out = Bars(
        open_time=timeline,
        open=col("open"),
        high=col("high"),
        low=col("low"),
        close=col("close"),
        volume=col("volume"),
        quote=col("quote"),
        trades=np.where(present, bars.trades[src], 0).astype(np.int64),
        taker_base=col("taker_base"),
        taker_quote=col("taker_quote"),
    )
    known = ~np.isnan(out.close)  # leading slots before any trade are left out
    if known.all():
        return out
    return out.take(slice(int(np.argmax(known)), None)) if known.any() else Bars.empty()


_PRICES = frozenset({"open", "high", "low", "close"})
