"""Generated past of the synthetic market: the bars before the live tape starts.

This module owns ``PastTape``, the seeded, lazily generated history served as klines before the
live tape. It starts where the live market starts (hedge at its start price, every spread ``u``
at 0) and walks backwards under the same law as ``market``: the hedge is an arithmetic random
walk (``hedge_vol`` per sqrt-second), every base is ``alpha + beta * hedge + u``, and ``u`` is
the same Ornstein-Uhlenbeck process. A stationary OU is time-reversible, so the backward
recursion is exact. The path is sampled every second over the 1s span (``history_1s_s``) and
every minute before it (``history_s``). Each step becomes one bar: open and close are bid/ask
prints around the step's end mids, high/low reach past them by a fraction of the step's own
volatility, and trade counts, volumes and taker shares follow each symbol's rate and lot sizes.
The past's 1m bars inside the 1s span are its 1s bars merged, so both resolutions agree. The
generator is seeded from ``seed`` and never draws from the live market's random stream.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from ingest.simulator.bars import Bars, merge
from ingest.simulator.history import F64, I64
from ingest.simulator.market import PRICE_TICK, QTY_STEP, SyntheticMarket

SECOND_MS = 1000
MINUTE_MS = 60_000
PAST_SALT = 0x6B6C696E  # "klin": keeps the past's random stream apart from the live one
_E = math.e


@dataclass(frozen=True, slots=True)
class PairModel:
    """The synthetic market's law at the tape start (a snapshot; the market moves on)."""

    symbols: tuple[str, ...]
    hedge: str
    hedge_price: float
    hedge_vol: float
    alpha: dict[str, float]
    beta: dict[str, float]
    sigma: dict[str, float]
    theta: float
    rates: dict[str, float]
    seed: int

    @classmethod
    def of(cls, market: SyntheticMarket, seed: int) -> PairModel:
        """Snapshot ``market`` before it generated anything."""
        return cls(
            symbols=market.symbols,
            hedge=market.hedge,
            hedge_price=market.hedge_price,
            hedge_vol=market.hedge_vol,
            alpha=dict(market.alpha),
            beta=dict(market.beta),
            sigma=dict(market.sigma),
            theta=market.theta,
            rates=dict(market.rates),
            seed=seed,
        )


def ar1(decay: float, shocks: F64, x0: float = 0.0) -> F64:
    """``x_k = decay * x_(k-1) + shocks_k`` for k = 1..n from ``x_0 = x0`` (vectorised in blocks
    short enough that ``decay ** -block`` stays far from overflow)."""
    n = len(shocks)
    out = np.empty(n)
    if n == 0:
        return out
    if decay < 1e-12:
        out[:] = shocks
        return out
    block = max(1, min(4096, int(18.0 / -math.log(decay)) if decay < 1.0 else 4096))
    powers = decay ** np.arange(1, block + 1, dtype=np.float64)
    x = x0
    for lo in range(0, n, block):
        e = shocks[lo : lo + block]
        p = powers[: len(e)]
        seg = p * (x + np.cumsum(e / p))
        out[lo : lo + len(e)] = seg
        x = float(seg[-1])
    return out


def _bars(
    rng: np.random.Generator,
    *,
    open_time: I64,
    dt: F64,
    mids: F64,
    intra_sd: F64,
    rate: float,
) -> Bars:
    """One bar per step from ``mids[j]`` to ``mids[j + 1]`` lasting ``dt[j]`` seconds."""
    n = len(dt)
    half = np.where(rng.random((2, n)) < 0.5, -0.5, 0.5) * PRICE_TICK
    opens = np.round(mids[:-1] + half[0], 2)
    closes = np.round(mids[1:] + half[1], 2)
    reach = np.round(0.5 * np.abs(rng.standard_normal((2, n))) * intra_sd, 2)
    high = np.round(np.maximum(opens, closes) + reach[0], 2)
    low = np.maximum(np.round(np.minimum(opens, closes) - reach[1], 2), PRICE_TICK)
    trades = np.maximum(rng.poisson(rate * dt), 1).astype(np.int64)
    # sum of `trades` lognormal(0, 1) lots (the live market's sizes), moment-matched by a gamma
    lot = np.maximum(200.0 / (0.5 * (mids[:-1] + mids[1:])), QTY_STEP)
    raw = lot * rng.gamma(trades / (_E - 1.0), (_E - 1.0) * math.sqrt(_E))
    volume = np.maximum(np.round(raw, 5), np.round(trades * QTY_STEP, 5))
    taker_share = rng.binomial(trades, 0.5) / trades
    taker_base = np.round(volume * taker_share, 5)
    vwap = (opens + high + low + closes) / 4.0
    return Bars(
        open_time,
        opens,
        high,
        low,
        closes,
        volume,
        volume * vwap,
        trades,
        taker_base,
        taker_base * vwap,
    )


