"""Deterministic backtest of β-hedged z-score mean reversion on aligned bars.

Owns the simulation of the alert rule as a trade: one position at a time in the spread
``base - β·hedge``, decided on a bar's z and filled at the close of the next bar (or, optimistic,
of the same bar), with costs on each leg's traded notional, and the summary figures (total
return, Sharpe from daily P&L, max drawdown from peak equity, hit rate). No randomness, no clock.
Imports numpy, pandas and our helpers.

P&L convention
--------------
* Decisions: at bar ``i``, when flat and no order is pending, **short** the spread if
  ``z_i > entry_z`` (sell base, buy hedge), **long** if ``z_i < -entry_z``; with a stop, only
  while ``|z_i| < stop_z``. In a position, exit when ``|z_j| < exit_z`` or (stop set)
  ``|z_j| > stop_z``. One decision per bar; a bar with NaN ``z`` or ``β`` makes none.
* Fills (``fill="next"``, the default): an order decided on bar ``i`` fills at the close of bar
  ``i + 1``; while it is pending no other decision is made. The fill bar then makes its own
  decision on its own z (so an entry filled at ``i + 1`` may be told to exit at ``i + 1`` and
  leaves at ``i + 2``; an exit filled at ``j + 1`` may order a new entry that fills at
  ``j + 2``). An order decided on the last bar never fills. ``fill="same"`` fills at the close of
  the decision bar itself: zero latency, which is **optimistic** (the close that produced the
  signal is rarely still available to trade).
* Size, at the fill bar ``f``: base quantity ``q_b = side · notional / base_f`` (so the base leg
  is ``notional`` of currency); hedge quantity ``q_h = -side · β · notional / base_f`` (``β``
  hedge units per base unit, the price-space convention of ``spread = base - β·hedge``), or,
  with ``beta_space="log"``, ``q_h = -side · β · notional / hedge_f`` (β as a notional ratio:
  the hedge leg is ``β × notional`` of currency). ``side`` is +1 long, -1 short; ``β`` is the
  value at the **decision** bar, frozen for the life of the trade.
* Costs: ``(fee_bps + slippage_bps) / 10^4`` times ``|q_b|·base_f + |q_h|·hedge_f`` at the fill
  close, charged at the entry fill and again at the exit fill. Slippage is modelled as a cost
  in basis points, not as a worse fill price. A trade's ``fees`` are both charges (fees **and**
  slippage) and ``pnl = q_b·(base_x - base_e) + q_h·(hedge_x - hedge_e) - fees`` between the
  entry fill ``e`` and the exit fill ``x``.
* Trades: ``entry_ts``/``exit_ts`` are the epoch seconds of the **fill** bars; ``entry_z``,
  ``exit_z`` and ``beta`` are the values at the decision bars. A position still open after the
  last bar (or whose exit order was decided on the last bar) stays open: marked to market in
  ``equity``, not listed in ``trades``.
* ``equity`` is the cumulative P&L in currency (mark to market at each close, costs deducted
  when paid), starting from 0; ``position`` is the side held after each bar's fill.
* Returns are relative to ``notional``. ``sharpe`` uses **daily** P&L only: equity changes
  summed per UTC calendar day of ``ts`` (the first and last day may be partial; days without
  bars are not counted), mean over sample standard deviation (ddof 1) of P&L / ``notional``,
  times ``sqrt(365)``. It needs the bars to cover at least two days (``ts[-1] - ts[0]`` plus
  one bar); otherwise, or when daily P&L does not vary, it is None and ``sharpe_reason`` says
  why.
* Drawdown (:func:`drawdown`): capital is ``notional + equity``, its peak the running maximum
  starting at ``notional``, and drawdown ``1 - capital / peak``, in [0, 1]. Once capital is at
  or below 0 the drawdown is clamped to 1 (100%, everything lost); it never exceeds it.
"""

import math
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

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

