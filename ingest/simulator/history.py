"""Per-symbol trade history kept by the simulated exchange (what REST can serve).

``TradeHistory`` owns the columnar, append-only record of every trade the simulator generated
for one symbol: trade id, exchange time (ms), price, qty, buyer-maker flag and aggregate-trade
id, in growable numpy arrays (~41 bytes per trade). Aggregates are runs of consecutive trades with
the same time, price and side inside one appended batch (they never span batches, so the stream
and REST always agree). Appends come from the event-loop thread; reads from any thread get
consistent prefix views because rows below ``n`` are never rewritten.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
BoolA = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TradeRows:
    """A read-only columnar slice of trades."""

    ids: I64
    ts: I64
    price: F64
    qty: F64
    maker: BoolA
    agg: I64

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: npt.NDArray[np.intp] | slice) -> TradeRows:
        return TradeRows(
            self.ids[index],
            self.ts[index],
            self.price[index],
            self.qty[index],
            self.maker[index],
            self.agg[index],
        )


class TradeHistory:
    """Append-only trade record of one symbol."""

    def __init__(self, symbol: str, next_id: int, next_agg_id: int, capacity: int = 4096) -> None:
        self.symbol = symbol
        self.next_id = next_id
        self.next_agg_id = next_agg_id
        self._lock = threading.Lock()
        self._n = 0
        self._ids = np.empty(capacity, np.int64)
        self._ts = np.empty(capacity, np.int64)
        self._price = np.empty(capacity, np.float64)
        self._qty = np.empty(capacity, np.float64)
        self._maker = np.empty(capacity, np.bool_)
        self._agg = np.empty(capacity, np.int64)

    def __len__(self) -> int:
        return self._n

    def _grow(self, need: int) -> None:
        cap = len(self._ids)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        for name in ("_ids", "_ts", "_price", "_qty", "_maker", "_agg"):
            old = getattr(self, name)
            new = np.empty(new_cap, old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def append(
        self, ts: I64, price: F64, qty: F64, maker: BoolA, ids: I64 | None = None
    ) -> TradeRows:
        """Append a batch; ``ids`` None assigns the next contiguous ids. Returns the new rows."""
        k = len(ts)
        if ids is None:
            ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        if k == 0:
            empty = np.empty(0, np.int64)
            return TradeRows(empty, empty, np.empty(0), np.empty(0), np.empty(0, bool), empty)
        # aggregate boundaries: first row of the batch, or (T, price, side) changes
        new_agg = np.ones(k, np.bool_)
        if k > 1:
            new_agg[1:] = (
                (ts[1:] != ts[:-1]) | (price[1:] != price[:-1]) | (maker[1:] != maker[:-1])
            )
        agg = self.next_agg_id - 1 + np.cumsum(new_agg, dtype=np.int64)
        with self._lock:
            n = self._n
            self._grow(n + k)
            self._ids[n : n + k] = ids
            self._ts[n : n + k] = ts
            self._price[n : n + k] = price
            self._qty[n : n + k] = qty
            self._maker[n : n + k] = maker
            self._agg[n : n + k] = agg
            self._n = n + k
            self.next_id = int(ids[-1]) + 1
            self.next_agg_id = int(agg[-1]) + 1
            return self._view(n, n + k)

    def _view(self, lo: int, hi: int) -> TradeRows:
        return TradeRows(
            self._ids[lo:hi],
            self._ts[lo:hi],
            self._price[lo:hi],
            self._qty[lo:hi],
            self._maker[lo:hi],
            self._agg[lo:hi],
        )

    def rows(self) -> TradeRows:
        """A consistent view of everything appended so far (no copy)."""
        with self._lock:
            return self._view(0, self._n)

    def last_id(self) -> int | None:
        with self._lock:
            return int(self._ids[self._n - 1]) if self._n else None
