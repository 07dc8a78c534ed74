"""Exchange candles as history, and the one rule that joins them to bars built from trades.

This module owns ``klines`` (1-second and 1-minute candles fetched from the exchange or imported
from files) and ``history`` (per symbol and interval: the span wanted, how far loading got, its
state, and ``to_s``, the second from which finer data takes over). ``read_bars`` is the only way
bars are read for analysis: it returns rows that :func:`analytics.resample_bars` aggregates into
bars of ``bar_seconds``, taking each second from exactly one source, so the seam between candles
and trades never counts a trade twice and never leaves a hole:

- 1-second views: 1s klines before the 1s row's ``to_s`` (the first second fully covered by
  trades), bars of trades from ``trades_from_s`` on;
- minute views: 1m klines before the 1m row's ``to_s`` (a minute boundary), then 1s klines, then
  bars of trades, each only from that boundary on.

Without a ``history`` row that holds candles (``loading`` or ``loaded``) for a symbol, the
trade bars are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, func, select

from ingest.storage.bars import BAR_COLUMNS, read_trade_bars
from ingest.storage.dialect import upsert_insert
from ingest.storage.schema import bars_1s, history, klines
from ingest.storage.text import display_text

KLINE_INTERVALS: Final[dict[str, int]] = {"1s": 1, "1m": 60}
"""Candle intervals pairwatch stores, and their length in seconds."""

_KLINE_VALUES: Final[tuple[str, ...]] = (*BAR_COLUMNS[:6], "quote_volume", "n_trades")
"""Columns of ``klines`` besides the key: the bar columns up to volume, then the candle's own."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One ``history`` row: what is wanted and loaded of one symbol's candles at one interval."""

    symbol: str
    interval: str
    from_s: int
    to_s: int
    next_s: int
    trades_from_s: int
    state: str
    reason: str
    updated_ms: int

    @property
    def fraction(self) -> float:
        """Share of the wanted span loaded so far (1.0 once there is nothing left to load)."""
        span = self.to_s - self.from_s
        return 1.0 if span <= 0 else min(1.0, max(0.0, (self.next_s - self.from_s) / span))

    @property
    def span_text(self) -> str:
        """How far back before the first trade this interval reaches: ``7 d``, ``2 h``."""
        return approx_duration(self.trades_from_s - self.from_s)

    def describe(self) -> str:
        """One line for ``status``: ``BTCUSDT 1m 7 d loaded`` or ``BTCUSDT 1s loading 41 %``."""
        head = f"{self.symbol} {self.interval}"
        if self.state == "loading":
            return f"{head} loading {self.fraction:.0%} of {self.span_text}"
        if self.state == "loaded" and self.to_s <= self.from_s:
            return f"{head}: nothing to load (trades cover it)"
        if self.state == "loaded":
            return f"{head} {self.span_text} loaded"
        return f"{head} {self.state}: {self.reason}"


def approx_duration(seconds: float) -> str:
    """A span in the largest sensible unit, rounded: ``41 s``, ``4 min``, ``3 h``, ``7 d``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{round(whole / 60)} min"
    if whole < 2 * 86_400:
        return f"{round(whole / 3600)} h"
    return f"{round(whole / 86_400)} d"


def insert_klines(
    conn: Connection, symbol: str, interval: str, rows: Sequence[dict[str, Any]]
) -> int:
    """Store candles of ``symbol`` at ``interval`` (keys of ``_KLINE_VALUES``); idempotent.

    A candle already stored for the same second is replaced, so re-importing a file or
    re-fetching a page that overlaps what is stored changes nothing.
    """
    if not rows:
        return 0
    interval_s = KLINE_INTERVALS[interval]
    values = [
        {"symbol": symbol, "interval_s": interval_s, **{k: row[k] for k in _KLINE_VALUES}}
        for row in rows
    ]
    statement = upsert_insert(conn, klines)
    statement = statement.on_conflict_do_update(
        index_elements=["symbol", "interval_s", "ts_s"],
        set_={k: statement.excluded[k] for k in _KLINE_VALUES if k != "ts_s"},
    )
    conn.execute(statement, values)
    return len(values)


def kline_span(conn: Connection, symbol: str, interval: str) -> tuple[int | None, int | None, int]:
    """First and last stored candle second of ``symbol`` at ``interval``, and their count."""
    where = and_(klines.c.symbol == symbol, klines.c.interval_s == KLINE_INTERVALS[interval])
    first, last, count = conn.execute(
        select(func.min(klines.c.ts_s), func.max(klines.c.ts_s), func.count()).where(where)
    ).one()
    return (
        (None if first is None else int(first)),
        (None if last is None else int(last)),
        int(count),
    )


def save_history(conn: Connection, row: HistoryRow) -> None:
    """Insert or replace the ``history`` row of ``(row.symbol, row.interval)``."""
    values = {name: getattr(row, name) for name in HistoryRow.__slots__}
    values["reason"] = display_text(values["reason"])
    statement = upsert_insert(conn, history)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["symbol", "interval"],
            set_={k: statement.excluded[k] for k in values if k not in ("symbol", "interval")},
        ),
        values,
    )


