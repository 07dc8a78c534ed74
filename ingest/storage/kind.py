"""What a database holds: the market and stream kind of its trade ids, recorded once.

This module owns ``feed_kind``. Spot and USD-M trades of one symbol, and raw trade ids and
aggregate-trade ids, are different id spaces: mixed in one table they turn into billion-id
"gaps" or every new trade classed as late. A kind is recorded per key prefix: ``""`` for the
unqualified keys of ``feed.market``, ``usdm:`` or ``spot:`` for qualified ones, so switching
``feed.market`` under unqualified keys is caught. ``claim_feed_kind`` records the kind on
first use and refuses any other kind afterwards with a message saying what the database holds
and what was asked, so ``run`` and ``import`` can stop before storing anything.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from ingest.storage.errors import StorageError
from ingest.storage.schema import feed_kind


def claim_feed_kind(
    conn: Connection, market: str, stream: str, *, now_ms: int, prefix: str = ""
) -> None:
    """Record ``market``/``stream`` for keys with ``prefix``; raise if they hold another kind."""
    row = conn.execute(
        select(feed_kind.c.market, feed_kind.c.stream).where(feed_kind.c.prefix == prefix)
    ).first()
    if row is None:
        conn.execute(
            insert(feed_kind).values(
                prefix=prefix, market=market, stream=stream, recorded_ms=now_ms
            )
        )
        return
    if (row.market, row.stream) != (market, stream):
        keys = f"its {prefix}… symbols" if prefix else "this database"
        raise StorageError(
            f"{keys} holds {row.market} {row.stream} trades, but {market} {stream} "
            "was asked for: their trade ids do not mix. Use another storage.url for "
            f"{market} {stream}, or set feed.market: {row.market} and feed.stream: {row.stream}"
        )
