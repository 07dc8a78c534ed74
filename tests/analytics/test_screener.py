"""The screener against statsmodels: one cointegrated pair among random walks ranks first and
every pair's statistic and p equal ``coint(base, hedge, trend="c", maxlag=1, autolag=None)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.stattools import coint

from analytics.cointegration import half_life, hurst
from analytics.errors import ParameterError
from analytics.screener import screen_pairs


def universe(n: int = 400, symbols: int = 6, seed: int = 3) -> pd.DataFrame:
    """Independent geometric random walks, with C = 3·A + 7 + noise (cointegrated with A)."""
    rng = np.random.default_rng(seed)
    walks = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, (n, symbols)), axis=0))
    walks[:, 2] = 3 * walks[:, 0] + 7 + rng.normal(0, 0.3, n)
    return pd.DataFrame(walks, columns=[f"S{i}USDT" for i in range(symbols)])


def test_the_cointegrated_pair_ranks_first_and_every_pair_equals_coint() -> None:
    closes = universe()
    ranked = screen_pairs(closes, 300)
    assert len(ranked) == 15
    assert {ranked[0].base, ranked[0].hedge} == {"S0USDT", "S2USDT"} and ranked[0].eg_p < 0.01
    assert [r.eg_p for r in ranked] == sorted(r.eg_p for r in ranked)
    for pair in ranked:
        y, x = closes[pair.base].to_numpy()[-300:], closes[pair.hedge].to_numpy()[-300:]
        stat, p, _ = coint(y, x, trend="c", maxlag=1, autolag=None)
        other = coint(x, y, trend="c", maxlag=1, autolag=None)[1]
        assert pair.eg_stat == pytest.approx(stat, rel=1e-9)
        assert pair.eg_p == pytest.approx(p, rel=1e-9, abs=1e-12)
        assert pair.eg_p <= other + 1e-12  # the reported orientation has the lower p
        assert pair.bars == 300


def test_beta_spread_statistics_and_z_of_the_reported_orientation() -> None:
    closes = universe()
    best = screen_pairs(closes, 300)[0]
    y, x = closes[best.base].to_numpy()[-300:], closes[best.hedge].to_numpy()[-300:]
    beta, alpha = np.polyfit(x, y, 1)
    spread = y - beta * x - alpha
    returns = np.corrcoef(np.diff(np.log(y)), np.diff(np.log(x)))[0, 1]
    assert best.beta == pytest.approx(beta, rel=1e-9)
    assert best.half_life == pytest.approx(half_life(spread), rel=1e-9)
    assert best.hurst == pytest.approx(hurst(spread), rel=1e-9)
    assert best.corr == pytest.approx(returns, rel=1e-9)
    assert best.z == pytest.approx((spread[-1] - spread.mean()) / spread.std(ddof=1), rel=1e-9)


def test_missing_bars_use_each_pairs_common_rows_and_log_prices() -> None:
    closes = universe()
    closes.iloc[:250, 5] = np.nan  # a symbol listed later: its pairs use the 150 common bars
    ranked = {frozenset((r.base, r.hedge)): r for r in screen_pairs(closes, 300, log=True)}
    late = ranked[frozenset(("S1USDT", "S5USDT"))]
    assert late.bars == 150 and ranked[frozenset(("S0USDT", "S1USDT"))].bars == 300
    y = np.log(closes[late.base].to_numpy()[-150:])
    x = np.log(closes[late.hedge].to_numpy()[-150:])
    assert late.eg_p == pytest.approx(coint(y, x, trend="c", maxlag=1, autolag=None)[1], rel=1e-9)


def test_flat_legs_and_short_histories_are_left_out() -> None:
    closes = universe(symbols=3)
    closes["FLATUSDT"] = 5.0
    closes.iloc[:-10, 1] = np.nan
    names = {frozenset((r.base, r.hedge)) for r in screen_pairs(closes, 300)}
    assert names == {frozenset(("S0USDT", "S2USDT"))}


def test_bad_input_is_refused() -> None:
    closes = universe(symbols=3)
    with pytest.raises(ParameterError, match="window"):
        screen_pairs(closes, 5)
    closes.iloc[3, 0] = -1.0
    with pytest.raises(ParameterError, match="positive"):
        screen_pairs(closes, 300)
