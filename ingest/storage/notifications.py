"""The notification outbox: one ``notifications`` row per alert and target, delivered once.

The alert worker queues rows in the transaction that stores its alerts, so an alert and its
pending deliveries commit together or not at all. A row is keyed by ``(alert_id, target_key)``
and queuing skips a row already there, so an alert evaluated again after a restart is not
queued twice. The sender reads the rows due for its target (``due_notifications``, joined with
their alert) and writes each attempt's outcome (``record_attempt``); ``notification_summary``
counts rows per target for the status API. Keys and labels come from the sender and never hold
a secret: the label is the target's scheme and host with tokens masked.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, case, func, select, tuple_, update

from ingest.storage.dialect import upsert_insert
from ingest.storage.records import NotifyState
from ingest.storage.schema import alerts, notifications

ERROR_LEN = 200
"""Width of ``notifications.last_error``; longer text is cut."""


@dataclass(frozen=True, slots=True)
class DueNotification:
    """A pending delivery with the alert it carries."""

    alert_id: int
    attempts: int
    pair: str
    rule: str
    direction: str
    z: float
    spread: float | None
    beta: float | None
    eg_p: float | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class NotifySummary:
    """Deliveries of one target by state, and the newest error still on record."""

    key: str
    target: str
    sent: int
    pending: int
    failed: int
    last_error: str


def enqueue_notifications(
    conn: Connection,
    fired: Sequence[tuple[str, str, int]],
    targets: Sequence[tuple[str, str]],
    now_ms: int,
) -> None:
    """Queue each stored alert ``(pair, rule, ts_ms)`` for each target ``(key, label)``, due
    now; a delivery already queued is kept as it is."""
    if not fired or not targets:
        return
    key = tuple_(alerts.c.pair, alerts.c.rule, alerts.c.ts_ms)
    ids = conn.execute(select(alerts.c.id).where(key.in_(list(fired)))).scalars().all()
    rows = [
        {"alert_id": alert_id, "target_key": target_key, "target": label, "next_attempt_ms": now_ms}
        for alert_id in ids
        for target_key, label in targets
    ]
    statement = upsert_insert(conn, notifications).on_conflict_do_nothing(
        index_elements=["alert_id", "target_key"]
    )
    conn.execute(statement, rows)


def due_notifications(
    conn: Connection, target_key: str, now_ms: int, limit: int = 50
) -> list[DueNotification]:
    """Pending deliveries of one target whose next attempt is due, oldest alert first."""
    n = notifications.c
    query = (
        select(
            n.alert_id,
            n.attempts,
            alerts.c.pair,
            alerts.c.rule,
            alerts.c.direction,
            alerts.c.z,
            alerts.c.spread,
            alerts.c.beta,
            alerts.c.eg_p,
            alerts.c.ts_ms,
        )
        .join(alerts, alerts.c.id == n.alert_id)
        .where(
            n.target_key == target_key,
            n.state == NotifyState.PENDING.value,
            n.next_attempt_ms <= now_ms,
        )
        .order_by(alerts.c.ts_ms, n.alert_id)
        .limit(limit)
    )
    return [DueNotification(**row) for row in conn.execute(query).mappings()]


def record_attempt(
    conn: Connection,
    alert_id: int,
    target_key: str,
    *,
    state: NotifyState,
    now_ms: int,
    next_attempt_ms: int,
    error: str = "",
) -> None:
    """Store one delivery attempt: its outcome, when to try again, and its error ('' when it
    was delivered); ``sent_ms`` is set when ``state`` is ``sent``."""
    n = notifications.c
    conn.execute(
        update(notifications)
        .where(n.alert_id == alert_id, n.target_key == target_key)
        .values(
            state=state.value,
            attempts=n.attempts + 1,
            last_attempt_ms=now_ms,
            next_attempt_ms=next_attempt_ms,
            last_error=error[:ERROR_LEN],
            sent_ms=now_ms if state is NotifyState.SENT else None,
        )
    )


def abandon_other_targets(conn: Connection, keep: Collection[str], reason: str, now_ms: int) -> int:
    """Mark ``failed`` (at ``now_ms``, for ``reason``) the pending deliveries of targets not in
    ``keep``: they are no longer configured, so nothing would ever send them. Returns how many."""
    n = notifications.c
    result = conn.execute(
        update(notifications)
        .where(n.state == NotifyState.PENDING.value, n.target_key.not_in(list(keep)))
        .values(
            state=NotifyState.FAILED.value, last_error=reason[:ERROR_LEN], last_attempt_ms=now_ms
        )
    )
    return int(result.rowcount)


def notification_summary(conn: Connection) -> list[NotifySummary]:
    """Per target (by label): deliveries sent, pending and failed, and the error of its most
    recently attempted delivery that still carries one ('' when none does)."""
    n = notifications.c

    counts = conn.execute(
        select(
            n.target_key,
            n.target,
            *(_count(n.state == state.value).label(state.value) for state in NotifyState),
        )
        .group_by(n.target_key, n.target)
        .order_by(n.target, n.target_key)
    ).all()
    newest = (
        select(n.target_key, func.max(n.last_attempt_ms).label("at"))
        .where(n.last_error != "")
        .group_by(n.target_key)
        .subquery()
    )
    errors = dict(
        conn.execute(
            select(n.target_key, n.last_error).join(
                newest, and_(n.target_key == newest.c.target_key, n.last_attempt_ms == newest.c.at)
            )
        ).all()
    )
    return [
        NotifySummary(
            key=row.target_key,
            target=row.target,
            sent=int(row.sent),
            pending=int(row.pending),
            failed=int(row.failed),
            last_error=errors.get(row.target_key, ""),
        )
        for row in counts
    ]


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of a group meet ``condition``."""
    return func.sum(case((condition, 1), else_=0))
