"""Waiting on a running ``Simulator``: trades generated, connections open, generation finished.

Each helper polls like ``tests.conftest.wait_until`` and also calls ``Simulator.check()`` on
every poll, so a simulator that failed after ``start()`` raises its ``SimulatorError`` at once
instead of letting the test time out waiting for trades that never come.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ingest.simulator import Simulator
from tests.conftest import wait_until


def wait_sim(
    sim: Simulator, condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition"
) -> Any:
    """``wait_until(condition)`` that raises the simulator's failure as soon as it happens."""

    def ready() -> Any:
        sim.check()
        return condition()

    return wait_until(ready, timeout, what)


def wait_generated(
    sim: Simulator, n: int, timeout: float = 10.0, symbol: str | None = None
) -> None:
    """Block until ``n`` trades were generated (in total, or for ``symbol``)."""
    if symbol is None:
        wait_sim(sim, lambda: sim.generated_count >= n, timeout, f"{n} trades generated")
    else:
        wait_sim(sim, lambda: sim.generated(symbol) >= n, timeout, f"{n} {symbol} trades")


def wait_connections(sim: Simulator, n: int, timeout: float = 10.0) -> None:
    """Block until at least ``n`` websocket connections are open."""
    wait_sim(sim, lambda: sim.connections >= n, timeout, f"{n} connections")


def wait_finished(sim: Simulator, timeout: float = 30.0) -> None:
    """Block until generation reached its trade limit or the replay is exhausted."""
    wait_sim(sim, lambda: sim.finished, timeout, "generation finished")
