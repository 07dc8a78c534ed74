"""Read windows: the bars a view reads, aligned, with the feed notices that qualify them.

A window is an indexed ``(symbol, ts_s)`` range of stored bars ending at the latest bar (never
the whole table, never ``trades``), read through ``ingest.storage.read_bars`` (which joins
trade bars to exchange candles) and resampled to the view's timeframe. Legs are aligned by
``analytics.align_legs`` with the configured bounded forward fill, the one alignment rule, for
a pair and for the multi-symbol heatmap alike. Feed notices say when the ingestor stopped, the
feed cannot connect, no status exists yet or an open gap meets the window (``analytics.gaps``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection

from analytics.bars import aligned_closes, closes_grid, resample_bars
from analytics.correlation import correlation_matrix as correlation_of
from analytics.errors import AnalyticsError
from analytics.gaps import gaps_in_window
from analytics.vocabulary import BAR_COLUMNS, BAR_SECONDS, Timeframe
from dashboard import health
from dashboard.budget import heatmap_span
from dashboard.data.notices import Notice, NoticeCode
from dashboard.params import View
from dashboard.services import DataService
from ingest.storage import GapState, last_bar_time, read_bars, read_gaps, read_status


@dataclass(frozen=True, eq=False, slots=True)
class PairWindow:
    """Both legs of a pair over the read window: bars per leg at the view's timeframe."""

    view: View
    legs: dict[str, pd.DataFrame]
    aligned: pd.DataFrame
    start_s: int | None
    end_s: int | None
    notices: tuple[Notice, ...]

    @property
    def both_legs(self) -> bool:
        return not any(frame.empty for frame in self.legs.values())


def _empty_bars() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="float64") for name in BAR_COLUMNS})


def read_window(
    conn: Connection, symbols: tuple[str, ...], tf: Timeframe, span_s: int
) -> tuple[dict[str, pd.DataFrame], int | None, int | None]:
    """Bars of ``symbols`` at ``tf`` over the ``span_s`` seconds ending at the newest bar."""
    latest = last_bar_time(conn, symbols)
    if not latest:
        return {s: resample_bars(_empty_bars(), tf) for s in symbols}, None, None
    bar = BAR_SECONDS[tf]
    end = max(latest.values())
    start = ((end - span_s) // bar + 1) * bar
    frames = {s: resample_bars(read_bars(conn, s, start, end, bar), tf) for s in symbols}
    return frames, start, end


def feed_notices(
    service: DataService,
    conn: Connection,
    status: pd.DataFrame,
    symbols: tuple[str, ...],
    *,
    start_s: int | None,
    end_s: int | None,
) -> list[Notice]:
    """What qualifies a window of ``symbols``: stopped ingestor, failed feed, open gaps."""
    notices: list[Notice] = []
    now = service.now_ms()
    stopped = health.ingestor_stopped_for(status, now)
    failure = health.connect_failure(status, symbols, now)
    if stopped is not None:
        notices.append(Notice(NoticeCode.INGESTOR_STOPPED, "danger", {"stopped_s": stopped}))
    elif failure is not None:
        feed = service.settings.feed
        facts = {
            "ws_url": feed.ws_url,
            "error": failure.error,
            "retry_in_s": (failure.retry_at_ms - now) / 1000,
            "simulated": feed.simulated,
        }
        notices.append(Notice(NoticeCode.CANNOT_CONNECT, "danger", facts))
    elif status.empty and start_s is not None:
        notices.append(Notice(NoticeCode.NO_FEED_STATUS, "warning"))
    gaps = read_gaps(conn, state=GapState.OPEN)
    gaps = gaps[gaps["symbol"].isin(symbols)] if not gaps.empty else gaps
    if start_s is not None and end_s is not None:
        gaps = gaps_in_window(start_s, end_s + 1 - start_s, gaps)
    for gap in gaps.itertuples(index=False):
        facts = {"symbol": gap.symbol, "from_id": int(gap.from_id), "to_id": int(gap.to_id)}
        notices.append(Notice(NoticeCode.OPEN_GAP, "warning", facts))
    return notices


def pair_window(service: DataService, view: View) -> PairWindow:
    """Bars of both legs over the view's span, aligned, with degraded-state notices."""
    legs = view.pair.legs
    with service.engine.connect() as conn:
        frames, start, end = read_window(conn, legs, view.tf, view.span_s)
        status = read_status(conn)
        notices = feed_notices(service, conn, status, legs, start_s=start, end_s=end)
    empty = [s for s in legs if frames[s].empty]
    if len(empty) == 2:
        failing = health.connect_failure(status, legs, service.now_ms()) is not None
        facts = {"base": legs[0], "hedge": legs[1], "cannot_connect": failing}
        notices.insert(0, Notice(NoticeCode.NO_DATA, "warning", facts))
    elif empty:
        notices.insert(0, Notice(NoticeCode.ONE_LEG_MISSING, "warning", {"symbol": empty[0]}))
    aligned = aligned_closes(
        frames[legs[0]],
        frames[legs[1]],
        bar_seconds=view.bar_seconds,
        max_stale_bars=service.settings.analytics.max_stale_bars,
    )
    return PairWindow(view, frames, aligned, start, end, tuple(notices))


def closes(
    service: DataService, tf: Timeframe, bars: int
) -> tuple[pd.DataFrame, tuple[Notice, ...]]:
    """Closes of every configured symbol on one grid (bounded forward fill), last ``bars``
    (fewer when the symbols' share of the read budget holds fewer)."""
    symbols = service.settings.symbols
    span = heatmap_span(len(symbols), tf, bars)
    with service.engine.connect() as conn:
        frames, start, end = read_window(conn, symbols, tf, span)
        status = read_status(conn)
        notices = feed_notices(service, conn, status, symbols, start_s=start, end_s=end)
    aligned = closes_grid(
        frames, bar_seconds=BAR_SECONDS[tf], max_stale_bars=service.settings.analytics.max_stale_bars
    )
    if aligned.shape[1] < 2:
        facts = {"found": aligned.shape[1]}
        notices.insert(0, Notice(NoticeCode.TOO_FEW_SYMBOLS, "warning", facts))
        return pd.DataFrame(), tuple(notices)
    return aligned.dropna(), tuple(notices)


def correlation_matrix(
    service: DataService, tf: Timeframe, window: int
) -> tuple[pd.DataFrame, tuple[Notice, ...]]:
    """Correlation of returns between every pair of configured symbols over ``window`` bars."""
    aligned, notices = closes(service, tf, window + 1)
    if aligned.empty:
        return aligned, notices
    try:
        return correlation_of(aligned, min(window, len(aligned) - 1)), notices
    except AnalyticsError as exc:
        reason = Notice(NoticeCode.NO_CORRELATION, "info", {"reason": str(exc)})
        return pd.DataFrame(), (*notices, reason)


def bars(
    service: DataService, symbol: str, tf: Timeframe, start_s: int | None, end_s: int | None
) -> pd.DataFrame:
    """Bars of ``symbol`` at ``tf`` between the times (default: the last hour of data)."""
    with service.engine.connect() as conn:
        if end_s is None:
            end_s = last_bar_time(conn, (symbol,)).get(symbol, service.now_ms() // 1000)
        if start_s is None:
            start_s = end_s - 3600
        return resample_bars(read_bars(conn, symbol, start_s, end_s, BAR_SECONDS[tf]), tf)
