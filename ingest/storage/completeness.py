"""Completeness of a symbol's stored trades: the one definition, used by the CLI and the API.

A symbol's record covers the trade ids from the first to the last id under its stored bars.
Its completeness is the share of those ids that are not inside an unresolved gap (``open`` or
``lost``): ``1 − missing / (last − first + 1)``. Ids a backfill recovered (``filled``) count as
present; ids dropped by retention are outside the covered range, so retention never lowers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from ingest.storage.bars import id_span
from ingest.storage.records import GapState
from ingest.storage.schema import gaps


@dataclass(frozen=True, slots=True)
class Completeness:
    """Gap ledger summary of one symbol over its covered trade ids."""

    symbol: str
    first_id: int | None
    last_id: int | None
    open: int
    filled: int
    lost: int
    missing_ids: int
    """Ids inside open or lost gaps."""

    @property
    def fraction(self) -> float | None:
        """``1 − missing / span`` in [0, 1]; None while the symbol has no bars."""
        if self.first_id is None or self.last_id is None:
            return None
        span = max(self.last_id - self.first_id + 1, 1)
        return max(0.0, 1.0 - self.missing_ids / span)


def completeness(conn: Connection, symbol: str) -> Completeness:
    """The completeness of ``symbol`` (two index probes and one grouped count of its gaps)."""
    first, last = id_span(conn, symbol)
    rows = conn.execute(
        select(gaps.c.state, func.count(), func.sum(gaps.c.to_id - gaps.c.from_id + 1))
        .where(gaps.c.symbol == symbol)
        .group_by(gaps.c.state)
    ).all()
    counts = {GapState(state): (int(n), int(ids or 0)) for state, n, ids in rows}
    number = {state: counts.get(state, (0, 0))[0] for state in GapState}
    missing = sum(counts.get(state, (0, 0))[1] for state in (GapState.OPEN, GapState.LOST))
    return Completeness(
        symbol,
        first,
        last,
        number[GapState.OPEN],
        number[GapState.FILLED],
        number[GapState.LOST],
        missing,
    )


def completeness_of(conn: Connection, symbols: Iterable[str]) -> dict[str, Completeness]:
    """:func:`completeness` of each of ``symbols``."""
    return {symbol: completeness(conn, symbol) for symbol in symbols}
