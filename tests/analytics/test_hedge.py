"""Hedge ratios against statsmodels (OLS, RollingOLS, RLM) on real and synthetic pairs."""

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.lib.stride_tricks import sliding_window_view
from statsmodels.regression.rolling import RollingOLS

from analytics import (
    AlertRule,
    AlertState,
    AnalyticsError,
    InsufficientDataError,
    ParameterError,
    evaluate,
    hedge_series,
    kalman_filter,
    ols_fit,
    robust_fit,
    rolling_ols,
    rolling_robust,
    rolling_zscore,
)
from tests.analytics.conftest import Pair, make_synthetic_pair


def _assert_fit_matches_statsmodels(y: np.ndarray, x: np.ndarray, intercept: bool) -> None:
    design = sm.add_constant(x) if intercept else x[:, None]
    ref = sm.OLS(y, design).fit()
    fit = ols_fit(y, x, intercept=intercept)
    beta_ref = ref.params[-1]
    alpha_ref = ref.params[0] if intercept else 0.0
    assert fit.beta == pytest.approx(beta_ref, rel=1e-9)
    assert fit.alpha == pytest.approx(alpha_ref, rel=1e-9, abs=1e-12)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-9)
    assert fit.beta_se == pytest.approx(ref.bse[-1], rel=1e-9)
    assert fit.n == y.size


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("log", [False, True])
def test_ols_fit_equals_statsmodels_on_real_candles(
    real_pair: Pair, intercept: bool, log: bool
) -> None:
    y, x = (
        (np.log(real_pair.base), np.log(real_pair.hedge))
        if log
        else (
            real_pair.base,
            real_pair.hedge,
        )
    )
    _assert_fit_matches_statsmodels(y, x, intercept)
    _assert_fit_matches_statsmodels(y[-300:], x[-300:], intercept)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ols_fit_recovers_known_beta_on_synthetic_pair(seed: int) -> None:
    pair = make_synthetic_pair(beta=1.5, alpha=20.0, seed=seed)
    fit = ols_fit(pair.base, pair.hedge)
    _assert_fit_matches_statsmodels(pair.base, pair.hedge, True)
    assert fit.beta == pytest.approx(1.5, abs=0.02)
    assert fit.alpha == pytest.approx(20.0, abs=2.0)
    assert fit.r2 > 0.99


@pytest.mark.parametrize("window", [20, 60, 300])
def test_rolling_ols_equals_statsmodels_rolling_ols_on_synthetic_pair(
    synthetic_pair: Pair, window: int
) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    ref = RollingOLS(y, sm.add_constant(x), window=window).fit(params_only=True).params
    got = rolling_ols(y, x, window)
    np.testing.assert_allclose(got.beta, ref[:, 1], rtol=1e-8, equal_nan=True)
    # alpha = mean(y) - beta * mean(x): its error scales with |y|, not with |alpha| (~0 here).
    np.testing.assert_allclose(
        got.alpha, ref[:, 0], rtol=1e-8, atol=1e-8 * np.abs(y).max(), equal_nan=True
    )
    assert np.isnan(got.beta[: window - 1]).all()
    assert np.isfinite(got.beta[window - 1 :]).all()


