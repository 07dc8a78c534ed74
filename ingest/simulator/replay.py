"""Replay of Binance trade CSV files (data.binance.vision layout) as a live feed.

This module owns reading spot/futures trade CSVs (plain or zipped; with or without a header row;
ms or µs timestamps, µs detected per value as ``time > 1e14``), naming the symbol from the file
name (``..._<SYMBOL>_...`` or ``<SYMBOL>-trades-...``) unless given, and ``ReplayMarket``, which
releases the trades in exchange-time order across symbols at ``speed`` x real time (0 = as fast
as the clients drain, in chunks). Trade ids, prices, quantities and sides are kept as in the file;
``rebase_time`` shifts the timestamps so the first trade is "now". A silenced symbol's cursor
stops; its held trades are released in one burst when the silence ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.simulator.config import ReplayFile
from ingest.simulator.history import F64, I64, BoolA
from ingest.simulator.market import Batch

_NAME_RE = re.compile(r"(?:^|[_\-])([A-Z][A-Z0-9]{2,19})(?=[_\-.])")
US_THRESHOLD = 10**14


def symbol_from_name(path: Path) -> str:
    """``binance_spot_BTCUSDT_trades_x.csv`` or ``BTCUSDT-trades-2025-01-01.zip`` → BTCUSDT."""
    m = _NAME_RE.search(path.name)
    if not m:
        raise ValueError(
            f"replay: cannot tell the symbol from file name {path.name!r}; use SYMBOL=FILE"
        )
    return m.group(1)


@dataclass(slots=True)
class TradeTable:
    """Trades of one symbol sorted by id."""

    symbol: str
    ids: I64
    ts: I64
    price: F64
    qty: F64
    maker: BoolA
    key: I64 | None = None  # running max of ts: the release order (robust to unsorted times)

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = np.maximum.accumulate(self.ts) if len(self.ts) else self.ts

    def __len__(self) -> int:
        return len(self.ids)


def _has_header(path: Path) -> bool:
    first = pd.read_csv(path, header=None, nrows=1, dtype=str)
    return not str(first.iloc[0, 0]).strip().isdigit()


def _as_bool(col: pd.Series) -> BoolA:
    if col.dtype == bool:
        return col.to_numpy(dtype=np.bool_)
    return col.astype(str).str.strip().str.lower().isin(("true", "1")).to_numpy()


def load_trades_csv(path: Path, symbol: str | None = None) -> TradeTable:
    """Read one trades CSV (columns ``id,price,qty,quote_qty,time,is_buyer_maker[,best]``)."""
    sym = symbol or symbol_from_name(path)
    df = pd.read_csv(path, header=0 if _has_header(path) else None)
    if df.shape[1] < 6:
        raise ValueError(f"replay: {path.name} has {df.shape[1]} columns; expected >= 6 (trades)")
    ids = df.iloc[:, 0].to_numpy(np.int64)
    ts = df.iloc[:, 4].to_numpy(np.int64)
    ts = np.where(ts > US_THRESHOLD, ts // 1000, ts)
    table = TradeTable(
        sym,
        ids,
        ts,
        df.iloc[:, 1].to_numpy(np.float64),
        df.iloc[:, 2].to_numpy(np.float64),
        _as_bool(df.iloc[:, 5]),
    )
    return _sorted_unique(table)


def _sorted_unique(t: TradeTable) -> TradeTable:
    order = np.argsort(t.ids, kind="stable")
    ids = t.ids[order]
    keep = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.empty(0, bool)
    idx = order[keep]
    return TradeTable(t.symbol, t.ids[idx], t.ts[idx], t.price[idx], t.qty[idx], t.maker[idx])


def load_sources(files: tuple[ReplayFile, ...]) -> dict[str, TradeTable]:
    """Load all files; several files of one symbol are merged by id (duplicates dropped)."""
    parts: dict[str, list[TradeTable]] = {}
    for rf in files:
        t = load_trades_csv(rf.path, rf.symbol)
        parts.setdefault(t.symbol, []).append(t)
    out: dict[str, TradeTable] = {}
    for sym, ts in parts.items():
        merged = TradeTable(
            sym,
            np.concatenate([t.ids for t in ts]),
            np.concatenate([t.ts for t in ts]),
            np.concatenate([t.price for t in ts]),
            np.concatenate([t.qty for t in ts]),
            np.concatenate([t.maker for t in ts]),
        )
        out[sym] = _sorted_unique(merged)
    return out


class ReplayMarket:
    """Releases loaded trades in time order at ``speed`` x real time (see module docstring)."""

    def __init__(
        self, tables: dict[str, TradeTable], speed: float, rebase_time: bool, chunk: int
    ) -> None:
        self.tables = tables
        self.symbols: tuple[str, ...] = tuple(tables)
        self.speed = speed
        self.rebase = rebase_time
        self.chunk = max(1, chunk)
        self.cursor = dict.fromkeys(self.symbols, 0)
        nonempty = [int(t.ts.min()) for t in tables.values() if len(t)]
        self.t0 = min(nonempty) if nonempty else 0
        self.clock_ms = float(self.t0)
        self.wall0_ms: int | None = None

    @property
    def exhausted(self) -> bool:
        return all(self.cursor[s] >= len(self.tables[s]) for s in self.symbols)

    def total(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def step(
        self,
        now_ms: int,
        dt: float,
        silenced: frozenset[str] = frozenset(),
        remaining: dict[str, int] | None = None,
    ) -> list[Batch]:
        if self.wall0_ms is None:
            self.wall0_ms = now_ms
        active = [
            s for s in self.symbols if s not in silenced and self.cursor[s] < len(self.tables[s])
        ]
        if not active:
            self.clock_ms += dt * 1000.0 * self.speed
            return []
        if self.speed > 0:
            self.clock_ms += dt * 1000.0 * self.speed
            cutoff = int(self.clock_ms)
        else:
            cutoff = min(
                int(self._key(s)[min(self.cursor[s] + self.chunk, len(self.tables[s])) - 1])
                for s in active
            )
        chunks: list[tuple[str, int, int]] = []
        for s in active:
            lo = self.cursor[s]
            hi = int(np.searchsorted(self._key(s), cutoff, side="right"))
            hi = max(lo, min(hi, lo + self.chunk))
            if remaining is not None and s in remaining:
                hi = min(hi, lo + max(0, remaining[s]))
            if hi > lo:
                chunks.append((s, lo, hi))
                self.cursor[s] = hi
        if self.speed == 0 and chunks:
            self.clock_ms = float(cutoff)
        return self._merge(chunks)

    def _merge(self, chunks: list[tuple[str, int, int]]) -> list[Batch]:
        if not chunks:
            return []
        shift = (self.wall0_ms or 0) - self.t0 if self.rebase else 0
        if len(chunks) == 1:
            s, lo, hi = chunks[0]
            return [self._batch(s, np.arange(lo, hi), shift)]
        sym_idx = np.concatenate([np.full(hi - lo, i) for i, (_, lo, hi) in enumerate(chunks)])
        rows = np.concatenate([np.arange(lo, hi) for _, lo, hi in chunks])
        ts = np.concatenate([self._key(s)[lo:hi] for s, lo, hi in chunks])
        order = np.argsort(ts, kind="stable")
        sym_idx, rows = sym_idx[order], rows[order]
        cuts = np.flatnonzero(sym_idx[1:] != sym_idx[:-1]) + 1
        out = []
        for seg_s, seg_rows in zip(np.split(sym_idx, cuts), np.split(rows, cuts), strict=True):
            out.append(self._batch(chunks[int(seg_s[0])][0], seg_rows, shift))
        return out

    def _key(self, symbol: str) -> I64:
        key = self.tables[symbol].key
        assert key is not None
        return key

    def _batch(self, symbol: str, rows: np.ndarray, shift: int) -> Batch:
        t = self.tables[symbol]
        return Batch(
            symbol, t.ts[rows] + shift, t.price[rows], t.qty[rows], t.maker[rows], t.ids[rows]
        )
