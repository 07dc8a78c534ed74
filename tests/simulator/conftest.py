"""Simulator fixtures: ``make_sim`` starts simulators on ephemeral ports and stops them after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ingest.simulator import Simulator, SimulatorConfig


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory: ``make_sim(**config)`` → a started ``Simulator`` (stopped after the test)."""
    started: list[Simulator] = []

    def factory(**kw: object) -> Simulator:
        kw.setdefault("ping_interval_s", None)
        sim = Simulator(SimulatorConfig(), **kw).start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        sim.stop()
