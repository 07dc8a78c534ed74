"""Supervisor: restarts a crashed child, never one that refused (status 0 or 2) or lost its
database file (3), stops cleanly."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from ingest.errors import DATABASE_LOST_EXIT
from ingest.supervisor import Supervisor
from tests.conftest import wait_until


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def count(self, text: str) -> int:
        with self._lock:
            return sum(text in line for line in self.lines)


def child(code: int) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.exit({code})"]


def test_crashing_child_is_restarted_with_backoff() -> None:
    log = Log()
    supervisor = Supervisor(child(1), log, "crasher")
    supervisor.start()
    wait_until(lambda: log.count("started crasher") >= 3, 15, "two restarts")
    supervisor.stop()
    assert log.count("died (status 1); restarting in") >= 2


@pytest.mark.parametrize("code", [0, 2])
def test_refusing_child_is_not_restarted(code: int) -> None:
    log = Log()
    supervisor = Supervisor(child(code), log, "refuser")
    supervisor.start()
    wait_until(lambda: log.count("not restarting") == 1, 10, "the final exit")
    supervisor.stop()
    assert log.count("started refuser") == 1
    assert f"exited with status {code}" in log.lines[-1]


def test_child_that_lost_its_database_is_not_restarted_and_the_log_says_why() -> None:
    log = Log()
    supervisor = Supervisor(child(DATABASE_LOST_EXIT), log, "ingestor")
    supervisor.start()
    wait_until(lambda: log.count("not restarting") == 1, 10, "the final exit")
    supervisor.stop()
    assert log.count("started ingestor") == 1
    assert "exited with status 3 (its database file was removed or replaced" in log.lines[-1]


def test_stop_terminates_a_running_child() -> None:
    log = Log()
    supervisor = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"], log, "sleeper")
    supervisor.start()
    supervisor.stop(timeout=5)
    pid = supervisor.pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):  # reaped: the pid no longer exists
        os.kill(pid, 0)
    assert log.count("started sleeper") == 1
