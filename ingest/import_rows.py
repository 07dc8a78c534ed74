"""Rows to store from one chunk of an imported file, checked against the file's layout.

This module owns turning a pandas chunk of a layout named by ``ingest.import_layouts`` into what
the storage API takes: ``Trade`` tuples for trades and aggTrades (an aggregate trade is stored
as one trade whose id is the aggregate id), and candle dicts for ``insert_klines``. Every chunk
is checked before it is returned, so nothing wrong is stored: no missing field, flags really
True/False, each Binance candle spanning the file's interval and starting on its boundary, and
ccxt candles on increasing whole minutes (at least two of the first chunk's one minute apart,
so a 5m file named 1m is refused). A failed check raises ``ValueError`` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ingest.import_layouts import Layout, epoch_ms, kline_spans_match
from ingest.storage import KLINE_INTERVALS
from ingest.storage.records import Trade

Candles = list[dict[str, Any]]
_EPOCH = pd.Timestamp(0, tz="UTC")
_CCXT_TIME = "%Y-%m-%d %H:%M:%S"


def _columns(frame: pd.DataFrame, layout: Layout) -> list[pd.Series]:
    if frame.isna().to_numpy().any():
        raise ValueError(f"a row has an empty field or fewer than {len(layout.columns)} fields")
    return [frame[name] for name in layout.used]


def _integers(column: pd.Series) -> npt.NDArray[np.int64]:
    return column.astype("int64").to_numpy()


def _flags(column: pd.Series) -> npt.NDArray[np.bool_]:
    text = column.astype(str).str.lower()
    if not text.isin(("true", "false")).all():
        raise ValueError(f"{column.name} holds a value other than True/False")
    return text.eq("true").to_numpy()


def trade_rows(frame: pd.DataFrame, layout: Layout, symbol: str) -> list[Trade]:
    """Trades of a trades or aggTrades chunk (times in epoch ms, µs files converted)."""
    ids, prices, qtys, times, makers = _columns(frame, layout)
    return [
        Trade(symbol, int(i), int(t), float(p), float(q), bool(m))
        for i, t, p, q, m in zip(
            _integers(ids),
            epoch_ms(_integers(times)),
            prices.astype("float64"),
            qtys.astype("float64"),
            _flags(makers),
            strict=True,
        )
    ]


def _floats(columns: list[pd.Series]) -> list[npt.NDArray[np.float64]]:
    return [column.astype("float64").to_numpy() for column in columns]


def _candles(
    ts_s: npt.NDArray[np.int64],
    ohlcv: list[npt.NDArray[np.float64]],
    quote: npt.NDArray[np.float64],
    count: npt.NDArray[np.int64] | int,
) -> Candles:
    names = ("open", "high", "low", "close", "volume")
    frame = pd.DataFrame(
        {
            "ts_s": ts_s,
            **dict(zip(names, ohlcv, strict=True)),
            "quote_volume": quote,
            "n_trades": count,
        }
    )
    return frame.to_dict("records")


def kline_rows(frame: pd.DataFrame, layout: Layout, interval: str) -> Candles:
    """Candles of a data.binance.vision klines chunk, each checked to span ``interval``."""
    open_t, *prices, close_t, quote, count = _columns(frame, layout)
    opens, closes = _integers(open_t), _integers(close_t)
    seconds = KLINE_INTERVALS[interval]
    wrong = ~kline_spans_match(opens, closes, seconds)
    if wrong.any():
        at = int(np.argmax(wrong))
        raise ValueError(f"candle {opens[at]}..{closes[at]} does not span {interval}")
    ts_s = epoch_ms(opens) // 1000
    if (ts_s % seconds).any():
        raise ValueError(f"a candle does not open on a {interval} boundary")
    quote_volume = quote.astype("float64").to_numpy()
    return _candles(ts_s, _floats(prices), quote_volume, _integers(count))


class CcxtMinutes:
    """Reads the chunks of one ccxt ohlcv 1m file, in order (it checks across chunks).

    The file has no quote volume and no trade count: ``quote_volume`` is stored as close ×
    volume, so a candle's vwap reads as its close (the value storage gives a bar without
    volume), and ``n_trades`` as 0.
    """

    def __init__(self, layout: Layout) -> None:
        self._layout = layout
        self._last_s: int | None = None

    def rows(self, frame: pd.DataFrame) -> Candles:
        """Candles of the next chunk; its minutes must follow the previous chunk's."""
        stamps, *prices = _columns(frame, self._layout)
        times = pd.to_datetime(stamps.astype(str), format=_CCXT_TIME, utc=True)
        ts_s = ((times - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
        steps = np.diff(ts_s if self._last_s is None else np.r_[self._last_s, ts_s])
        if (ts_s % 60).any() or (steps <= 0).any():
            raise ValueError("timestamps are not increasing whole minutes")
        if self._last_s is None and len(steps) and steps.min() != 60:
            raise ValueError(f"no two candles are one minute apart (smallest step {steps.min()} s)")
        self._last_s = int(ts_s[-1])
        ohlcv = _floats(prices)
        return _candles(ts_s, ohlcv, ohlcv[3] * ohlcv[4], 0)


def candle_reader(layout: Layout, interval: str) -> Callable[[pd.DataFrame], Candles]:
    """The function turning each chunk of a file of a candle ``layout`` into candles."""
    if layout.reader == "klines":
        return lambda frame: kline_rows(frame, layout, interval)
    return CcxtMinutes(layout).rows
