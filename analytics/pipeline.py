"""The full analytics refresh for one pair: hedge ratio, spread, z-score, correlation, health.

Owns :func:`compute_pair`, the single call the dashboard makes every second and the alert
worker makes every bar close, and its parameter and result types. It only composes the other
modules, following the "Analytics definitions" of the design: static OLS over the last
``window`` bars (its β applied to every bar), rolling/Kalman β per bar, spread
``base - β·hedge - α``, z-score over ``z_window`` spread values, correlation of log returns over
``corr_window`` bars, ADF/half-life/Hurst of the spread. Imports numpy and our modules.
"""

import math
from dataclasses import dataclass

import numpy as np

from analytics._checks import (
    FloatArray,
    as_pair,
    check_choice,
    check_finite,
    check_min_length,
    check_number,
    check_window,
)
from analytics.cointegration import MIN_HEALTH_OBS, CointegrationHealth, health
from analytics.correlation import rolling_correlation
from analytics.errors import ParameterError
from analytics.hedge import (
    HEDGE_METHODS,
    MIN_FIT_OBS,
    HedgeFit,
    HedgeMethod,
    hedge_series,
    ols_fit,
)
from analytics.spread import rolling_zscore, spread


@dataclass(frozen=True, slots=True)
class PairParams:
    """
    Parameters of :func:`compute_pair`.

    ``method`` is one of ``"ols"``, ``"rolling"``, ``"kalman"``, ``"robust"``; ``window`` is the
    hedge-fit window (bars); ``log`` fits on natural-log prices; ``kalman_delta`` and
    ``kalman_obs_var`` tune the Kalman filter; ``adf_maxlag`` is the fixed ADF lag.
    """

    method: HedgeMethod = "ols"
    window: int = 300
    z_window: int = 60
    corr_window: int = 60
    log: bool = False
    intercept: bool = True
    kalman_delta: float = 1e-4
    kalman_obs_var: float = 1e-3
    adf_maxlag: int = 1

    def __post_init__(self) -> None:
        check_choice("method", self.method, HEDGE_METHODS)
        check_window("window", self.window, minimum=MIN_FIT_OBS)
        check_window("z_window", self.z_window)
        check_window("corr_window", self.corr_window)
        check_window("adf_maxlag", self.adf_maxlag, minimum=0)
        delta = check_number("kalman_delta", self.kalman_delta, low=0.0, strict_low=True)
        if delta >= 1.0:
            raise ParameterError(f"kalman_delta must be < 1, got {self.kalman_delta!r}")
        check_number("kalman_obs_var", self.kalman_obs_var, low=0.0, strict_low=True)


@dataclass(frozen=True, slots=True)
class PairSnapshot:
    """Latest values (the last bar) as plain floats; None where undefined (NaN, too few bars)."""

    n: int
    beta: float | None
    alpha: float | None
    r2: float | None
    z: float | None
    spread: float | None
    corr: float | None
    adf_stat: float | None
    adf_p: float | None
    half_life: float | None
    hurst: float | None


@dataclass(frozen=True, eq=False, slots=True)
class PairAnalytics:
    """Per-bar series (shape (n,), NaN where undefined) plus the latest values and the fits."""

    beta: FloatArray
    alpha: FloatArray
    spread: FloatArray
    z: FloatArray
    corr: FloatArray
    latest: PairSnapshot
    fit: HedgeFit | None
    health: CointegrationHealth | None


def _last(values: FloatArray) -> float | None:
    value = float(values[-1])
    return value if math.isfinite(value) else None


def _trailing_finite(values: FloatArray) -> FloatArray:
    bad = np.flatnonzero(~np.isfinite(values))
    return values if bad.size == 0 else values[bad[-1] + 1 :]


def compute_pair(
    base: object, hedge: object, params: PairParams, with_health: bool = True
) -> PairAnalytics:
    """
    Compute every per-pair statistic of the dashboard in one pass.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Aligned, complete, positive closes (raw prices; :func:`analytics.complete_rows` output).
    params : PairParams
    with_health : bool
        Also run ADF, half-life and Hurst on the spread (its trailing run of defined values).

    Returns
    -------
    PairAnalytics
        ``r2`` is from the static fit (``ols``/``robust``), from the OLS of the last ``window``
        bars for ``rolling`` (its β equals the last rolling β), and None for ``kalman``.
        Health fields are None without ``with_health`` or with fewer than 20 defined spread
        values.

    Raises
    ------
    InsufficientDataError
        Fewer than ``window`` bars (``ols``, ``rolling``, ``robust``) or fewer than 3 (``kalman``).
    ParameterError
        Mismatched lengths, non-finite or non-positive prices.
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    if (y <= 0).any() or (x <= 0).any():
        raise ParameterError("prices must be positive")
    needed = MIN_FIT_OBS if params.method == "kalman" else params.window
    check_min_length(f"method {params.method!r} with window {params.window}", y.size, needed)
    fy, fx = (np.log(y), np.log(x)) if params.log else (y, x)
    hedge_fit = hedge_series(
        fy,
        fx,
        params.method,
        params.window,
        intercept=params.intercept,
        delta=params.kalman_delta,
        obs_var=params.kalman_obs_var,
    )
    resid = spread(fy, fx, hedge_fit.beta, hedge_fit.alpha)
    z = rolling_zscore(resid, params.z_window)
    corr = rolling_correlation(y, x, params.corr_window)
    fit = hedge_fit.fit
    if params.method == "rolling":
        fit = ols_fit(fy[-params.window :], fx[-params.window :], params.intercept)
    cointegration = None
    tail = _trailing_finite(resid)
    if with_health and tail.size >= MIN_HEALTH_OBS:
        cointegration = health(tail, params.adf_maxlag)
    latest = PairSnapshot(
        n=int(y.size),
        beta=_last(hedge_fit.beta),
        alpha=_last(hedge_fit.alpha),
        r2=None if fit is None else fit.r2,
        z=_last(z),
        spread=_last(resid),
        corr=_last(corr),
        adf_stat=None if cointegration is None else cointegration.adf_stat,
        adf_p=None if cointegration is None else cointegration.adf_p,
        half_life=None if cointegration is None else cointegration.half_life,
        hurst=None if cointegration is None else cointegration.hurst,
    )
    return PairAnalytics(
        beta=hedge_fit.beta,
        alpha=hedge_fit.alpha,
        spread=resid,
        z=z,
        corr=corr,
        latest=latest,
        fit=fit,
        health=cointegration,
    )
