"""Pair discovery: every unordered pair of a universe tested for cointegration in one batch.

Owns the screener's numbers. For each pair of symbols, over the last ``window`` bars where both
closes are known, it runs the Engle-Granger test in both orientations (the same closed form as
:func:`analytics.cointegration.engle_granger`, equal to statsmodels ``coint(base, hedge,
trend="c", maxlag, autolag=None)``) and keeps the orientation with the lower p as base/hedge.
Beside the test it reports that fit's β, the half-life and Hurst exponent of its in-sample
spread, the correlation of one-bar log returns and the z of the last spread among the window's
spreads (sample std), all from bars up to the last one. Pairs are ranked by p ascending. The
regressions of all pairs run as a few array operations, so 1,225 pairs at 1,440 bars take well
under a second. Imports numpy and pandas.
"""

from dataclasses import dataclass
from itertools import combinations
from typing import Final

import numpy as np
import pandas as pd

from analytics._checks import FloatArray, check_window
from analytics.cointegration import (
    _mackinnon_p,
    _ols_residuals,
    _residual_adf_stats,
    half_lives,
    hursts,
)
from analytics.errors import ParameterError

MIN_SCREEN_BARS: Final[int] = 20
"""Fewest common bars a pair needs to be screened (as for the cointegration health)."""


@dataclass(frozen=True, slots=True)
class ScreenedPair:
    """One screened pair, oriented so that regressing ``base`` on ``hedge`` has the lower p."""

    base: str
    hedge: str
    eg_stat: float
    eg_p: float
    beta: float
    half_life: float | None
    hurst: float | None
    corr: float | None
    z: float | None
    bars: int


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _common_rows(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """Positions of the last ``window`` rows where both legs are known."""
    return np.flatnonzero(np.isfinite(a) & np.isfinite(b))[-window:]


def _screen_group(
    ys: FloatArray, xs: FloatArray, maxlag: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """EG statistic, p, β and the in-sample spread of regressing each row of ``ys`` on ``xs``."""
    beta, resid, r2 = _ols_residuals(ys, xs)
    stats = _residual_adf_stats(resid, r2, maxlag)
    return stats, _mackinnon_p(stats, 2), beta, resid


def _returns_corr(prices_a: FloatArray, prices_b: FloatArray) -> FloatArray:
    ra, rb = np.diff(np.log(prices_a), axis=1), np.diff(np.log(prices_b), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.sqrt(np.einsum("ij,ij->i", ra, ra) * np.einsum("ij,ij->i", rb, rb))
        return np.einsum("ij,ij->i", ra, rb) / norm


def screen_pairs(
    closes: pd.DataFrame, window: int, *, maxlag: int = 1, log: bool = False
) -> list[ScreenedPair]:
    """
    Test every unordered pair of ``closes``' columns and rank them by Engle-Granger p.

    Parameters
    ----------
    closes : pd.DataFrame
        One column of positive closes per symbol on one time grid (NaN where a symbol has no
        bar); column names are the symbols.
    window : int
        Bars per pair: the last ``window`` rows where both legs are known (fewer when fewer
        exist; at least :data:`MIN_SCREEN_BARS`).
    maxlag : int
        Lagged differences of the EG residual regression (``coint``'s ``maxlag``).
    log : bool
        Test log prices (the dashboard's ``analytics.log_prices``).

    Returns
    -------
    list of ScreenedPair
        Ascending ``eg_p`` (ties by symbol names). Pairs with too few common bars or a flat leg
        are left out.

    Raises
    ------
    ParameterError
        Non-positive prices, or a window below :data:`MIN_SCREEN_BARS`.
    """
    w = check_window("window", window, minimum=MIN_SCREEN_BARS)
    k = check_window("maxlag", maxlag, minimum=0)
    values = closes.to_numpy(dtype=np.float64)
    known = values[np.isfinite(values)]
    if (known <= 0).any():
        raise ParameterError("the screener needs positive prices")
    symbols = [str(c) for c in closes.columns]
    groups: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    for i, j in combinations(range(len(symbols)), 2):
        rows = _common_rows(values[:, i], values[:, j], w)
        flat = np.ptp(values[rows, i]) == 0.0 or np.ptp(values[rows, j]) == 0.0
        if rows.size >= max(MIN_SCREEN_BARS, 2 * k + 8) and not flat:
            groups.setdefault(rows.size, []).append((i, j, rows))
    found: list[ScreenedPair] = []
    for size, members in groups.items():
        a = np.stack([values[rows, i] for i, _, rows in members])
        b = np.stack([values[rows, j] for _, j, rows in members])
        fa, fb = (np.log(a), np.log(b)) if log else (a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            forward = _screen_group(fa, fb, k)
            backward = _screen_group(fb, fa, k)
            corr = _returns_corr(a, b)
        found += _oriented(
            symbols,
            members,
            forward=forward,
            backward=backward,
            corr=corr,
            size=size,
        )
    return sorted(found, key=lambda pair: (pair.eg_p, pair.base, pair.hedge))


def _oriented(
    symbols: list[str],
    members: list[tuple[int, int, np.ndarray]],
    *,
    forward: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    backward: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    corr: FloatArray,
    size: int,
) -> list[ScreenedPair]:
    """One ``ScreenedPair`` per member, in the orientation with the lower p."""
    swap = backward[1] < forward[1]
    stats, p, beta = (np.where(swap, b, f) for f, b in zip(forward[:3], backward[:3], strict=True))
    spreads = np.where(swap[:, None], backward[3], forward[3])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = spreads[:, -1] / spreads.std(axis=1, ddof=1)
        half = half_lives(spreads)
        hurst = hursts(spreads)
    out = []
    for row, (i, j, _) in enumerate(members):
        base, hedge = (symbols[j], symbols[i]) if swap[row] else (symbols[i], symbols[j])
        collinear = np.isinf(stats[row])  # a spread of rounding noise has no dynamics
        out.append(
            ScreenedPair(
                base=base,
                hedge=hedge,
                eg_stat=float(stats[row]),
                eg_p=float(p[row]),
                beta=float(beta[row]),
                half_life=None if collinear else _finite_or_none(half[row]),
                hurst=None if collinear else _finite_or_none(hurst[row]),
                corr=_finite_or_none(corr[row]),
                z=None if collinear else _finite_or_none(z[row]),
                bars=size,
            )
        )
    return out
