"""ADF, Engle-Granger, Johansen, half-life and Hurst against statsmodels and known processes."""

import math

import numpy as np
import pytest
from statsmodels.tsa.adfvalues import mackinnonp
from statsmodels.tsa.stattools import adfuller, coint
from statsmodels.tsa.vector_ar.vecm import coint_johansen

from analytics import (
    InsufficientDataError,
    ParameterError,
    adf,
    engle_granger,
    half_life,
    hurst,
    johansen_trace,
    ols_fit,
    pair_health,
    rolling_engle_granger_p,
)
from analytics.cointegration import _mackinnon_p
from tests.analytics.conftest import Pair


def _ar1(phi: float, n: int = 20_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, n)
    out = np.zeros(n)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + noise[t]
    return out


@pytest.mark.parametrize("maxlag", [0, 1, 2, 5])
def test_adf_equals_adfuller_on_real_spread(real_pair: Pair, maxlag: int) -> None:
    fit = ols_fit(np.log(real_pair.base), np.log(real_pair.hedge))
    values = np.log(real_pair.base) - fit.beta * np.log(real_pair.hedge) - fit.alpha
    stat, p = adf(values, maxlag)
    ref = adfuller(values, maxlag=maxlag, regression="c", autolag=None, result_object=False)
    assert stat == pytest.approx(ref[0], rel=1e-9)
    assert p == pytest.approx(ref[1], rel=1e-7, abs=1e-300)


@pytest.mark.parametrize("phi", [0.5, 0.95, 0.999, 1.0])
def test_adf_equals_adfuller_on_synthetic_series(phi: float) -> None:
    values = _ar1(phi, n=3_000, seed=4)
    stat, p = adf(values)
    ref = adfuller(values, maxlag=1, regression="c", autolag=None, result_object=False)
    assert stat == pytest.approx(ref[0], rel=1e-9)
    assert p == pytest.approx(ref[1], rel=1e-7, abs=1e-300)


def test_adf_separates_stationary_from_random_walk() -> None:
    assert adf(_ar1(0.9, n=2_000))[1] < 0.01
    assert adf(np.cumsum(np.random.default_rng(8).normal(size=2_000)))[1] > 0.05


def _engle_granger_p(base: np.ndarray, hedge: np.ndarray) -> float:
    return engle_granger(base, hedge)[1]


def test_engle_granger_equals_statsmodels_coint(synthetic_pair: Pair) -> None:
    stat, p = engle_granger(synthetic_pair.base, synthetic_pair.hedge)
    ref = coint(synthetic_pair.base, synthetic_pair.hedge, trend="c", maxlag=1, autolag=None)
    assert stat == pytest.approx(ref[0], rel=1e-9)
    assert p == pytest.approx(ref[1], rel=1e-9, abs=1e-300)
    assert p < 0.01


@pytest.mark.parametrize("maxlag", [0, 1, 3])
def test_engle_granger_equals_coint_on_real_candles(real_pair: Pair, maxlag: int) -> None:
    for start in range(0, 40_000, 9_000):
        for window, log in ((300, False), (1_440, True)):
            y, x = real_pair.base[start : start + window], real_pair.hedge[start : start + window]
            if log:
                y, x = np.log(y), np.log(x)
            stat, p = engle_granger(y, x, maxlag)
            ref = coint(y, x, trend="c", maxlag=maxlag, autolag=None)
            assert stat == pytest.approx(ref[0], rel=1e-9)
            assert p == pytest.approx(ref[1], rel=1e-8, abs=1e-12)


def test_vectorised_mackinnon_p_equals_statsmodels() -> None:
    stats = np.linspace(-30.0, 5.0, 701)
    got = _mackinnon_p(stats, 2)
    ref = [mackinnonp(s, regression="c", N=2) for s in stats]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-300)


def test_engle_granger_p_is_high_for_independent_random_walks() -> None:
    rng = np.random.default_rng(21)
    base = 100.0 + np.cumsum(rng.normal(size=3_000))
    hedge = 100.0 + np.cumsum(rng.normal(size=3_000))
    assert _engle_granger_p(base, hedge) > 0.1


def test_engle_granger_has_its_nominal_size_where_adf_of_the_residual_does_not() -> None:
    """The audit's finding B5: ADF tables on a fitted residual find cointegration too often."""
    rng = np.random.default_rng(3)
    eg_rejects = adf_rejects = 0
    trials = 200
    for _ in range(trials):
        base = 100.0 + np.cumsum(rng.normal(size=300))
        hedge = 100.0 + np.cumsum(rng.normal(size=300))
        health = pair_health(base, hedge)
        eg_rejects += health.eg_p < 0.05
        adf_rejects += health.adf_p < 0.05
    assert eg_rejects / trials < 0.10  # nominal 0.05
    assert adf_rejects > 2 * eg_rejects


