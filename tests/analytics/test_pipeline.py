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
    bars_needed,
    compute_pair,
    kalman_filter,
    ols_fit,
    pair_health,
    robust_fit,
    rolling_correlation,
    rolling_ols,
    rolling_zscore,
)
from tests.analytics.conftest import Pair

METHODS = ("ols", "rolling", "kalman", "robust")


@pytest.mark.parametrize("method", METHODS)
def test_every_value_is_what_a_live_observer_saw(real_march: Pair, method: str) -> None:
    """Truncation invariance: the value at t is bit-identical when later bars are removed."""
    params = PairParams(method=method, window=200, z_window=40)
    y, x = real_march.base[:1_500], real_march.hedge[:1_500]
    full = compute_pair(y, x, params)
    for cut in (260, 777, 1_200):
        part = compute_pair(y[:cut], x[:cut], params)
        for name in ("beta", "alpha", "spread", "z", "corr"):
            np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:cut])


def test_ols_z_at_each_bar_refits_on_the_window_ending_there(real_pair: Pair) -> None:
    params = PairParams(method="ols", window=500, z_window=60, corr_window=30)
    y, x = real_pair.base[:8_000], real_pair.hedge[:8_000]
    out = compute_pair(y, x, params)
    assert np.isnan(out.z[:499]).all()
    for t in (499, 1_234, 5_000, 7_999):
        fit = ols_fit(y[t - 499 : t + 1], x[t - 499 : t + 1])
        tail = y[t - 59 : t + 1] - fit.beta * x[t - 59 : t + 1] - fit.alpha
        assert out.z[t] == pytest.approx((tail[-1] - tail.mean()) / tail.std(ddof=1), abs=1e-9)
        assert out.beta[t] == pytest.approx(fit.beta, rel=1e-10)
        assert out.spread[t] == pytest.approx(tail[-1], abs=1e-8)
    # The latest bar keeps the values of the in-sample fit of the last window.
    fit = ols_fit(y[-500:], x[-500:])
    old = rolling_zscore(y - fit.beta * x - fit.alpha, 60)
    latest = out.latest
    assert out.fit == fit and latest.r2 == fit.r2
    assert latest.beta == pytest.approx(fit.beta, rel=1e-10)
    assert latest.alpha == pytest.approx(fit.alpha, rel=1e-9)
    assert latest.z == pytest.approx(old[-1], abs=1e-9)
    np.testing.assert_array_equal(out.corr, rolling_correlation(y, x, 30))
    assert latest.n == 8_000


