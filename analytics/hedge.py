"""Hedge ratios: static OLS, rolling OLS, Kalman filter and robust (Huber) regression.

Owns the estimation of ``base = alpha + beta * hedge`` (prices or log prices) and the
:func:`hedge_series` dispatcher that returns a per-bar ``beta``/``alpha`` for any method. Static
OLS is closed-form numpy (equal to ``statsmodels`` OLS); rolling OLS uses trailing-window moments
from block-restarted cumulative sums (no per-window fit); the Kalman filter is a scalar loop.
Rolling and Kalman estimates are causal: the value at bar ``t`` uses bars ``<= t`` only. Imports
numpy, statsmodels and our private helpers.
"""

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import statsmodels.api as sm

from analytics._checks import (
    FloatArray,
    as_pair,
    check_choice,
    check_finite,
    check_min_length,
    check_number,
    check_window,
)
from analytics._rolling import window_constant, window_moments
from analytics.errors import InsufficientDataError, ParameterError

HedgeMethod = Literal["ols", "rolling", "kalman", "robust"]
HEDGE_METHODS: Final[tuple[str, ...]] = ("ols", "rolling", "kalman", "robust")
MIN_FIT_OBS: Final[int] = 3
"""Fewest observations a static fit accepts (one more than its two parameters)."""


@dataclass(frozen=True, slots=True)
class HedgeFit:
    """A static fit of ``base = alpha + beta * hedge``.

    ``r2`` is as statsmodels reports it (centred with an intercept, uncentred without);
    ``beta_se`` is the standard error of ``beta``; ``n`` the number of observations.
    """

    beta: float
    alpha: float
    r2: float
    beta_se: float
    n: int


@dataclass(frozen=True, eq=False, slots=True)
class HedgeSeries:
    """Per-bar hedge ratio and intercept (NaN where not yet defined) and the static fit if any."""

    beta: FloatArray
    alpha: FloatArray
    fit: HedgeFit | None = None


def _fit_inputs(base: object, hedge: object) -> tuple[FloatArray, FloatArray]:
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    check_min_length("a hedge fit", y.size, MIN_FIT_OBS)
    return y, x


def ols_fit(base: object, hedge: object, intercept: bool = True) -> HedgeFit:
    """
    Fit ``base = alpha + beta * hedge`` by ordinary least squares in closed form.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices, ``n >= 3``.
    intercept : bool
        Fit ``alpha``; without it ``alpha`` is 0 and ``r2`` is uncentred (as statsmodels).

    Returns
    -------
    HedgeFit
        Equal to ``sm.OLS(base, sm.add_constant(hedge)).fit()`` (params, rsquared, bse[1]).

    Raises
    ------
    InsufficientDataError
        Fewer than 3 observations, or ``hedge`` constant.
    ParameterError
        Mismatched lengths or non-finite values.
    """
    y, x = _fit_inputs(base, hedge)
    n = y.size
    if intercept:
        mx, my = x.mean(), y.mean()
        dx, dy = x - mx, y - my
    else:
        mx = my = 0.0
        dx, dy = x, y
    sxx = float(dx @ dx)
    if sxx == 0.0 or (intercept and np.ptp(x) == 0.0):
        raise InsufficientDataError("hedge is constant; beta is undefined")
    beta = float(dx @ dy) / sxx
    resid = dy - beta * dx
    ssr = float(resid @ resid)
    dof = n - (2 if intercept else 1)
    return HedgeFit(
        beta=beta,
        alpha=float(my - beta * mx),
        r2=1.0 - ssr / float(dy @ dy),
        beta_se=float(np.sqrt(ssr / dof / sxx)),
        n=n,
    )


