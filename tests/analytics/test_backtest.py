"""Backtest: hand-computed oracles for next-bar fills (the default) and same-bar fills, costs,
log-space hedge notional, daily Sharpe and drawdown from peak equity."""

import math

import numpy as np
import pandas as pd
import pytest

from analytics import BacktestParams, ParameterError, run_backtest
from analytics.backtest import drawdown

NAN = float("nan")
# The same-bar case (fill="same"): the default used to be zero-latency fills; these hand
# numbers were computed for it and still hold with fill="same".
# bar:         0     1     2    3    4     5     6    7    8    9    10
Z = np.array([0.0, 2.5, 1.0, 0.2, -2.2, -1.0, 0.4, 3.5, 2.4, 3.2, 0.0])
BASE = np.array([100.0, 100, 98, 97, 100, 99, 102, 100, 100, 104, 104])
HEDGE = np.array([50.0, 50, 51, 52, 52, 53, 51, 50, 50, 49, 49])
TS = np.arange(11, dtype=np.int64) * 60
PARAMS = BacktestParams(
    entry_z=2.0,
    exit_z=0.5,
    stop_z=3.0,
    fee_bps=10.0,
    slippage_bps=5.0,
    notional=1_000.0,
    fill="same",
)
SAME_FREE = BacktestParams(entry_z=2.0, exit_z=0.5, notional=1_000.0, fill="same")

# The next-bar case (the default): decisions on bar i's z, fills at bar i+1's close.
# bar:              0    1    2    3    4    5     6     7    8
NZ = np.array([0.0, 2.5, 2.6, 1.0, 0.3, 0.1, -2.4, -2.1, 0.2])
NBASE = np.array([100.0, 101, 100, 95, 96, 90, 92, 100, 104])
NHEDGE = np.array([50.0, 50, 50, 49, 48, 47, 46, 46, 47])
NBETA = np.array([0.5, 0.5, 0.9, 0.9, 0.9, 0.9, 0.5, 0.7, 0.7])
NTS = np.arange(9, dtype=np.int64) * 60
NEXT = BacktestParams(
    entry_z=2.0, exit_z=0.5, stop_z=3.0, fee_bps=10.0, slippage_bps=5.0, notional=1_000.0
)


def test_next_bar_fill_hand_computed() -> None:
    assert NEXT.fill == "next"
    result = run_backtest(NTS, NBASE, NHEDGE, NBETA, NZ, params=NEXT)
    # Bar 1: z = 2.5 > 2 → order to short the spread with β frozen at bar 1 (0.5, not bar 2's
    #   0.9). Fill at bar 2's close: q_b = -1000/100 = -10, q_h = +0.5·1000/100 = +5.
    #   Entry cost (10 + 5 bp) · (10·100 + 5·50) = .0015 · 1250 = 1.875.
    # Bars 2, 3: |z| ≥ .5, hold. Bar 4: z = .3 < .5 → exit order, filled at bar 5's close.
    #   Gross -10·(90 - 100) + 5·(47 - 50) = 85; exit cost .0015 · (10·90 + 5·47) = 1.7025.
    #   fees 3.5775 (fee + slippage), pnl 81.4225.
    # Bar 6: z = -2.4 → long order (β = 0.5), filled at bar 7: q_b = +10, q_h = -5, cost
    #   .0015 · (1000 + 230) = 1.845. Bar 8 (last): z = .2 → exit order that never fills, so the
    #   position stays open: marked to market (+10·4 - 5·1 = 35), not listed.
    trades = result.trades
    assert trades.to_dict("records") == [
        {
            "entry_ts": 120,  # the fill bar (2), not the signal bar (1)
            "exit_ts": 300,  # the fill bar (5), not the signal bar (4)
            "side": "short",
            "entry_z": 2.5,
            "exit_z": 0.3,
            "beta": 0.5,
            "pnl": pytest.approx(81.4225, rel=1e-12),
            "fees": pytest.approx(3.5775, rel=1e-12),
            "reason": "exit",
        }
    ]
    assert result.position.tolist() == [0, 0, -1, -1, -1, 0, 0, 1, 1]
    expected_equity = [0, 0, -1.875, 43.125, 28.125, 81.4225, 81.4225, 79.5775, 114.5775]
    np.testing.assert_allclose(result.equity.to_numpy(), expected_equity, rtol=1e-12, atol=1e-12)
    assert result.total_return == pytest.approx(0.1145775, rel=1e-12)
    # capital 1000, 1000, 998.125, 1043.125, 1028.125, …: the worst fall is 15 from 1043.125
    assert result.max_drawdown == pytest.approx(15 / 1_043.125, rel=1e-12)
    assert result.hit_rate == 1.0 and result.n_trades == 1 and result.fill == "next"


