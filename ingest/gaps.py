"""Trade-id continuity per symbol: the pure part of the gap ledger.

``GapTracker`` remembers the highest trade id seen per symbol and splits each batch into
*fresh* trades (ids above everything stored, the common case, which can be rolled into bars
incrementally), *late* trades (ids at or below the high-water mark: duplicates after a reconnect
overlap, or backfill material, which need an exact bar rebuild) and the *gaps* the fresh trades
reveal (``last + 1 .. next - 1``). Binance spot ``@trade`` ids are contiguous per symbol, so a
hole is a trade we did not receive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.storage.records import Gap, Trade


@dataclass
class BatchSplit:
    """A batch sorted into the three cases the writer handles differently."""

    fresh: list[Trade] = field(default_factory=list)
    late: list[Trade] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class GapTracker:
    """High-water ``(trade_id, ts_ms)`` per symbol; seed it with the last stored trades."""

    last: dict[str, tuple[int, int]] = field(default_factory=dict)

    def last_id(self, symbol: str) -> int | None:
        """Highest trade id seen for ``symbol``."""
        seen = self.last.get(symbol)
        return None if seen is None else seen[0]

    def split(self, batch: Iterable[Trade]) -> BatchSplit:
        """Classify ``batch`` (any order) and advance the high-water marks."""
        result = BatchSplit()
        for trade in sorted(batch, key=lambda t: (t.symbol, t.trade_id)):
            seen = self.last.get(trade.symbol)
            if seen is not None and trade.trade_id <= seen[0]:
                result.late.append(trade)
                continue
            if seen is not None and trade.trade_id > seen[0] + 1:
                hole = Gap(trade.symbol, seen[0] + 1, trade.trade_id - 1, seen[1], trade.ts_ms)
                result.gaps.append(hole)
            self.last[trade.symbol] = (trade.trade_id, trade.ts_ms)
            result.fresh.append(trade)
        return result
