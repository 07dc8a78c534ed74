"""Benchmark the analytics refresh against the naive statsmodels/pandas path.

Run from the repository root: ``python -m tests.bench.bench_analytics [--quick]``. Prints a
markdown table and writes ``bench-results/analytics.json``. Both paths run in this process on
the same seeded cointegrated pair at BTC/ETH price levels (and on the real 1m candles when
``../shared/data/real`` is present); times are medians of several runs.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.regression.rolling import RollingOLS
from statsmodels.tsa.stattools import adfuller

from analytics import PairParams, compute_pair, resample_bars
from tests.bench.common import REPO, save, table

REAL = REPO.parent / "shared" / "data" / "real"
PARAMS = PairParams(method="rolling", window=300, z_window=60, corr_window=60)


def synthetic_pair(n: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """ETH-like base cointegrated with a BTC-like hedge (log prices, beta 0.8)."""
    rng = np.random.default_rng(seed)
    log_btc = np.log(60_000.0) + np.cumsum(rng.normal(0.0, 5e-4, n))
    resid = np.zeros(n)
    shocks = rng.normal(0.0, 4e-4, n)
    for t in range(1, n):
        resid[t] = 0.98 * resid[t - 1] + shocks[t]
    log_eth = np.log(3_000.0) + 0.8 * (log_btc - log_btc[0]) + resid
    return np.exp(log_eth), np.exp(log_btc)


def real_pair(n: int) -> tuple[np.ndarray, np.ndarray] | None:
    paths = [REAL / f"binance_spot_{s}USDT_1m_20250301_20250401.csv" for s in ("ETH", "BTC")]
    if not all(p.is_file() for p in paths):
        return None
    eth, btc = (pd.read_csv(p, usecols=["close"])["close"].to_numpy()[-n:] for p in paths)
    return eth, btc


def naive_refresh(base: np.ndarray, hedge: np.ndarray) -> dict[str, Any]:
    """What a straightforward statsmodels/pandas implementation would do on every refresh."""
    w = PARAMS.window
    static = sm.OLS(base[-w:], sm.add_constant(hedge[-w:])).fit()
    rolling = RollingOLS(base, sm.add_constant(hedge), window=w).fit()
    params = np.asarray(rolling.params)
    spread = pd.Series(base - params[:, 1] * hedge - params[:, 0])
    z = (spread - spread.rolling(PARAMS.z_window).mean()) / spread.rolling(PARAMS.z_window).std()
    returns_b = pd.Series(np.log(base)).diff()
    returns_h = pd.Series(np.log(hedge)).diff()
    corr = returns_b.rolling(PARAMS.corr_window).corr(returns_h)
    tail = spread.dropna().to_numpy()
    adf_stat, adf_p, *_ = adfuller(tail, regression="c", result_object=False)
    half = sm.OLS(np.diff(tail), sm.add_constant(tail[:-1])).fit()
    return {
        "r2": static.rsquared,
        "z": z.to_numpy(),
        "corr": corr.to_numpy(),
        "adf": (adf_stat, adf_p),
        "b": half.params[1],
    }


def median_ms(fn: Callable[[], Any], repeats: int, *, warm_up: bool = True) -> tuple[float, Any]:
    """Median wall time in ms over ``repeats`` calls, and the last call's result."""
    if warm_up:
        fn()
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, result


def bench_refresh(label: str, base: np.ndarray, hedge: np.ndarray, naive_repeats: int) -> dict:
    fast_ms, fast = median_ms(lambda: compute_pair(base, hedge, PARAMS), 31)
    # The naive path takes seconds to minutes: no warm-up, its timed result is the reference.
    naive_ms, ref = median_ms(lambda: naive_refresh(base, hedge), naive_repeats, warm_up=False)
    return {
        "case": label,
        "n": int(base.size),
        "fast_ms": fast_ms,
        "naive_ms": naive_ms,
        "ratio": naive_ms / fast_ms,
        "max_abs_z_diff": float(np.nanmax(np.abs(fast.z - ref["z"]))),
        "max_abs_corr_diff": float(np.nanmax(np.abs(fast.corr - ref["corr"]))),
    }


def naive_causal(base: np.ndarray, hedge: np.ndarray, method: str) -> np.ndarray:
    """The live observer's z by brute force: a statsmodels fit of the window ending at each bar."""
    w, zw = PARAMS.window, PARAMS.z_window
    z = np.full(base.size, np.nan)
    for t in range(w - 1, base.size):
        y, x = base[t - w + 1 : t + 1], sm.add_constant(hedge[t - w + 1 : t + 1])
        model = sm.OLS(y, x) if method == "ols" else sm.RLM(y, x, M=sm.robust.norms.HuberT())
        alpha, beta = model.fit().params
        tail = base[t - zw + 1 : t + 1] - beta * hedge[t - zw + 1 : t + 1] - alpha
        z[t] = (tail[-1] - tail.mean()) / tail.std(ddof=1)
    return z


