"""The full analytics refresh for one pair: hedge ratio, spread, z-score, correlation, health.

Owns :func:`compute_pair`, the one function behind every number the product shows or acts on:
the dashboard pages, ``/api/v1/analytics``, the alert worker and the backtest all call it, so
they agree bar for bar. It composes the other modules following the README's "Analytics
definitions": every per-bar value is what a live observer saw at that bar (static fits are
refitted on the ``window`` bars ending at each bar; rolling OLS, robust and Kalman are causal),
and cointegration health is a property of the pair over the last ``window`` bars, whatever the
hedge method. Imports numpy and our modules.
"""

import math
from dataclasses import dataclass

import numpy as np

from analytics._checks import (
    FloatArray,
    as_pair,
    check_choice,
    check_finite,
    check_number,
    check_window,
)
from analytics.cointegration import (
    MIN_HEALTH_OBS,
    CointegrationHealth,
    pair_health,
    rolling_engle_granger_p,
)
from analytics.correlation import rolling_correlation
from analytics.errors import AnalyticsError, InsufficientDataError, ParameterError
from analytics.hedge import (
    MIN_FIT_OBS,
    HedgeFit,
    HedgeSeries,
    hedge_series,
    ols_fit,
    robust_fit,
)
from analytics.spread import refit_zscore, rolling_zscore, spread
from analytics.vocabulary import HEDGE_METHODS, HedgeMethod, is_causal

EG_LINE_POINTS = 120
"""Evaluations of the rolling Engle-Granger p over a refresh (every ``n // 120`` bars)."""


@dataclass(frozen=True, slots=True)
class PairParams:
    """
    Parameters of :func:`compute_pair`.

    ``method`` is one of ``"ols"``, ``"rolling"``, ``"kalman"``, ``"robust"``; ``window`` is the
    hedge-fit window (bars; the Kalman warm-up); ``log`` fits on natural-log prices;
    ``kalman_delta`` is the Kalman state noise scale; ``adf_maxlag`` the fixed lag of the EG and
    ADF tests. ``in_sample`` (``ols``/``robust`` only) applies the fit of the last ``window``
    bars to every bar: it uses later prices and is off by default.
    """

    method: HedgeMethod = "ols"
    window: int = 300
    z_window: int = 60
    corr_window: int = 60
    log: bool = False
    intercept: bool = True
    kalman_delta: float = 1e-3
    adf_maxlag: int = 1
    in_sample: bool = False

    def __post_init__(self) -> None:
        check_choice("method", self.method, HEDGE_METHODS)
        check_window("window", self.window, minimum=MIN_FIT_OBS)
        check_window("z_window", self.z_window)
        check_window("corr_window", self.corr_window)
        check_window("adf_maxlag", self.adf_maxlag, minimum=0)
        delta = check_number("kalman_delta", self.kalman_delta, low=0.0, strict_low=True)
        if delta >= 1.0:
            raise ParameterError(f"kalman_delta must be < 1, got {self.kalman_delta!r}")

    @property
    def causal(self) -> bool:
        """Whether every per-bar value uses bars up to its own bar only."""
        return is_causal(self.method, in_sample=self.in_sample)


def bars_needed(params: PairParams) -> int:
    """
    Aligned bars :func:`compute_pair` needs before the last bar has a z-score.

    Parameters
    ----------
    params : PairParams

    Returns
    -------
    int
        ``ols``/``robust`` (causal or in-sample): ``max(window, z_window)``, the first bar with
        a ``window``-bar fit and ``z_window`` spreads under it; ``rolling``:
        ``window + z_window - 1``, since its z is taken over ``z_window`` rolling spreads and the
        first spread needs ``window`` bars; ``kalman``: ``window + 1``, the warm-up plus the first
        predicted bar (``z_window`` is not used). With fewer bars ``compute_pair`` raises
        :class:`InsufficientDataError` or its last z is NaN.
    """
    if params.method == "kalman":
        return params.window + 1
    if params.method == "rolling":
        return params.window + params.z_window - 1
    return max(params.window, params.z_window)


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
    eg_stat: float | None
    eg_p: float | None
    adf_stat: float | None
    adf_p: float | None
    half_life: float | None
    hurst: float | None
    johansen_trace: float | None
    johansen_cv95: float | None


@dataclass(frozen=True, eq=False, slots=True)
class PairAnalytics:
    """Per-bar series (shape (n,), NaN where undefined) plus the latest values and the fits.

    ``eg_p`` is the rolling Engle-Granger p, evaluated every few bars (NaN in between).
    For ``kalman`` the spread is the one-step prediction error of the filter.
    """

    beta: FloatArray
    alpha: FloatArray
    spread: FloatArray
    z: FloatArray
    corr: FloatArray
    eg_p: FloatArray
    latest: PairSnapshot
    fit: HedgeFit | None
    health: CointegrationHealth | None


def _last(values: FloatArray) -> float | None:
    value = float(values[-1])
    return value if math.isfinite(value) else None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _check_prices(y: FloatArray, x: FloatArray, window: int) -> None:
    """Refuse what no hedge can be fitted on, with a sentence a trader understands."""
    check_finite("base", y)
    check_finite("hedge", x)
    for leg, prices in (("base", y), ("hedge", x)):
        if (prices <= 0).any():
            raise ParameterError(
                f"the {leg} leg has a zero or negative price; prices must be positive"
            )
    if y.size < window:
        raise InsufficientDataError(
            f"window {window} needs {window} bars of both legs; only {y.size} are available "
            "yet (wait, shorten the window or lengthen the lookback)"
        )
    for leg, prices in (("base", y), ("hedge", x)):
        if np.ptp(prices[-window:]) == 0.0:
            raise InsufficientDataError(
                f"the {leg} leg's price did not change over the last {window} bars; a hedge "
                "ratio needs both legs to move"
            )


