"""Feed status and the gap ledger.

This module owns ``feed_status`` (one heartbeat row per symbol: connected and the
``LinkState``, the failed attempt's error and retry time, last trade and message times,
reconnect count, rate, source, per-kind reject counters and a display ``reason``) and ``gaps``
(trade-id ranges the feed skipped, with their ``GapState`` lifecycle open → filled | lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, select, update

from ingest.storage.dialect import upsert_insert
from ingest.storage.records import Gap, GapState
from ingest.storage.schema import alerts, feed_status, gaps
from ingest.storage.text import display_text


def upsert_status(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the status rows of the given symbols."""
    if not rows:
        return
    statement = upsert_insert(conn, feed_status)
    columns = [c.name for c in feed_status.columns if c.name != "symbol"]
    rows = [{**row, **_clean_texts(row)} for row in rows]
    statement = statement.on_conflict_do_update(
        index_elements=["symbol"], set_={name: statement.excluded[name] for name in columns}
    )
    conn.execute(statement, list(rows))


_TEXT_COLUMNS = ("reason", "connect_error", "rest_note")


def _clean_texts(row: dict[str, Any]) -> dict[str, str]:
    """The row's free-text columns, as ``display_text`` (they come from remote servers)."""
    return {name: display_text(row[name]) for name in _TEXT_COLUMNS if name in row}


def read_status(conn: Connection) -> pd.DataFrame:
    """Every status row, by symbol."""
    result = conn.execute(select(feed_status).order_by(feed_status.c.symbol))
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def open_gap(conn: Connection, gap: Gap, detected_ms: int) -> None:
    """Record a missing id range, detected at ``detected_ms``.

    ``from_ms``/``to_ms`` are the times of the trades either side of the hole, so readers can
    tell whether a time window is affected. Recording the same gap twice is a no-op.
    """
    values = {**asdict(gap), "detected_ms": detected_ms, "state": GapState.OPEN.value}
    statement = upsert_insert(conn, gaps).values(**values)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["symbol", "from_id"]))


def close_gap(
    conn: Connection, gap_id: int, state: GapState, now_ms: int, reason: str = ""
) -> None:
    """Mark a gap ``filled`` or ``lost``."""
    if state not in (GapState.FILLED, GapState.LOST):
        raise ValueError(f"gap state must be filled or lost, not {state!r}")
    conn.execute(
        update(gaps)
        .where(gaps.c.id == gap_id)
        .values(state=GapState(state).value, filled_ms=now_ms, reason=display_text(reason))
    )


def note_gap_attempt(conn: Connection, gap_id: int, reason: str) -> None:
    """Count one failed backfill attempt of a gap and keep its reason."""
    conn.execute(
        update(gaps)
        .where(gaps.c.id == gap_id)
        .values(attempts=gaps.c.attempts + 1, reason=display_text(reason))
    )


def read_gaps(
    conn: Connection, state: GapState | None = None, symbol: str | None = None
) -> pd.DataFrame:
    """Gaps, newest first, optionally filtered by state and symbol."""
    query = select(gaps).order_by(gaps.c.detected_ms.desc(), gaps.c.id.desc())
    conditions = []
    if state is not None:
        conditions.append(gaps.c.state == GapState(state).value)
    if symbol is not None:
        conditions.append(gaps.c.symbol == symbol)
    if conditions:
        query = query.where(and_(*conditions))
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def data_versions(conn: Connection) -> tuple[int | None, int | None, int | None, int]:
    """Cheap change markers: newest heartbeat, newest alert id, newest gap id, open gaps."""
    row = conn.execute(
        select(
            select(func.max(feed_status.c.updated_ms)).scalar_subquery(),
            select(func.max(alerts.c.id)).scalar_subquery(),
            select(func.max(gaps.c.id)).scalar_subquery(),
            select(func.count())
            .select_from(gaps)
            .where(gaps.c.state == GapState.OPEN.value)
            .scalar_subquery(),
        )
    ).one()
    return row[0], row[1], row[2], int(row[3])