def test_engle_granger_reports_collinear_legs_as_p_zero() -> None:
    hedge = np.linspace(1.0, 50.0, 200)
    assert engle_granger(2.0 * hedge + 1.0, hedge) == (-math.inf, 0.0)  # as coint says


def test_pair_health_equals_statsmodels_on_real_candles(real_pair: Pair) -> None:
    y, x = np.log(real_pair.base[-300:]), np.log(real_pair.hedge[-300:])
    got = pair_health(y, x)
    ref = coint(y, x, trend="c", maxlag=1, autolag=None)
    assert got.eg_stat == pytest.approx(ref[0], rel=1e-9)
    assert got.eg_p == pytest.approx(ref[1], rel=1e-8)
    fit = ols_fit(y, x)
    spread = y - fit.beta * x - fit.alpha
    adf_ref = adfuller(spread, maxlag=1, regression="c", autolag=None, result_object=False)
    assert got.adf_stat == pytest.approx(adf_ref[0], rel=1e-8)
    assert got.adf_p == pytest.approx(adf_ref[1], rel=1e-7)
    johansen = coint_johansen(np.column_stack([y, x]), 0, 1)
    assert got.johansen_trace == pytest.approx(johansen.lr1[0], rel=1e-9)
    assert got.johansen_cv95 == johansen.cvt[0, 1]
    assert got.half_life == pytest.approx(half_life(spread), rel=1e-9)
    assert got.hurst == pytest.approx(hurst(spread), rel=1e-9)
    assert johansen_trace(y, x) == (got.johansen_trace, got.johansen_cv95)


def test_rolling_engle_granger_p_equals_the_test_of_each_window(real_march: Pair) -> None:
    y, x = real_march.base[:2_000], real_march.hedge[:2_000]
    line = rolling_engle_granger_p(y, x, 300, 37)
    evaluated = np.flatnonzero(np.isfinite(line))
    assert evaluated[-1] == 1_999 and np.all(np.diff(evaluated) == 37)
    assert evaluated[0] >= 299
    for end in evaluated[::5]:
        ref = coint(y[end - 299 : end + 1], x[end - 299 : end + 1], maxlag=1, autolag=None)
        assert line[end] == pytest.approx(ref[1], rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("phi", [0.8, 0.9, 0.95, 0.97, 0.99])
def test_half_life_of_ar1_matches_theory(phi: float) -> None:
    got = half_life(_ar1(phi, n=50_000, seed=2))
    assert got is not None
    # The regression estimates b = phi - 1, so the estimand is -ln 2 / (phi - 1) ...
    assert got == pytest.approx(-math.log(2.0) / (phi - 1.0), rel=0.05)
    # ... which is close to the exact -ln 2 / ln(phi) as phi -> 1.
    if phi >= 0.95:
        assert got == pytest.approx(-math.log(2.0) / math.log(phi), rel=0.06)


def test_half_life_is_none_without_mean_reversion() -> None:
    explosive = 1.001 ** np.arange(2_000.0) + np.random.default_rng(0).normal(0, 0.01, 2_000)
    assert half_life(explosive) is None


@pytest.mark.parametrize(
    ("series", "low", "high"),
    [
        (np.cumsum(np.random.default_rng(5).normal(size=20_000)), 0.45, 0.55),  # random walk
        (_ar1(0.5, seed=6), 0.0, 0.2),  # strongly mean-reverting
        (np.cumsum(np.cumsum(np.random.default_rng(7).normal(size=20_000))), 0.9, 1.1),  # I(2)
    ],
)
def test_hurst_classifies_known_processes(series: np.ndarray, low: float, high: float) -> None:
    assert low < hurst(series) < high


def test_hurst_refuses_a_series_without_variation_in_its_increments() -> None:
    with pytest.raises(InsufficientDataError, match="increments"):
        hurst(np.linspace(1.0, 2.0, 100))
    with pytest.raises(InsufficientDataError):
        hurst(np.full(100, 3.0))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: adf(np.ones(50)), InsufficientDataError),
        (lambda: adf(np.arange(10.0), maxlag=4), InsufficientDataError),
        (lambda: adf([1.0, np.nan, 2.0, 3.0, 4.0]), ParameterError),
        (lambda: adf(np.arange(10.0), maxlag=-1), ParameterError),
        (lambda: pair_health(np.arange(10.0), np.arange(10.0)), InsufficientDataError),
        (lambda: half_life(np.full(10, 3.0)), InsufficientDataError),
        (lambda: hurst(np.arange(5.0)), InsufficientDataError),
        (lambda: engle_granger(np.arange(30.0), np.ones(30)), InsufficientDataError),
        (lambda: engle_granger(np.arange(30.0), np.arange(29.0)), ParameterError),
    ],
)
def test_bad_input_raises(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]
