"""Hedge ratios: static OLS, rolling OLS, Kalman filter and robust (Huber) regression.

Owns the estimation of ``base = alpha + beta * hedge`` (prices or log prices) and the
:func:`hedge_series` dispatcher that returns a per-bar ``beta``/``alpha`` for any method, each
from bars up to its own bar (causal). Static OLS is closed-form numpy (equal to ``statsmodels``
OLS); rolling OLS uses trailing-window moments from block-restarted cumulative sums (no
per-window fit); rolling robust batches one Huber IRLS per window; the Kalman filter is a scalar
loop whose noise levels follow the price scale. Imports numpy, statsmodels and our private
helpers.
"""

from dataclasses import dataclass
from typing import Final

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
from analytics._irls import huber_rows
from analytics._rolling import window_constant, window_moments
from analytics.errors import InsufficientDataError, ParameterError
from analytics.vocabulary import HEDGE_METHODS, HedgeMethod, is_causal

MIN_FIT_OBS: Final[int] = 3
"""Fewest observations a static fit accepts (one more than its two parameters)."""
ROBUST_BATCH_VALUES: Final[int] = 1_000_000
"""Prices per leg in one batch of robust fits (about 8 MB per leg array)."""
_CONSTANT_HEDGE = (
    "the hedge leg's price did not change over the fit window; a hedge ratio needs both legs "
    "to move"
)
_CONSTANT_BASE = (
    "the base leg's price did not change over the fit window; a hedge ratio needs both legs to move"
)


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
    """Per-bar hedge ratio and intercept (NaN where not yet defined).

    ``fit`` is the static fit of an in-sample series; ``innovation``/``innovation_var`` are the
    Kalman filter's one-step prediction errors and their predicted variances.
    """

    beta: FloatArray
    alpha: FloatArray
    fit: HedgeFit | None = None
    innovation: FloatArray | None = None
    innovation_var: FloatArray | None = None


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
        raise InsufficientDataError(_CONSTANT_HEDGE)
    syy = float(dy @ dy)
    if syy == 0.0:
        raise InsufficientDataError(_CONSTANT_BASE)
    beta = float(dx @ dy) / sxx
    resid = dy - beta * dx
    ssr = float(resid @ resid)
    dof = n - (2 if intercept else 1)
    return HedgeFit(
        beta=beta,
        alpha=float(my - beta * mx),
        r2=1.0 - ssr / syy,
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


def rolling_robust(base: object, hedge: object, window: int) -> HedgeSeries:
    """
    Trailing-window robust (Huber) hedge ratio: :func:`robust_fit` of every window, batched.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices.
    window : int
        Bars per fit, ``>= 3``.

    Returns
    -------
    HedgeSeries
        ``beta[t]``, ``alpha[t]`` from bars ``t - window + 1 .. t`` (causal), equal to
        ``robust_fit`` of that window to within RLM's convergence tolerance; NaN for the first
        ``window - 1`` bars and where ``hedge`` is constant over the window.

    Notes
    -----
    Costs one IRLS per bar (about 0.3 ms per bar at ``window=300``), far more than rolling OLS.
    """
    y, x = _fit_inputs(base, hedge)
    w = check_window("window", window, minimum=MIN_FIT_OBS)
    beta = np.full(y.size, np.nan)
    alpha = np.full(y.size, np.nan)
    if y.size < w:
        return HedgeSeries(beta=beta, alpha=alpha)
    # Centre each leg on its first value: the fit is shift-equivariant and smaller magnitudes
    # lose less precision; the shift uses no later price.
    y0, x0 = float(y[0]), float(x[0])
    ys = np.lib.stride_tricks.sliding_window_view(y - y0, w)
    xs = np.lib.stride_tricks.sliding_window_view(x - x0, w)
    # Windows are fitted a batch at a time so memory stays bounded on long inputs; each row's
    # fit is independent of its batch.
    rows = max(1, ROBUST_BATCH_VALUES // w)
    for start in range(0, ys.shape[0], rows):
        part = slice(start, start + rows)
        b, a = huber_rows(ys[part].copy(), xs[part].copy())
        beta[start + w - 1 : start + w - 1 + b.size] = b
        alpha[start + w - 1 : start + w - 1 + b.size] = a + y0 - b * x0
    return HedgeSeries(beta=beta, alpha=alpha)


def kalman_filter(
    base: object,
    hedge: object,
    delta: float = 1e-3,
    warmup: int = 300,
    *,
    intercept: bool = True,
) -> HedgeSeries:
    """
    Kalman-filtered hedge ratio with a random-walk state ``[beta, alpha]`` on any price scale.

    Model: ``base_t = beta_t·hedge_t + alpha_t + e_t``, ``e_t ~ N(0, R_t)``, and
    ``[beta, alpha]_t = [beta, alpha]_{t-1} + w_t``, ``w_t ~ N(0, W_t)``. The noise levels follow
    the scale of the prices instead of being fixed numbers: the static OLS of the first
    ``warmup`` bars gives the prior (its fit, with covariance ``s²·(XᵀX)⁻¹``) and ``R`` starts at
    its residual variance ``s²``; ``W_t = q·diag(R_t / mean(hedge²), R_t)`` with
    ``q = delta / (1 - delta)``, so a state step moves the prediction ``beta·hedge + alpha`` by
    about ``sqrt(q·R)`` through each component. After each bar ``R`` follows the innovations by
    covariance matching, ``R ← (1 - λ)·R + λ·max(e_t² - H P Hᵀ, R / 1000)`` with
    ``λ = 1 / warmup``, so ``e_t / sqrt(Q_t)`` stays standardised when volatility changes. The
    warm-up bars only initialise the filter: their outputs are NaN, so no output uses a later
    price. From bar ``warmup`` on, each bar is predicted, then updated.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Finite prices or log prices.
    delta : float
        State noise scale in ``(0, 1)``; larger adapts faster.
    warmup : int
        Bars of the initial OLS, ``>= 3``.
    intercept : bool
        Estimate ``alpha`` (otherwise a one-state filter with ``alpha = 0``).

    Returns
    -------
    HedgeSeries
        ``beta``/``alpha``: the filtered state after bar ``t``. ``innovation``: the one-step
        prediction error ``e_t = base_t - (beta_{t|t-1}·hedge_t + alpha_{t|t-1})``;
        ``innovation_var``: its predicted variance ``Q_t``. All NaN during the warm-up.

    Raises
    ------
    InsufficientDataError
        Fewer than ``warmup + 1`` bars, or a warm-up where either leg is constant or the fit
        is exact (no residual noise to scale the filter by).
    """
    y, x = as_pair(base, hedge)
    check_finite("base", y)
    check_finite("hedge", x)
    d = check_number("delta", delta, low=0.0, strict_low=True)
    if d >= 1.0:
        raise ParameterError(f"delta must be < 1, got {delta!r}")
    w = check_window("warmup", warmup, minimum=MIN_FIT_OBS)
    check_min_length(f"the Kalman filter with a {w}-bar warm-up", y.size, w + 1)
    if np.ptp(y[:w]) == 0.0:
        raise InsufficientDataError(
            f"the base leg did not move during the first {w} bars; the Kalman filter "
            "cannot learn a hedge ratio from a constant price"
        )
    fit = ols_fit(y[:w], x[:w], intercept)
    resid = y[:w] - fit.beta * x[:w] - fit.alpha
    r = float(resid @ resid) / (w - (2 if intercept else 1))
    if not r > 0.0:
        raise InsufficientDataError(
            f"the first {w} bars fit exactly (no residual noise); the Kalman filter has "
            "nothing to scale its noise by"
        )
    q = d / (1.0 - d)
    prior = _ols_covariance(x[:w], r, intercept)
    scales = (q / float(np.mean(x[:w] ** 2)), q if intercept else 0.0)
    return _kalman_loop(y, x, start=w, state=(fit.beta, fit.alpha), prior=prior, scales=scales, r=r)


def _ols_covariance(x: FloatArray, s2: float, intercept: bool) -> tuple[float, float, float]:
    """``s²·(XᵀX)⁻¹`` of the design ``[x, 1]`` (``[x]`` without intercept) as (p11, p12, p22)."""
    if not intercept:
        return s2 / float(x @ x), 0.0, 0.0
    n, sx, sxx = float(x.size), float(x.sum()), float(x @ x)
    det = n * float(np.sum((x - x.mean()) ** 2))
    return s2 * n / det, -s2 * sx / det, s2 * sxx / det


def _kalman_loop(
    y: FloatArray,
    x: FloatArray,
    *,
    start: int,
    state: tuple[float, float],
    prior: tuple[float, float, float],
    scales: tuple[float, float],
    r: float,
) -> HedgeSeries:
    # Scalar Python floats: ~20x faster than 2x2 numpy operations per step.
    n = y.size
    nan = float("nan")
    beta_out, alpha_out = [nan] * n, [nan] * n
    innovation, variance = [nan] * n, [nan] * n
    b, a = state
    p11, p12, p22 = prior
    w11, w22 = scales
    forget = 1.0 / start
    for t, (yt, xt) in enumerate(zip(y[start:].tolist(), x[start:].tolist(), strict=True), start):
        p11 += w11 * r
        p22 += w22 * r
        ph1 = p11 * xt + p12  # P @ H', H = [x, 1]
        ph2 = p12 * xt + p22
        hph = xt * ph1 + ph2
        s = hph + r
        e = yt - b * xt - a
        k1 = ph1 / s
        k2 = ph2 / s
        b += k1 * e
        a += k2 * e
        p11 -= k1 * ph1
        p12 -= k1 * ph2
        p22 -= k2 * ph2
        beta_out[t], alpha_out[t] = b, a
        innovation[t], variance[t] = e, s
        r += forget * (max(e * e - hph, r * 1e-3) - r)
    return HedgeSeries(
        beta=np.array(beta_out),
        alpha=np.array(alpha_out),
        innovation=np.array(innovation),
        innovation_var=np.array(variance),
    )


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
        raise InsufficientDataError(_CONSTANT_HEDGE)
    if np.ptp(y) == 0.0:
        raise InsufficientDataError(_CONSTANT_BASE)
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
    window: int,
    *,
    intercept: bool = True,
    delta: float = 1e-3,
    in_sample: bool = False,
) -> HedgeSeries:
    """
    Per-bar ``beta`` and ``alpha`` for ``method``, each from bars up to its own bar.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
    method : {"ols", "rolling", "kalman", "robust"}
        ``"ols"`` and ``"rolling"``: :func:`rolling_ols` (the static OLS of the ``window`` bars
        ending at each bar). ``"robust"``: :func:`rolling_robust`. ``"kalman"``:
        :func:`kalman_filter` with a ``window``-bar warm-up.
    window : int
    intercept : bool
        Robust regression always fits an intercept.
    delta : float
        Kalman state noise scale.
    in_sample : bool
        ``"ols"``/``"robust"`` only: one static fit over the last ``window`` bars, repeated over
        every bar, with ``fit`` set. This uses later prices for earlier bars.

    Returns
    -------
    HedgeSeries
    """
    kind = check_choice("method", method, HEDGE_METHODS)
    y, x = as_pair(base, hedge)
    w = check_window("window", window, minimum=MIN_FIT_OBS)
    if kind == "kalman":
        return kalman_filter(y, x, delta, w, intercept=intercept)
    if not is_causal(kind, in_sample=in_sample):
        check_min_length(f"a {w}-bar fit", y.size, w)
        fit = ols_fit(y[-w:], x[-w:], intercept) if kind == "ols" else robust_fit(y[-w:], x[-w:])
        return HedgeSeries(
            beta=np.full(y.size, fit.beta), alpha=np.full(y.size, fit.alpha), fit=fit
        )
    if kind == "robust":
        return rolling_robust(y, x, w)
    return rolling_ols(y, x, w, intercept=intercept)
