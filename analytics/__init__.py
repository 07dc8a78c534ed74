"""Pure pair-trading analytics for pairwatch: bars, hedge ratios, spread, statistics, alerts.

Re-exports the public API of the submodules; holds no logic. Everything here is a pure function
of numpy arrays / pandas frames (numpy, pandas, scipy, statsmodels only; no I/O, no clock).
The function :func:`analytics.spread.spread` is not re-exported because its name is its
module's: import it as ``from analytics.spread import spread``.
"""

from analytics.alerts import DIRECTIONS, AlertEvent, AlertRule, AlertState, evaluate
from analytics.backtest import BacktestParams, BacktestResult, run_backtest
from analytics.bars import (
    BAR_COLUMNS,
    TIMEFRAMES,
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
from analytics.hedge import (
    HEDGE_METHODS,
    HedgeFit,
    HedgeSeries,
    hedge_series,
    kalman_filter,
    ols_fit,
    robust_fit,
    rolling_ols,
    rolling_robust,
)
from analytics.pipeline import PairAnalytics, PairParams, PairSnapshot, bars_needed, compute_pair
from analytics.spread import refit_zscore, rolling_zscore

__all__ = [
    "BAR_COLUMNS",
    "DIRECTIONS",
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
    "bars_needed",
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