def rolling_ols(base: object, hedge: object, window: int, *, intercept: bool = True) -> HedgeSeries:
    """
    Trailing-window OLS hedge ratio, vectorised (no per-window fit).

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Prices or log prices. A window containing a non-finite value of either leg gives NaN.
    window : int
        Bars per fit, ``>= 3``.
    intercept : bool
        Fit ``alpha`` in each window (otherwise ``alpha`` is 0).

    Returns
    -------
    HedgeSeries
        ``beta[t]``, ``alpha[t]`` from bars ``t - window + 1 .. t`` (causal); NaN for the first
        ``window - 1`` bars and where ``hedge`` is constant over the window. Equal to statsmodels
        ``RollingOLS(base, add_constant(hedge), window)`` params.
    """
    y, x = as_pair(base, hedge)
    w = check_window("window", window, minimum=MIN_FIT_OBS)
    m = window_moments(x, y, w, var_y=False)
    assert m.mean_y is not None and m.c_xy is not None
    usable = (m.count == w) & ~window_constant(x, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        if intercept:
            beta = m.c_xy / m.m2_x
            alpha = m.mean_y - beta * m.mean_x
        else:
            # Raw cross sums from the centred ones (additions only, no cancellation).
            beta = (m.c_xy + m.count * m.mean_x * m.mean_y) / (m.m2_x + m.count * m.mean_x**2)
            alpha = np.zeros_like(beta)
    nan = np.full(y.size, np.nan)
    return HedgeSeries(beta=np.where(usable, beta, nan), alpha=np.where(usable, alpha, nan))


def kalman_beta(
    base: object,
    hedge: object,
    delta: float = 1e-4,
    obs_var: float = 1e-3,
    *,
    intercept: bool = True,
    initial_var: float = 1.0,
) -> HedgeSeries:
    """
    Kalman-filtered time-varying hedge ratio with a random-walk state ``[beta, alpha]``.

    Model: ``base_t = beta_t * hedge_t + alpha_t + e_t`` with ``e_t ~ N(0, obs_var)`` and
    ``[beta, alpha]_t = [beta, alpha]_{t-1} + w_t`` with ``w_t ~ N(0, delta / (1 - delta) * I)``.
    The prior is ``[0, 0]`` with covariance ``initial_var * I``. The output at ``t`` is the
    filtered state after observing bar ``t`` (causal). A bar where either leg is non-finite
    is skipped (predict only) and reports the carried state.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
    delta : float
        State noise scale in ``(0, 1)``; larger adapts faster.
    obs_var : float
        Observation noise variance, ``> 0`` (in squared units of ``base``).
    intercept : bool
        Estimate ``alpha`` (otherwise a one-state filter with ``alpha = 0``).
    initial_var : float
        Prior variance of each state, ``> 0``.

    Returns
    -------
    HedgeSeries
    """
    y, x = as_pair(base, hedge)
    d = check_number("delta", delta, low=0.0, strict_low=True)
    if d >= 1.0:
        raise ParameterError(f"delta must be < 1, got {delta!r}")
    r = check_number("obs_var", obs_var, low=0.0, strict_low=True)
    p0 = check_number("initial_var", initial_var, low=0.0, strict_low=True)
    return _kalman_loop(y, x, q=d / (1.0 - d), r=r, p0=p0, intercept=intercept)


def _kalman_loop(
    y: FloatArray, x: FloatArray, *, q: float, r: float, p0: float, intercept: bool
) -> HedgeSeries:
    # Scalar Python floats: ~20x faster than 2x2 numpy operations per step.
    n = y.size
    beta_out = [0.0] * n
    alpha_out = [0.0] * n
    b = a = 0.0
    p11, p12, p22 = p0, 0.0, (p0 if intercept else 0.0)
    q22 = q if intercept else 0.0
    finite = (np.isfinite(y) & np.isfinite(x)).tolist()
    for t, (yt, xt, ok) in enumerate(zip(y.tolist(), x.tolist(), finite, strict=True)):
        p11 += q
        p22 += q22
        if ok:
            ph1 = p11 * xt + p12  # P @ H', H = [x, 1]
            ph2 = p12 * xt + p22
            s = xt * ph1 + ph2 + r
            k1 = ph1 / s
            k2 = ph2 / s
            e = yt - b * xt - a
            b += k1 * e
            a += k2 * e
            p11 -= k1 * ph1
            p12 -= k1 * ph2
            p22 -= k2 * ph2
        beta_out[t] = b
        alpha_out[t] = a
    return HedgeSeries(beta=np.array(beta_out), alpha=np.array(alpha_out))


def robust_fit(base: object, hedge: object) -> HedgeFit:
    """
    Fit ``base = alpha + beta * hedge`` by robust regression (statsmodels RLM, Huber's T norm).

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices, ``n >= 3``.

    Returns
    -------
    HedgeFit
        ``beta``/``alpha``/``beta_se`` from RLM; ``r2`` is ``1 - SSR/SST`` of the (unweighted)
        residuals, since RLM reports none.
    """
    y, x = _fit_inputs(base, hedge)
    if np.ptp(x) == 0.0:
        raise InsufficientDataError("hedge is constant; beta is undefined")
    result = sm.RLM(y, sm.add_constant(x, has_constant="add"), M=sm.robust.norms.HuberT()).fit()
    alpha, beta = (float(v) for v in result.params)
    resid = y - alpha - beta * x
    centred = y - y.mean()
    return HedgeFit(
        beta=beta,
        alpha=alpha,
        r2=1.0 - float(resid @ resid) / float(centred @ centred),
        beta_se=float(result.bse[1]),
        n=y.size,
    )


def hedge_series(
    base: object,
    hedge: object,
    method: HedgeMethod,
    window: int | None = None,
    *,
    intercept: bool = True,
    delta: float = 1e-4,
    obs_var: float = 1e-3,
) -> HedgeSeries:
    """
    Per-bar ``beta`` and ``alpha`` for ``method``, over the whole input.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
    method : {"ols", "rolling", "kalman", "robust"}
        ``"ols"``/``"robust"``: one static fit over the last ``window`` bars (all bars when
        ``window`` is None), repeated over every bar, with ``fit`` set. ``"rolling"``:
        :func:`rolling_ols` (``window`` required). ``"kalman"``: :func:`kalman_beta` over all
        bars (``window`` unused).
    window : int, optional
    intercept : bool
        Robust regression always fits an intercept.
    delta, obs_var : float
        Kalman parameters.

    Returns
    -------
    HedgeSeries
    """
    kind = check_choice("method", method, HEDGE_METHODS)
    y, x = as_pair(base, hedge)
    if kind == "rolling":
        if window is None:
            raise ParameterError("method 'rolling' needs a window")
        return rolling_ols(y, x, window, intercept=intercept)
    if kind == "kalman":
        return kalman_beta(y, x, delta, obs_var, intercept=intercept)
    size = y.size
    if window is not None:
        w = check_window("window", window, minimum=MIN_FIT_OBS)
        y, x = y[-w:], x[-w:]
    fit = ols_fit(y, x, intercept) if kind == "ols" else robust_fit(y, x)
    return HedgeSeries(beta=np.full(size, fit.beta), alpha=np.full(size, fit.alpha), fit=fit)