def test_costs_are_fee_plus_slippage_per_leg_and_fill() -> None:
    fee_only = BacktestParams(entry_z=2.0, exit_z=0.5, stop_z=3.0, fee_bps=10.0, notional=1e3)
    slip_only = BacktestParams(entry_z=2.0, exit_z=0.5, stop_z=3.0, slippage_bps=5.0, notional=1e3)
    free = BacktestParams(entry_z=2.0, exit_z=0.5, stop_z=3.0, notional=1e3)
    runs = [run_backtest(NTS, NBASE, NHEDGE, NBETA, NZ, params=p) for p in (fee_only, slip_only)]
    # traded notional: entry 1250, exit 900 + 235 = 1135 → 2385 in all
    assert runs[0].trades["fees"].item() == pytest.approx(0.0010 * 2_385, rel=1e-12)
    assert runs[1].trades["fees"].item() == pytest.approx(0.0005 * 2_385, rel=1e-12)
    gross = run_backtest(NTS, NBASE, NHEDGE, NBETA, NZ, params=free).trades["pnl"].item()
    assert gross == pytest.approx(85.0, rel=1e-12)


def test_log_space_hedge_notional_is_beta_times_base_notional() -> None:
    # bar:       0    1    2    3    4
    z = np.array([0.0, 2.5, 1.0, 0.2, 0.0])
    base = np.array([100.0, 101, 100, 97, 96])
    hedge = np.array([50.0, 50, 40, 42, 41])
    beta = np.array([0.8, 0.8, 0.3, 0.3, 0.3])
    ts = np.arange(5, dtype=np.int64) * 60
    params = BacktestParams(
        entry_z=2.0, exit_z=0.5, fee_bps=10.0, slippage_bps=5.0, notional=1_000.0, beta_space="log"
    )
    result = run_backtest(ts, base, hedge, beta, z, params=params)
    # Signal bar 1 (β = 0.8), fill bar 2: q_b = -10 (1000 of base), q_h = +0.8·1000/40 = +20
    #   hedge units = 800 of hedge = β × base notional. Entry cost .0015·(1000 + 800) = 2.7.
    # Exit signal bar 3, fill bar 4: gross -10·(96 - 100) + 20·(41 - 40) = 60;
    #   exit cost .0015·(960 + 820) = 2.67.
    trade = result.trades.iloc[0]
    assert (trade["entry_ts"], trade["exit_ts"], trade["beta"]) == (120, 240, 0.8)
    assert trade["fees"] == pytest.approx(5.37, rel=1e-12)
    assert trade["pnl"] == pytest.approx(60 - 5.37, rel=1e-12)
    np.testing.assert_allclose(result.equity.to_numpy(), [0, 0, -2.7, 67.3, 54.63], atol=1e-12)
    # the price-space reading of the same β would hedge 0.8·1000/100 = 8 units (320 of hedge)
    price = run_backtest(ts, base, hedge, beta, z, params=BacktestParams(notional=1_000.0))
    assert price.trades["pnl"].item() == pytest.approx(-10 * (96 - 100) + 8 * (41 - 40))


