"""What a database holds: the market and stream kind of its trade ids, recorded once.

This module owns ``feed_kind``. Spot and USD-M trades of one symbol, and raw trade ids and
aggregate-trade ids, are different id spaces: mixed in one table they turn into billion-id
"gaps" or every new trade classed as late. ``claim_feed_kind`` records the kind on first use
and refuses any other kind afterwards with a message saying what the database holds and what
was asked, so ``run`` and ``import`` can stop before storing anything.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from ingest.storage.errors import StorageError
from ingest.storage.schema import feed_kind


def claim_feed_kind(conn: Connection, market: str, stream: str, *, now_ms: int) -> None:
    """Record ``market``/``stream`` for a new database; raise if it holds another kind."""
    row = conn.execute(select(feed_kind.c.market, feed_kind.c.stream)).first()
    if row is None:
        conn.execute(
            insert(feed_kind).values(id=1, market=market, stream=stream, recorded_ms=now_ms)
        )
        return
    if (row.market, row.stream) != (market, stream):
        raise StorageError(
            f"this database holds {row.market} {row.stream} trades, but {market} {stream} "
            "was asked for: their trade ids do not mix. Use another storage.url for "
            f"{market} {stream}, or set feed.market: {row.market} and feed.stream: {row.stream}"
        )
