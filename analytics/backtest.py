"""Deterministic backtest of β-hedged z-score mean reversion on aligned bars.

Owns the simulation of the alert rule as a trade: one position at a time in the spread
``base - β·hedge``, entered and exited on a bar's close with costs on each leg's traded
notional, and the summary figures (total return, annualised Sharpe, max drawdown, hit rate).
No randomness, no clock. Imports numpy, pandas and our helpers.

P&L convention
--------------
* Entry at bar ``i`` when flat: **short** the spread if ``z_i > entry_z`` (sell base, buy
  hedge), **long** if ``z_i < -entry_z``; with a stop, only while ``|z_i| < stop_z``.
* Size: base quantity ``q_b = side · notional / base_i`` (so the base leg is ``notional`` of
  currency); hedge quantity ``q_h = -side · β_i · notional / base_i`` (``β`` hedge units per
  base unit, the price-space convention of ``spread = base - β·hedge``), or, with
  ``beta_space="log"``, ``q_h = -side · β_i · notional / hedge_i`` (β as a notional ratio).
  ``side`` is +1 long, -1 short; ``β`` is frozen at entry.
* Exit at a later bar ``j`` when ``|z_j| < exit_z`` or (stop set) ``|z_j| > stop_z``; no entry
  on an exit bar. A bar with NaN ``z`` or ``β`` makes no decision. A position still open at the
  last bar stays open (marked to market in ``equity``, not listed in ``trades``).
* Costs: ``(fee_bps + slippage_bps) / 10^4`` times ``|q_b|·base + |q_h|·hedge`` at the fill
  price, charged at entry and again at exit. Trade ``pnl = q_b·(base_j - base_i) +
  q_h·(hedge_j - hedge_i) - fees`` where ``fees`` is both charges.
* ``equity`` is the cumulative P&L in currency (mark to market at each close, costs deducted
  when paid), starting from 0; returns are relative to ``notional``.
"""

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from analytics._checks import (
    as_float_array,
    check_choice,
    check_finite,
    check_min_length,
    check_number,
    check_window,
)
from analytics.errors import ParameterError

SECONDS_PER_YEAR: Final[float] = 365.0 * 86_400.0
"""Crypto trades around the clock: Sharpe is annualised over calendar seconds."""

TRADE_COLUMNS: Final[tuple[str, ...]] = (
    "entry_ts",
    "exit_ts",
    "side",
    "entry_z",
    "exit_z",
    "beta",
    "pnl",
    "fees",
    "reason",
)


@dataclass(frozen=True, slots=True)
class BacktestParams:
    """Thresholds (z units), costs (basis points per leg and fill), size (currency)."""

    entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float | None = None
    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    notional: float = 10_000.0
    bar_seconds: int | None = None
    beta_space: Literal["price", "log"] = "price"

    def __post_init__(self) -> None:
        entry = check_number("entry_z", self.entry_z, low=0.0, strict_low=True)
        exit_ = check_number("exit_z", self.exit_z, low=0.0)
        if exit_ >= entry:
            raise ParameterError(f"exit_z ({exit_}) must be below entry_z ({entry})")
        if self.stop_z is not None and check_number("stop_z", self.stop_z) <= entry:
            raise ParameterError(f"stop_z ({self.stop_z}) must be above entry_z ({entry})")
        check_number("fee_bps", self.fee_bps, low=0.0)
        check_number("slippage_bps", self.slippage_bps, low=0.0)
        check_number("notional", self.notional, low=0.0, strict_low=True)
        if self.bar_seconds is not None:
            check_window("bar_seconds", self.bar_seconds, minimum=1)
        check_choice("beta_space", self.beta_space, ("price", "log"))


@dataclass(frozen=True, eq=False, slots=True)
class BacktestResult:
    """Outcome of :func:`run_backtest`; ``sharpe``/``hit_rate`` are None when undefined."""

    equity: pd.Series
    position: np.ndarray
    trades: pd.DataFrame
    total_return: float
    sharpe: float | None
    max_drawdown: float
    hit_rate: float | None
    n_trades: int


def _inputs(
    ts: object, base: object, hedge: object, beta: object, z: object
) -> tuple[np.ndarray, ...]:
    times = np.asarray(ts)
    if times.ndim != 1 or not np.issubdtype(times.dtype, np.number):
        raise ParameterError("ts must be a 1-D numeric array of epoch seconds")
    arrays = [as_float_array(n, v) for n, v in (("base", base), ("hedge", hedge))]
    arrays += [as_float_array(n, v) for n, v in (("beta", beta), ("z", z))]
    if any(a.size != times.size for a in arrays):
        raise ParameterError("ts, base, hedge, beta and z must have the same length")
    check_min_length("backtest", times.size, 2)
    if not (np.diff(times) > 0).all():
        raise ParameterError("ts must be strictly increasing")
    for name, prices in zip(("base", "hedge"), arrays[:2], strict=True):
        check_finite(name, prices)
        if (prices <= 0).any():
            raise ParameterError(f"{name} prices must be positive")
    return (times.astype(np.int64), *arrays)