SECONDS_PER_DAY: Final[int] = 86_400
DAYS_PER_YEAR: Final[float] = 365.0
"""Crypto trades around the clock: daily Sharpe is annualised over 365 calendar days."""
MIN_SHARPE_DAYS: Final[float] = 2.0
"""Fewest days of bars a run must cover before its Sharpe is reported."""

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
Fill = Literal["next", "same"]
"""When an order fills: the close of the bar after its signal, or (optimistic) the same bar's."""
FILLS: Final[tuple[str, ...]] = get_args(Fill)


@dataclass(frozen=True, slots=True)
class BacktestParams:
    """Thresholds (z units), costs (basis points per leg and fill), size (currency), fill timing."""

    entry_z: float = 2.0
    exit_z: float = 0.5
    stop_z: float | None = None
    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    notional: float = 10_000.0
    bar_seconds: int | None = None
    beta_space: Literal["price", "log"] = "price"
    fill: Fill = "next"

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
        check_choice("fill", self.fill, FILLS)


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
    sharpe_reason: str | None = None
    days: float = 0.0
    fill: Fill = "next"
    notional: float = 10_000.0


def drawdown(equity: object, notional: float) -> np.ndarray:
    """
    Drawdown from peak capital at each bar, a fraction in [0, 1].

    Parameters
    ----------
    equity : array or Series of float, shape (n,)
        Cumulative P&L in currency, starting from 0 before the first bar.
    notional : float
        Starting capital (> 0); the running peak starts here.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``1 - capital / peak`` with ``capital = notional + equity`` and ``peak`` the running
        maximum of capital and ``notional``; 1.0 (clamped) once capital is at or below 0.
    """
    base = check_number("notional", notional, low=0.0, strict_low=True)
    capital = base + as_float_array("equity", equity)
    peak = np.maximum.accumulate(np.maximum(capital, base))
    return np.clip(1.0 - capital / peak, 0.0, 1.0)


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


@dataclass(frozen=True, slots=True)
class _Order:
    """A decision waiting for its fill: open ``side`` (±1) or close (``side`` 0)."""

    side: int
    z: float
    beta: float
    reason: str = ""


@dataclass(eq=False, slots=True)
class _Book:
    """Holdings after each bar's fill, costs paid at each bar, the trade log and open state."""

    times: np.ndarray
    pb: np.ndarray
    ph: np.ndarray
    params: BacktestParams
    q_base: np.ndarray = field(init=False)
    q_hedge: np.ndarray = field(init=False)
    costs: np.ndarray = field(init=False)
    position: np.ndarray = field(init=False)
    trades: list[dict[str, object]] = field(default_factory=list)
    side: int = 0
    qb: float = 0.0
    qh: float = 0.0
    entry_i: int = -1
    entry_fee: float = 0.0

    def __post_init__(self) -> None:
        size = self.times.size
        self.q_base, self.q_hedge, self.costs = np.zeros(size), np.zeros(size), np.zeros(size)
        self.position = np.zeros(size, np.int8)

    def _cost(self, i: int) -> float:
        rate = (self.params.fee_bps + self.params.slippage_bps) / 1e4
        fee = rate * (abs(self.qb) * self.pb[i] + abs(self.qh) * self.ph[i])
        self.costs[i] += fee
        return fee

    def fill(self, i: int, order: _Order) -> None:
        """Execute ``order`` at the close of bar ``i``."""
        if order.side != 0:
            notional = self.params.notional
            leg = self.ph[i] if self.params.beta_space == "log" else self.pb[i]
            self.side = order.side
            self.qb = order.side * notional / self.pb[i]
            self.qh = -order.side * order.beta * notional / leg
            self.entry_i, self.entry_fee = i, self._cost(i)
            self.trades.append(
                {
                    "entry_ts": int(self.times[i]),
                    "side": "long" if order.side > 0 else "short",
                    "entry_z": order.z,
                    "beta": order.beta,
                    "fees": self.entry_fee,
                }
            )
            return
        fee = self._cost(i)
        e = self.entry_i
        gross = self.qb * (self.pb[i] - self.pb[e]) + self.qh * (self.ph[i] - self.ph[e])
        total_fees = fee + self.entry_fee
        self.trades[-1].update(
            exit_ts=int(self.times[i]),
            exit_z=order.z,
            pnl=gross - total_fees,
            fees=total_fees,
            reason=order.reason,
        )
        self.side, self.qb, self.qh = 0, 0.0, 0.0

    def hold(self, i: int) -> None:
        self.q_base[i], self.q_hedge[i], self.position[i] = self.qb, self.qh, self.side


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


