"""Feed health: pure rules turning ``feed_status`` and ``gaps`` rows into lights and figures.

Owns the meaning of the status lights (green: a trade within 5 s; orange: stale or
reconnecting; red: disconnected, no heartbeat, or never seen), the "ingestor stopped" rule (no
status update for more than 10 s) and the failed connection attempt of a running ingestor. Every
rule reads typed columns (``connected``, ``link_state``, ``connect_error``, ``retry_at_ms``);
``reason`` is shown on hover and never parsed. No I/O: the data layer passes rows and the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from ingest.storage import LinkState

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
        retrying = row.get("link_state") in (LinkState.RECONNECTING, LinkState.CONNECT_FAILED)
        if reconnects > 0 or retrying:
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
    when the link is not in ``connect_failed`` (a drop of a working connection, say).
    """
    if status.empty:
        return None
    for row in status[status["symbol"].isin(list(symbols))].to_dict("records"):
        fresh = now_ms - (_as_int(row.get("updated_ms")) or 0) <= STOPPED_AFTER_MS
        failed = row.get("link_state") == LinkState.CONNECT_FAILED
        retry_at = _as_int(row.get("retry_at_ms"))
        if fresh and failed and not row.get("connected") and retry_at is not None:
            return ConnectFailure(str(row.get("connect_error") or ""), retry_at)
    return None