def test_in_sample_option_applies_the_last_fit_to_every_bar(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    params = PairParams(method="ols", window=500, in_sample=True)
    assert not params.causal and PairParams(method="ols").causal
    out = compute_pair(y, x, params)
    fit = ols_fit(y[-500:], x[-500:])
    np.testing.assert_allclose(out.spread, y - fit.beta * x - fit.alpha, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(out.z, rolling_zscore(out.spread, 60))


def test_rolling_method_is_causal_and_reports_the_last_window_fit(real_march: Pair) -> None:
    params = PairParams(method="rolling", window=300, log=True)
    y, x = real_march.base[:10_000], real_march.hedge[:10_000]
    out = compute_pair(y, x, params)
    ly, lx = np.log(y), np.log(x)
    np.testing.assert_array_equal(out.beta, rolling_ols(ly, lx, 300).beta)
    np.testing.assert_array_equal(out.z, rolling_zscore(out.spread, 60))
    assert out.latest.beta == pytest.approx(ols_fit(ly[-300:], lx[-300:]).beta, rel=1e-9)
    assert out.latest.r2 == ols_fit(ly[-300:], lx[-300:]).r2
    assert np.isnan(out.spread[:299]).all()


def test_kalman_and_robust_methods(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    kal = compute_pair(y, x, PairParams(method="kalman", kalman_delta=1e-4))
    filtered = kalman_filter(y, x, 1e-4, 300)
    np.testing.assert_array_equal(kal.beta, filtered.beta)
    np.testing.assert_array_equal(kal.spread, filtered.innovation)
    np.testing.assert_array_equal(kal.z, filtered.innovation / np.sqrt(filtered.innovation_var))
    assert kal.latest.r2 is None and kal.fit is None
    rob = compute_pair(y[:2_000], x[:2_000], PairParams(method="robust", window=1_000))
    assert rob.fit == robust_fit(y[1_000:2_000], x[1_000:2_000])
    assert rob.latest.beta == pytest.approx(rob.fit.beta, rel=1e-7)
    assert rob.latest.beta == pytest.approx(1.5, abs=0.05)


def test_health_is_the_pair_over_the_fit_window_whatever_the_method(real_pair: Pair) -> None:
    y, x = real_pair.base[:3_000], real_pair.hedge[:3_000]
    expected = pair_health(np.log(y[-300:]), np.log(x[-300:]))
    for method in METHODS:
        out = compute_pair(y, x, PairParams(method=method, window=300, log=True))
        assert out.health == expected
        assert out.latest.eg_p == expected.eg_p
        assert out.latest.johansen_trace == expected.johansen_trace
        assert out.eg_p[-1] == pytest.approx(expected.eg_p, rel=1e-12)


def test_without_health_the_statistics_are_none(synthetic_pair: Pair) -> None:
    out = compute_pair(synthetic_pair.base, synthetic_pair.hedge, PairParams(), with_health=False)
    assert out.health is None
    assert out.latest.eg_p is None and out.latest.adf_stat is None and out.latest.hurst is None
    assert np.isnan(out.eg_p).all()
    assert out.latest.beta is not None


@pytest.mark.parametrize("method", METHODS)
def test_a_constant_leg_is_a_clear_notice_not_a_crash(method: str) -> None:
    moving = np.linspace(1.0, 2.0, 400) + np.sin(np.arange(400.0)) * 0.01
    for base, hedge, leg in (
        (np.full(400, 5.0), moving, "base"),
        (moving, np.full(400, 5.0), "hedge"),
    ):
        with pytest.raises(InsufficientDataError, match=f"the {leg} leg's price did not change"):
            compute_pair(base, hedge, PairParams(method=method))


def test_snapshot_is_json_friendly(synthetic_pair: Pair) -> None:
    out = compute_pair(synthetic_pair.base, synthetic_pair.hedge, PairParams(method="rolling"))
    values = dataclasses.asdict(out.latest)
    assert all(v is None or type(v) in (int, float) for v in values.values())


@pytest.mark.parametrize(
    ("kwargs", "n", "error"),
    [
        ({"window": 300}, 299, InsufficientDataError),
        ({"method": "kalman"}, 300, InsufficientDataError),
    ],
)
def test_too_few_bars(kwargs: dict[str, object], n: int, error: type[Exception]) -> None:
    prices = np.linspace(100.0, 110.0, n)
    with pytest.raises(error, match=r"needs 30[01] bars of both legs; only"):
        compute_pair(prices, prices[::-1], PairParams(**kwargs))  # type: ignore[arg-type]


WARMUP_CASES = [
    ({"method": "ols"}, 300),
    ({"method": "ols", "z_window": 400}, 400),
    ({"method": "ols", "in_sample": True}, 300),
    ({"method": "robust"}, 300),
    ({"method": "rolling"}, 359),
    ({"method": "kalman"}, 301),
    ({"method": "kalman", "z_window": 400}, 301),
]


@pytest.mark.parametrize(("kwargs", "needed"), WARMUP_CASES)
def test_bars_needed_by_hand(kwargs: dict[str, object], needed: int) -> None:
    """Window 300, z window 60 unless given."""
    assert bars_needed(PairParams(**kwargs)) == needed  # type: ignore[arg-type]


def _first_count_with_a_z(base: np.ndarray, hedge: np.ndarray, params: PairParams) -> int:
    for n in range(1, base.size + 1):
        try:
            out = compute_pair(base[:n], hedge[:n], params, with_health=False)
        except InsufficientDataError:
            continue
        if np.isfinite(out.z[-1]):
            return n
    raise AssertionError(f"no finite z in {base.size} bars")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("window", "z_window"), [(20, 8), (8, 20), (12, 12)])
def test_bars_needed_is_the_first_count_with_a_finite_last_z(
    synthetic_pair: Pair, method: str, window: int, z_window: int
) -> None:
    y, x = synthetic_pair.base[:60], synthetic_pair.hedge[:60]
    for in_sample in (False, True):
        params = PairParams(method=method, window=window, z_window=z_window, in_sample=in_sample)  # type: ignore[arg-type]
        assert _first_count_with_a_z(y, x, params) == bars_needed(params), params


def test_bad_prices_are_rejected(synthetic_pair: Pair) -> None:
    base = synthetic_pair.base.copy()
    base[3] = 0.0
    with pytest.raises(ParameterError, match="base leg has a zero or negative price"):
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
    stdlib = {
        "dataclasses",
        "typing",
        "math",
        "warnings",
        "collections",
        "importlib",
        "types",
        "itertools",
    }
    for path in Path(analytics.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= allowed | stdlib, f"{path.name} imports {roots}"
