"""A simulator that fails after ``start()`` says so: waits, control calls, ``stop`` and the CLI.

Both failures are real, provoked through public surfaces: a fault switch given a value of the
wrong type (``set_faults`` checks names, not values) breaks delivery inside the generation
task, and a client's ``SUBSCRIBE`` whose ``params`` is not a list breaks the connection
handler. Each must be logged at ERROR, stop the simulator, and raise ``SimulatorError``
chained to the cause, instead of leaving a test waiting for trades that never come.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import pytest
import websocket

from ingest.simulator import Simulator, SimulatorConfig, SimulatorError
from tests.conftest import REPO, wait_until
from tests.simulator_helpers import wait_connections, wait_generated, wait_sim

BAD_SUBSCRIBE = '{"method": "SUBSCRIBE", "params": 5, "id": 1}'


def started(**overrides: object) -> Simulator:
    return Simulator(SimulatorConfig(), ping_interval_s=None, **overrides).start()


def test_a_generation_failure_surfaces_from_waits_controls_and_stop(caplog) -> None:
    sim = started(rate=1000, generate="always")
    ws = websocket.create_connection(sim.stream_url(), timeout=10)
    try:
        wait_connections(sim, 1)
        sim.set_faults(drop_after_frames="ten")  # the next delivery computes "ten" - n
        with pytest.raises(SimulatorError, match="generation failed") as raised:
            wait_generated(sim, 10**9, timeout=30)
        assert isinstance(raised.value.__cause__, TypeError)
        with pytest.raises(SimulatorError, match="generation failed"):
            sim.pause()
    finally:
        ws.close()
        with pytest.raises(SimulatorError, match="generation failed"):
            sim.stop()
    (record,) = [r for r in caplog.records if r.name == "ingest.simulator.simulator"]
    assert record.levelno == logging.ERROR
    assert record.exc_info and record.exc_info[0] is TypeError


def test_a_connection_handler_failure_stops_the_simulator() -> None:
    sim = started(rate=50)
    ws = websocket.create_connection(sim.stream_url(), timeout=10)
    try:
        ws.send(BAD_SUBSCRIBE)
        with pytest.raises(SimulatorError, match="connection handler failed") as raised:
            wait_sim(sim, lambda: False, 30, "the simulator to fail")
        assert isinstance(raised.value.__cause__, TypeError)
        wait_until(lambda: sim.connections == 0, 10, "the simulator to drop its clients")
    finally:
        ws.close()
        with pytest.raises(SimulatorError, match="connection handler failed"):
            sim.stop()


def test_the_cli_exits_1_when_the_simulator_fails() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "simulate", "--port", "0", "--rate", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = iter(proc.stdout.readline, "")
        line = next((line for line in lines if line.startswith("SIMULATOR ")), "")
        assert line, proc.stderr.read()
        ws_base = dict(kv.split("=", 1) for kv in line.split()[1:])["ws"]
        ws = websocket.create_connection(f"{ws_base}/ws/btcusdt@trade", timeout=10)
        ws.send(BAD_SUBSCRIBE)
        assert proc.wait(30) == 1
        ws.close()
        assert "simulate: error: simulator connection handler failed" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
