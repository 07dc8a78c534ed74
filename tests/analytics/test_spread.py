"""Spread arithmetic and the rolling z-score against pandas' rolling mean/std."""

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from analytics import ParameterError, rolling_ols, rolling_zscore
from analytics.spread import spread
from tests.analytics.conftest import Pair


def _pandas_zscore(values: np.ndarray, window: int, min_periods: int | None = None) -> np.ndarray:
    s = pd.Series(values)
    roll = s.rolling(window, min_periods=min_periods)
    return ((s - roll.mean()) / roll.std()).to_numpy()


def test_spread_broadcasts_scalars_and_per_bar_arrays() -> None:
    base = np.array([10.0, 11.0, 12.0])
    hedge = np.array([4.0, 5.0, 6.0])
    assert float(spread(10.0, 4.0, 2.0, 1.0)) == 1.0
    np.testing.assert_array_equal(spread(base, hedge, 2.0, 1.0), [1.0, 0.0, -1.0])
    np.testing.assert_array_equal(
        spread(base, hedge, np.array([1.0, 2.0, 2.0]), np.array([0.0, 1.0, np.nan])),
        [6.0, 0.0, np.nan],
    )


def test_spread_rejects_incompatible_shapes() -> None:
    with pytest.raises(ParameterError):
        spread(np.ones(3), np.ones(4), 1.0, 0.0)
    with pytest.raises(ParameterError):
        spread(np.ones((2, 2)), np.ones((2, 2)), 1.0, 0.0)


def _real_spread(pair: Pair) -> np.ndarray:
    hedge_fit = rolling_ols(pair.base, pair.hedge, 300)
    return spread(pair.base, pair.hedge, hedge_fit.beta, hedge_fit.alpha)


@pytest.mark.parametrize("window", [20, 60, 300])
def test_zscore_equals_pandas_on_real_spread(real_pair: Pair, window: int) -> None:
    values = _real_spread(real_pair)
    got = rolling_zscore(values, window)
    np.testing.assert_allclose(got, _pandas_zscore(values, window), rtol=1e-9, atol=1e-9)
    assert np.isfinite(got[300 + window :]).all()


@pytest.mark.parametrize("window", [5, 60])
def test_zscore_is_accurate_against_an_extended_precision_reference(
    real_march: Pair, window: int
) -> None:
    # For short windows pandas' online update itself strays by ~4e-9, so compare with a
    # two-pass long-double computation instead.
    values = _real_spread(real_march)[299:]
    frames = sliding_window_view(values.astype(np.longdouble), window)
    mean = frames.mean(axis=1)
    std = np.sqrt(((frames - mean[:, None]) ** 2).sum(axis=1) / (window - 1))
    exact = ((values[window - 1 :] - mean) / std).astype(np.float64)
    np.testing.assert_allclose(rolling_zscore(values, window)[window - 1 :], exact, atol=1e-10)


@pytest.mark.parametrize("min_periods", [None, 1, 2, 30])
def test_zscore_handles_missing_values_like_pandas(min_periods: int | None) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(5.0, 2.0, 2_000)
    values[[0, 17, 18, 400, 1_999]] = np.nan
    values[900:950] = np.nan
    got = rolling_zscore(values, 60, min_periods=min_periods)
    want = _pandas_zscore(values, 60, min_periods)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isnan(got[[17, 18, 400, 1_999]]).all()  # a missing value has no z


def test_zscore_is_standard_on_stationary_noise() -> None:
    rng = np.random.default_rng(42)
    z = rolling_zscore(rng.normal(3.0, 7.0, 50_000), 100)
    valid = z[99:]
    assert abs(valid.mean()) < 0.02
    assert valid.std() == pytest.approx(1.0, abs=0.03)
    assert np.isnan(z[:99]).all()


def test_zero_std_window_gives_nan_not_inf() -> None:
    values = np.r_[np.arange(10.0), np.full(10, 4.0), np.arange(10.0)]
    z = rolling_zscore(values, 5)
    assert np.isnan(z[14:20]).all()  # windows of five identical values
    assert np.isfinite(z[[13, 20]]).all()
    assert not np.isinf(z).any()


def test_zscore_is_causal_bit_for_bit(real_march: Pair) -> None:
    values = np.log(real_march.base) - 0.8 * np.log(real_march.hedge)
    full = rolling_zscore(values, 60)
    for cut in (59, 60, 61, 7_777):
        np.testing.assert_array_equal(rolling_zscore(values[:cut], 60), full[:cut])


@pytest.mark.parametrize(
    "kwargs", [{"window": 1}, {"window": 10, "min_periods": 11}, {"window": 10, "min_periods": 0}]
)
def test_zscore_rejects_bad_windows(kwargs: dict[str, int]) -> None:
    with pytest.raises(ParameterError):
        rolling_zscore(np.arange(20.0), **kwargs)
