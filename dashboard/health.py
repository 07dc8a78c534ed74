"""Feed health: pure rules turning ``feed_status`` and ``gaps`` rows into lights and figures.

Owns the meaning of the status lights (green: a trade within 5 s; orange: stale or
reconnecting; red: disconnected, no heartbeat, or never seen), the "ingestor stopped" rule (no
status update for more than 10 s), the reading of a failed connection attempt out of a row's
``reason`` and the completeness of a symbol's trade-id range (share of ids not inside an open or
lost gap). No I/O: services pass the rows and the clock in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import pandas as pd

LIVE_TRADE_MS = 5_000
STOPPED_AFTER_MS = 10_000
Light = Literal["green", "orange", "red"]


@dataclass(frozen=True, slots=True)
class SymbolHealth:
    """One symbol's light, with the reason shown on hover."""

    symbol: str
    light: Light
    reason: str
    simulated: bool
    last_trade_ms: int | None
    reconnects: int
    rate: float


def _as_int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def classify(row: dict[str, object] | None, symbol: str, now_ms: int) -> SymbolHealth:
    """Light of ``symbol`` from its ``feed_status`` row (``None`` when the row is absent)."""
    if row is None:
        return SymbolHealth(
            symbol, "red", "no status yet: is the ingestor running?", False, None, 0, 0.0
        )
    last_trade = _as_int(row.get("last_trade_ms"))
    updated = _as_int(row.get("updated_ms")) or 0
    reconnects = _as_int(row.get("reconnects")) or 0
    reason = str(row.get("reason") or "")
    simulated = row.get("source") == "simulator"
    rate = float(row.get("rate") or 0.0)  # type: ignore[arg-type]

    def health(light: Light, text: str) -> SymbolHealth:
        return SymbolHealth(symbol, light, text, simulated, last_trade, reconnects, rate)

    heartbeat_age = now_ms - updated
    if heartbeat_age > STOPPED_AFTER_MS:
        return health("red", f"ingestor stopped: no status update for {heartbeat_age // 1000} s")
    if not row.get("connected"):
        if reconnects > 0 or "reconnect" in reason.lower():
            return health("orange", f"reconnecting ({reconnects} so far) {reason}".strip())
        return health("red", f"disconnected {reason}".strip())
    if last_trade is None:
        return health("orange", "connected, no trade yet")
    trade_age = now_ms - last_trade
    if trade_age > LIVE_TRADE_MS:
        return health("orange", f"stale: last trade {trade_age / 1000:.0f} s ago {reason}".strip())
    return health("green", f"live: last trade {trade_age / 1000:.1f} s ago")


def classify_all(status: pd.DataFrame, symbols: tuple[str, ...], now_ms: int) -> list[SymbolHealth]:
    """Lights for ``symbols`` in order, from the whole ``feed_status`` frame."""
    rows = {r["symbol"]: r for r in status.to_dict("records")} if not status.empty else {}
    return [classify(rows.get(symbol), symbol, now_ms) for symbol in symbols]


def ingestor_stopped_for(status: pd.DataFrame, now_ms: int) -> int | None:
    """Seconds since the last status update when over the limit, else ``None``."""
    if status.empty:
        return None
    age = now_ms - int(status["updated_ms"].max())
    return age // 1000 if age > STOPPED_AFTER_MS else None


CONNECT_FAILURE = re.compile(
    r"cannot connect to \S+: (?P<error>.+); retry at (?P<at>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
)
"""A failed attempt's reason, as ``ingest.feedstate.connect_failure_reason`` writes it."""


@dataclass(frozen=True, slots=True)
class ConnectFailure:
    """The feed's last connection attempt failed with ``error``; the next is at ``retry_at_ms``."""

    error: str
    retry_at_ms: int


def connect_failure(
    status: pd.DataFrame, symbols: Sequence[str], now_ms: int
) -> ConnectFailure | None:
    """The failed connection of a running ingestor, read from the status rows of ``symbols``.

    None when every row is connected, when the ingestor stopped (its own notice says so), or
    when no reason describes a failed attempt (a drop of a working connection, say).
    """
    if status.empty:
        return None
    for row in status[status["symbol"].isin(list(symbols))].to_dict("records"):
        fresh = now_ms - (_as_int(row.get("updated_ms")) or 0) <= STOPPED_AFTER_MS
        match = CONNECT_FAILURE.search(str(row.get("reason") or ""))
        if fresh and not row.get("connected") and match is not None:
            retry_at = datetime.strptime(match["at"], "%Y-%m-%dT%H:%M:%S%z")
            return ConnectFailure(match["error"], int(retry_at.timestamp()) * 1000)
    return None


@dataclass(frozen=True, slots=True)
class GapCounts:
    """Gap ledger summary of one symbol, with the completeness of its trade-id range."""

    open: int
    filled: int
    lost: int
    missing_ids: int
    completeness: float | None


def gap_counts(
    gaps: pd.DataFrame, symbol: str, first_id: int | None, last_id: int | None
) -> GapCounts:
    """Counts per state and ``1 - missing / span`` over ids ``first_id..last_id``."""
    mine = gaps[gaps["symbol"] == symbol] if not gaps.empty else gaps
    counts = {
        state: int((mine["state"] == state).sum()) if not mine.empty else 0
        for state in ("open", "filled", "lost")
    }
    missing = 0
    if not mine.empty:
        unresolved = mine[mine["state"] != "filled"]
        missing = int((unresolved["to_id"] - unresolved["from_id"] + 1).clip(lower=0).sum())
    completeness = None
    if first_id is not None and last_id is not None:
        span = max(last_id - first_id + 1, 1)
        completeness = max(0.0, 1.0 - missing / span)
    return GapCounts(counts["open"], counts["filled"], counts["lost"], missing, completeness)
