"""Rolling and matrix correlation of log returns."""

import numpy as np
import pandas as pd
import pytest

from analytics import (
    InsufficientDataError,
    ParameterError,
    corr_bars_needed,
    correlation_matrix,
    log_returns,
    rolling_correlation,
)
from tests.analytics.conftest import Pair


def _random_walk(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))


@pytest.mark.parametrize(("power", "sign"), [(2.0, 1.0), (0.5, 1.0), (-1.0, -1.0), (-3.0, -1.0)])
def test_perfectly_related_legs_give_plus_or_minus_one(power: float, sign: float) -> None:
    hedge = _random_walk(500, seed=1)
    base = 7.0 * hedge**power  # log returns of base = power * log returns of hedge
    corr = rolling_correlation(base, hedge, 30)
    np.testing.assert_allclose(corr[30:], sign, atol=1e-12)


def test_window_edges() -> None:
    corr = rolling_correlation(_random_walk(200, 1), _random_walk(200, 2), 20)
    assert np.isnan(corr[:20]).all()  # the first price has no return; 20 returns end at bar 20
    assert np.isfinite(corr[20:]).all()
    assert corr.shape == (200,)


def test_rolling_correlation_equals_pandas_on_real_returns(real_pair: Pair) -> None:
    got = rolling_correlation(real_pair.base, real_pair.hedge, 60)
    rb = pd.Series(np.log(real_pair.base)).diff()
    rh = pd.Series(np.log(real_pair.hedge)).diff()
    want = rb.rolling(60).corr(rh).to_numpy()
    defined = np.isfinite(got)
    np.testing.assert_allclose(got[defined], want[defined], rtol=1e-9, atol=1e-10)
    assert defined[60:].mean() > 0.999


def test_constant_leg_and_missing_price_give_nan() -> None:
    hedge = _random_walk(100, 3)
    base = _random_walk(100, 4)
    base[40:60] = base[40]
    hedge[80] = np.nan
    corr = rolling_correlation(base, hedge, 10)
    assert np.isnan(corr[50:60]).all()  # ten zero returns in a row
    assert np.isnan(corr[80:91]).all()  # the returns into and out of bar 80 are missing
    assert np.isfinite(corr[[49, 91]]).all()


def test_rolling_correlation_is_causal_bit_for_bit(real_march: Pair) -> None:
    full = rolling_correlation(real_march.base, real_march.hedge, 60)
    for cut in (60, 61, 5_000):
        part = rolling_correlation(real_march.base[:cut], real_march.hedge[:cut], 60)
        np.testing.assert_array_equal(part, full[:cut])


def test_correlation_matrix_equals_pandas_over_the_last_window(real_march: Pair) -> None:
    closes = pd.DataFrame(
        {"ETH": real_march.base, "BTC": real_march.hedge, "X": _random_walk(real_march.ts.size, 9)}
    )
    got = correlation_matrix(closes, 500)
    want = np.log(closes.iloc[-501:]).diff().dropna().corr()
    pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=1e-12)
    assert got.loc["ETH", "BTC"] > 0.5


def test_correlation_matrix_marks_constant_symbols_nan() -> None:
    closes = pd.DataFrame({"a": _random_walk(50, 1), "b": _random_walk(50, 2), "c": 5.0})
    got = correlation_matrix(closes, 20)
    assert np.isnan(got["c"]).all()
    assert np.isnan(got.loc["c"]).all()
    assert got.loc["a", "a"] == 1.0


def test_correlation_errors() -> None:
    with pytest.raises(InsufficientDataError):
        correlation_matrix(pd.DataFrame({"a": [1.0, 2.0], "b": [1.0, 3.0]}), 5)
    with pytest.raises(ParameterError):
        rolling_correlation([1.0, -2.0, 3.0], [1.0, 2.0, 3.0], 2)
    with pytest.raises(ParameterError):
        rolling_correlation([1.0, 2.0, 3.0], [1.0, 2.0], 2)
    with pytest.raises(ParameterError):
        log_returns([[1.0, 2.0]])


@pytest.mark.parametrize("window", [2, 5, 60])
def test_corr_bars_needed_is_the_first_count_with_a_last_value(window: int) -> None:
    base, hedge = _random_walk(100, seed=4), _random_walk(100, seed=5)
    first = next(
        n
        for n in range(1, 101)
        if np.isfinite(rolling_correlation(base[:n], hedge[:n], window)[-1])
    )
    assert first == corr_bars_needed(window) == window + 1
