"""Pure pair-trading analytics for pairwatch: bars, hedge ratios, spread, statistics, alerts.

Re-exports the public API of the submodules; holds no logic. Everything here is a pure function
of numpy arrays / pandas frames (numpy, pandas, scipy, statsmodels only; no I/O, no clock).
The function :func:`analytics.spread.spread` is not re-exported because its name is its
module's: import it as ``from analytics.spread import spread``. Names load on first use
(PEP 562), so importing the light :mod:`analytics.vocabulary` (as the settings do) does not pull
in statsmodels and scipy.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.alerts import AlertEvent, AlertRule, AlertState, evaluate
    from analytics.backtest import BacktestParams, BacktestResult, run_backtest
    from analytics.bars import (
        align_legs,
        align_pair,
        aligned_closes,
        closes,
        complete_rows,
        resample_bars,
    )
    from analytics.cointegration import (
        CointegrationHealth,
        adf,
        engle_granger,
        half_life,
        hurst,
        johansen_trace,
        pair_health,
        rolling_engle_granger_p,
    )
    from analytics.correlation import (
        corr_bars_needed,
        correlation_matrix,
        log_returns,
        rolling_correlation,
    )
    from analytics.errors import AnalyticsError, InsufficientDataError, ParameterError
    from analytics.gaps import bars_in_gaps
    from analytics.hedge import (
        HedgeFit,
        HedgeSeries,
        hedge_series,
        kalman_filter,
        ols_fit,
        robust_fit,
        rolling_ols,
        rolling_robust,
    )
    from analytics.pipeline import (
        PairAnalytics,
        PairParams,
        PairSnapshot,
        bars_needed,
        causal_values_at,
        compute_pair,
    )
    from analytics.spread import refit_zscore, rolling_zscore
    from analytics.vocabulary import (
        BAR_COLUMNS,
        BAR_SECONDS,
        DIRECTION_FILTERS,
        DIRECTIONS,
        HEDGE_METHODS,
        TIMEFRAMES,
        is_causal,
    )

_SUBMODULES = (
    "analytics.vocabulary",
    "analytics.errors",
    "analytics.alerts",
    "analytics.backtest",
    "analytics.bars",
    "analytics.cointegration",
    "analytics.correlation",
    "analytics.gaps",
    "analytics.hedge",
    "analytics.pipeline",
    "analytics.spread",
)
"""Where the re-exported names live, lightest first (the first that has a name wins)."""

__all__ = [
    "BAR_COLUMNS",
    "BAR_SECONDS",
    "DIRECTIONS",
    "DIRECTION_FILTERS",
    "HEDGE_METHODS",
    "TIMEFRAMES",
    "AlertEvent",
    "AlertRule",
    "AlertState",
    "AnalyticsError",
    "BacktestParams",
    "BacktestResult",
    "CointegrationHealth",
    "HedgeFit",
    "HedgeSeries",
    "InsufficientDataError",
    "PairAnalytics",
    "PairParams",
    "PairSnapshot",
    "ParameterError",
    "adf",
    "align_legs",
    "align_pair",
    "aligned_closes",
    "bars_in_gaps",
    "bars_needed",
    "causal_values_at",
    "closes",
    "complete_rows",
    "compute_pair",
    "corr_bars_needed",
    "correlation_matrix",
    "engle_granger",
    "evaluate",
    "half_life",
    "hedge_series",
    "hurst",
    "is_causal",
    "johansen_trace",
    "kalman_filter",
    "log_returns",
    "ols_fit",
    "pair_health",
    "refit_zscore",
    "resample_bars",
    "robust_fit",
    "rolling_correlation",
    "rolling_engle_granger_p",
    "rolling_ols",
    "rolling_robust",
    "rolling_zscore",
    "run_backtest",
]


def __getattr__(name: str) -> Any:
    """Load a re-exported name from its submodule on first use."""
    if name in __all__:
        for module in _SUBMODULES:
            value = getattr(import_module(module), name, None)
            if value is not None:
                globals()[name] = value
                return value
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
