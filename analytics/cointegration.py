"""Cointegration health of a spread: ADF, Engle-Granger, half-life and Hurst exponent.

Owns the mean-reversion diagnostics shown next to every spread. The ADF statistic is computed
in closed form with numpy (the same regression as ``adfuller(x, maxlag, regression="c",
autolag=None)``) and turned into a p-value with statsmodels' ``mackinnonp``, so a refresh on
10,000 bars costs well under a millisecond; Engle-Granger uses statsmodels ``coint`` with a
fixed lag. Imports numpy and statsmodels.
"""

import math
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
from statsmodels.tools.sm_exceptions import CollinearityWarning
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import coint

from analytics._checks import (
    FloatArray,
    as_float_array,
    as_pair,
    check_finite,
    check_min_length,
    check_window,
)
from analytics.errors import InsufficientDataError

MIN_HEALTH_OBS: Final[int] = 20
"""Fewest spread values :func:`health` accepts."""


@dataclass(frozen=True, slots=True)
class CointegrationHealth:
    """Mean-reversion diagnostics of one spread (``half_life`` in bars, None if not reverting)."""

    adf_stat: float
    adf_p: float
    half_life: float | None
    hurst: float
    n: int


def _finite_series(name: str, values: object, minimum: int) -> FloatArray:
    x = as_float_array(name, values)
    check_finite(name, x)
    check_min_length(name, x.size, minimum)
    return x


def adf(spread: object, maxlag: int = 1) -> tuple[float, float]:
    """
    Augmented Dickey-Fuller test with a constant and a fixed number of lags.

    Regresses ``Δs_t`` on ``s_{t-1}``, ``Δs_{t-1} .. Δs_{t-maxlag}`` and a constant over
    ``n - 1 - maxlag`` observations; the statistic is the t-value of ``s_{t-1}``.

    Parameters
    ----------
    spread : array-like of float, shape (n,)
        Finite values.
    maxlag : int
        Lagged differences, ``>= 0``; needs ``maxlag <= n // 2 - 2`` as adfuller does.

    Returns
    -------
    (stat, p) : tuple of float
        Equal to ``adfuller(spread, maxlag=maxlag, regression="c", autolag=None)[:2]``.

    Raises
    ------
    InsufficientDataError
        Series too short for ``maxlag`` or constant.
    """
    k = check_window("maxlag", maxlag, minimum=0)
    x = _finite_series("spread", spread, 4)
    if k > x.size // 2 - 2:
        raise InsufficientDataError(f"maxlag {k} needs at least {2 * k + 4} values, got {x.size}")
    if np.ptp(x) == 0.0:
        raise InsufficientDataError("spread is constant; the ADF test is undefined")
    diff = np.diff(x)
    size = diff.size
    target = diff[k:]
    columns = [x[k:-1]] + [diff[k - j : size - j] for j in range(1, k + 1)]
    design = np.column_stack(columns)
    # Partial out the constant by centring, then solve the small normal equations.
    design -= design.mean(axis=0)
    target = target - target.mean()
    gram = design.T @ design
    try:
        inverse = np.linalg.inv(gram)
    except np.linalg.LinAlgError as exc:
        raise InsufficientDataError("ADF regressors are collinear") from exc
    coef = inverse @ (design.T @ target)
    resid = target - design @ coef
    dof = target.size - (k + 2)
    stat = float(coef[0] / math.sqrt(float(resid @ resid) / dof * inverse[0, 0]))
    return stat, float(mackinnonp(stat, regression="c", N=1))


def engle_granger_p(base: object, hedge: object, maxlag: int = 1) -> float:
    """
    Engle-Granger cointegration p-value (statsmodels ``coint``, constant, fixed ``maxlag``).

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices.
    maxlag : int
        Lagged differences in the residual ADF, ``>= 0`` (no lag search).

    Returns
    -------
    float
        ``coint(base, hedge, trend="c", maxlag=maxlag, autolag=None).pvalue``; 0.0 when the
        legs are (almost) perfectly collinear (statsmodels' collinearity warning is absorbed).
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    k = check_window("maxlag", maxlag, minimum=0)
    check_min_length("engle_granger_p", y.size, 2 * k + 8)
    if np.ptp(x) == 0.0:
        raise InsufficientDataError("hedge is constant; cointegration is undefined")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CollinearityWarning)
        result = coint(y, x, trend="c", maxlag=k, autolag=None)
    return float(result[1])


def half_life(spread: object) -> float | None:
    """
    Mean-reversion half-life in bars: ``-ln 2 / b`` from OLS of ``Δs_t`` on ``s_{t-1}`` + const.

    Parameters
    ----------
    spread : array-like of float, shape (n,)
        Finite values, ``n >= 3``.

    Returns
    -------
    float or None
        None when ``b >= 0`` (no mean reversion).
    """
    x = _finite_series("spread", spread, 3)
    lagged = x[:-1] - x[:-1].mean()
    step = np.diff(x)
    sxx = float(lagged @ lagged)
    if sxx == 0.0:
        raise InsufficientDataError("spread is constant; the half-life is undefined")
    b = float(lagged @ (step - step.mean())) / sxx
    return None if b >= 0.0 else -math.log(2.0) / b


def hurst(series: object, max_lag: int = 100, n_lags: int = 16) -> float:
    """
    Hurst exponent by the variance-of-lags method.

    For lags ``τ`` (``n_lags`` integers spaced geometrically in ``[2, max_lag]``),
    ``Var(x_{t+τ} - x_t) ∝ τ^{2H}``; ``H`` is half the OLS slope of ``ln Var`` on ``ln τ``.
    ``H ≈ 0.5`` for a random walk, ``< 0.5`` for a mean-reverting and ``> 0.5`` for a trending
    series.

    Parameters
    ----------
    series : array-like of float, shape (n,)
        Finite levels (the spread, not its changes).
    max_lag : int
        Largest lag, ``>= 3``; capped at ``n // 4``.
    n_lags : int
        Number of distinct lags to use, ``>= 2``.

    Returns
    -------
    float
    """
    x = _finite_series("series", series, 12)
    top = min(check_window("max_lag", max_lag, minimum=3), x.size // 4)
    lags = np.unique(np.geomspace(2, top, check_window("n_lags", n_lags)).round().astype(int))
    variances = np.array([np.var(x[lag:] - x[:-lag]) for lag in lags])
    if not (variances > 0).all():
        raise InsufficientDataError("series has constant increments; Hurst is undefined")
    log_lag = np.log(lags) - np.log(lags).mean()
    log_var = np.log(variances)
    return float(log_lag @ (log_var - log_var.mean()) / (log_lag @ log_lag) / 2.0)


def health(spread: object, maxlag: int = 1) -> CointegrationHealth:
    """
    Bundle :func:`adf`, :func:`half_life` and :func:`hurst` for one spread.

    Parameters
    ----------
    spread : array-like of float, shape (n,)
        Finite values, ``n >= MIN_HEALTH_OBS`` (20).
    maxlag : int
        ADF lag.

    Returns
    -------
    CointegrationHealth
    """
    x = as_float_array("spread", spread)
    if x.size < MIN_HEALTH_OBS:
        raise InsufficientDataError(
            f"cointegration health needs {MIN_HEALTH_OBS} spread values, got {x.size}"
        )
    stat, p = adf(x, maxlag)
    return CointegrationHealth(
        adf_stat=stat, adf_p=p, half_life=half_life(x), hurst=hurst(x), n=int(x.size)
    )