def test_next_fill_state_machine() -> None:
    ts = np.arange(7, dtype=np.int64) * 60
    prices = np.full(7, 100.0), np.full(7, 50.0)
    beta = np.full(7, 0.5)
    params = BacktestParams(entry_z=2.0, exit_z=0.5, notional=1_000.0)
    # Bar 1 signals a short; it fills at bar 2 although z_2 is NaN (a fill needs only prices);
    # bar 3 decides the exit (fill 4); bar 4, flat after its fill, decides a long (fill 5);
    # bar 5, the long's fill bar, decides its exit at once (fill 6).
    z = np.array([0.0, 2.5, NAN, 0.1, -2.5, 0.0, 0.0])
    result = run_backtest(ts, *prices, beta, z, params=params)
    assert result.trades[["entry_ts", "exit_ts", "side"]].values.tolist() == [
        [120, 240, "short"],
        [300, 360, "long"],
    ]
    assert result.position.tolist() == [0, 0, -1, -1, 0, 1, 0]


def test_a_signal_on_the_last_bar_does_not_fill() -> None:
    z = np.array([0.0, 0.0, 2.5])
    args = (TS[:3], BASE[:3], HEDGE[:3], np.full(3, 0.5), z)
    later = run_backtest(*args, params=NEXT)
    assert later.position.tolist() == [0, 0, 0] and (later.equity == 0).all()
    assert later.n_trades == 0
    same = run_backtest(*args, params=PARAMS)
    assert same.position.tolist() == [0, 0, -1]
    # filled at bar 2's close (base 98, hedge 51): q_h = 0.5·1000/98 hedge units
    assert same.equity.iloc[-1] == pytest.approx(-0.0015 * (1_000 + 0.5 * 1_000 / 98 * 51))


def test_same_fill_hand_computed_three_trades() -> None:
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), Z, params=PARAMS)
    # Same-bar (optimistic) fills: the old default behaviour, unchanged.
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
    # 11 one-minute bars: no Sharpe (it used to be a per-bar figure, annualised; now daily only)
    assert result.sharpe is None
    assert result.sharpe_reason == "needs at least 2 days of bars; this run covers 0.01 days"


def test_next_fill_is_same_fill_one_bar_later() -> None:
    # Shifting prices one bar earlier under "next" gives the fills "same" makes on the original
    # bars: the same trades' P&L and fees (z, β stay on their decision bars).
    z = np.r_[Z, 0.0]
    same = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), Z, params=PARAMS)
    shifted = run_backtest(
        np.arange(12, dtype=np.int64) * 60,
        np.r_[BASE[0], BASE],
        np.r_[HEDGE[0], HEDGE],
        np.full(12, 0.5),
        z,
        params=BacktestParams(
            entry_z=2.0, exit_z=0.5, stop_z=3.0, fee_bps=10.0, slippage_bps=5.0, notional=1e3
        ),
    )
    np.testing.assert_allclose(shifted.trades["pnl"], same.trades["pnl"], rtol=1e-12)
    np.testing.assert_allclose(shifted.trades["fees"], same.trades["fees"], rtol=1e-12)
    assert (shifted.trades["entry_ts"] - 60).tolist() == same.trades["entry_ts"].tolist()
    np.testing.assert_allclose(shifted.equity.to_numpy()[1:], same.equity.to_numpy(), atol=1e-12)


def test_without_costs_the_trade_pnl_is_the_hedged_spread_change() -> None:
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), Z, params=SAME_FREE)
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
    args = (TS[:10], BASE[:10], HEDGE[:10], np.full(10, 0.5), Z[:10])
    result = run_backtest(*args, params=SAME_FREE)
    spread = BASE - 0.5 * HEDGE
    assert result.n_trades == 2
    assert result.position[-1] == -1
    open_pnl = -10 * (spread[9] - spread[7])
    assert result.equity.iloc[-1] == pytest.approx(result.trades["pnl"].sum() + open_pnl)


def test_log_beta_sizes_the_hedge_by_notional_same_bar() -> None:
    params = BacktestParams(
        entry_z=2.0, exit_z=0.5, notional=1_000.0, beta_space="log", fill="same"
    )
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
    later = run_backtest(TS, BASE, HEDGE, beta, z, params=NEXT)
    assert later.trades["exit_ts"].tolist()[0] == 420  # decided at bar 6, filled at bar 7


