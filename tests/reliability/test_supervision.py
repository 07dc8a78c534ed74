"""The product as ``make run`` starts it: gunicorn restarts an ingestor that was killed.

gunicorn (with the repository's ``gunicorn.conf.py``) starts the single supervised ingestor.
The test kills that ingestor with ``kill -9`` while the simulator keeps trading; the supervisor
must start a new one, which resumes from the last stored id and backfills the downtime, and
stopping gunicorn must stop the new ingestor too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import yaml

from ingest.storage import make_engine
from tests.conftest import REPO, free_port, wait_until
from tests.ingest_process import stored_count
from tests.reliability.support import kill9, paused_simulator, wait_complete
from tests.simulator_helpers import wait_connections

pytestmark = pytest.mark.slow

STARTED = re.compile(r"started ingestor pid (\d+)")


def ingestor_pids(log_path) -> list[int]:
    return [int(pid) for pid in STARTED.findall(log_path.read_text())]


def test_gunicorn_restarts_a_killed_ingestor(tmp_path, sqlite_url) -> None:
    sim = paused_simulator(rate=300, seed=61, generate="always")
    with sim:
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "feed": {"ws_url": sim.ws_base, "rest_url": sim.rest_base},
                    "storage": {"url": sqlite_url},
                    "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
                    "dashboard": {"port": free_port(), "workers": 1},
                }
            )
        )
        log_path = tmp_path / "gunicorn.log"
        env = {**os.environ, "PAIRWATCH_CONFIG": str(config)}
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "--no-control-socket",
                    "wsgi:server",
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            engine = make_engine(sqlite_url)
            wait_connections(sim, 1, timeout=30)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 300, 30, "the first ingestor writing")
            (first,) = ingestor_pids(log_path)
            kill9(first)
            second = wait_until(lambda: ingestor_pids(log_path)[1:], 30, "a restarted ingestor")[0]
            wait_connections(sim, 1, timeout=30)
            wait_until(lambda: stored_count(engine) > sim.generated_count - 300, 30, "catch up")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(20)
        print(f"\n[supervised kill -9] first={first} second={second} {final}")
        assert second != first
        with pytest.raises(ProcessLookupError):  # stopping gunicorn stopped the new ingestor
            os.kill(second, 0)
