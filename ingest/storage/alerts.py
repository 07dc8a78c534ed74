"""Alert history: deduplicated inserts and filtered reads of ``alerts``.

An alert row is unique per ``(pair, rule, ts_ms)``, so a worker that restarts and evaluates
the same bar again cannot write the same alert twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from ingest.storage.dialect import upsert_insert
from ingest.storage.schema import alerts


def insert_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store alert events; an event already stored is skipped."""
    if not rows:
        return
    statement = upsert_insert(conn, alerts).on_conflict_do_nothing(
        index_elements=["pair", "rule", "ts_ms"]
    )
    conn.execute(statement, list(rows))


def read_alerts(
    conn: Connection,
    *,
    pair: str | None = None,
    direction: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Alerts newest first, filtered by pair, direction and time range."""
    conditions = []
    if pair is not None:
        conditions.append(alerts.c.pair == pair)
    if direction is not None:
        conditions.append(alerts.c.direction == direction)
    if start_ms is not None:
        conditions.append(alerts.c.ts_ms >= start_ms)
    if end_ms is not None:
        conditions.append(alerts.c.ts_ms <= end_ms)
    query = select(alerts).order_by(alerts.c.ts_ms.desc(), alerts.c.id.desc()).limit(limit)
    if conditions:
        query = query.where(and_(*conditions))
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def last_alert_times(conn: Connection) -> dict[tuple[str, str], tuple[int, str]]:
    """Latest ``(ts_ms, direction)`` per ``(pair, rule)``, to restore alert state on restart."""
    latest = (
        select(alerts.c.pair, alerts.c.rule, func.max(alerts.c.ts_ms).label("ts_ms"))
        .group_by(alerts.c.pair, alerts.c.rule)
        .subquery()
    )
    query = select(alerts.c.pair, alerts.c.rule, alerts.c.ts_ms, alerts.c.direction).join(
        latest,
        and_(
            alerts.c.pair == latest.c.pair,
            alerts.c.rule == latest.c.rule,
            alerts.c.ts_ms == latest.c.ts_ms,
        ),
    )
    return {(r.pair, r.rule): (int(r.ts_ms), r.direction) for r in conn.execute(query)}
