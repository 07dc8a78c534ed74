"""The processes a web server's master runs beside the dashboard: demo simulator and ingestor.

``Children`` owns them, for gunicorn's ``on_starting`` and ``on_exit`` hooks (the master, never
a worker, which would start one ingestor per worker). ``start`` follows the environment: with
``PAIRWATCH_DEMO=1`` it first starts ``python -m ingest simulate`` on the feed URL's loopback
port and waits until that port accepts connections; unless ``PAIRWATCH_NO_INGEST=1`` it then
starts the single ingestor under ``python -m ingest.supervisor``, which restarts it after a
crash. ``stop`` ends them newest first (the ingestor drains its buffer while the simulator still
serves): SIGTERM, then a wait on one deadline shared by all of them, ``STOP_BUDGET_S``; a child
still running when its wait ends is killed, so the stop is bounded however many overstay.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from ingest.settings import ConfigError, Settings

DEMO_ENV = "PAIRWATCH_DEMO"
NO_INGEST_ENV = "PAIRWATCH_NO_INGEST"
PORT_WAIT_S = 15.0
PORT_POLL_S = 0.1
STOP_BUDGET_S = 9.0
"""The supervisor gives a stopping ingestor 8 s before it kills it (``Supervisor.stop``; the
ingestor itself needs at most ``SHUTDOWN_BUDGET_S`` + ``WRITER_GRACE_S`` = 7 s, see
``ingest.service``). One more second lets the supervisor reap it and exit, so killing an
overstaying supervisor can never orphan its ingestor."""

_log = logging.getLogger(__name__)


def port_open(port: int) -> bool:
    """True when 127.0.0.1:``port`` accepts a TCP connection now."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(port: int, process: subprocess.Popen[bytes], wait_s: float) -> bool:
    """Poll until ``port`` is open (True), ``process`` has exited or ``wait_s`` passed (False)."""
    deadline = time.monotonic() + wait_s
    while process.poll() is None and time.monotonic() < deadline:
        if port_open(port):
            return True
        time.sleep(PORT_POLL_S)
    return False


class Children:
    """The child processes of one master, in start order; ``log`` gets problems only."""

    def __init__(self, log: logging.Logger = _log) -> None:
        self._log = log
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def processes(self) -> tuple[subprocess.Popen[bytes], ...]:
        """Every child started so far, oldest first."""
        return tuple(self._processes)

    def start(self, settings: Settings, environ: Mapping[str, str]) -> None:
        """Start what ``environ`` asks for: the demo simulator, then the supervised ingestor."""
        if environ.get(DEMO_ENV) == "1":
            self.start_demo_simulator(settings)
        if environ.get(NO_INGEST_ENV) != "1":
            self.start_ingestor()

    def spawn(self, command: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start ``command`` as a child (stdout and stderr shared with this process)."""
        process = subprocess.Popen(list(command))
        self._processes.append(process)
        return process

    def start_demo_simulator(self, settings: Settings, wait_s: float = PORT_WAIT_S) -> bool:
        """Start the simulator on the feed URL's port; True once that port accepts connections.

        Raises ``ConfigError`` (and starts nothing) unless the feed URL is a loopback one with a
        port. A port still closed after ``wait_s``, or a simulator that exited, is logged.
        """
        port = urlsplit(settings.feed.ws_url).port
        if not settings.feed.simulated or port is None:
            raise ConfigError(f"{DEMO_ENV}=1 needs feed.ws_url on 127.0.0.1 with a port")
        process = self.spawn(
            [
                sys.executable,
                "-m",
                "ingest",
                "simulate",
                "--port",
                str(port),
                "--symbols",
                ",".join(settings.symbols),
                "--hedge",
                settings.pairs[0].hedge,
                "--proportional",
            ]
        )
        if wait_for_port(port, process, wait_s):
            return True
        self._log.error("the simulator did not open port %d", port)
        return False

    def start_ingestor(self) -> subprocess.Popen[bytes]:
        """Start ``python -m ingest run`` under the supervisor."""
        supervisor = [sys.executable, "-m", "ingest.supervisor", "--name", "ingestor", "--"]
        return self.spawn([*supervisor, sys.executable, "-m", "ingest", "run"])

    def stop(self, budget_s: float = STOP_BUDGET_S) -> None:
        """SIGTERM each running child, newest first, waiting for it; kill it past the budget."""
        deadline = time.monotonic() + budget_s
        for process in reversed(self._processes):
            if process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                self._log.warning("child %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()
