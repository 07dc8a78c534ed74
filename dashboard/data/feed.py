"""The feed as the dashboard sees it: lights, perpetual quotes, the status report, completeness.

``feed_overview`` is what the shell's status area shows (a light per symbol, SIMULATED, newest
bar); ``perp_quotes`` the mark price and funding of perpetual legs; ``status_report`` the typed
report behind ``/api/v1/status`` (the API shapes its body), with the notification outbox
counted per apprise target; ``completeness`` the lowest completeness among some symbols, by
``ingest.storage.completeness``, the one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from dashboard import health
from dashboard.services import DataService
from ingest.storage import (
    REJECT_KINDS,
    Completeness,
    HistoryRow,
    NotifySummary,
    RejectKind,
    completeness_of,
    last_bar_time,
    notification_summary,
    read_history,
    read_status,
    reject_column,
)


@dataclass(frozen=True, slots=True)
class FeedOverview:
    """Everything the shell's status area shows."""

    lights: tuple[health.SymbolHealth, ...]
    simulated: bool
    stopped_for_s: int | None
    latest_bar_s: int | None


@dataclass(frozen=True, slots=True)
class PerpQuote:
    """A perpetual leg's latest mark price, funding rate (a fraction) and next funding time."""

    symbol: str
    mark_price: float
    funding_rate: float
    next_funding_ms: int


@dataclass(frozen=True, slots=True)
class SymbolStatus:
    """One symbol's line of the status report."""

    light: health.SymbolHealth
    connected: bool
    link_state: str | None
    source: str | None
    last_bar_s: int | None
    rejected: dict[RejectKind, int]
    dropped_trades: int
    quote: PerpQuote | None
    ledger: Completeness


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Feed status, gap ledger and completeness per symbol, REST condition, history and
    notification deliveries per target."""

    now_ms: int
    simulated: bool
    ingestor_stopped_for_s: int | None
    symbols: tuple[SymbolStatus, ...]
    rest_note: str
    history: tuple[HistoryRow, ...]
    notify: tuple[NotifySummary, ...]


def feed_overview(service: DataService) -> FeedOverview:
    symbols = service.settings.symbols
    with service.engine.connect() as conn:
        status = read_status(conn)
        latest = last_bar_time(conn, symbols)
    now = service.now_ms()
    lights = tuple(health.classify_all(status, symbols, now))
    return FeedOverview(
        lights=lights,
        simulated=service.settings.feed.simulated or any(light.simulated for light in lights),
        stopped_for_s=health.ingestor_stopped_for(status, now),
        latest_bar_s=max(latest.values()) if latest else None,
    )


def _quote(symbol: str, row: dict[str, Any]) -> PerpQuote | None:
    mark = row.get("mark_price")
    if mark is None or pd.isna(mark):
        return None
    return PerpQuote(
        symbol,
        float(mark),
        float(row["funding_rate"]),
        int(row["next_funding_ms"]),
    )


def _rows(status: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {r["symbol"]: r for r in status.to_dict("records")} if not status.empty else {}


def perp_quotes(service: DataService, symbols: tuple[str, ...]) -> list[PerpQuote]:
    """Mark price and funding of the perpetual legs among ``symbols`` (spot legs have none)."""
    with service.engine.connect() as conn:
        rows = _rows(read_status(conn))
    quotes = (_quote(symbol, rows[symbol]) for symbol in symbols if symbol in rows)
    return [quote for quote in quotes if quote is not None]


def status_report(service: DataService) -> StatusReport:
    """Feed status, gap counts and completeness per configured symbol."""
    symbols = service.settings.symbols
    with service.engine.connect() as conn:
        status = read_status(conn)
        ledgers = completeness_of(conn, symbols)
        latest = last_bar_time(conn, symbols)
        history = read_history(conn, symbols)
        notify = notification_summary(conn)
    now = service.now_ms()
    rows = _rows(status)
    report = []
    for light in health.classify_all(status, symbols, now):
        row = rows.get(light.symbol, {})
        report.append(
            SymbolStatus(
                light=light,
                connected=bool(row.get("connected", False)),
                link_state=_text(row.get("link_state")),
                source=_text(row.get("source")),
                last_bar_s=latest.get(light.symbol),
                rejected={k: int(row.get(reject_column(k)) or 0) for k in REJECT_KINDS},
                dropped_trades=int(row.get("dropped_trades") or 0),
                quote=_quote(light.symbol, row),
                ledger=ledgers[light.symbol],
            )
        )
    notes = (str(r["rest_note"]) for r in rows.values() if r.get("rest_note"))
    return StatusReport(
        now_ms=now,
        simulated=service.settings.feed.simulated or any(r.source == "simulator" for r in report),
        ingestor_stopped_for_s=health.ingestor_stopped_for(status, now),
        symbols=tuple(report),
        rest_note=next(notes, ""),
        history=tuple(history),
        notify=tuple(notify),
    )


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def completeness(service: DataService, symbols: tuple[str, ...]) -> float | None:
    """The lowest trade-id completeness among ``symbols`` (None when none has data)."""
    with service.engine.connect() as conn:
        ledgers = completeness_of(conn, symbols)
    known = [c.fraction for c in ledgers.values() if c.fraction is not None]
    return min(known) if known else None
