"""Backtest: a hand-computed three-trade case with exact P&L, fees and summary figures."""

import math

import numpy as np
import pandas as pd
import pytest

from analytics import BacktestParams, ParameterError, run_backtest

NAN = float("nan")
# bar:         0     1     2    3    4     5     6    7    8    9    10
Z = np.array([0.0, 2.5, 1.0, 0.2, -2.2, -1.0, 0.4, 3.5, 2.4, 3.2, 0.0])
BASE = np.array([100.0, 100, 98, 97, 100, 99, 102, 100, 100, 104, 104])
HEDGE = np.array([50.0, 50, 51, 52, 52, 53, 51, 50, 50, 49, 49])
TS = np.arange(11, dtype=np.int64) * 60
PARAMS = BacktestParams(
    entry_z=2.0, exit_z=0.5, stop_z=3.0, fee_bps=10.0, slippage_bps=5.0, notional=1_000.0
)


def test_hand_computed_three_trades() -> None:
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), Z, params=PARAMS)
    # Costs are 15 bp of each fill's |q_b|·base + |q_h|·hedge.
    # 1) short at bar 1: q_b = -10, q_h = +5.  Entry cost .0015·(1000 + 250) = 1.875.
    #    Exit bar 3 (|z| < .5): gross -10·(97-100) + 5·(52-50) = 40; exit .0015·1230 = 1.845.
    # 2) long at bar 4: q_b = +10, q_h = -5.  Entry .0015·(1000 + 260) = 1.89.
    #    Exit bar 6: gross 10·(102-100) - 5·(51-52) = 25; exit .0015·(1020 + 255) = 1.9125.
    # 3) bar 7 is beyond the stop (no entry); short at bar 8, entry 1.875.
    #    Stop at bar 9 (|z| > 3): gross -10·(104-100) + 5·(49-50) = -45; exit .0015·1285 = 1.9275.
    trades = result.trades
    assert trades["entry_ts"].tolist() == [60, 240, 480]
    assert trades["exit_ts"].tolist() == [180, 360, 540]
    assert trades["side"].tolist() == ["short", "long", "short"]
    assert trades["entry_z"].tolist() == [2.5, -2.2, 2.4]
    assert trades["exit_z"].tolist() == [0.2, 0.4, 3.2]
    assert trades["reason"].tolist() == ["exit", "exit", "stop"]
    np.testing.assert_allclose(trades["fees"], [3.72, 3.8025, 3.8025], rtol=1e-12)
    np.testing.assert_allclose(trades["pnl"], [36.28, 21.1975, -48.8025], rtol=1e-12)
    assert result.n_trades == 3
    assert result.hit_rate == pytest.approx(2 / 3)
    assert result.total_return == pytest.approx(8.675 / 1_000, rel=1e-12)
    expected_equity = [
        0,
        -1.875,
        23.125,
        36.28,
        34.39,
        19.39,
        57.4775,
        57.4775,
        55.6025,
        8.675,
        8.675,
    ]
    np.testing.assert_allclose(result.equity.to_numpy(), expected_equity, rtol=1e-12, atol=1e-12)
    assert result.equity.index.tolist() == TS.tolist()
    assert result.position.tolist() == [0, -1, -1, 0, 1, 1, 0, 0, -1, 0, 0]
    assert result.max_drawdown == pytest.approx(1 - 1_008.675 / 1_057.4775, rel=1e-12)
    returns = np.diff(np.r_[0.0, expected_equity]) / 1_000
    annual = math.sqrt(365 * 86_400 / 60)
    assert result.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * annual)


def test_without_costs_the_trade_pnl_is_the_hedged_spread_change() -> None:
    free = BacktestParams(entry_z=2.0, exit_z=0.5, notional=1_000.0)
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), Z, params=free)
    spread = BASE - 0.5 * HEDGE
    first = result.trades.iloc[0]
    assert first["fees"] == 0.0
    # short 10 units of the spread from bar 1 to bar 3
    assert first["pnl"] == pytest.approx(-10 * (spread[3] - spread[1]))
    # no stop: bar 7 (z = 3.5) is a valid short entry, closed at bar 10 (z = 0)
    assert result.trades["entry_ts"].tolist() == [60, 240, 420]
    assert result.trades["exit_ts"].tolist() == [180, 360, 600]
    assert result.equity.iloc[-1] == pytest.approx(result.trades["pnl"].sum())


def test_a_position_open_at_the_end_is_marked_but_not_listed() -> None:
    free = BacktestParams(entry_z=2.0, exit_z=0.5, notional=1_000.0)
    result = run_backtest(TS[:10], BASE[:10], HEDGE[:10], np.full(10, 0.5), Z[:10], params=free)
    spread = BASE - 0.5 * HEDGE
    assert result.n_trades == 2
    assert result.position[-1] == -1
    open_pnl = -10 * (spread[9] - spread[7])
    assert result.equity.iloc[-1] == pytest.approx(result.trades["pnl"].sum() + open_pnl)


def test_log_beta_sizes_the_hedge_by_notional() -> None:
    params = BacktestParams(entry_z=2.0, exit_z=0.5, notional=1_000.0, beta_space="log")
    result = run_backtest(TS[:4], BASE[:4], HEDGE[:4], np.full(4, 0.8), Z[:4], params=params)
    # short: q_b = -10, q_h = +0.8·1000/50 = +16 hedge units
    assert result.trades["pnl"].item() == pytest.approx(-10 * (97 - 100) + 16 * (52 - 50))


def test_nan_z_or_beta_makes_no_decision() -> None:
    z = Z.copy()
    z[3] = NAN  # the exit bar of trade 1 becomes undecidable
    beta = np.full(11, 0.5)
    beta[4] = NAN  # the entry bar of trade 2 cannot size the hedge
    result = run_backtest(TS, BASE, HEDGE, beta, z, params=PARAMS)
    assert result.trades["exit_ts"].tolist()[0] == 360  # held until |z| < .5 at bar 6
    assert 240 not in result.trades["entry_ts"].tolist()


def test_no_trades_gives_flat_equity_and_undefined_ratios() -> None:
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), np.zeros(11), params=PARAMS)
    assert result.n_trades == 0
    assert result.hit_rate is None
    assert result.sharpe is None
    assert (result.equity == 0).all()
    assert isinstance(result.trades, pd.DataFrame)
    assert result.max_drawdown == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"exit_z": 2.0},
        {"stop_z": 1.5},
        {"fee_bps": -1.0},
        {"notional": 0.0},
        {"beta_space": "ratio"},
        {"bar_seconds": 0},
    ],
)
def test_invalid_params_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        BacktestParams(**kwargs)  # type: ignore[arg-type]


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ParameterError):
        run_backtest(TS[::-1], BASE, HEDGE, np.full(11, 0.5), Z, params=PARAMS)
    with pytest.raises(ParameterError):
        run_backtest(TS, -BASE, HEDGE, np.full(11, 0.5), Z, params=PARAMS)
    with pytest.raises(ParameterError):
        run_backtest(TS, BASE, HEDGE[:5], np.full(11, 0.5), Z, params=PARAMS)