def bench_causal(label: str, base: np.ndarray, hedge: np.ndarray, method: str) -> dict:
    """Causal static-fit z (a refit per bar) against the per-bar statsmodels loop."""
    params = PairParams(method=method, window=PARAMS.window, z_window=PARAMS.z_window)
    repeats = 5 if method == "robust" else 31
    fast_ms, fast = median_ms(lambda: compute_pair(base, hedge, params), repeats)
    in_sample = PairParams(method=method, window=PARAMS.window, in_sample=True)
    old_ms, _ = median_ms(lambda: compute_pair(base, hedge, in_sample), repeats)
    naive_ms, ref = median_ms(lambda: naive_causal(base, hedge, method), 1, warm_up=False)
    return {
        "case": label,
        "n": int(base.size),
        "fast_ms": fast_ms,
        "in_sample_ms": old_ms,
        "naive_ms": naive_ms,
        "ratio": naive_ms / fast_ms,
        "max_abs_z_diff": float(np.nanmax(np.abs(fast.z - ref))),
    }


def bench_resample(n: int) -> dict:
    rng = np.random.default_rng(1)
    ts = 1_700_000_000 + np.arange(n, dtype=np.int64)
    close = 100.0 + np.cumsum(rng.normal(0, 0.05, n))
    bars = pd.DataFrame(
        {
            "ts_s": ts,
            "open": close,
            "high": close + 0.1,
            "low": close - 0.1,
            "close": close,
            "volume": rng.exponential(1.0, n),
            "vwap": close,
            "n_trades": rng.integers(1, 20, n),
        }
    )

    def with_pandas() -> pd.DataFrame:
        frame = bars.assign(pv=bars["vwap"] * bars["volume"])
        frame.index = pd.to_datetime(frame["ts_s"], unit="s")
        spec = {"open": "first", "high": "max", "low": "min", "close": "last"}
        spec |= {"volume": "sum", "pv": "sum", "n_trades": "sum"}
        return frame.resample("60s").agg(spec)

    fast_ms, _ = median_ms(lambda: resample_bars(bars, "1m"), 11)
    naive_ms, _ = median_ms(with_pandas, 5)
    return {
        "case": "resample_bars 1s→1m",
        "n": n,
        "fast_ms": fast_ms,
        "naive_ms": naive_ms,
        "ratio": naive_ms / fast_ms,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one naive run at 100,000 bars")
    args = parser.parse_args(argv)
    rows = [bench_refresh("synthetic, rolling β", *synthetic_pair(10_000), naive_repeats=5)]
    real = real_pair(10_000)
    if real is not None:
        rows.append(bench_refresh("real ETH/BTC 1m, rolling β", *real, naive_repeats=5))
    rows.append(
        bench_refresh(
            "synthetic, rolling β", *synthetic_pair(100_000), naive_repeats=1 if args.quick else 3
        )
    )
    rows.append(bench_resample(300_000))
    causal_pair = real if real is not None else synthetic_pair(10_000)
    causal = [
        bench_causal(
            f"causal {m}, 1 h of bars", causal_pair[0][-3_600:], causal_pair[1][-3_600:], m
        )
        for m in ("ols", "robust")
    ]

    print(
        table(
            ["case", "bars", "pairwatch ms", "naive ms", "speed-up"],
            [
                [
                    r["case"],
                    f"{r['n']:,}",
                    f"{r['fast_ms']:.2f}",
                    f"{r['naive_ms']:,.1f}",
                    f"{r['ratio']:,.0f}×",
                ]
                for r in rows
            ],
        )
    )
    print("\n## Causal static fits: a refit per bar (compute_pair with health)\n")
    print(
        table(
            [
                "case",
                "bars",
                "pairwatch ms",
                "in-sample (old) ms",
                "per-bar statsmodels ms",
                "speed-up",
                "max |Δz|",
            ],
            [
                [
                    r["case"],
                    f"{r['n']:,}",
                    f"{r['fast_ms']:.1f}",
                    f"{r['in_sample_ms']:.1f}",
                    f"{r['naive_ms']:,.0f}",
                    f"{r['ratio']:,.0f}×",
                    f"{r['max_abs_z_diff']:.1e}",
                ]
                for r in causal
            ],
        )
    )
    print(
        "\nfull refresh = compute_pair(method='rolling', window=300, z_window=60, "
        "corr_window=60) incl. EG, ADF(maxlag=1), half-life, Hurst, Johansen and the rolling "
        "EG line; naive = sm.OLS + RollingOLS.fit()"
        " + pandas rolling z/corr + adfuller(autolag='AIC') + sm.OLS half-life"
    )
    meta = {
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "statsmodels": statsmodels.__version__,
        "params": {"window": PARAMS.window, "z_window": PARAMS.z_window},
    }
    path = save("analytics", {"meta": meta, "results": rows, "causal": causal})
    print(f"\nwrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
