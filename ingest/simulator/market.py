"""Seeded synthetic market: a cointegrated set of symbols traded in real time.

This module owns the price/trade model. The hedge symbol follows an arithmetic random walk
(``hedge_vol`` price units per sqrt-second); every other symbol is
``base = alpha + beta * hedge + u`` where ``u`` is an Ornstein-Uhlenbeck process with
stationary std ``spread_sigma`` and half-life ``spread_half_life_s``; ``alpha`` is chosen so the
base starts at its start price. An optional "spread excursion" adds ``excursion_sigma *
spread_sigma`` to every base for ``excursion_duration_s`` seconds (for alert tests). Each
``step(dt)`` advances the model and returns the trades of that tick: ``rate * dt`` per symbol
(its entry in ``rates``, else ``rate``; fractional remainders carried, so the long-run rate is
exact), all stamped with the tick's exchange time; buyer-maker trades print at the bid, others
at the ask (one tick apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingest.simulator.config import SimulatorConfig
from ingest.simulator.history import F64, I64, BoolA

PRICE_TICK = 0.01
QTY_STEP = 1e-5


@dataclass(slots=True)
class Batch:
    """Trades of one symbol produced in one step, in id order (``ids`` None = assign next ids)."""

    symbol: str
    ts: I64
    price: F64
    qty: F64
    maker: BoolA
    ids: I64 | None = None

    def __len__(self) -> int:
        return len(self.ts)


class SyntheticMarket:
    """Real-time cointegrated trade generator (see module docstring)."""

    def __init__(self, cfg: SimulatorConfig) -> None:
        self.symbols: tuple[str, ...] = tuple(cfg.symbols)
        self.hedge = cfg.hedge_symbol or self.symbols[-1]
        self.rates = {s: float(cfg.rate_for(s)) for s in self.symbols}
        self.rng = np.random.default_rng(cfg.seed)
        self.hedge_price = cfg.start_price_for(self.hedge)
        self.hedge_vol = cfg.hedge_vol
        self.theta = math.log(2.0) / cfg.spread_half_life_s
        bases = [s for s in self.symbols if s != self.hedge]
        if cfg.proportional:
            first = cfg.start_price_for(bases[0])
            default_beta = {s: cfg.start_price_for(s) / self.hedge_price for s in bases}
            self.sigma = {s: cfg.spread_sigma * cfg.start_price_for(s) / first for s in bases}
        else:
            default_beta = dict.fromkeys(bases, cfg.beta)
            self.sigma = dict.fromkeys(bases, cfg.spread_sigma)
        self.beta = {s: cfg.betas.get(s, default_beta[s]) for s in bases}
        self.alpha = {
            s: cfg.start_price_for(s) - b * self.hedge_price for s, b in self.beta.items()
        }
        self.u = dict.fromkeys(self.beta, 0.0)
        self.acc = dict.fromkeys(self.symbols, 0.0)
        self.elapsed_s = 0.0
        self.exc_start: float | None = cfg.excursion_at_s
        self.exc_sigma = cfg.excursion_sigma
        self.exc_duration = cfg.excursion_duration_s

    def start_excursion(self, sigma: float, duration_s: float) -> None:
        """Push every base ``sigma`` spread-sigmas away from fair value from now on."""
        self.exc_start = self.elapsed_s
        self.exc_sigma = sigma
        self.exc_duration = duration_s

    def excursion_active(self) -> bool:
        s = self.exc_start
        return s is not None and s <= self.elapsed_s < s + self.exc_duration

    def mid(self, symbol: str) -> float:
        if symbol == self.hedge:
            return self.hedge_price
        off = self.exc_sigma * self.sigma[symbol] if self.excursion_active() else 0.0
        mid = self.alpha[symbol] + self.beta[symbol] * self.hedge_price + self.u[symbol] + off
        return max(mid, 10 * PRICE_TICK)

    def step(
        self,
        now_ms: int,
        dt: float,
        silenced: frozenset[str] = frozenset(),
        remaining: dict[str, int] | None = None,
    ) -> list[Batch]:
        """Advance ``dt`` seconds and return this tick's trades (``remaining`` caps counts)."""
        rng = self.rng
        self.elapsed_s += dt
        self.hedge_price = max(
            self.hedge_price + self.hedge_vol * math.sqrt(dt) * float(rng.standard_normal()),
            10 * PRICE_TICK,
        )
        decay = math.exp(-self.theta * dt)
        spread = math.sqrt(max(0.0, 1.0 - decay * decay))
        for s in self.u:
            self.u[s] = self.u[s] * decay + self.sigma[s] * spread * float(rng.standard_normal())
        out: list[Batch] = []
        for s in self.symbols:
            acc = self.acc[s] + self.rates[s] * dt
            k = int(acc)
            self.acc[s] = acc - k
            if s in silenced:
                self.acc[s] = 0.0
                continue
            if remaining is not None and s in remaining:
                k = min(k, remaining[s])
            if k <= 0:
                continue
            mid = self.mid(s)
            maker = rng.random(k) < 0.5
            price = np.round(mid + np.where(maker, -0.5, 0.5) * PRICE_TICK, 2)
            qty_med = max(200.0 / mid, QTY_STEP)
            qty = np.maximum(np.round(qty_med * rng.lognormal(0.0, 1.0, k), 5), QTY_STEP)
            ts = np.full(k, now_ms, np.int64)
            out.append(Batch(s, ts, price, qty, maker))
        return out