def generate(
    model: PairModel, tape_start_ms: int, start_1s_ms: int, start_1m_ms: int
) -> tuple[dict[str, Bars], dict[str, Bars]]:
    """``(seconds, minutes)`` bars of every symbol: 1s bars opening in
    ``[start_1s_ms, tape_start_ms)`` and 1m bars opening in ``[start_1m_ms, tape_start_ms)``
    (the 1m bars inside the 1s span are the 1s bars merged)."""
    n_sec = (tape_start_ms - start_1s_ms) // SECOND_MS
    n_min = (start_1s_ms - start_1m_ms) // MINUTE_MS
    rng = np.random.default_rng([model.seed, PAST_SALT])
    dt = np.r_[np.full(n_min, 60.0), np.full(n_sec, 1.0)]  # forward order, oldest step first
    back_dt = dt[::-1]
    floor = 10 * PRICE_TICK
    hedge_steps = model.hedge_vol * np.sqrt(back_dt) * rng.standard_normal(len(dt))
    hedge_back = np.maximum(model.hedge_price + np.r_[0.0, np.cumsum(hedge_steps)], floor)
    mids: dict[str, F64] = {model.hedge: hedge_back[::-1]}
    intra: dict[str, F64] = {model.hedge: model.hedge_vol * np.sqrt(dt)}
    for s in model.symbols:
        if s == model.hedge:
            continue
        sigma = model.sigma[s]
        u_back = np.empty(len(dt) + 1)
        u_back[0] = 0.0
        x = 0.0
        for length, step_s, lo in ((n_sec, 1.0, 0), (n_min, 60.0, n_sec)):
            decay = math.exp(-model.theta * step_s)
            shocks = sigma * math.sqrt(1.0 - decay * decay) * rng.standard_normal(length)
            u_back[lo + 1 : lo + 1 + length] = ar1(decay, shocks, x)
            x = float(u_back[lo + length])
        base_back = model.alpha[s] + model.beta[s] * hedge_back + u_back
        mids[s] = np.maximum(base_back, floor)[::-1]
        spread_var = sigma * sigma * (1.0 - np.exp(-2.0 * model.theta * dt))
        intra[s] = np.sqrt((model.beta[s] * model.hedge_vol) ** 2 * dt + spread_var)
    open_time = np.r_[
        start_1m_ms + MINUTE_MS * np.arange(n_min, dtype=np.int64),
        start_1s_ms + SECOND_MS * np.arange(n_sec, dtype=np.int64),
    ]
    seconds: dict[str, Bars] = {}
    minutes: dict[str, Bars] = {}
    for s in model.symbols:
        bars = _bars(
            rng, open_time=open_time, dt=dt, mids=mids[s], intra_sd=intra[s], rate=model.rates[s]
        )
        seconds[s] = bars.take(slice(n_min, None))
        minutes[s] = Bars.concat([bars.take(slice(0, n_min)), merge(seconds[s], MINUTE_MS)])
    return seconds, minutes


class PastTape:
    """The generated past of every symbol, built on first use (thread-safe, then read-only).

    ``start_1s_ms`` and ``start_1m_ms`` are the open times of the first 1s and 1m bars: the
    minute boundaries at or before ``history_1s_s`` and ``history_s`` seconds before the tape
    start (the 1s span always covers the tape start's minute up to the tape start).
    """

    def __init__(
        self, model: PairModel, tape_start_ms: int, history_s: float, history_1s_s: float
    ) -> None:
        self.model = model
        self.tape_start_ms = tape_start_ms
        self.start_1s_ms = _minute_floor(tape_start_ms - int(history_1s_s * 1000))
        self.start_1m_ms = min(
            _minute_floor(tape_start_ms - int(history_s * 1000)), self.start_1s_ms
        )
        self._lock = threading.Lock()
        self._bars: tuple[dict[str, Bars], dict[str, Bars]] | None = None

    def bars(self, symbol: str, resolution_ms: int) -> Bars:
        """The past's 1s (``resolution_ms`` 1000) or 1m (60000) bars of ``symbol``."""
        built = self._bars
        if built is None:
            with self._lock:
                if self._bars is None:
                    self._bars = generate(
                        self.model, self.tape_start_ms, self.start_1s_ms, self.start_1m_ms
                    )
                built = self._bars
        seconds, minutes = built
        return seconds[symbol] if resolution_ms == SECOND_MS else minutes[symbol]


def _minute_floor(ms: int) -> int:
    return ms - ms % MINUTE_MS
