"""ADF, Engle-Granger, half-life and Hurst against statsmodels and known processes."""

import math
import time

import numpy as np
import pytest
from statsmodels.tsa.stattools import adfuller, coint

from analytics import (
    InsufficientDataError,
    ParameterError,
    adf,
    engle_granger_p,
    half_life,
    health,
    hurst,
    ols_fit,
)
from tests.analytics.conftest import Pair, make_synthetic_pair


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


def test_engle_granger_p_equals_statsmodels_coint(synthetic_pair: Pair) -> None:
    got = engle_granger_p(synthetic_pair.base, synthetic_pair.hedge)
    ref = coint(synthetic_pair.base, synthetic_pair.hedge, trend="c", maxlag=1, autolag=None)
    assert got == pytest.approx(ref[1], rel=1e-12)
    assert got < 0.01


def test_engle_granger_p_is_high_for_independent_random_walks() -> None:
    rng = np.random.default_rng(21)
    base = 100.0 + np.cumsum(rng.normal(size=3_000))
    hedge = 100.0 + np.cumsum(rng.normal(size=3_000))
    assert engle_granger_p(base, hedge) > 0.1


def test_engle_granger_p_absorbs_the_collinearity_warning() -> None:
    hedge = np.linspace(1.0, 50.0, 200)
    assert engle_granger_p(2.0 * hedge + 1.0, hedge) == 0.0


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


def test_health_bundles_the_individual_statistics(synthetic_pair: Pair) -> None:
    fit = ols_fit(synthetic_pair.base, synthetic_pair.hedge)
    values = synthetic_pair.base - fit.beta * synthetic_pair.hedge - fit.alpha
    got = health(values)
    assert (got.adf_stat, got.adf_p) == adf(values)
    assert got.half_life == half_life(values)
    assert got.hurst == hurst(values)
    assert got.n == values.size
    # The synthetic residual is AR(1) with phi = 0.9: half-life ~6.6 bars.
    assert got.half_life == pytest.approx(-math.log(2) / math.log(0.9), rel=0.2)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: adf(np.ones(50)), InsufficientDataError),
        (lambda: adf(np.arange(10.0), maxlag=4), InsufficientDataError),
        (lambda: adf([1.0, np.nan, 2.0, 3.0, 4.0]), ParameterError),
        (lambda: adf(np.arange(10.0), maxlag=-1), ParameterError),
        (lambda: health(np.arange(10.0)), InsufficientDataError),
        (lambda: half_life(np.full(10, 3.0)), InsufficientDataError),
        (lambda: hurst(np.arange(5.0)), InsufficientDataError),
        (lambda: engle_granger_p(np.arange(30.0), np.ones(30)), InsufficientDataError),
        (lambda: engle_granger_p(np.arange(30.0), np.arange(29.0)), ParameterError),
    ],
)
def test_bad_input_raises(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


def test_health_is_fast_on_ten_thousand_bars() -> None:
    values = make_synthetic_pair(n=10_000).base
    health(values)  # warm-up
    # Generous bound (about 20x the measured cost) so only a regression to a slow path trips it.
    start = time.perf_counter()
    for _ in range(10):
        health(values)
    assert (time.perf_counter() - start) / 10 < 0.02
