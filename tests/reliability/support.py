"""Shared oracles for the reliability suite: what the exchange had versus what was stored.

``tally`` compares the database with the simulator's own record (``servable_ids``: everything
generated minus the ids REST no longer serves) and returns the figures every case prints.
``paused_simulator`` starts a simulator that generates nothing until the test resumes it, so
even ``generate="always"`` runs have no trades from before the ingestor's first connection.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine, text

from ingest.simulator import Simulator, SimulatorConfig
from tests.conftest import wait_until

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@dataclass(frozen=True)
class Tally:
    """Stored trades versus the exchange's servable trades, summed over symbols."""

    expected: int
    stored: int
    lost: int
    dup: int
    extra: int

    @property
    def complete(self) -> bool:
        return self.lost == 0 and self.dup == 0 and self.extra == 0

    def __str__(self) -> str:
        return (
            f"expected={self.expected} stored={self.stored} lost={self.lost} "
            f"dup={self.dup} extra={self.extra}"
        )


def stored_ids(engine: Engine, symbol: str) -> np.ndarray:
    """Every stored trade id of ``symbol`` (duplicates kept, if the schema ever allowed them)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT trade_id FROM trades WHERE symbol = :s"), {"s": symbol}
        ).fetchall()
    return np.array([int(r[0]) for r in rows], dtype=np.int64)


def tally(engine: Engine, sim: Simulator, symbols: tuple[str, ...] = SYMBOLS) -> Tally:
    """Figures of the database against ``sim.servable_ids`` for every symbol."""
    expected = stored = lost = dup = extra = 0
    for symbol in symbols:
        want = sim.servable_ids(symbol)
        have = stored_ids(engine, symbol)
        unique = np.unique(have)
        expected += len(want)
        stored += len(have)
        dup += len(have) - len(unique)
        lost += len(np.setdiff1d(want, unique, assume_unique=True))
        extra += len(np.setdiff1d(unique, want, assume_unique=True))
    return Tally(expected, stored, lost, dup, extra)


def gap_states(engine: Engine) -> dict[str, int]:
    """Count of gaps per state."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT state, count(*) FROM gaps GROUP BY state")).fetchall()
    return {str(state): int(n) for state, n in rows}


def wait_complete(engine: Engine, sim: Simulator, timeout: float) -> Tally:
    """Wait until every servable trade is stored and no gap is open; returns the final tally."""
    last: list[Tally] = []

    def done() -> bool:
        last[:] = [tally(engine, sim)]
        return last[0].complete and gap_states(engine).get("open", 0) == 0

    try:
        wait_until(done, timeout, "every servable trade stored and no open gap")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last tally: {last[0] if last else '-'}") from None
    return last[0]


def paused_simulator(**options: Any) -> Simulator:
    """A started simulator on loopback that generates nothing until ``resume()``."""
    sim = Simulator(SimulatorConfig(symbols=SYMBOLS, **options))
    sim.pause()
    return sim.start()


def kill9(pid: int) -> float:
    """``kill -9`` ``pid``; returns the monotonic time of the kill."""
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()
