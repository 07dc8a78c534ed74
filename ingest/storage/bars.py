"""One-second bars: roll-up of trades, exact merge, rebuild and range reads.

This module owns ``bars_1s``. ``aggregate_trades`` turns a batch of trades into per
symbol-second bars; ``merge_bars`` folds bars built from trades that are new to the database into
the stored ones (open from the lowest id, close from the highest, high/low extremes, summed
volume, quote volume and count, so VWAP stays exact); ``rebuild_bars`` recomputes a time range
from the stored trades, for writes that may overlap what is stored (backfill, import). Reads
return pandas frames over an index range of ``(symbol, ts_s)``; analysis reads go through
``history.read_bars``, which joins these bars to exchange candles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, delete, func, select

from analytics.vocabulary import BAR_COLUMNS
from ingest.storage.dialect import upsert_insert
from ingest.storage.records import Trade
from ingest.storage.schema import bars_1s
from ingest.storage.trades import trades_between_times

_INTEGER_COLUMNS = frozenset({"ts_s", "n_trades"})


def aggregate_trades(batch: Iterable[Trade]) -> list[dict[str, Any]]:
    """Bars per (symbol, second) of ``batch``; trades may arrive in any order."""
    acc: dict[tuple[str, int], list[Any]] = {}
    for t in batch:
        key = (t.symbol, t.ts_ms // 1000)
        bar = acc.get(key)
        if bar is None:
            acc[key] = [
                t.price,
                t.price,
                t.price,
                t.price,
                t.qty,
                t.price * t.qty,
                1,
                t.trade_id,
                t.trade_id,
            ]
            continue
        if t.trade_id < bar[7]:
            bar[0], bar[7] = t.price, t.trade_id
        if t.trade_id > bar[8]:
            bar[3], bar[8] = t.price, t.trade_id
        bar[1] = max(bar[1], t.price)
        bar[2] = min(bar[2], t.price)
        bar[4] += t.qty
        bar[5] += t.price * t.qty
        bar[6] += 1
    return [
        {
            "symbol": symbol,
            "ts_s": ts_s,
            "open": o,
            "high": h,
            "low": low,
            "close": c,
            "volume": vol,
            "quote_volume": qv,
            "vwap": qv / vol if vol > 0 else c,
            "n_trades": n,
            "first_id": first,
            "last_id": last,
        }
        for (symbol, ts_s), (o, h, low, c, vol, qv, n, first, last) in acc.items()
    ]


def merge_bars(conn: Connection, bars: Sequence[dict[str, Any]]) -> None:
    """Fold bars made of trades not yet counted into the stored bars."""
    if not bars:
        return
    statement = upsert_insert(conn, bars_1s)
    new, old = statement.excluded, bars_1s.c
    volume = old.volume + new.volume
    quote_volume = old.quote_volume + new.quote_volume
    statement = statement.on_conflict_do_update(
        index_elements=["symbol", "ts_s"],
        set_={
            "open": case((new.first_id < old.first_id, new.open), else_=old.open),
            "close": case((new.last_id > old.last_id, new.close), else_=old.close),
            "high": case((new.high > old.high, new.high), else_=old.high),
            "low": case((new.low < old.low, new.low), else_=old.low),
            "first_id": case((new.first_id < old.first_id, new.first_id), else_=old.first_id),
            "last_id": case((new.last_id > old.last_id, new.last_id), else_=old.last_id),
            "volume": volume,
            "quote_volume": quote_volume,
            "n_trades": old.n_trades + new.n_trades,
            "vwap": case((volume > 0, quote_volume / volume), else_=new.close),
        },
    )
    conn.execute(statement, list(bars))


def rebuild_bars(conn: Connection, symbol: str, from_s: int, to_s: int) -> int:
    """Recompute the bars of ``symbol`` for seconds ``from_s..to_s`` from stored trades."""
    frame = trades_between_times(conn, symbol, from_s * 1000, (to_s + 1) * 1000)
    conn.execute(
        delete(bars_1s).where(
            and_(bars_1s.c.symbol == symbol, bars_1s.c.ts_s.between(from_s, to_s))
        )
    )
    if frame.empty:
        return 0
    rebuilt = aggregate_trades(
        Trade(
            symbol, int(r.trade_id), int(r.ts_ms), float(r.price), float(r.qty), bool(r.buyer_maker)
        )
        for r in frame.itertuples(index=False)
    )
    conn.execute(upsert_insert(conn, bars_1s), rebuilt)
    return len(rebuilt)


def read_trade_bars(conn: Connection, symbol: str, start_s: int, end_s: int) -> pd.DataFrame:
    """Bars built from trades of ``symbol`` with ``start_s <= ts_s <= end_s``, ascending.

    The frame is built column by column from plain tuples: pandas probes every SQLAlchemy
    ``Row`` for named fields, which made a 3,600-bar read cost ~30 ms instead of ~4 ms.
    """
    query = (
        select(*(bars_1s.c[name] for name in BAR_COLUMNS))
        .where(and_(bars_1s.c.symbol == symbol, bars_1s.c.ts_s.between(start_s, end_s)))
        .order_by(bars_1s.c.ts_s)
    )
    rows = conn.execute(query).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(BAR_COLUMNS)
    return pd.DataFrame(
        {
            name: np.asarray(values, dtype=np.int64 if name in _INTEGER_COLUMNS else np.float64)
            for name, values in zip(BAR_COLUMNS, columns, strict=True)
        }
    )


def last_bar_time(conn: Connection, symbols: Iterable[str]) -> dict[str, int]:
    """Latest bar second per symbol (absent when the symbol has no bar)."""
    result: dict[str, int] = {}
    for symbol in symbols:
        value = conn.execute(
            select(func.max(bars_1s.c.ts_s)).where(bars_1s.c.symbol == symbol)
        ).scalar()
        if value is not None:
            result[symbol] = int(value)
    return result


def id_span(conn: Connection, symbol: str) -> tuple[int | None, int | None]:
    """First and last trade id covered by the stored bars of ``symbol`` (two index probes)."""
    where = bars_1s.c.symbol == symbol
    first = conn.execute(
        select(bars_1s.c.first_id).where(where).order_by(bars_1s.c.ts_s).limit(1)
    ).scalar()
    last = conn.execute(
        select(bars_1s.c.last_id).where(where).order_by(bars_1s.c.ts_s.desc()).limit(1)
    ).scalar()
    return (None if first is None else int(first)), (None if last is None else int(last))
