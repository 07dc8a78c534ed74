"""Cointegration health of a pair: Engle-Granger, ADF, half-life, Hurst and Johansen.

Owns the mean-reversion diagnostics shown next to every spread, all of one fit window. The
ADF and Engle-Granger statistics are computed in closed form with numpy (the regressions of
``adfuller(x, maxlag, regression="c", autolag=None)`` and ``coint(y, x, trend="c", maxlag,
autolag=None)``) and turned into p-values with statsmodels' ``mackinnonp``, so a test on 300
bars costs tens of microseconds and a rolling EG line stays cheap; Johansen is statsmodels'
``coint_johansen``. Imports numpy and statsmodels.
"""

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy.special import ndtr
from statsmodels.tsa import adfvalues
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.vector_ar.vecm import coint_johansen

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
COLLINEAR_R2: Final[float] = 1.0 - 100.0 * math.sqrt(np.finfo(float).eps)
"""R² from which statsmodels' ``coint`` calls two legs collinear (p = 0)."""


@dataclass(frozen=True, slots=True)
class CointegrationHealth:
    """Cointegration diagnostics of a pair over one fit window (see :func:`pair_health`).

    ``eg_stat``/``eg_p``: Engle-Granger; ``adf_stat``/``adf_p``: ADF of the window's in-sample
    OLS spread; ``half_life`` in bars (None if not reverting) and ``hurst`` of that spread;
    ``johansen_trace`` and its 95 % critical value ``johansen_cv95``; ``n`` bars.
    """

    eg_stat: float
    eg_p: float
    adf_stat: float
    adf_p: float
    half_life: float | None
    hurst: float | None
    johansen_trace: float
    johansen_cv95: float
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
    ``n - 1 - maxlag`` observations; the statistic is the t-value of ``s_{t-1}`` (see
    :func:`_adf_stat`).

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
    stat = _adf_stat(x, k, constant=True)
    return stat, float(mackinnonp(stat, regression="c", N=1))


def _adf_stat(x: FloatArray, k: int, *, constant: bool) -> float:
    """t-value of ``s_{t-1}`` in the ADF regression with ``k`` lags, with or without constant."""
    diff = np.diff(x)
    size = diff.size
    target = diff[k:]
    columns = [x[k:-1]] + [diff[k - j : size - j] for j in range(1, k + 1)]
    design = np.column_stack(columns)
    if constant:
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
    dof = target.size - (k + 2 if constant else k + 1)
    return float(coef[0] / math.sqrt(float(resid @ resid) / dof * inverse[0, 0]))


