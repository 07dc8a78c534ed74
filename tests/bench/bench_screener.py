"""Benchmark the screener: every pair of 50 symbols at 1,440 one-minute bars, batched vs naive.

Run from the repository root: ``python -m tests.bench.bench_screener [--quick]``. Prints a
markdown table and writes ``bench-results/screener.json``. Both paths run in this process on
the same seeded universe (geometric random walks, a few cointegrated pairs): the naive path calls
statsmodels ``coint(trend="c", maxlag=1, autolag=None)`` in both orientations for each of the
1,225 pairs, as a straightforward screener would; the batched one is ``screen_pairs`` (both
orientations, β, half-life, Hurst, correlation, z). The issue's budget is 5 s per pass on this
2-core machine; both paths must agree on every p.
"""

import argparse
import statistics
import time
from itertools import combinations

import numpy as np
import pandas as pd
from statsmodels.tsa.stattools import coint

from analytics.screener import screen_pairs
from tests.bench.common import save, table

SYMBOLS, BARS = 50, 1440


def universe(symbols: int, bars: int, seed: int = 14) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    walks = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, (bars, symbols)), axis=0))
    for i in range(0, symbols - 1, 10):  # every tenth symbol has a cointegrated partner
        walks[:, i + 1] = 1.5 * walks[:, i] + 3 + rng.normal(0, 0.1, bars)
    return pd.DataFrame(walks, columns=[f"S{i:02d}USDT" for i in range(symbols)])


def naive(closes: pd.DataFrame) -> dict[frozenset[str], float]:
    """The lower of the two orientations' coint p for every pair, one statsmodels call each."""
    best = {}
    for a, b in combinations(closes.columns, 2):
        forward = coint(closes[a], closes[b], trend="c", maxlag=1, autolag=None)[1]
        backward = coint(closes[b], closes[a], trend="c", maxlag=1, autolag=None)[1]
        best[frozenset((a, b))] = min(forward, backward)
    return best


def timed(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 symbols, one repeat")
    args = parser.parse_args()
    symbols = 20 if args.quick else SYMBOLS
    closes = universe(symbols, BARS)
    pairs = symbols * (symbols - 1) // 2
    batched_s, ranked = timed(lambda: screen_pairs(closes, BARS), 1 if args.quick else 5)
    naive_s, reference = timed(lambda: naive(closes), 1)
    got = {frozenset((p.base, p.hedge)): p.eg_p for p in ranked}  # type: ignore[attr-defined]
    worst = max(abs(got[k] - reference[k]) for k in reference)
    rows = [
        ["naive: statsmodels coint ×2 per pair", f"{naive_s:.2f} s", "1.0×"],
        ["batched screen_pairs", f"{batched_s:.3f} s", f"{naive_s / batched_s:.0f}×"],
    ]
    print(f"{symbols} symbols = {pairs} pairs, {BARS} bars each (median of runs)")
    print(table(["path", "one pass", "speed-up"], rows))
    print(f"largest |p difference| between the paths: {worst:.1e}; budget 5 s per pass")
    path = save(
        "screener",
        {
            "symbols": symbols,
            "pairs": pairs,
            "bars": BARS,
            "naive_s": naive_s,
            "batched_s": batched_s,
            "speedup": naive_s / batched_s,
            "max_p_difference": worst,
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
