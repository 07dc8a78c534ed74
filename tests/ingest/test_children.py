"""``ingest.children`` with real child processes: start order, stop order, budget, demo port.

The stop tests spawn small ``python -c`` children that trap SIGTERM (recording the order in
which they were asked to stop) or ignore it; the demo tests run the real simulator CLI on a
free loopback port. Readiness is awaited through marker files and the open port, never slept.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
from pathlib import Path
from subprocess import Popen

import pytest
import requests

from ingest.children import Children, port_open
from ingest.settings import ConfigError, Settings, load_settings
from tests.conftest import free_port, wait_until

TRAPS_SIGTERM = """
import pathlib, signal, sys, time
name, folder = sys.argv[1], pathlib.Path(sys.argv[2])
def stop(*_):
    with (folder / "stopped").open("a") as log:
        log.write(name + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(folder / (name + ".ready")).touch()
while True:
    time.sleep(1)
"""
IGNORES_SIGTERM = """
import pathlib, signal, sys, time
name, folder = sys.argv[1], pathlib.Path(sys.argv[2])
signal.signal(signal.SIGTERM, signal.SIG_IGN)
(folder / (name + ".ready")).touch()
while True:
    time.sleep(1)
"""


def spawn_ready(children: Children, script: str, name: str, folder: Path) -> Popen[bytes]:
    """Spawn ``script`` as child ``name`` and wait until it has set up its SIGTERM handling."""
    process = children.spawn([sys.executable, "-c", script, name, str(folder)])
    wait_until((folder / f"{name}.ready").exists, 20, f"{name} to be ready")
    return process


def demo_settings(write_config, port: int) -> Settings:
    feed = {"ws_url": f"ws://127.0.0.1:{port}", "rest_url": f"http://127.0.0.1:{port}"}
    return load_settings(write_config({"feed": feed}), environ={})


def test_children_stop_newest_first(tmp_path) -> None:
    children = Children()
    for name in ("older", "newer"):
        spawn_ready(children, TRAPS_SIGTERM, name, tmp_path)
    children.stop(budget_s=20)
    assert (tmp_path / "stopped").read_text().split() == ["newer", "older"]
    assert [p.returncode for p in children.processes] == [0, 0]


def test_a_child_ignoring_sigterm_is_killed_after_the_budget(tmp_path, caplog) -> None:
    children = Children()
    spawn_ready(children, TRAPS_SIGTERM, "older", tmp_path)
    stubborn = spawn_ready(children, IGNORES_SIGTERM, "stubborn", tmp_path)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ingest.children"):
        children.stop(budget_s=1.0)
    took = time.monotonic() - started
    assert stubborn.returncode == -signal.SIGKILL
    assert all(p.poll() is not None for p in children.processes)  # the budget was shared
    assert 1.0 <= took < 8.0
    assert {r.levelno for r in caplog.records if r.name == "ingest.children"} == {logging.WARNING}


def test_the_demo_simulator_is_waited_for_and_stopped(write_config) -> None:
    port = free_port()
    children = Children()
    children.start(
        demo_settings(write_config, port), {"PAIRWATCH_DEMO": "1", "PAIRWATCH_NO_INGEST": "1"}
    )
    try:
        (simulator,) = children.processes
        assert port_open(port)
        info = requests.get(f"http://127.0.0.1:{port}/api/v3/exchangeInfo", timeout=10).json()
        assert sorted(s["symbol"] for s in info["symbols"]) == ["BTCUSDT", "ETHUSDT"]
    finally:
        children.stop()
    assert simulator.returncode == 0


def test_a_demo_simulator_that_cannot_bind_is_not_waited_for(write_config, caplog) -> None:
    with socket.socket() as taken:  # bound, not listening: the port refuses and cannot be bound
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        children = Children()
        started = time.monotonic()
        assert not children.start_demo_simulator(demo_settings(write_config, port), wait_s=60)
        assert time.monotonic() - started < 60
    (simulator,) = children.processes
    assert simulator.returncode == 1
    assert [r.levelno for r in caplog.records if r.name == "ingest.children"] == [logging.ERROR]


def test_the_environment_chooses_the_children(write_config) -> None:
    children = Children()
    children.start(load_settings(write_config(), environ={}), {"PAIRWATCH_NO_INGEST": "1"})
    assert children.processes == ()
    with pytest.raises(ConfigError, match=r"PAIRWATCH_DEMO=1 needs feed\.ws_url"):
        children.start(load_settings(write_config(), environ={}), {"PAIRWATCH_DEMO": "1"})
    assert children.processes == ()
