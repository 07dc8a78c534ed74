"""Correlation of log returns: a rolling pair correlation and a cross-symbol matrix.

Owns the Pearson correlation of 1-bar log returns, either per bar over a trailing window for
one pair (vectorised over block-restarted cumulative sums, see :mod:`analytics._rolling`) or as
a matrix over the last ``window`` bars for several symbols. Imports numpy, pandas and our
private helpers.
"""

import numpy as np
import pandas as pd

from analytics._checks import FloatArray, as_float_array, as_pair, check_window
from analytics._rolling import window_constant, window_moments
from analytics.errors import InsufficientDataError, ParameterError


def log_returns(prices: object) -> FloatArray:
    """
    One-bar log returns ``ln(p_t / p_{t-1})``, aligned to the later bar.

    Parameters
    ----------
    prices : array-like of float, shape (n,)
        Positive prices; NaN allowed (the returns touching it are NaN).

    Returns
    -------
    np.ndarray, shape (n,)
        ``r[0]`` is NaN.
    """
    p = as_float_array("prices", prices)
    if (p[np.isfinite(p)] <= 0).any():
        raise ParameterError("log returns need positive prices")
    out = np.full(p.size, np.nan)
    if p.size > 1:
        logs = np.log(p)
        out[1:] = logs[1:] - logs[:-1]
    return out


def rolling_correlation(base: object, hedge: object, window: int) -> FloatArray:
    """
    Trailing-window Pearson correlation of the two legs' 1-bar log returns.

    Parameters
    ----------
    base, hedge : array-like of float, shape (n,)
        Positive prices.
    window : int
        Returns per window, ``>= 2`` (a window spans ``window + 1`` prices).

    Returns
    -------
    np.ndarray, shape (n,)
        ``corr[t]`` over the returns ending at bars ``t - window + 1 .. t``; NaN for
        ``t < window``, for windows holding a missing return and where either leg's returns
        are constant. Equal to ``rb.rolling(window).corr(rh)`` on the log-return series.
    """
    y, x = as_pair(base, hedge)
    w = check_window("window", window)
    rb, rh = log_returns(y), log_returns(x)
    m = window_moments(rb, rh, w)
    assert m.m2_y is not None and m.c_xy is not None
    defined = (m.count == w) & ~window_constant(rb, w) & ~window_constant(rh, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.clip(m.c_xy / np.sqrt(m.m2_x * m.m2_y), -1.0, 1.0)
    return np.where(defined, corr, np.nan)


def corr_bars_needed(window: int) -> int:
    """
    Prices :func:`rolling_correlation` needs before the last bar has a correlation.

    Parameters
    ----------
    window : int
        Returns per window, ``>= 2``.

    Returns
    -------
    int
        ``window + 1``: ``window`` one-bar returns span ``window + 1`` prices.
    """
    return check_window("window", window) + 1


def correlation_matrix(closes: pd.DataFrame, window: int) -> pd.DataFrame:
    """
    Pearson correlation matrix of 1-bar log returns over the last ``window`` bars.

    Parameters
    ----------
    closes : pd.DataFrame
        One column per symbol, rows in time order on a shared grid; positive prices.
    window : int
        Number of returns used (the last ``window + 1`` rows), ``>= 2``.

    Returns
    -------
    pd.DataFrame
        Symmetric, columns and index equal to ``closes.columns``, unit diagonal; NaN for a
        symbol whose returns are constant or missing in the window.
    """
    w = check_window("window", window)
    if closes.shape[0] < w + 1:
        raise InsufficientDataError(
            f"correlation over {w} returns needs {w + 1} rows, got {closes.shape[0]}"
        )
    prices = closes.iloc[-(w + 1) :].to_numpy(dtype=np.float64)
    if (prices[np.isfinite(prices)] <= 0).any():
        raise ParameterError("log returns need positive prices")
    returns = np.diff(np.log(prices), axis=0)
    dev = returns - returns.mean(axis=0)
    scale = np.sqrt((dev * dev).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = dev / scale
        matrix = np.clip(unit.T @ unit, -1.0, 1.0)
    flat = ~(scale > 0)  # constant or NaN columns
    matrix[flat, :] = np.nan
    matrix[:, flat] = np.nan
    np.fill_diagonal(matrix, np.where(flat, np.nan, 1.0))
    return pd.DataFrame(matrix, index=closes.columns, columns=closes.columns)
