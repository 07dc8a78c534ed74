"""Bar resampling against pandas' resample, and bounded forward-fill pair alignment."""

import numpy as np
import pandas as pd
import pytest

from analytics import (
    BAR_COLUMNS,
    BAR_SECONDS,
    ParameterError,
    align_legs,
    align_pair,
    complete_rows,
    resample_bars,
)
from tests.analytics.conftest import Pair

START = 1_700_000_007  # deliberately not on a minute boundary


def _bars_1s(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = START + np.flatnonzero(rng.random(n * 3) < 0.66)[:n]  # seconds with gaps
    close = 100.0 + np.cumsum(rng.normal(0, 0.05, ts.size))
    open_ = close + rng.normal(0, 0.02, ts.size)
    spread = np.abs(rng.normal(0, 0.03, ts.size))
    volume = rng.exponential(2.0, ts.size)
    volume[::97] = 0.0
    return pd.DataFrame(
        {
            "ts_s": ts.astype(np.int64),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": volume,
            "vwap": (open_ + close) / 2,
            "n_trades": rng.integers(1, 30, ts.size),
        }
    )


def _pandas_resample(bars: pd.DataFrame, seconds: int) -> pd.DataFrame:
    frame = bars.assign(pv=bars["vwap"] * bars["volume"])
    frame.index = pd.to_datetime(frame["ts_s"], unit="s")
    grouped = frame.resample(f"{seconds}s", label="left", closed="left", origin="epoch")
    out = grouped.agg(
        {
            "open": "first",
            "high": "max",
            "low": "min",
            "close": "last",
            "volume": "sum",
            "pv": "sum",
            "n_trades": "sum",
            "ts_s": "count",
        }
    )
    out = out[out["ts_s"] > 0]  # drop empty bins
    vwap = np.where(
        out["volume"] > 0, out["pv"] / out["volume"].where(out["volume"] > 0), out["close"]
    )
    return pd.DataFrame(
        {
            "ts_s": out.index.as_unit("s").asi8,
            "open": out["open"].to_numpy(),
            "high": out["high"].to_numpy(),
            "low": out["low"].to_numpy(),
            "close": out["close"].to_numpy(),
            "volume": out["volume"].to_numpy(),
            "vwap": vwap,
            "n_trades": out["n_trades"].to_numpy(),
        }
    )


@pytest.mark.parametrize("tf", ["1s", "1m", "5m"])
def test_resample_equals_pandas_resample(tf: str) -> None:
    bars = _bars_1s()
    got = resample_bars(bars, tf)
    want = _pandas_resample(bars, BAR_SECONDS[tf])
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-12)
    assert list(got.columns) == list(BAR_COLUMNS)
    assert (got["ts_s"] % BAR_SECONDS[tf] == 0).all()


def test_resample_labels_by_start_and_sorts_input() -> None:
    bars = _bars_1s(n=10).iloc[::-1]  # reversed
    bars["ts_s"] = [59, 60, 61, 119, 120, 0, 1, 2, 3, 299]
    got = resample_bars(bars, "1m")
    assert got["ts_s"].tolist() == [0, 60, 120, 240]
    first = bars.sort_values("ts_s", kind="stable")
    assert got.loc[0, "open"] == first.iloc[0]["open"]  # ts 0
    assert got.loc[0, "close"] == first[first["ts_s"] == 59]["close"].item()
    assert got["n_trades"].sum() == bars["n_trades"].sum()


def test_zero_volume_bar_uses_close_as_vwap() -> None:
    bars = _bars_1s(n=3)
    bars["ts_s"] = [0, 1, 2]
    bars["volume"] = 0.0
    got = resample_bars(bars, "1m")
    assert got.loc[0, "vwap"] == bars["close"].iloc[-1]


def test_resample_of_300k_seconds_conserves_totals() -> None:
    bars = _bars_1s(n=300_000, seed=1)
    got = resample_bars(bars, "5m")  # speed is measured in tests/bench/bench_analytics.py
    assert got["volume"].sum() == pytest.approx(bars["volume"].sum(), rel=1e-12)
    assert got["n_trades"].sum() == bars["n_trades"].sum()


def test_resample_errors_and_empty_input() -> None:
    with pytest.raises(ParameterError):
        resample_bars(_bars_1s(10), "2m")
    with pytest.raises(ParameterError):
        resample_bars(_bars_1s(10).drop(columns="vwap"), "1m")
    empty = resample_bars(_bars_1s(10).iloc[:0], "1m")
    assert empty.empty
    assert list(empty.columns) == list(BAR_COLUMNS)


