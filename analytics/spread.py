"""Spread and its z-scores.

Owns the residual ``spread = base - beta * hedge - alpha`` and the two causal z-scores of it:
:func:`rolling_zscore`, ``(s - mean) / std`` over the trailing spread values (sample standard
deviation, ddof=1, as pandas ``rolling``), and :func:`refit_zscore`, the z of each bar's spread
under that bar's own fit. Both are vectorised over block-restarted cumulative sums (see
:mod:`analytics._rolling`). Imports numpy and our private helpers.
"""

import numpy as np

from analytics._checks import FloatArray, as_float_array, check_window
from analytics._rolling import window_constant, window_moments
from analytics.errors import ParameterError


def spread(
    base: float | FloatArray,
    hedge: float | FloatArray,
    beta: float | FloatArray,
    alpha: float | FloatArray = 0.0,
) -> FloatArray:
    """
    Residual of the hedge: ``base - beta * hedge - alpha``.

    Parameters
    ----------
    base, hedge : float or array of float
        Prices or log prices (the same space ``beta`` and ``alpha`` were fitted in).
    beta, alpha : float or array of float
        Scalars or per-bar arrays; arrays broadcast elementwise.

    Returns
    -------
    np.ndarray
        Float64, broadcast shape of the inputs (0-d for all-scalar input); NaN propagates.
    """
    parts = [np.asarray(v, dtype=np.float64) for v in (base, hedge, beta, alpha)]
    try:
        shape = np.broadcast_shapes(*(p.shape for p in parts))
    except ValueError as exc:
        raise ParameterError(f"spread inputs do not broadcast: {exc}") from exc
    if len(shape) > 1:
        raise ParameterError(f"spread inputs must be scalars or 1-D, got shape {shape}")
    return parts[0] - parts[2] * parts[1] - parts[3]


def rolling_zscore(values: object, window: int, min_periods: int | None = None) -> FloatArray:
    """
    Trailing-window z-score ``(s_t - mean) / std`` (sample std, ddof=1), as pandas rolling.

    Parameters
    ----------
    values : array-like of float, shape (n,)
        The spread. NaN/inf are missing: they are left out of the window statistics (the
        count then falls below ``window``) and ``z_t`` is NaN where ``s_t`` itself is missing.
    window : int
        Bars per window, ``>= 2``.
    min_periods : int, optional
        Fewest non-missing values a window needs (default ``window``, so windows holding a
        missing value give NaN exactly as ``pd.Series.rolling(window).mean()/std()`` does).

    Returns
    -------
    np.ndarray, shape (n,)
        Equal to ``(s - s.rolling(w, min_periods).mean()) / s.rolling(w, min_periods).std()``,
        except that a window of identical values (zero std) gives NaN instead of ±inf.

    Notes
    -----
    Sums restart every ``window`` bars from a local centre, so the error does not grow with the
    series length or the price level; it is about ``1e-16 · (range of the spread over the two
    surrounding blocks / window std)²`` relative. That is ~1e-13 on real 1m spreads for
    windows >= 5 (pandas' online update is ~1e-9 there) and can reach ~1e-7 only for degenerate
    ``window=2`` windows whose two values nearly tie after a jump.
    """
    s = as_float_array("values", values)
    w = check_window("window", window)
    need = w if min_periods is None else check_window("min_periods", min_periods, minimum=1)
    if need > w:
        raise ParameterError(f"min_periods ({need}) must not exceed window ({w})")
    m = window_moments(s, None, w)
    defined = (m.count >= max(need, 2)) & np.isfinite(s) & ~window_constant(s, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (s - m.mean_x) / np.sqrt(m.m2_x / (m.count - 1.0))
    return np.where(defined & (m.m2_x > 0.0), z, np.nan)


def refit_zscore(base: object, hedge: object, beta: object, window: int) -> FloatArray:
    """
    Z-score of each bar's spread among the ``window`` spreads before it, under that bar's fit.

    For a fit ``(β_t, α_t)`` known at bar ``t`` (a trailing-window static fit), the spread of
    bars ``t - window + 1 .. t`` under that one fit is ``s_i = y_i - β_t·x_i - α_t``, and
    ``z_t = (s_t - mean(s)) / std(s)`` (ddof=1). This is the z a live observer at ``t`` saw:
    every term uses bars ``<= t``. ``α_t`` cancels. The mean and variance follow from trailing
    moments of ``x`` and ``y``: ``var(s) = var(y) - 2β·cov(x, y) + β²·var(x)``, so the whole
    series costs O(n).

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Prices or log prices (the space ``beta`` was fitted in).
    beta : array-like of float, shape (n,)
        Per-bar hedge ratio (NaN where undefined).
    window : int
        Spread values per z, ``>= 2``.

    Returns
    -------
    np.ndarray, shape (n,)
        NaN where ``β_t`` is undefined, the window holds a missing value, or the spread is
        constant over it.
    """
    y, x = (as_float_array(n, v) for n, v in (("base", base), ("hedge", hedge)))
    b = as_float_array("beta", beta)
    if not y.size == x.size == b.size:
        raise ParameterError("base, hedge and beta must have the same length")
    w = check_window("window", window)
    m = window_moments(x, y, w)
    assert m.mean_y is not None and m.m2_y is not None and m.c_xy is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = m.m2_y - 2.0 * b * m.c_xy + b * b * m.m2_x
        z = ((y - m.mean_y) - b * (x - m.mean_x)) / np.sqrt(ss / (w - 1.0))
    # Cancellation leaves var(s) at rounding level when the spread is flat over the window.
    flat = ss <= 1e-13 * (m.m2_y + b * b * m.m2_x)
    return np.where((m.count == w) & np.isfinite(b) & ~flat, z, np.nan)
