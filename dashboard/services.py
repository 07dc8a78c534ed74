"""Data access for the pages and the API: the only module that reads the database.

Owns one SQLAlchemy engine per process (created lazily, so gunicorn workers never share one),
the read windows (an indexed ``(symbol, ts_s)`` range of ``bars_1s`` ending at the latest bar,
never the whole table and never ``trades``), and the composition of those reads with
``analytics``: resampling, alignment, ``compute_pair``, correlation and the backtest. Alert-rule
state is read as the alert worker stored it (``rule_states``), never replayed here. Every call
opens a short connection and returns frames or frozen dataclasses; the degraded states a page
must explain (empty database, one leg missing, ingestor stopped, feed unable to connect, open
gap) come back as ``Notice`` values next to the data, and a statistic that still lacks bars
comes back as a ``Warmup`` (bars present of bars needed) instead of an error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from analytics.backtest import BacktestParams, BacktestResult, run_backtest
from analytics.bars import align_legs, aligned_closes, resample_bars
from analytics.bars import closes as close_series
from analytics.correlation import corr_bars_needed, correlation_matrix, rolling_correlation
from analytics.errors import AnalyticsError
from analytics.pipeline import PairAnalytics, PairParams, bars_needed, compute_pair
from analytics.vocabulary import BAR_COLUMNS, BAR_SECONDS
from dashboard import health
from dashboard.memo import SharedResults
from dashboard.params import MAX_SPAN_S, View
from dashboard.timefmt import approx_duration
from ingest.settings import AlertRuleSettings, Settings
from ingest.storage import (
    data_versions,
    id_span,
    last_bar_time,
    make_engine,
    read_alerts,
    read_bars,
    read_gaps,
    read_history,
    read_status,
    rule_states_by_rule,
)

Level = Literal["info", "warning", "danger"]
RuleStateName = Literal["armed", "triggered", "waiting"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Notice:
    """A message a page shows instead of (or above) a chart."""

    level: Level
    text: str


@dataclass(frozen=True, slots=True)
class Warmup:
    """A statistic that needs ``needed`` aligned bars of timeframe ``tf``; ``bars`` exist."""

    bars: int
    needed: int
    tf: str

    @property
    def text(self) -> str:
        """``warming up: 41 of 300 bars (about 4 min at 1s)``: the wait assumes live bars."""
        wait = approx_duration((self.needed - self.bars) * BAR_SECONDS[self.tf])
        return f"warming up: {self.bars} of {self.needed} bars (about {wait} at {self.tf})"


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


@dataclass(frozen=True, eq=False, slots=True)
class PairResult:
    """A pair window with its analytics (``analytics`` is None when they cannot be computed).

    ``warmup`` is set while the window holds fewer bars than the z-score needs
    (``analytics`` is then None); ``corr`` is the rolling correlation per bar, computed on its
    own window, so it exists from ``corr_window + 1`` bars (``corr_warmup`` until then).
    """

    window: PairWindow
    ts: np.ndarray
    analytics: PairAnalytics | None
    alerts: pd.DataFrame
    notices: tuple[Notice, ...]
    corr: np.ndarray
    warmup: Warmup | None = None
    corr_warmup: Warmup | None = None

    @property
    def last_corr(self) -> float | None:
        """The correlation at the last bar (None while undefined)."""
        value = float(self.corr[-1]) if len(self.corr) else float("nan")
        return value if np.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class PerpQuote:
    """A perpetual leg's latest mark price, funding rate (a fraction) and next funding time."""

    symbol: str
    mark_price: float
    funding_rate: float
    next_funding_ms: int


@dataclass(frozen=True, slots=True)
class RuleState:
    """A configured alert rule with the state the alert worker stored for it.

    ``state`` is ``armed`` (fires on the next crossing), ``triggered`` (fired; re-arms once
    |z| < exit_z) or ``waiting`` (the worker has stored nothing for this rule yet). ``last_z``
    and ``last_eval_ts`` are the z-score and time (epoch s) of the last bar the worker
    evaluated; ``last_direction`` and ``last_alert_ts`` (epoch s, bar time) are those of its
    last firing.
    """

    pair: str
    name: str
    entry_z: float
    exit_z: float
    direction: str
    timeframe: str
    window: int
    state: RuleStateName
    last_direction: str | None = None
    last_z: float | None = None
    last_eval_ts: int | None = None
    last_alert_ts: int | None = None