def _decide(book: _Book, zi: float, beta: float, params: BacktestParams) -> _Order | None:
    stop = math.inf if params.stop_z is None else params.stop_z
    if book.side != 0:
        if abs(zi) > stop:
            return _Order(0, zi, beta, "stop")
        if abs(zi) < params.exit_z:
            return _Order(0, zi, beta, "exit")
        return None
    if params.entry_z < abs(zi) < stop:
        return _Order(-1 if zi > 0 else 1, zi, beta)
    return None


def _simulate(
    times: np.ndarray,
    pb: np.ndarray,
    ph: np.ndarray,
    betas: np.ndarray,
    zs: np.ndarray,
    *,
    params: BacktestParams,
) -> _Book:
    book = _Book(times, pb, ph, params)
    decide = np.isfinite(zs) & np.isfinite(betas)
    same_bar = params.fill == "same"
    pending: _Order | None = None
    last = times.size - 1
    for i in range(times.size):
        if pending is not None:
            book.fill(i, pending)
            pending = None
        if decide[i]:
            order = _decide(book, float(zs[i]), float(betas[i]), params)
            if order is not None and same_bar:
                book.fill(i, order)
            elif order is not None and i < last:
                pending = order
        book.hold(i)
    return book


def _daily_sharpe(
    times: np.ndarray, step: np.ndarray, params: BacktestParams
) -> tuple[float | None, str | None, float]:
    bar_seconds = params.bar_seconds or float(np.median(np.diff(times)))
    days = (float(times[-1] - times[0]) + bar_seconds) / SECONDS_PER_DAY
    if days < MIN_SHARPE_DAYS:
        reason = f"needs at least {MIN_SHARPE_DAYS:g} days of bars; this run covers {days:.2f} days"
        return None, reason, days
    daily = pd.Series(step).groupby(times // SECONDS_PER_DAY).sum().to_numpy() / params.notional
    spread_sd = float(np.std(daily, ddof=1))
    if not spread_sd > 0:
        return None, "daily P&L does not vary (no trades?), so Sharpe is undefined", days
    return float(np.mean(daily)) / spread_sd * math.sqrt(DAYS_PER_YEAR), None, days


def _summarise(
    times: np.ndarray, pb: np.ndarray, ph: np.ndarray, book: _Book, params: BacktestParams
) -> BacktestResult:
    step = np.zeros(times.size)
    # Holdings after bar t-1 earn the move from close t-1 to close t.
    step[1:] = book.q_base[:-1] * np.diff(pb) + book.q_hedge[:-1] * np.diff(ph)
    step -= book.costs
    pnl = np.cumsum(step)
    sharpe, reason, days = _daily_sharpe(times, step, params)
    rows = [t for t in book.trades if "exit_ts" in t]
    closed = pd.DataFrame(rows, columns=list(TRADE_COLUMNS))
    closed = closed.astype({"entry_ts": "int64", "exit_ts": "int64"})
    n_trades = len(closed)
    return BacktestResult(
        equity=pd.Series(pnl, index=pd.Index(times, name="ts_s"), name="equity"),
        position=book.position,
        trades=closed,
        total_return=float(pnl[-1] / params.notional),
        sharpe=sharpe,
        max_drawdown=float(np.max(drawdown(pnl, params.notional))),
        hit_rate=float((closed["pnl"] > 0).mean()) if n_trades else None,
        n_trades=n_trades,
        sharpe_reason=reason,
        days=days,
        fill=params.fill,
        notional=params.notional,
    )
