"""causal_values_at: the causal series the alert worker evaluates, whatever the method."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import PairParams, ParameterError, causal_values_at


def cointegrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hedge = 2500 + np.cumsum(rng.normal(0, 2, n))
    return 24 * hedge + 300 + rng.normal(0, 15, n), hedge


@pytest.mark.parametrize("method", ["ols", "robust", "rolling", "kalman"])
def test_a_bar_evaluated_in_a_batch_equals_the_bar_evaluated_alone(method: str) -> None:
    """No look-ahead: a pass covering many new bars gives each the value it gets on its own."""
    base, hedge = cointegrated(120, seed=5)
    params = PairParams(method=method, window=20, z_window=15)
    rows = np.arange(60, 120)
    batch = causal_values_at(base, hedge, rows, params)
    for k, row in enumerate(rows[::7]):
        alone = causal_values_at(base[: row + 1], hedge[: row + 1], np.array([row]), params)
        for together, single in zip(batch, alone, strict=True):
            assert together[k * 7] == single[0]


def test_too_little_history_gives_nan_not_an_error() -> None:
    base, hedge = cointegrated(30, seed=6)
    z, _, beta = causal_values_at(base, hedge, np.arange(30), PairParams(window=20, z_window=5))
    assert np.isnan(z[:19]).all()
    assert np.isfinite(z[25:]).all() and np.isfinite(beta[25:]).all()
    z, _, _ = causal_values_at(base[:10], hedge[:10], np.arange(10), PairParams(window=20))
    assert np.isnan(z).all()


def test_in_sample_parameters_are_refused() -> None:
    base, hedge = cointegrated(60, seed=7)
    with pytest.raises(ParameterError, match="causal"):
        causal_values_at(base, hedge, np.arange(60), PairParams(window=20, in_sample=True))