@dataclass(frozen=True, slots=True)
class FeedOverview:
    """Everything the shell's status area shows."""

    lights: tuple[health.SymbolHealth, ...]
    simulated: bool
    stopped_for_s: int | None
    latest_bar_s: int | None


@dataclass(frozen=True, eq=False, slots=True)
class BacktestOutcome:
    result: BacktestResult | None
    pair: PairResult
    notices: tuple[Notice, ...] = field(default=())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class DataService:
    """Reads and computes everything the dashboard shows; one instance per process."""

    def __init__(
        self, settings: Settings, clock_ms: Callable[[], int] = _now_ms, share: bool = True
    ) -> None:
        self.settings = settings
        self._share = share
        self._clock_ms = clock_ms
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._shared = SharedResults()

    # -- connections -------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The process's engine, created on first use (after gunicorn forks)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = make_engine(self.settings.storage.url)
            return self._engine

    def now_ms(self) -> int:
        return self._clock_ms()

    def data_stamp(self) -> tuple[object, ...]:
        """What every page result depends on: newest bars, heartbeat, latest alert and gap."""
        with self.engine.connect() as conn:
            newest = last_bar_time(conn, self.settings.symbols)
            return (tuple(sorted(newest.items())), *data_versions(conn))

    def shared(self, name: str, args: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """``compute()``, shared by every request for the same page, arguments and data."""
        if not self._share:
            return compute()
        key = (name, args, self.data_stamp(), self.now_ms() // 1000)
        return self._shared.get(key, compute)

    # -- windows -----------------------------------------------------------------------------
    def _read_window(
        self, conn: Connection, symbols: tuple[str, ...], tf: str, span_s: int
    ) -> tuple[dict[str, pd.DataFrame], int | None, int | None]:
        latest = last_bar_time(conn, symbols)
        if not latest:
            return {s: resample_bars(_empty_bars(), tf) for s in symbols}, None, None
        bar = BAR_SECONDS[tf]
        end = max(latest.values())
        start = ((end - span_s) // bar + 1) * bar
        frames = {s: resample_bars(read_bars(conn, s, start, end, bar), tf) for s in symbols}
        return frames, start, end

    def _feed_notices(
        self,
        conn: Connection,
        status: pd.DataFrame,
        symbols: tuple[str, ...],
        start_s: int | None,
        end_s: int | None,
    ) -> list[Notice]:
        notices: list[Notice] = []
        stopped = health.ingestor_stopped_for(status, self.now_ms())
        failure = health.connect_failure(status, symbols, self.now_ms())
        if stopped is not None:
            notices.append(
                Notice(
                    "danger",
                    f"Ingestor stopped: no status update for {stopped} s. "
                    "Data shown may be old; start it with `python -m ingest run`.",
                )
            )
        elif failure is not None:
            notices.append(self._connect_notice(failure))
        elif status.empty and start_s is not None:
            notices.append(Notice("warning", "No feed status yet: the ingestor has not reported."))
        for gap in read_gaps(conn, state="open").to_dict("records"):
            if gap["symbol"] in symbols and _gap_in_window(gap, start_s, end_s):
                notices.append(
                    Notice(
                        "warning",
                        f"Open gap in {gap['symbol']}: trade ids {gap['from_id']}–{gap['to_id']} "
                        "missing (backfill pending); this window may lack trades.",
                    )
                )
        return notices

    def _connect_notice(self, failure: health.ConnectFailure) -> Notice:
        """Why no trades arrive, in words: where to, what failed, when it retries, what else."""
        wait_s = (failure.retry_at_ms - self.now_ms()) / 1000
        retry = (
            f"Next retry in about {approx_duration(wait_s)}." if wait_s >= 1 else "Retrying now."
        )
        feed = self.settings.feed
        advice = (
            "Is the simulator running? `make demo` starts it with the dashboard."
            if feed.simulated
            else "No internet or Binance blocked here? `make demo` runs fully offline on the "
            "built-in simulator."
        )
        error = failure.error.rstrip(". ")
        return Notice(
            "danger", f"The feed cannot connect to {feed.ws_url}: {error}. {retry} {advice}"
        )

    def pair_window(self, view: View) -> PairWindow:
        """Bars of both legs over the view's span, aligned, with degraded-state notices."""
        legs = view.pair.legs
        with self.engine.connect() as conn:
            frames, start, end = self._read_window(conn, legs, view.tf, view.span_s)
            status = read_status(conn)
            notices = self._feed_notices(conn, status, legs, start, end)
        empty = [s for s in legs if frames[s].empty]
        if len(empty) == 2:
            cannot_connect = health.connect_failure(status, legs, self.now_ms()) is not None
            why = (
                "the feed cannot connect"
                if cannot_connect
                else "the database has no bars for them. Start the ingestor or wait for the "
                "first trades"
            )
            notices.insert(0, Notice("warning", f"No data yet for {legs[0]} and {legs[1]}: {why}."))
        elif empty:
            notices.insert(
                0,
                Notice(
                    "warning",
                    f"No data for {empty[0]} in this window: only "
                    "one leg of the pair has bars, so no spread can be "
                    "computed.",
                ),
            )
        aligned = aligned_closes(
            frames[legs[0]],
            frames[legs[1]],
            bar_seconds=view.bar_seconds,
            max_stale_bars=self.settings.analytics.max_stale_bars,
        )
        return PairWindow(view, frames, aligned, start, end, tuple(notices))

    def pair_result(self, view: View, *, with_health: bool = True) -> PairResult:
        """The pair window plus ``compute_pair`` and the stored alerts inside it.

        With fewer bars than the z-score needs, ``compute_pair`` is not run: the result carries
        a ``warmup`` instead, and the correlation alone once it has its own bars.
        """
        window = self.pair_window(view)
        ts = window.aligned.index.to_numpy(dtype=np.int64)
        notices = list(window.notices)
        result: PairAnalytics | None = None
        corr = np.full(len(ts), np.nan)
        warmup = corr_warmup = None
        if len(ts) and window.both_legs:
            base, hedge = window.aligned["base"].to_numpy(), window.aligned["hedge"].to_numpy()
            params = PairParams(
                method=view.method,
                window=view.window,
                z_window=view.z_window,
                corr_window=view.corr_window,
                log=self.settings.analytics.log_prices,
            )
            warmup = _warmup(len(ts), bars_needed(params), view)
            corr_warmup = _warmup(len(ts), corr_bars_needed(view.corr_window), view)
            try:
                if warmup is None:
                    result = compute_pair(base, hedge, params, with_health=with_health)
                    corr = result.corr
                else:
                    corr = rolling_correlation(base, hedge, view.corr_window)
            except AnalyticsError as exc:
                notices.append(Notice("info", f"No analytics for this view: {exc}"))
        alerts = self.alerts(pair=view.pair.name, start_ms=(window.start_s or 0) * 1000)
        return PairResult(window, ts, result, alerts, tuple(notices), corr, warmup, corr_warmup)

    # -- feed --------------------------------------------------------------------------------
    def feed_overview(self) -> FeedOverview:
        symbols = self.settings.symbols
        with self.engine.connect() as conn:
            status = read_status(conn)
            latest = last_bar_time(conn, symbols)
        now = self.now_ms()
        lights = tuple(health.classify_all(status, symbols, now))
        return FeedOverview(
            lights=lights,
            simulated=self.settings.feed.simulated or any(light.simulated for light in lights),
            stopped_for_s=health.ingestor_stopped_for(status, now),
            latest_bar_s=max(latest.values()) if latest else None,
        )

    def perp_quotes(self, symbols: tuple[str, ...]) -> list[PerpQuote]:
        """Mark price and funding of the perpetual legs among ``symbols`` (spot legs have none)."""
        with self.engine.connect() as conn:
            status = read_status(conn)
        if status.empty:
            return []
        rows = status.set_index("symbol")
        return [
            PerpQuote(
                symbol,
                float(rows.at[symbol, "mark_price"]),
                float(rows.at[symbol, "funding_rate"]),
                int(rows.at[symbol, "next_funding_ms"]),
            )
            for symbol in symbols
            if symbol in rows.index and pd.notna(rows.at[symbol, "mark_price"])
        ]

    def status_report(self) -> dict[str, Any]:
        """Feed status, gap counts and completeness per symbol (the ``/api/v1/status`` body)."""
        symbols = self.settings.symbols
        with self.engine.connect() as conn:
            status = read_status(conn)
            gaps = read_gaps(conn)
            spans = {s: id_span(conn, s) for s in symbols}
            latest = last_bar_time(conn, symbols)
            history = read_history(conn, symbols)
        now = self.now_ms()
        rows = {r["symbol"]: r for r in status.to_dict("records")} if not status.empty else {}
        report = []
        for light in health.classify_all(status, symbols, now):
            counts = health.gap_counts(gaps, light.symbol, *spans[light.symbol])
            row = rows.get(light.symbol, {})
            report.append(
                {
                    "symbol": light.symbol,
                    "light": light.light,
                    "reason": light.reason,
                    "connected": bool(row.get("connected", False)),
                    "source": row.get("source"),
                    "last_trade_ms": light.last_trade_ms,
                    "last_bar_s": latest.get(light.symbol),
                    "reconnects": light.reconnects,
                    "rate": light.rate,
                    "rejected_frames": int(row.get("rejected_frames") or 0),
                    "dropped_trades": int(row.get("dropped_trades") or 0),
                    **_perp_fields(row),
                    "gaps": {"open": counts.open, "filled": counts.filled, "lost": counts.lost},
                    "missing_ids": counts.missing_ids,
                    "completeness": counts.completeness,
                }
            )
        return {
            "now_ms": now,
            "simulated": self.settings.feed.simulated
            or any(r["source"] == "simulator" for r in report),
            "ingestor_stopped_for_s": health.ingestor_stopped_for(status, now),
            "symbols": report,
            "rest": next((r["rest_note"] for r in rows.values() if r.get("rest_note")), ""),
            "history": [
                {
                    "symbol": row.symbol,
                    "interval": row.interval,
                    "state": row.state,
                    "loaded": round(row.fraction, 4),
                    "from_s": row.from_s,
                    "to_s": row.to_s,
                    "text": f"history: {row.describe()}",
                }
                for row in history
            ],
        }

    def completeness(self, symbols: tuple[str, ...]) -> float | None:
        """The lowest trade-id completeness among ``symbols`` (None when none has data)."""
        with self.engine.connect() as conn:
            gaps = read_gaps(conn, symbol=None)
            spans = {s: id_span(conn, s) for s in symbols}
        values = [health.gap_counts(gaps, s, *spans[s]).completeness for s in symbols]
        known = [v for v in values if v is not None]
        return min(known) if known else None

    # -- multi-symbol ------------------------------------------------------------------------
    def closes(self, tf: str, bars: int) -> tuple[pd.DataFrame, tuple[Notice, ...]]:
        """Closes of every configured symbol on one grid (bounded forward fill), last ``bars``."""
        symbols = self.settings.symbols
        span = min(bars * BAR_SECONDS[tf], MAX_SPAN_S)
        with self.engine.connect() as conn:
            frames, start, end = self._read_window(conn, symbols, tf, span)
            notices = self._feed_notices(conn, read_status(conn), symbols, start, end)
        present = {s: close_series(f) for s, f in frames.items() if not f.empty}
        if len(present) < 2:
            notices.insert(
                0,
                Notice(
                    "warning",
                    f"Correlation needs bars of at least two symbols; found {len(present)}.",
                ),
            )
            return pd.DataFrame(), tuple(notices)
        aligned = align_legs(
            present,
            bar_seconds=BAR_SECONDS[tf],
            max_stale_bars=self.settings.analytics.max_stale_bars,
        )
        return aligned.dropna(), tuple(notices)

    def correlation_matrix(self, tf: str, window: int) -> tuple[pd.DataFrame, tuple[Notice, ...]]:
        closes, notices = self.closes(tf, window + 1)
        if closes.empty:
            return closes, notices
        try:
            return correlation_matrix(closes, min(window, len(closes) - 1)), notices
        except AnalyticsError as exc:
            return pd.DataFrame(), (*notices, Notice("info", f"No correlation yet: {exc}"))

    # -- alerts ------------------------------------------------------------------------------
    def alerts(
        self,
        *,
        pair: str | None = None,
        direction: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return read_alerts(
                conn, pair=pair, direction=direction, start_ms=start_ms, end_ms=end_ms, limit=limit
            )

    def rule_states(self) -> list[RuleState]:
        """Each configured rule with the state the alert worker stored (one read, no replay)."""
        with self.engine.connect() as conn:
            stored = rule_states_by_rule(conn)
        return [
            _rule_state(rule, stored.get((rule.pair, rule.name, rule.timeframe)))
            for rule in self.settings.alerts.rules
        ]

    # -- backtest ----------------------------------------------------------------------------
    def backtest(self, view: View) -> BacktestOutcome:
        pair = self.pair_result(view, with_health=False)
        if pair.warmup is not None:
            return BacktestOutcome(None, pair, (*pair.notices, Notice("info", pair.warmup.text)))
        if pair.analytics is None:
            return BacktestOutcome(None, pair, pair.notices)
        notices = list(pair.notices)
        if view.fill == "same":
            notices.append(
                Notice(
                    "info",
                    "Same-bar fills are optimistic: each order fills at the close of the bar "
                    "whose z produced it, with zero latency. Choose next-bar fills for an "
                    "honest test.",
                )
            )
        aligned = pair.window.aligned
        try:
            params = BacktestParams(
                entry_z=view.entry,
                exit_z=view.exit,
                fee_bps=view.fee_bps,
                slippage_bps=view.slippage_bps,
                bar_seconds=view.bar_seconds,
                beta_space="log" if self.settings.analytics.log_prices else "price",
                fill=view.fill,
            )
            result = run_backtest(
                pair.ts,
                aligned["base"].to_numpy(),
                aligned["hedge"].to_numpy(),
                pair.analytics.beta,
                pair.analytics.z,
                params=params,
            )
        except AnalyticsError as exc:
            notices.append(Notice("info", f"Backtest not possible: {exc}"))
            return BacktestOutcome(None, pair, tuple(notices))
        return BacktestOutcome(result, pair, tuple(notices))

    # -- API ---------------------------------------------------------------------------------
    def bars(self, symbol: str, tf: str, start_s: int | None, end_s: int | None) -> pd.DataFrame:
        """Bars of ``symbol`` at ``tf`` between the times (default: the last hour of data)."""
        with self.engine.connect() as conn:
            if end_s is None:
                end_s = last_bar_time(conn, (symbol,)).get(symbol, self.now_ms() // 1000)
            if start_s is None:
                start_s = end_s - 3600
            return resample_bars(read_bars(conn, symbol, start_s, end_s, BAR_SECONDS[tf]), tf)


def _rule_state(rule: AlertRuleSettings, row: dict[str, Any] | None) -> RuleState:
    """A configured rule joined with its stored row (None: the worker has not written one)."""
    config = (
        rule.pair,
        rule.name,
        rule.entry_z,
        rule.exit_z,
        rule.direction,
        rule.timeframe,
        rule.window,
    )
    if row is None:
        return RuleState(*config, state="waiting")
    return RuleState(
        *config,
        state="armed" if row["armed"] else "triggered",
        last_direction=row["last_direction"],
        last_z=row["last_z"],
        last_eval_ts=row["last_eval_ts"],
        last_alert_ts=row["last_alert_ts"],
    )


def _warmup(bars: int, needed: int, view: View) -> Warmup | None:
    """A warm-up while ``bars < needed``; None once enough, or when the view can never hold
    ``needed`` bars (longer than ``MAX_SPAN_S``): then the analytics error says why."""
    if bars >= needed or needed * view.bar_seconds > MAX_SPAN_S:
        return None
    return Warmup(bars, needed, view.tf)


def _perp_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Mark price, funding rate and next funding time of a status row (None on spot)."""
    mark = row.get("mark_price")
    if mark is None or pd.isna(mark):
        return {"mark_price": None, "funding_rate": None, "next_funding_ms": None}
    return {
        "mark_price": float(mark),
        "funding_rate": float(row["funding_rate"]),
        "next_funding_ms": int(row["next_funding_ms"]),
    }


def _empty_bars() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="float64") for name in BAR_COLUMNS})


def _gap_in_window(gap: dict[str, Any], start_s: int | None, end_s: int | None) -> bool:
    """Whether the gap's time span (trades either side, else detection time) meets the window."""
    if start_s is None or end_s is None:
        return True
    first = gap["from_ms"] if pd.notna(gap.get("from_ms")) else gap["detected_ms"]
    last = gap["to_ms"] if pd.notna(gap.get("to_ms")) else gap["detected_ms"]
    return int(last) >= start_s * 1000 and int(first) <= (end_s + 1) * 1000
