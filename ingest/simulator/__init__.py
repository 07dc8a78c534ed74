"""Offline Binance simulator (spot and USD-M streams + REST, Binance's limits) for tests/demos.

Public surface: ``Simulator`` (lifecycle, control API, oracles, ``klines``), ``SimulatorConfig``,
``IdRange``, ``ReplayFile``, ``SimulatorError`` (the one error base) and ``cli.main``. See the
module docstrings of ``config``, ``market``, ``replay``, ``server``, ``rest``, ``klines``,
``ticker``, ``past``, ``bars``, ``faults``, ``wire`` and ``errors`` for details.
"""

from ingest.simulator.config import MALFORMED_KINDS, IdRange, ReplayFile, SimulatorConfig
from ingest.simulator.errors import SimulatorError
from ingest.simulator.simulator import Simulator

__all__ = [
    "MALFORMED_KINDS",
    "IdRange",
    "ReplayFile",
    "Simulator",
    "SimulatorConfig",
    "SimulatorError",
]