def test_rolling_ols_without_intercept_equals_statsmodels(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    ref = RollingOLS(y, x[:, None], window=120).fit(params_only=True).params[:, 0]
    got = rolling_ols(y, x, 120, intercept=False)
    np.testing.assert_allclose(got.beta, ref, rtol=1e-8, equal_nan=True)
    assert (got.alpha[119:] == 0.0).all()


@pytest.mark.parametrize("log", [False, True])
def test_rolling_ols_equals_statsmodels_rolling_ols_on_real_candles(
    real_march: Pair, log: bool
) -> None:
    y, x = (
        (np.log(real_march.base), np.log(real_march.hedge))
        if log
        else (
            real_march.base,
            real_march.hedge,
        )
    )
    window = 300
    # RollingOLS solves uncentred normal equations updated incrementally; on BTC prices
    # (~85,000) that alone costs it ~1e-7 relative accuracy. Feed it globally centred data
    # (same beta; alpha shifts by ym - beta*xm) and recompute each window (reset=1) so the
    # reference itself is accurate to better than the 1e-8 being asserted.
    xm, ym = x.mean(), y.mean()
    ref = RollingOLS(y - ym, sm.add_constant(x - xm), window=window).fit(params_only=True, reset=1)
    beta_ref = ref.params[:, 1]
    alpha_ref = ref.params[:, 0] + ym - beta_ref * xm
    got = rolling_ols(y, x, window)
    np.testing.assert_allclose(got.beta, beta_ref, rtol=1e-8, equal_nan=True)
    # alpha = mean(y) - beta * mean(x): its error scales with beta * |x|, not with |alpha|.
    np.testing.assert_allclose(
        got.alpha, alpha_ref, rtol=1e-8, atol=1e-8 * np.abs(y).max(), equal_nan=True
    )


@pytest.mark.parametrize("window", [60, 300])
def test_rolling_ols_is_exact_on_long_btc_price_history(real_pair: Pair, window: int) -> None:
    # Two-pass per-window reference; RollingOLS itself drifts by ~1e-7 here (see above).
    y, x = real_pair.base, real_pair.hedge
    xs, ys = sliding_window_view(x, window), sliding_window_view(y, window)
    dx = xs - xs.mean(axis=1, keepdims=True)
    dy = ys - ys.mean(axis=1, keepdims=True)
    sxx = (dx * dx).sum(axis=1)
    exact = np.full(sxx.size, np.nan)  # a window of identical BTC closes has no beta
    np.divide((dx * dy).sum(axis=1), sxx, out=exact, where=sxx > 0)
    got = rolling_ols(y, x, window).beta[window - 1 :]
    np.testing.assert_allclose(got, exact, rtol=1e-10, equal_nan=True)


def test_rolling_ols_is_causal_bit_for_bit(real_march: Pair) -> None:
    full = rolling_ols(real_march.base, real_march.hedge, 300)
    for cut in (299, 300, 1_234, 20_001):
        part = rolling_ols(real_march.base[:cut], real_march.hedge[:cut], 300)
        np.testing.assert_array_equal(part.beta, full.beta[:cut])
        np.testing.assert_array_equal(part.alpha, full.alpha[:cut])


def test_rolling_ols_gives_nan_for_windows_with_missing_or_constant_data(
    synthetic_pair: Pair,
) -> None:
    y, x = synthetic_pair.base.copy(), synthetic_pair.hedge.copy()
    y[500] = np.nan
    x[1_000:1_020] = x[1_000]
    got = rolling_ols(y, x, 10).beta
    assert np.isnan(got[500:510]).all()
    assert np.isfinite(got[[499, 510]]).all()
    assert np.isnan(got[1_009:1_020]).all()
    assert np.isfinite(got[1_020])


def test_kalman_tracks_a_ramping_beta() -> None:
    rng = np.random.default_rng(11)
    n = 4_000
    true_beta = np.linspace(1.0, 2.0, n)
    hedge = 50.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    base = 3.0 + true_beta * hedge + rng.normal(0.0, 0.05, n)
    est = kalman_filter(base, hedge, delta=1e-2, warmup=200)
    assert np.isnan(est.beta[:200]).all()  # the warm-up only initialises the filter
    error = np.abs(est.beta[500:] - true_beta[500:])
    assert error.mean() < 0.08
    # A static fit cannot follow the ramp: the filter must beat it by far.
    static = ols_fit(base, hedge).beta
    assert np.abs(static - true_beta[500:]).mean() > 10 * error.mean()


def _reference_kalman(y: np.ndarray, x: np.ndarray, delta: float, warmup: int) -> np.ndarray:
    """The documented model, written out with 2x2 numpy matrices: innovations e_t/sqrt(Q_t)."""
    design = sm.add_constant(x[:warmup])
    first = sm.OLS(y[:warmup], design).fit()
    theta = first.params[::-1].copy()  # [beta, alpha]
    cov = first.cov_params()[::-1, ::-1].copy()
    r = first.scale
    q = delta / (1 - delta)
    scale = np.diag([1.0 / np.mean(x[:warmup] ** 2), 1.0])
    out = np.full(y.size, np.nan)
    for t in range(warmup, y.size):
        cov = cov + q * r * scale
        h = np.array([x[t], 1.0])
        hph = h @ cov @ h
        variance = hph + r
        error = y[t] - h @ theta
        out[t] = error / np.sqrt(variance)
        gain = cov @ h / variance
        theta = theta + gain * error
        cov = cov - np.outer(gain, h @ cov)
        r += (max(error**2 - hph, r * 1e-3) - r) / warmup
    return out


def test_kalman_equals_the_documented_model_in_matrix_form(real_march: Pair) -> None:
    y, x = real_march.base[:3_000], real_march.hedge[:3_000]
    est = kalman_filter(y, x, delta=1e-3, warmup=300)
    got = est.innovation / np.sqrt(est.innovation_var)
    np.testing.assert_allclose(got, _reference_kalman(y, x, 1e-3, 300), rtol=1e-6, atol=1e-8)


def test_kalman_z_is_standardised_and_fires_like_rolling_on_real_candles(real_pair: Pair) -> None:
    """Raw BTC/ETH prices: the prediction-error z has sd near 1 and a rolling-like alert count."""
    y, x = real_pair.base, real_pair.hedge
    est = kalman_filter(y, x)
    z = est.innovation / np.sqrt(est.innovation_var)
    assert 0.7 <= np.nanstd(z) <= 1.5
    rule = AlertRule("z2", "ETH-BTC", entry_z=2.0, exit_z=0.5)
    kalman_alerts = len(evaluate(real_pair.ts, z, rule, AlertState())[0])
    rolling = rolling_ols(y, x, 300)
    rolling_z = rolling_zscore(y - rolling.beta * x - rolling.alpha, 60)
    rolling_alerts = len(evaluate(real_pair.ts, rolling_z, rule, AlertState())[0])
    assert rolling_alerts / 10 <= kalman_alerts <= rolling_alerts * 10
    # Not the degenerate filter of the audit (beta = y/x, spread ~ 1e-6 of the innovation).
    assert np.nanmedian(np.abs(est.beta - y / x) / (y / x)) > 1e-3


def test_kalman_is_causal_bit_for_bit(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    full = kalman_filter(y, x, warmup=100)
    part = kalman_filter(y[:700], x[:700], warmup=100)
    for name in ("beta", "alpha", "innovation", "innovation_var"):
        np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[:700])


def test_kalman_without_intercept_keeps_alpha_zero(synthetic_pair: Pair) -> None:
    est = kalman_filter(synthetic_pair.base - 20.0, synthetic_pair.hedge, intercept=False)
    assert (est.alpha[300:] == 0.0).all()
    assert est.beta[-1] == pytest.approx(1.5, abs=0.05)


def test_rolling_robust_equals_rlm_of_each_window(real_march: Pair) -> None:
    y, x = real_march.base[:1_000], real_march.hedge[:1_000]
    est = rolling_robust(y, x, 200)
    assert np.isnan(est.beta[:199]).all()
    for end in range(199, 1_000, 53):
        ref = sm.RLM(
            y[end - 199 : end + 1],
            sm.add_constant(x[end - 199 : end + 1]),
            M=sm.robust.norms.HuberT(),
        ).fit()
        assert est.beta[end] == pytest.approx(ref.params[1], rel=1e-7)
        assert est.alpha[end] == pytest.approx(ref.params[0], rel=1e-7)
    part = rolling_robust(y[:600], x[:600], 200)
    np.testing.assert_array_equal(part.beta, est.beta[:600])
    assert np.isnan(rolling_robust(y[:100], x[:100], 200).beta).all()


def test_rolling_robust_in_small_batches_gives_the_same_fits(
    real_march: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    y, x = real_march.base[:700], real_march.hedge[:700]
    whole = rolling_robust(y, x, 100)
    monkeypatch.setattr("analytics.hedge.ROBUST_BATCH_VALUES", 100 * 37)  # 37 windows a batch
    batched = rolling_robust(y, x, 100)
    np.testing.assert_array_equal(batched.beta, whole.beta)
    np.testing.assert_array_equal(batched.alpha, whole.alpha)


def test_robust_fit_equals_statsmodels_rlm_and_resists_outliers() -> None:
    pair = make_synthetic_pair(n=1_000, seed=5)
    base = pair.base.copy()
    base[::50] += 40.0  # 2% gross outliers
    ref = sm.RLM(base, sm.add_constant(pair.hedge), M=sm.robust.norms.HuberT()).fit()
    fit = robust_fit(base, pair.hedge)
    assert fit.beta == pytest.approx(ref.params[1], rel=1e-9)
    assert fit.alpha == pytest.approx(ref.params[0], rel=1e-9)
    assert fit.beta_se == pytest.approx(ref.bse[1], rel=1e-9)
    assert abs(fit.alpha - 20.0) < abs(ols_fit(base, pair.hedge).alpha - 20.0)


@pytest.mark.parametrize("method", ["ols", "robust"])
def test_in_sample_static_methods_fit_the_last_window_and_repeat_it(
    synthetic_pair: Pair, method: str
) -> None:
    y, x = synthetic_pair.base, synthetic_pair.hedge
    out = hedge_series(y, x, method, 400, in_sample=True)
    direct = (ols_fit if method == "ols" else robust_fit)(y[-400:], x[-400:])
    assert out.fit == direct
    assert out.beta.shape == y.shape
    assert (out.beta == direct.beta).all()
    assert (out.alpha == direct.alpha).all()


def test_dispatcher_is_causal_for_every_method(synthetic_pair: Pair) -> None:
    y, x = synthetic_pair.base[:1_500], synthetic_pair.hedge[:1_500]
    rolling = rolling_ols(y, x, 50).beta
    np.testing.assert_array_equal(hedge_series(y, x, "rolling", 50).beta, rolling)
    np.testing.assert_array_equal(hedge_series(y, x, "ols", 50).beta, rolling)
    np.testing.assert_array_equal(
        hedge_series(y, x, "robust", 50).beta, rolling_robust(y, x, 50).beta
    )
    np.testing.assert_array_equal(
        hedge_series(y, x, "kalman", 50).beta, kalman_filter(y, x, warmup=50).beta
    )
    assert hedge_series(y, x, "rolling", 50).fit is None


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: ols_fit([1.0, 2.0], [1.0, 3.0]), InsufficientDataError),
        (lambda: ols_fit([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]), InsufficientDataError),
        (lambda: ols_fit([1.0, 2.0, 3.0], [1.0, 2.0]), ParameterError),
        (lambda: ols_fit([1.0, np.nan, 3.0], [1.0, 2.0, 4.0]), ParameterError),
        (lambda: ols_fit(np.ones((3, 2)), np.ones((3, 2))), ParameterError),
        (lambda: rolling_ols(np.arange(10.0), np.arange(10.0), 2), ParameterError),
        (lambda: rolling_ols(np.arange(10.0), np.arange(10.0), 5.5), ParameterError),
        (lambda: kalman_filter(np.arange(10.0), np.arange(10.0), delta=1.0), ParameterError),
        (
            lambda: kalman_filter(np.full(50, 5.0), np.full(50, 5.0), warmup=20),
            InsufficientDataError,
        ),
        (lambda: kalman_filter(np.arange(50.0), np.arange(50.0), warmup=20), InsufficientDataError),
        (lambda: kalman_filter(np.arange(10.0), np.arange(10.0), warmup=20), InsufficientDataError),
        (lambda: ols_fit(np.full(100, 5.0), np.linspace(1, 2, 100)), InsufficientDataError),
        (lambda: hedge_series(np.arange(10.0), np.arange(10.0), "rolling", 2), ParameterError),
        (lambda: hedge_series(np.arange(10.0), np.arange(10.0), "median", 5), ParameterError),
        (lambda: robust_fit([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]), InsufficientDataError),
    ],
)
def test_bad_input_raises_analytics_errors(call: object, error: type[AnalyticsError]) -> None:
    with pytest.raises(error) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, AnalyticsError)
    assert str(info.value)