@dataclass(eq=False, slots=True)
class _Book:
    """Per-bar holdings after each bar's decision, costs paid at each bar, and the trade log."""

    q_base: np.ndarray
    q_hedge: np.ndarray
    costs: np.ndarray
    side: np.ndarray
    trades: list[dict[str, object]]


def run_backtest(
    ts: object, base: object, hedge: object, beta: object, z: object, *, params: BacktestParams
) -> BacktestResult:
    """
    Simulate the z-score rule with a β-hedged two-leg position (see the module P&L convention).

    Parameters
    ----------
    ts : array of int, shape (n,)
        Bar times in epoch seconds, strictly increasing.
    base, hedge : array of float, shape (n,)
        Positive closes (prices, not log prices), the fill prices.
    beta : array of float, shape (n,)
        Hedge ratio known at each bar (causal, e.g. rolling or Kalman).
    z : array of float, shape (n,)
        Spread z-score at each bar.
    params : BacktestParams

    Returns
    -------
    BacktestResult
    """
    times, pb, ph, betas, zs = _inputs(ts, base, hedge, beta, z)
    book = _simulate(times, pb, ph, betas, zs, params=params)
    return _summarise(times, pb, ph, book, params)


def _simulate(
    times: np.ndarray,
    pb: np.ndarray,
    ph: np.ndarray,
    betas: np.ndarray,
    zs: np.ndarray,
    *,
    params: BacktestParams,
) -> _Book:
    cost_rate = (params.fee_bps + params.slippage_bps) / 1e4
    size = times.size
    book = _Book(np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size, np.int8), [])
    trades = book.trades
    side, qb, qh, entry_i, entry_fee = 0, 0.0, 0.0, -1, 0.0
    decide = np.isfinite(zs) & np.isfinite(betas)
    stop = math.inf if params.stop_z is None else params.stop_z
    for i in range(size):
        zi = float(zs[i])
        if decide[i] and side != 0:
            if abs(zi) < params.exit_z or abs(zi) > stop:
                fee = cost_rate * (abs(qb) * pb[i] + abs(qh) * ph[i])
                book.costs[i] += fee
                gross = qb * (pb[i] - pb[entry_i]) + qh * (ph[i] - ph[entry_i])
                total_fees = fee + entry_fee
                trades[-1].update(
                    exit_ts=int(times[i]),
                    exit_z=zi,
                    pnl=gross - total_fees,
                    fees=total_fees,
                    reason="stop" if abs(zi) > stop else "exit",
                )
                side, qb, qh = 0, 0.0, 0.0
        elif decide[i] and params.entry_z < abs(zi) < stop:
            side = -1 if zi > 0 else 1
            qb = side * params.notional / pb[i]
            leg = ph[i] if params.beta_space == "log" else pb[i]
            qh = -side * float(betas[i]) * params.notional / leg
            fee = cost_rate * (abs(qb) * pb[i] + abs(qh) * ph[i])
            book.costs[i] += fee
            entry_i, entry_fee = i, fee
            trades.append(
                {
                    "entry_ts": int(times[i]),
                    "side": "long" if side > 0 else "short",
                    "entry_z": zi,
                    "beta": float(betas[i]),
                    "fees": fee,
                }
            )
        book.q_base[i], book.q_hedge[i], book.side[i] = qb, qh, side
    return book


def _summarise(
    times: np.ndarray, pb: np.ndarray, ph: np.ndarray, book: _Book, params: BacktestParams
) -> BacktestResult:
    step = np.zeros(times.size)
    # Holdings after bar t-1 earn the move from close t-1 to close t.
    step[1:] = book.q_base[:-1] * np.diff(pb) + book.q_hedge[:-1] * np.diff(ph)
    step -= book.costs
    pnl = np.cumsum(step)
    capital = params.notional + pnl
    peak = np.maximum.accumulate(np.r_[params.notional, capital])[1:]
    returns = step / params.notional
    bar_seconds = params.bar_seconds or float(np.median(np.diff(times)))
    spread_sd = float(np.std(returns, ddof=1))
    sharpe = (
        float(np.mean(returns)) / spread_sd * math.sqrt(SECONDS_PER_YEAR / bar_seconds)
        if spread_sd > 0
        else None
    )
    rows = [t for t in book.trades if "exit_ts" in t]
    closed = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    closed = closed.astype({"entry_ts": "int64", "exit_ts": "int64"})
    n_trades = len(closed)
    return BacktestResult(
        equity=pd.Series(pnl, index=pd.Index(times, name="ts_s"), name="equity"),
        position=book.side,
        trades=closed,
        total_return=float(pnl[-1] / params.notional),
        sharpe=sharpe,
        max_drawdown=float(np.max(1.0 - capital / peak)),
        hit_rate=float((closed["pnl"] > 0).mean()) if n_trades else None,
        n_trades=n_trades,
    )
