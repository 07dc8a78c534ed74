"""compute_pair: the full refresh equals the composition of the individual functions."""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

import analytics
from analytics import (
    InsufficientDataError,
    PairParams,
    ParameterError,
    compute_pair,
    health,
    kalman_beta,
    ols_fit,
    robust_fit,
    rolling_correlation,
    rolling_ols,
    rolling_zscore,
)
from tests.analytics.conftest import Pair


def test_ols_method_fits_the_last_window_and_spreads_over_everything(real_pair: Pair) -> None:
    params = PairParams(method="ols", window=500, z_window=60, corr_window=30)
    y, x = real_pair.base[:8_000], real_pair.hedge[:8_000]
    out = compute_pair(y, x, params)
    fit = ols_fit(y[-500:], x[-500:])
    assert out.fit == fit
    resid = y - fit.beta * x - fit.alpha
    np.testing.assert_allclose(out.spread, resid, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(out.z, rolling_zscore(out.spread, 60))
    np.testing.assert_array_equal(out.corr, rolling_correlation(y, x, 30))
    assert out.health == health(out.spread)
    latest = out.latest
    assert (latest.beta, latest.alpha, latest.r2) == (fit.beta, fit.alpha, fit.r2)
    assert latest.z == out.z[-1]
    assert latest.spread == out.spread[-1]
    assert latest.corr == out.corr[-1]
    assert latest.adf_stat == out.health.adf_stat
    assert latest.half_life == out.health.half_life
    assert latest.n == 8_000


def test_rolling_method_is_causal_and_reports_the_last_window_fit(real_march: Pair) -> None:
    params = PairParams(method="rolling", window=300, log=True)
    y, x = real_march.base[:10_000], real_march.hedge[:10_000]
    out = compute_pair(y, x, params)
    ly, lx = np.log(y), np.log(x)
    np.testing.assert_array_equal(out.beta, rolling_ols(ly, lx, 300).beta)
    assert out.latest.beta == pytest.approx(ols_fit(ly[-300:], lx[-300:]).beta, rel=1e-9)
    assert out.latest.r2 == ols_fit(ly[-300:], lx[-300:]).r2
    assert np.isnan(out.spread[:299]).all()
    assert out.health == health(out.spread[299:])
    part = compute_pair(y[:4_000], x[:4_000], params)
    for name in ("beta", "alpha", "spread", "z", "corr"):
        np.testing.assert_array_equal(getattr(part, name), getattr(out, name)[:4_000])


def test_kalman_and_robust_methods(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    kal = compute_pair(y, x, PairParams(method="kalman", kalman_delta=1e-5, kalman_obs_var=0.1))
    np.testing.assert_array_equal(kal.beta, kalman_beta(y, x, 1e-5, 0.1).beta)
    assert kal.latest.r2 is None
    assert kal.fit is None
    rob = compute_pair(y, x, PairParams(method="robust", window=1_000))
    assert rob.fit == robust_fit(y[-1_000:], x[-1_000:])
    assert rob.latest.beta == pytest.approx(1.5, abs=0.05)


def test_without_health_the_statistics_are_none(synthetic_pair: Pair) -> None:
    out = compute_pair(synthetic_pair.base, synthetic_pair.hedge, PairParams(), with_health=False)
    assert out.health is None
    assert out.latest.adf_stat is None
    assert out.latest.hurst is None
    assert out.latest.beta is not None


def test_snapshot_is_json_friendly(synthetic_pair: Pair) -> None:
    out = compute_pair(synthetic_pair.base, synthetic_pair.hedge, PairParams(method="rolling"))
    values = dataclasses.asdict(out.latest)
    assert all(v is None or type(v) in (int, float) for v in values.values())


@pytest.mark.parametrize(
    ("kwargs", "n", "error"),
    [
        ({"window": 300}, 299, InsufficientDataError),
        ({"method": "kalman"}, 2, InsufficientDataError),
    ],
)
def test_too_few_bars(kwargs: dict[str, object], n: int, error: type[Exception]) -> None:
    prices = np.linspace(100.0, 110.0, n)
    with pytest.raises(error):
        compute_pair(prices, prices[::-1], PairParams(**kwargs))  # type: ignore[arg-type]


def test_bad_prices_are_rejected(synthetic_pair: Pair) -> None:
    base = synthetic_pair.base.copy()
    base[3] = 0.0
    with pytest.raises(ParameterError):
        compute_pair(base, synthetic_pair.hedge, PairParams())
    base[3] = np.nan
    with pytest.raises(ParameterError):
        compute_pair(base, synthetic_pair.hedge, PairParams())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"method": "lasso"},
        {"window": 2},
        {"z_window": 1},
        {"corr_window": 0},
        {"kalman_delta": 1.0},
        {"kalman_obs_var": 0.0},
        {"adf_maxlag": -1},
    ],
)
def test_invalid_params_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        PairParams(**kwargs)  # type: ignore[arg-type]


def test_package_exports_exist_and_stay_pure() -> None:
    for name in analytics.__all__:
        assert hasattr(analytics, name), name
    allowed = {"numpy", "pandas", "scipy", "statsmodels", "analytics"}
    stdlib = {"dataclasses", "typing", "math", "warnings", "collections"}
    for path in Path(analytics.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed | stdlib, f"{path.name} imports {roots}"