@pytest.mark.parametrize(
    ("limit", "base_expected"),
    [
        (0, [1, 2, 3, None, None, None, None, None, None, None, 4]),
        (3, [1, 2, 3, 3, 3, 3, None, None, None, None, 4]),
        (100, [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4]),
    ],
)
def test_align_pair_forward_fills_at_most_the_stale_limit(
    limit: int, base_expected: list[float | None]
) -> None:
    base = pd.Series([1.0, 2.0, 3.0, 4.0], index=[0, 60, 120, 600])
    hedge = pd.Series(np.arange(11.0) + 10, index=np.arange(11) * 60)
    got = align_pair(base, hedge, bar_seconds=60, max_stale_bars=limit)
    assert got.index.tolist() == list(range(0, 660, 60))
    want = np.array([np.nan if v is None else v for v in base_expected])
    np.testing.assert_array_equal(got["base"].to_numpy(), want)
    np.testing.assert_array_equal(got["hedge"].to_numpy(), hedge.to_numpy())
    complete = complete_rows(got)
    assert complete.index.tolist() == [t for t, v in zip(got.index, want, strict=True) if v == v]


def test_align_pair_spans_both_legs_and_never_fills_before_a_first_bar() -> None:
    base = pd.Series([5.0, 6.0], index=[10, 11])
    hedge = pd.Series([7.0, 8.0, 9.0], index=[12, 13, 14])
    got = align_pair(base, hedge, bar_seconds=1, max_stale_bars=2, log=True)
    assert got.index.tolist() == [10, 11, 12, 13, 14]
    np.testing.assert_allclose(got["base"], np.log([5, 6, 6, 6, np.nan]))
    assert got["hedge"].isna().tolist() == [True, True, False, False, False]
    assert complete_rows(got).index.tolist() == [12, 13]


def test_align_pair_on_real_candles_keeps_every_minute(real_pair: Pair) -> None:
    base = pd.Series(real_pair.base, index=real_pair.ts)
    hedge = pd.Series(real_pair.hedge, index=real_pair.ts)
    got = complete_rows(align_pair(base, hedge, bar_seconds=60, max_stale_bars=0))
    assert len(got) == real_pair.ts.size
    np.testing.assert_array_equal(got["base"].to_numpy(), real_pair.base)


@pytest.mark.parametrize(
    ("base", "kwargs"),
    [
        (pd.Series([1.0, 2.0], index=[0, 30]), {"bar_seconds": 60, "max_stale_bars": 1}),
        (pd.Series([1.0, 2.0], index=[0, 0]), {"bar_seconds": 1, "max_stale_bars": 1}),
        (pd.Series([1.0, 2.0], index=[0.0, 1.5]), {"bar_seconds": 1, "max_stale_bars": 1}),
        (
            pd.Series([1.0, -2.0], index=[0, 1]),
            {"bar_seconds": 1, "max_stale_bars": 1, "log": True},
        ),
        (pd.Series([1.0, 2.0], index=[0, 1]), {"bar_seconds": 0, "max_stale_bars": 1}),
        (pd.Series([1.0, 2.0], index=[0, 1]), {"bar_seconds": 1, "max_stale_bars": -1}),
    ],
)
def test_align_pair_rejects_bad_input(base: pd.Series, kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        align_pair(base, pd.Series([1.0], index=[0]), **kwargs)  # type: ignore[arg-type]


def test_align_legs_never_fills_with_a_zero_stale_limit_whatever_the_leg_count() -> None:
    """The heatmap's many-leg alignment once read 0 as "unlimited" (``limit or None``)."""
    a = pd.Series([1.0, 2.0, 3.0, 4.0], index=[0, 1, 2, 3])
    b = pd.Series([10.0, 13.0], index=[0, 3])
    c = pd.Series([5.0, 6.0, 7.0, 8.0], index=[0, 1, 2, 3])
    legs = {"a": a, "b": b, "c": c}
    none = align_legs(legs, bar_seconds=1, max_stale_bars=0)
    assert list(none.columns) == ["a", "b", "c"]
    assert none["b"].isna().tolist() == [False, True, True, False]
    one = align_legs(legs, bar_seconds=1, max_stale_bars=1)
    assert one["b"].tolist()[:2] == [10.0, 10.0] and np.isnan(one["b"].iloc[2])