def _hourly_case(hours: int) -> tuple[np.ndarray, ...]:
    """Hourly bars from 2024-06-01 00:00 UTC with a spread that crosses the bands often."""
    ts = 1_717_200_000 + np.arange(hours, dtype=np.int64) * 3600
    rng = np.random.default_rng(3)
    hedge = 50.0 + np.cumsum(rng.normal(0.0, 0.2, hours))
    base = 2.0 * hedge + 10.0 + rng.normal(0.0, 1.0, hours)
    z = 2.5 * np.sin(np.arange(hours) / 2.0)
    return ts, base, hedge, np.full(hours, 2.0), z


def test_sharpe_is_from_daily_pnl_over_two_or_more_days() -> None:
    params = BacktestParams(fee_bps=5.0, notional=1_000.0)
    ts, base, hedge, beta, z = _hourly_case(72)  # three UTC calendar days
    result = run_backtest(ts, base, hedge, beta, z, params=params)
    assert result.n_trades > 3 and result.sharpe_reason is None
    assert result.days == pytest.approx(3.0)
    moments = pd.to_datetime(result.equity.index, unit="s", utc=True)
    at_close = pd.Series(result.equity.to_numpy(), index=moments).resample("1D").last()
    daily = at_close.diff().fillna(at_close.iloc[0]) / 1_000.0
    assert len(daily) == 3
    expected = daily.mean() / daily.std(ddof=1) * math.sqrt(365)
    assert result.sharpe == pytest.approx(expected, rel=1e-12)


def test_sharpe_needs_two_days() -> None:
    params = BacktestParams(fee_bps=5.0, notional=1_000.0, bar_seconds=3600)
    exactly = run_backtest(*_hourly_case(48), params=params)
    assert exactly.days == 2.0 and exactly.sharpe is not None
    short = run_backtest(*_hourly_case(47), params=params)
    assert short.sharpe is None
    assert short.sharpe_reason == "needs at least 2 days of bars; this run covers 1.96 days"


def test_drawdown_is_from_peak_and_capped_at_one() -> None:
    np.testing.assert_allclose(
        drawdown(np.array([0.0, 100.0, -50.0, -2_000.0, -1_500.0, 200.0]), 1_000.0),
        [0.0, 0.0, 1 - 950 / 1_100, 1.0, 1.0, 0.0],  # 1200 is a new peak
    )
    # peak starts at the notional: an early loss is a drawdown from it
    assert drawdown(pd.Series([-10.0, -20.0]), 100.0).tolist() == pytest.approx([0.1, 0.2])
    # a loss beyond the notional (short the spread while base triples) is 100%, never more
    ts = np.arange(5, dtype=np.int64) * 60
    base = np.array([100.0, 100, 100, 300, 350])
    z = np.array([0.0, 2.5, 2.5, 2.5, 2.5])
    result = run_backtest(
        ts, base, np.full(5, 50.0), np.full(5, 0.5), z, params=BacktestParams(notional=1_000.0)
    )
    assert result.equity.iloc[-1] < -1_000.0
    assert result.max_drawdown == 1.0


def test_no_trades_gives_flat_equity_and_undefined_ratios() -> None:
    result = run_backtest(TS, BASE, HEDGE, np.full(11, 0.5), np.zeros(11), params=NEXT)
    assert result.n_trades == 0
    assert result.hit_rate is None
    assert result.sharpe is None
    assert (result.equity == 0).all()
    assert isinstance(result.trades, pd.DataFrame)
    assert result.max_drawdown == 0.0
    ts, base, hedge, beta, _ = _hourly_case(72)
    flat = run_backtest(ts, base, hedge, beta, np.zeros(72), params=NEXT)
    assert flat.sharpe is None and "does not vary" in (flat.sharpe_reason or "")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"exit_z": 2.0},
        {"stop_z": 1.5},
        {"fee_bps": -1.0},
        {"slippage_bps": -1.0},
        {"notional": 0.0},
        {"beta_space": "ratio"},
        {"bar_seconds": 0},
        {"fill": "later"},
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
    with pytest.raises(ParameterError):
        drawdown(np.zeros(3), 0.0)
