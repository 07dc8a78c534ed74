"""A pair's numbers: its window composed with ``analytics.compute_pair``, and the backtest.

``pair_result`` reads the pair window (``windows.pair_window``) and computes the analytics the
spread, overview and correlation pages and ``/api/v1/analytics`` show, with the stored alerts
inside the window; while the window holds fewer bars than the z-score needs it returns a
``Warmup`` instead, and the rolling correlation alone once that has its own bars; so does a
robust fit over the work budget (``dashboard.budget``), with a notice saying why. ``backtest``
runs ``analytics.run_backtest`` on the same causal β and z.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.backtest import BacktestParams, BacktestResult, run_backtest
from analytics.correlation import corr_bars_needed, rolling_correlation
from analytics.errors import AnalyticsError
from analytics.pipeline import PairAnalytics, PairParams, bars_needed, compute_pair
from dashboard.budget import robust_problem
from dashboard.data.notices import Notice, NoticeCode, Warmup
from dashboard.data.alert_log import alerts
from dashboard.data.windows import PairWindow, pair_window
from dashboard.params import MAX_SPAN_S, View
from dashboard.services import DataService


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


@dataclass(frozen=True, eq=False, slots=True)
class BacktestOutcome:
    result: BacktestResult | None
    pair: PairResult
    notices: tuple[Notice, ...] = field(default=())


def _warmup(bars: int, needed: int, view: View) -> Warmup | None:
    """A warm-up while ``bars < needed``; None once enough, or when the view can never hold
    ``needed`` bars (longer than ``MAX_SPAN_S``): then the analytics error says why."""
    if bars >= needed or needed * view.bar_seconds > MAX_SPAN_S:
        return None
    return Warmup(bars, needed, view.tf)


def pair_result(service: DataService, view: View, *, with_health: bool = True) -> PairResult:
    """The pair window plus ``compute_pair`` and the stored alerts inside it."""
    window = pair_window(service, view)
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
            log=service.settings.analytics.log_prices,
        )
        warmup = _warmup(len(ts), bars_needed(params), view)
        corr_warmup = _warmup(len(ts), corr_bars_needed(view.corr_window), view)
        over_budget = robust_problem(view)
        if over_budget is not None:
            notices.append(Notice(NoticeCode.NO_ANALYTICS, "info", {"reason": over_budget}))
        try:
            if warmup is None and over_budget is None:
                result = compute_pair(base, hedge, params, with_health=with_health)
                corr = result.corr
            else:
                corr = rolling_correlation(base, hedge, view.corr_window)
        except AnalyticsError as exc:
            notices.append(Notice(NoticeCode.NO_ANALYTICS, "info", {"reason": str(exc)}))
    stored = alerts(service, pair=view.pair.name, start_ms=(window.start_s or 0) * 1000)
    return PairResult(window, ts, result, stored, tuple(notices), corr, warmup, corr_warmup)


def backtest(service: DataService, view: View) -> BacktestOutcome:
    """The view's alert rule traded as a β-hedged position over the pair window."""
    pair = pair_result(service, view, with_health=False)
    if pair.warmup is not None:
        return BacktestOutcome(None, pair, (*pair.notices, pair.warmup.notice()))
    if pair.analytics is None:
        return BacktestOutcome(None, pair, pair.notices)
    notices = list(pair.notices)
    if view.fill == "same":
        notices.append(Notice(NoticeCode.SAME_BAR_FILLS, "info"))
    aligned = pair.window.aligned
    try:
        params = BacktestParams(
            entry_z=view.entry,
            exit_z=view.exit,
            fee_bps=view.fee_bps,
            slippage_bps=view.slippage_bps,
            bar_seconds=view.bar_seconds,
            beta_space="log" if service.settings.analytics.log_prices else "price",
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
        notices.append(Notice(NoticeCode.NO_BACKTEST, "info", {"reason": str(exc)}))
        return BacktestOutcome(None, pair, tuple(notices))
    return BacktestOutcome(result, pair, tuple(notices))