def _spread_and_z(
    fy: FloatArray, fx: FloatArray, hedge: HedgeSeries, params: PairParams
) -> tuple[FloatArray, FloatArray]:
    if hedge.innovation is not None and hedge.innovation_var is not None:
        return hedge.innovation, hedge.innovation / np.sqrt(hedge.innovation_var)
    resid = spread(fy, fx, hedge.beta, hedge.alpha)
    if params.method == "rolling" or not params.causal:
        return resid, rolling_zscore(resid, params.z_window)
    return resid, refit_zscore(fy, fx, hedge.beta, params.z_window)


def _window_fit(fy: FloatArray, fx: FloatArray, params: PairParams) -> HedgeFit | None:
    """The static fit of the last ``window`` bars (its r² is the one reported)."""
    tail = slice(-params.window, None)
    if params.method == "kalman":
        return None
    if params.method == "robust":
        return robust_fit(fy[tail], fx[tail])
    return ols_fit(fy[tail], fx[tail], params.intercept)


def compute_pair(
    base: object, hedge: object, params: PairParams, with_health: bool = True
) -> PairAnalytics:
    """
    Compute every per-pair statistic of the dashboard in one pass, causally.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Aligned, complete, positive closes (raw prices; :func:`analytics.complete_rows` output).
    params : PairParams
    with_health : bool
        Also run the cointegration health of the last ``window`` bars and the rolling EG p.

    Returns
    -------
    PairAnalytics
        Per bar ``t``: ``beta``/``alpha`` of the method at ``t``; ``ols``/``robust``: spread
        ``y_t - β_t·x_t - α_t`` and z of it among the ``z_window`` spreads ending at ``t``
        under that same fit (:func:`analytics.spread.refit_zscore`); ``rolling``: z over the
        trailing spread values; ``kalman``: spread = prediction error ``e_t``, z =
        ``e_t / sqrt(Q_t)``. ``r2`` is from the static fit of the last ``window`` bars (OLS,
        Huber for ``robust``), None for ``kalman``. Health is None without ``with_health`` or
        with a window under 20 bars.

    Raises
    ------
    InsufficientDataError
        Fewer than ``window`` bars (``window + 1`` for ``kalman``), or a leg flat over the
        last ``window`` bars. The last z needs :func:`bars_needed` bars.
    ParameterError
        Mismatched lengths, non-finite or non-positive prices.
    """
    y, x = as_pair(base, hedge)
    needed = params.window + (1 if params.method == "kalman" else 0)
    _check_prices(y, x, needed)
    fy, fx = (np.log(y), np.log(x)) if params.log else (y, x)
    hedge_fit = hedge_series(
        fy,
        fx,
        params.method,
        params.window,
        intercept=params.intercept,
        delta=params.kalman_delta,
        in_sample=not params.causal,
    )
    resid, z = _spread_and_z(fy, fx, hedge_fit, params)
    corr = rolling_correlation(y, x, params.corr_window)
    fit = hedge_fit.fit or _window_fit(fy, fx, params)
    cointegration = None
    eg_line = np.full(y.size, np.nan)
    if with_health and params.window >= MIN_HEALTH_OBS:
        cointegration = pair_health(fy[-params.window :], fx[-params.window :], params.adf_maxlag)
        every = max(1, y.size // EG_LINE_POINTS)
        eg_line = rolling_engle_granger_p(fy, fx, params.window, every, params.adf_maxlag)
    latest = PairSnapshot(
        n=int(y.size),
        beta=_last(hedge_fit.beta),
        alpha=_last(hedge_fit.alpha),
        r2=None if fit is None else _finite(fit.r2),
        z=_last(z),
        spread=_last(resid),
        corr=_last(corr),
        eg_stat=None if cointegration is None else _finite(cointegration.eg_stat),
        eg_p=None if cointegration is None else cointegration.eg_p,
        adf_stat=None if cointegration is None else _finite(cointegration.adf_stat),
        adf_p=None if cointegration is None else cointegration.adf_p,
        half_life=None if cointegration is None else cointegration.half_life,
        hurst=None if cointegration is None else cointegration.hurst,
        johansen_trace=None if cointegration is None else cointegration.johansen_trace,
        johansen_cv95=None if cointegration is None else cointegration.johansen_cv95,
    )
    return PairAnalytics(
        beta=hedge_fit.beta,
        alpha=hedge_fit.alpha,
        spread=resid,
        z=z,
        corr=corr,
        eg_p=eg_line,
        latest=latest,
        fit=fit,
        health=cointegration,
    )


def causal_values_at(
    base: object, hedge: object, rows: np.ndarray, params: PairParams
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """
    z, spread and β at ``rows`` of the aligned closes, as each stood when it was the newest bar.

    The one causal series the alert worker evaluates and the dashboard draws:
    :func:`compute_pair` is causal for a causal ``params``, so one pass gives every row the
    value a live observer saw at its bar.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Aligned, complete closes.
    rows : np.ndarray of int
        Positions to report.
    params : PairParams
        Must be causal (not ``in_sample``).

    Returns
    -------
    tuple of np.ndarray
        ``(z, spread, beta)`` at ``rows``; all NaN while there are too few bars (nothing fires).

    Raises
    ------
    ParameterError
        ``params`` is in sample: its values use later prices.
    """
    if not params.causal:
        raise ParameterError("causal values need causal parameters (in_sample=False)")
    try:
        result = compute_pair(base, hedge, params, with_health=False)
    except AnalyticsError:
        nothing = np.full(rows.size, np.nan)
        return nothing, nothing.copy(), nothing.copy()
    return result.z[rows], result.spread[rows], result.beta[rows]