def engle_granger(base: object, hedge: object, maxlag: int = 1) -> tuple[float, float]:
    """
    Engle-Granger cointegration test (constant, fixed ``maxlag``) in closed form.

    The OLS residual of ``base`` on ``[1, hedge]`` gets an ADF regression without constant
    (``maxlag`` lagged differences); the statistic is its t-value and the p-value MacKinnon's
    (1994) for two variables. When the legs are (almost) perfectly collinear (``r² ≥ 1 -
    100·sqrt(eps)``) the statistic is ``-inf`` and p is 0, as statsmodels reports.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices.
    maxlag : int
        Lagged differences in the residual ADF, ``>= 0`` (no lag search).

    Returns
    -------
    (stat, p) : tuple of float
        Equal to ``coint(base, hedge, trend="c", maxlag=maxlag, autolag=None)[:2]``.
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    k = check_window("maxlag", maxlag, minimum=0)
    check_min_length("the Engle-Granger test", y.size, 2 * k + 8)
    if np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        raise InsufficientDataError(
            "a leg's price did not change over the window; cointegration is undefined"
        )
    stat = _engle_granger_stats(y[None, :], x[None, :], k)
    return float(stat[0]), float(_mackinnon_p(stat, 2)[0])


def _ols_residuals(y: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """β, residuals and r² of OLS of every row of ``y`` on ``[1, x]`` ((rows, n) arrays)."""
    dx = x - x.mean(axis=1, keepdims=True)
    dy = y - y.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.einsum("ij,ij->i", dx, dy) / np.einsum("ij,ij->i", dx, dx)
        resid = dy - beta[:, None] * dx
        r2 = 1.0 - np.einsum("ij,ij->i", resid, resid) / np.einsum("ij,ij->i", dy, dy)
    return beta, resid, r2


def _engle_granger_stats(y: FloatArray, x: FloatArray, k: int) -> FloatArray:
    """EG statistic of every row of the (rows, n) arrays (``-inf`` where collinear)."""
    _, resid, r2 = _ols_residuals(y, x)
    return _residual_adf_stats(resid, r2, k)


def _residual_adf_stats(resid: FloatArray, r2: FloatArray, k: int) -> FloatArray:
    """The no-constant ADF t-value of each residual row (``-inf`` where r² says collinear)."""
    diff = np.diff(resid, axis=1)
    size = diff.shape[1]
    target = diff[:, k:]
    columns = [resid[:, k:-1]] + [diff[:, k - j : size - j] for j in range(1, k + 1)]
    design = np.stack(columns, axis=1)  # (rows, k + 1, T)
    gram = design @ design.transpose(0, 2, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = np.linalg.pinv(gram)
        coef = inverse @ (design @ target[:, :, None])
        error = target - (coef.transpose(0, 2, 1) @ design)[:, 0, :]
        ssr = np.einsum("rt,rt->r", error, error)
        dof = target.shape[1] - (k + 1)
        stat = coef[:, 0, 0] / np.sqrt(ssr / dof * inverse[:, 0, 0])
    return np.where(r2 >= COLLINEAR_R2, -np.inf, stat)


def _mackinnon_p(stats: FloatArray, n_vars: int) -> FloatArray:
    """MacKinnon (1994) p-values with a constant, vectorised; equal to ``mackinnonp``."""
    i = n_vars - 1
    with np.errstate(invalid="ignore", over="ignore"):  # ±inf statistics: set below
        small = np.polyval(adfvalues._tau_smallps["c"][i][::-1], stats)
        large = np.polyval(adfvalues._tau_largeps["c"][i][::-1], stats)
        p = ndtr(np.where(stats <= adfvalues._tau_stars["c"][i], small, large))
    p = np.where(stats > adfvalues._tau_maxs["c"][i], 1.0, p)
    return np.where(stats < adfvalues._tau_mins["c"][i], 0.0, p)


def johansen_trace(base: object, hedge: object) -> tuple[float, float]:
    """
    Johansen trace statistic for "no cointegrating vector" and its 95 % critical value.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices.

    Returns
    -------
    (trace, critical_95) : tuple of float
        ``coint_johansen([base, hedge], det_order=0, k_ar_diff=1)``: ``lr1[0]`` and
        ``cvt[0, 1]``; the pair is cointegrated at 5 % when ``trace > critical_95``.
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    check_min_length("the Johansen test", y.size, 20)
    if np.ptp(x) == 0.0 or np.ptp(y) == 0.0:
        raise InsufficientDataError(
            "a leg's price did not change over the window; the Johansen test is undefined"
        )
    result = coint_johansen(np.column_stack([y, x]), 0, 1)
    return float(result.lr1[0]), float(result.cvt[0, 1])


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
    b = float(_reversion_slopes(x[None, :])[0])
    if math.isnan(b):
        raise InsufficientDataError("spread is constant; the half-life is undefined")
    return None if b >= 0.0 else -math.log(2.0) / b


