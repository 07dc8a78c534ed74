"""The file layouts ``python -m ingest import`` accepts, and recognising one from a file's start.

This module owns the one table of layouts (name, columns in file order, how a row without a
header looks) and ``detect_layout``, which names the layout of a file from its first line and
its file name, or refuses it with an error naming what it found: a file is never guessed at and
its columns are never shifted to fit. It also owns two facts the readers share: spot
timestamps are microseconds from 2025-01-01 on (milliseconds before), and a klines file's
interval comes from its name and must match each candle's span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from ingest.errors import IngestError
from ingest.storage import KLINE_INTERVALS

MICROSECOND_THRESHOLD: Final = 10**14
"""Epoch values at or above this are microseconds (2025 spot files), below it milliseconds."""

_INTERVAL_TOKEN = re.compile(r"^\d+(s|m|h|d|w|mo)$")


class ImportFileError(IngestError):
    """A file whose layout is unknown, or whose content contradicts its layout."""


# Sources. data.binance.vision, README of github.com/binance/binance-public-data ("Data
# Information"): spot trades are trade Id|price|qty|quoteQty|time|isBuyerMaker|isBestMatch, spot
# aggTrades Aggregate tradeId|Price|Quantity|First tradeId|Last tradeId|Timestamp|Was the buyer
# the maker|Was the trade the best price match, klines (spot and USD-M) Open time|Open|High|Low|
# Close|Volume|Close time|Quote asset volume|Number of trades|Taker buy base asset volume|Taker
# buy quote asset volume|Ignore; USD-M trades and aggTrades lack the best-match column; "The
# timestamp for SPOT Data from January 1st 2025 onwards will be in microseconds" (same README;
# issues #386 and #387 show 16-digit 1s klines from 2025-01-01). Spot files have no header row;
# USD-M files have a snake_case one (the names below) from 2022-08-11 on and none before (issues
# #177, #246, #278), so a header-less USD-M row is recognised too. The ccxt layout is
# ccxt.binance().fetch_ohlcv written by pandas, timestamp = bar open time as a naive UTC
# "YYYY-MM-DD HH:MM:SS" (shared/data/real/README.md, section 4).
_SPOT_TRADES = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
_SPOT_AGG = (
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
    "is_best_match",
)
_KLINES = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
_OHLCV = ("timestamp", "open", "high", "low", "close", "volume")
_TRADE_USED = ("id", "price", "qty", "time", "is_buyer_maker")
_AGG_USED = ("agg_trade_id", "price", "quantity", "transact_time", "is_buyer_maker")


@dataclass(frozen=True, slots=True)
class Layout:
    """One file layout, a row of ``LAYOUTS``.

    ``columns`` are in file order, spelled as the layout's header row; ``headerless`` is how a
    row without a header looks, one letter per field (``i`` integer, ``n`` number, ``b``
    True/False), or None when only the header identifies the layout; ``used`` are the columns
    its reader takes, in the reader's order (trades: id, price, quantity, time, buyer maker;
    candles: open time, open, high, low, close, volume, then close time, quote volume, count).
    """

    name: str
    reader: Literal["trades", "klines", "ohlcv"]
    columns: tuple[str, ...]
    headerless: str | None
    used: tuple[str, ...]
    feed: tuple[str, str] | None = None
    """``(market, stream)`` whose trade ids a trades layout holds (None for candles)."""


LAYOUTS: Final[tuple[Layout, ...]] = (
    Layout("spot trades", "trades", _SPOT_TRADES, "innnibb", _TRADE_USED, ("spot", "trade")),
    Layout("USD-M trades", "trades", _SPOT_TRADES[:6], "innnib", _TRADE_USED, ("usdm", "trade")),
    Layout("spot aggTrades", "trades", _SPOT_AGG, "inniiibb", _AGG_USED, ("spot", "aggTrade")),
    Layout("USD-M aggTrades", "trades", _SPOT_AGG[:7], "inniiib", _AGG_USED, ("usdm", "aggTrade")),
    Layout("binance klines", "klines", _KLINES, "innnnnininnn", _KLINES[:9]),
    Layout("ccxt ohlcv 1m", "ohlcv", _OHLCV, None, _OHLCV),
)
"""Every layout ``import`` reads. A header-less row is taken as klines only when its candle's
span (``close_time - open_time + 1``) is the interval its file name gives."""


@dataclass(frozen=True, slots=True)
class Detected:
    """What ``detect_layout`` found: the layout, whether line 1 is a header, the kline interval."""

    layout: Layout
    has_header: bool
    interval: str | None


def epoch_ms(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Epoch milliseconds of values that are each milliseconds or microseconds (by magnitude)."""
    return np.where(values >= MICROSECOND_THRESHOLD, values // 1000, values)


def kline_spans_match(
    open_t: npt.NDArray[np.int64], close_t: npt.NDArray[np.int64], seconds: int
) -> npt.NDArray[np.bool_]:
    """Whether each candle spans ``seconds`` (``close - open + 1``, in its own time unit)."""
    unit = np.where(open_t >= MICROSECOND_THRESHOLD, 1_000_000, 1000)
    return np.asarray(close_t - open_t + 1 == seconds * unit)


def interval_from_name(file_name: str) -> str | None:
    """The kline interval a file name gives (``BTCUSDT-1m-2024-08-08.zip`` → ``1m``), if any."""
    found = {t for t in re.split(r"[-_.]", file_name) if _INTERVAL_TOKEN.match(t)}
    if len(found) > 1:
        raise ImportFileError(f"{file_name}: the file name gives several intervals {sorted(found)}")
    return found.pop() if found else None


def _kind(field: str) -> str:
    if field.isdigit():
        return "i"
    if field.lower() in ("true", "false"):
        return "b"
    try:
        float(field)
    except ValueError:
        return "?"
    return "n"


def _fits(kinds: str, wanted: str) -> bool:
    return len(kinds) == len(wanted) and all(
        k == w or (k, w) == ("i", "n") for k, w in zip(kinds, wanted, strict=True)
    )


def _kline_interval(layout: Layout, file_name: str, fields: list[str] | None) -> str:
    interval = interval_from_name(file_name)
    if interval is None:
        raise ImportFileError(
            f"{file_name}: {layout.name} file, but its name gives no interval "
            "(expected e.g. BTCUSDT-1m-2024-08-08.zip)"
        )
    allowed = ("1m",) if layout.reader == "ohlcv" else tuple(KLINE_INTERVALS)
    if interval not in allowed:
        raise ImportFileError(
            f"{file_name}: {layout.name} file at interval {interval}: only "
            f"{' and '.join(allowed)} candles are imported (pairwatch stores 1s and 1m)"
        )
    if fields is not None:
        open_t, close_t = np.array([int(fields[0])]), np.array([int(fields[6])])
        if not kline_spans_match(open_t, close_t, KLINE_INTERVALS[interval])[0]:
            raise ImportFileError(
                f"{file_name}: the name says {interval} but the first candle spans "
                f"{fields[0]}..{fields[6]}"
            )
    return interval


def detect_layout(first_line: str, file_name: str) -> Detected:
    """The layout of a file from its first line and name; ``ImportFileError`` if none fits."""
    line = first_line.lstrip("\ufeff").strip()
    if not line:
        raise ImportFileError(f"{file_name}: unknown layout: the first line is empty")
    fields = [f.strip() for f in line.split(",")]
    has_header = not fields[0].isdigit()
    if has_header:
        names = tuple(f.lower() for f in fields)
        matches = [layout for layout in LAYOUTS if layout.columns == names]
        found = f"a header row {line[:200]!r}"
    else:
        kinds = "".join(_kind(f) for f in fields)
        matches = [
            layout
            for layout in LAYOUTS
            if layout.headerless is not None and _fits(kinds, layout.headerless)
        ]
        found = f"a header-less row of {len(fields)} fields {line[:200]!r}"
    if len(matches) != 1:
        known = ", ".join(layout.name for layout in LAYOUTS)
        raise ImportFileError(f"{file_name}: unknown layout: found {found}; known: {known}")
    layout = matches[0]
    interval = None
    if layout.reader != "trades":
        interval = _kline_interval(layout, file_name, None if has_header else fields)
    return Detected(layout, has_header, interval)