def read_history(conn: Connection, symbols: Iterable[str] | None = None) -> list[HistoryRow]:
    """``history`` rows (of ``symbols`` when given), ordered by symbol then interval."""
    query = select(*(history.c[name] for name in HistoryRow.__slots__)).order_by(
        history.c.symbol, history.c.interval
    )
    if symbols is not None:
        query = query.where(history.c.symbol.in_(list(symbols)))
    return [HistoryRow(*row) for row in conn.execute(query).fetchall()]


def _kline_bars(
    conn: Connection, symbol: str, interval: str, start_s: int, end_s: int
) -> pd.DataFrame:
    """Candles with ``start_s <= ts_s <= end_s`` as bar rows (``vwap`` from quote volume)."""
    query = (
        select(*(klines.c[name] for name in _KLINE_VALUES))
        .where(
            and_(
                klines.c.symbol == symbol,
                klines.c.interval_s == KLINE_INTERVALS[interval],
                klines.c.ts_s.between(start_s, end_s),
            )
        )
        .order_by(klines.c.ts_s)
    )
    rows = conn.execute(query).fetchall()
    if not rows:
        return _empty()
    ts, open_, high, low, close, volume, quote, n = (np.asarray(c) for c in zip(*rows, strict=True))
    volume = volume.astype(np.float64)
    close = close.astype(np.float64)
    vwap = np.divide(quote.astype(np.float64), volume, out=close.copy(), where=volume > 0)
    return pd.DataFrame(
        {
            "ts_s": ts.astype(np.int64),
            "open": open_.astype(np.float64),
            "high": high.astype(np.float64),
            "low": low.astype(np.float64),
            "close": close,
            "volume": volume,
            "vwap": vwap,
            "n_trades": n.astype(np.int64),
        }
    )


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            name: np.empty(0, np.int64 if name in ("ts_s", "n_trades") else np.float64)
            for name in BAR_COLUMNS
        }
    )


def read_bars(
    conn: Connection, symbol: str, start_s: int, end_s: int, bar_seconds: int = 1
) -> pd.DataFrame:
    """Rows of ``symbol`` between the seconds that resample exactly into ``bar_seconds`` bars.

    Each row is a 1-second bar (of trades or a 1s kline) or, for views of whole minutes, a 1m
    kline labelled by its start; every second comes from one source (see the module docstring).
    Columns are ``BAR_COLUMNS``, ascending by ``ts_s``.
    """
    rows = {
        row.interval: row
        for row in read_history(conn, (symbol,))
        if row.state in ("loading", "loaded") and row.to_s > row.from_s
    }
    if not rows:
        return read_trade_bars(conn, symbol, start_s, end_s)
    trades_from = min(row.trades_from_s for row in rows.values())
    second, minute = rows.get("1s"), rows.get("1m")
    parts = []
    finer_from = start_s
    if minute is not None and bar_seconds % 60 == 0:
        parts.append(_kline_bars(conn, symbol, "1m", start_s, min(end_s, minute.to_s - 1)))
        finer_from = max(start_s, minute.to_s)
    if second is not None:
        parts.append(_kline_bars(conn, symbol, "1s", finer_from, min(end_s, second.to_s - 1)))
    parts.append(read_trade_bars(conn, symbol, max(finer_from, trades_from), end_s))
    present = [part for part in parts if not part.empty]
    if not present:
        return _empty()
    if len(present) == 1:
        return present[0]
    return pd.concat(present, ignore_index=True)


def first_trade_second(conn: Connection, symbol: str) -> int | None:
    """The second of the oldest bar built from trades of ``symbol`` (None: no trades yet)."""
    value = conn.execute(
        select(func.min(bars_1s.c.ts_s)).where(bars_1s.c.symbol == symbol)
    ).scalar()
    return None if value is None else int(value)


def note_imported_klines(
    conn: Connection, symbol: str, interval: str, first_s: int, end_s: int, *, now_ms: int
) -> HistoryRow:
    """Record that candles of ``[first_s, end_s)`` were imported, so ``read_bars`` uses them.

    An existing row keeps its seam and only reaches further back. Without one, the candles are
    authoritative up to ``end_s`` but never past the first second covered by trades (for 1m
    candles: the end of the minute that holds it, which the file's candle covers whole).
    """
    current = {row.interval: row for row in read_history(conn, (symbol,))}.get(interval)
    if current is not None:
        row = HistoryRow(
            symbol,
            interval,
            min(current.from_s, first_s),
            current.to_s,
            current.next_s,
            current.trades_from_s,
            current.state,
            current.reason,
            now_ms,
        )
    else:
        first_trade = first_trade_second(conn, symbol)
        to_s = end_s
        if first_trade is not None:
            size = KLINE_INTERVALS[interval]
            to_s = min(end_s, -(-(first_trade + 1) // size) * size)
        trades_from = to_s if first_trade is None else first_trade + 1
        row = HistoryRow(
            symbol, interval, first_s, to_s, to_s, trades_from, "loaded", "imported", now_ms
        )
    save_history(conn, row)
    return row