def _reversion_slopes(rows: FloatArray) -> FloatArray:
    """OLS slope ``b`` of ``Δs_t`` on ``s_{t-1}`` (with constant) of every row; NaN if flat."""
    lagged = rows[:, :-1] - rows[:, :-1].mean(axis=1, keepdims=True)
    step = np.diff(rows, axis=1)
    sxx = np.einsum("ij,ij->i", lagged, lagged)
    sxy = np.einsum("ij,ij->i", lagged, step - step.mean(axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > 0.0, sxy / sxx, np.nan)


def half_lives(rows: FloatArray) -> FloatArray:
    """:func:`half_life` of every row of a (rows, n) array; NaN where there is none."""
    b = _reversion_slopes(rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b < 0.0, -math.log(2.0) / b, np.nan)


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
        Finite levels (the spread, not its changes), whose increments vary.
    max_lag : int
        Largest lag, ``>= 3``; capped at ``n // 4``.
    n_lags : int
        Number of distinct lags to use, ``>= 2``.

    Returns
    -------
    float
    """
    x = _finite_series("series", series, 12)
    steps = np.diff(x)
    if np.ptp(steps) <= 1e-9 * max(float(np.max(np.abs(x))), 1e-300):
        raise InsufficientDataError(
            "series moves by a constant step (or not at all); Hurst needs variation in its "
            "increments"
        )
    value = float(hursts(x[None, :], max_lag, n_lags)[0])
    if math.isnan(value):
        raise InsufficientDataError("series has constant increments; Hurst is undefined")
    return value


def hursts(rows: FloatArray, max_lag: int = 100, n_lags: int = 16) -> FloatArray:
    """:func:`hurst` of every row of a (rows, n) array, one pass per lag; NaN where a lag's
    variance is zero."""
    top = min(check_window("max_lag", max_lag, minimum=3), rows.shape[1] // 4)
    lags = np.unique(np.geomspace(2, top, check_window("n_lags", n_lags)).round().astype(int))
    variances = np.stack([np.var(rows[:, lag:] - rows[:, :-lag], axis=1) for lag in lags], 1)
    log_lag = np.log(lags) - np.log(lags).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        log_var = np.log(variances)
        slope = (log_var - log_var.mean(axis=1, keepdims=True)) @ log_lag / (log_lag @ log_lag)
    return np.where((variances > 0).all(axis=1), slope / 2.0, np.nan)


def pair_health(base: object, hedge: object, maxlag: int = 1) -> CointegrationHealth:
    """
    Cointegration health of a pair over the bars given (the caller passes the fit window).

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices, ``n >= MIN_HEALTH_OBS`` (20).
    maxlag : int
        Lag of the Engle-Granger and ADF regressions.

    Returns
    -------
    CointegrationHealth
        Engle-Granger of ``base`` on ``hedge`` (:func:`engle_granger`), ADF, half-life and
        Hurst of the in-sample spread ``s = base - β·hedge - α`` of their static OLS, Johansen
        trace (:func:`johansen_trace`). When the legs are collinear (EG p = 0), the spread is
        rounding noise: ADF p is 0 and half-life and Hurst are None.
    """
    y, x = as_pair(base, hedge)
    check_min_length("cointegration health", y.size, MIN_HEALTH_OBS)
    eg_stat, eg_p = engle_granger(y, x, maxlag)
    dx, dy = x - x.mean(), y - y.mean()
    spread = dy - float(dx @ dy) / float(dx @ dx) * dx
    # Collinear legs leave a spread of rounding noise: nothing to test in it.
    noise = math.isinf(eg_stat)
    adf_stat, adf_p = (-math.inf, 0.0) if noise else adf(spread, maxlag)
    trace, critical = johansen_trace(y, x)
    return CointegrationHealth(
        eg_stat=eg_stat,
        eg_p=eg_p,
        adf_stat=adf_stat,
        adf_p=adf_p,
        half_life=None if noise else half_life(spread),
        hurst=None if noise else hurst(spread),
        johansen_trace=trace,
        johansen_cv95=critical,
        n=int(y.size),
    )


def rolling_engle_granger_p(
    base: object, hedge: object, window: int, every: int, maxlag: int = 1
) -> FloatArray:
    """
    Engle-Granger p of the ``window`` bars ending at every ``every``-th bar (NaN elsewhere).

    Evaluated at the last bar and every ``every`` bars before it, from bar ``window - 1`` on;
    each value uses bars up to its own bar only and equals :func:`engle_granger` of that
    window. Windows where a leg is flat give NaN. All windows are tested in one batch.
    """
    y, x = as_pair(base, hedge)
    step = check_window("every", every, minimum=1)
    ends = np.arange(y.size - 1, check_window("window", window) - 2, -step)[::-1]
    out = np.full(y.size, np.nan)
    out[ends] = engle_granger_p_at(y, x, ends, window, maxlag)
    return out


def engle_granger_p_at(
    base: object, hedge: object, ends: np.ndarray, window: int, maxlag: int = 1
) -> FloatArray:
    """
    Engle-Granger p of the ``window`` bars ending at each of ``ends``, all in one batch.

    Each value uses bars up to its own end only and equals :func:`engle_granger` of that
    window; windows that start before the first bar, or where a leg is flat, give NaN.
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    k = check_window("maxlag", maxlag, minimum=0)
    w = check_window("window", window, minimum=2 * k + 8)
    last = np.asarray(ends, dtype=np.int64)
    out = np.full(last.size, np.nan)
    valid = (last >= w - 1) & (last < y.size)
    if not valid.any():
        return out
    rows = last[valid][:, None] + np.arange(1 - w, 1)
    ys, xs = y[rows], x[rows]
    flat = (np.ptp(ys, axis=1) == 0.0) | (np.ptp(xs, axis=1) == 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = _mackinnon_p(_engle_granger_stats(ys, xs, k), 2)
    out[valid] = np.where(flat, np.nan, p)
    return out
