"""No silent data loss: a SQLite file removed, replaced or overwritten while everything runs.

The ingestor (a real process) must stop with exit status 3 and one ERROR line naming the path,
and its supervisor must not start it over on a new, empty file. The dashboard's ``/healthz``,
``/api/v1/status`` and status area must say what happened (503 with the reason), and its
``DataService`` must let go of the old file instead of serving it from pooled connections.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard import api, shell
from dashboard.context import EXTENSION_KEY
from dashboard.services import DataService
from ingest.errors import DATABASE_LOST_EXIT
from ingest.settings import Settings
from ingest.storage import make_engine
from ingest.storage.identity import LOST
from tests.conftest import REPO, wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.reliability.support import paused_simulator
from tests.simulator_helpers import wait_connections


def remove_database(path: Path) -> None:
    """``rm db db-wal db-shm``, as an operator cleaning up by mistake would."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        (path.parent / name).unlink(missing_ok=True)


def wait_for_trades(url: str) -> None:
    """Until the running ingestor has stored trades (the engine is closed again after)."""
    engine = make_engine(url)
    try:
        wait_until(lambda: stored_count(engine) > 50, 30, "the ingestor writing")
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_removed_database_stops_the_ingestor_with_status_3(tmp_path, sqlite_url) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    sim = paused_simulator(rate=200, seed=71, generate="always")
    with sim, IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingestor:
        wait_connections(sim, 1, timeout=30)
        sim.resume()
        wait_for_trades(sqlite_url)
        remove_database(path)
        status = ingestor.proc.wait(15)
        output = ingestor.output()
    errors = [line for line in output.splitlines() if " ERROR " in line]
    print(f"\n[database removed] exit status {status}; {errors}")
    assert status == DATABASE_LOST_EXIT
    assert len(errors) == 1
    assert LOST in errors[0] and str(path) in errors[0] and "no file is there now" in errors[0]
    assert "Traceback" not in output
    assert not path.exists()  # nothing started over on a new file


@pytest.mark.slow
def test_the_supervisor_does_not_restart_an_ingestor_whose_database_vanished(
    tmp_path, sqlite_url
) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    sim = paused_simulator(rate=200, seed=73, generate="always")
    log_path = tmp_path / "supervisor.log"
    config = ingest_config(tmp_path, sim, sqlite_url)
    ingestor = [sys.executable, "-m", "ingest", "--config", str(config), "run"]
    command = [sys.executable, "-m", "ingest.supervisor", "--name", "ingestor", "--", *ingestor]
    with sim, log_path.open("w") as log:
        supervisor = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_connections(sim, 1, timeout=30)
            sim.resume()
            wait_for_trades(sqlite_url)
            remove_database(path)
            wait_until(lambda: "not restarting" in log_path.read_text(), 20, "the refusal")
            assert supervisor.poll() is None  # the supervisor itself stays up
        finally:
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(15)
    text = log_path.read_text()
    print(f"\n[supervised, database removed] {text.splitlines()[-1]}")
    assert text.count("started ingestor pid") == 1
    assert "ingestor exited with status 3 (its database file was removed or replaced" in text
    assert not path.exists()


def database(tmp_path: Path, name: str = "pairwatch.db") -> Settings:
    """Settings over a new, initialised database file ``name`` in ``tmp_path``."""
    url = f"sqlite:///{tmp_path / name}"
    make_engine(url).dispose()
    return Settings.model_validate(
        {
            "storage": {"url": url},
            "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
        }
    )


def database_path(settings: Settings) -> Path:
    return Path(settings.storage.url.removeprefix("sqlite:///"))


def open_inodes() -> set[tuple[int, int]]:
    """(device, inode) of every file this process has open."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            info = os.fstat(int(name))
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


class Dashboard:
    """The API blueprint over one ``DataService``, with the page's status area beside it."""

    def __init__(self, settings: Settings) -> None:
        self.service = DataService(settings, share=False)
        self.server = Flask(__name__)
        self.server.extensions[EXTENSION_KEY] = self.service
        self.server.register_blueprint(api.api)
        self.client: FlaskClient = self.server.test_client()

    def healthz(self) -> tuple[int, str]:
        response = self.client.get("/healthz")
        return response.status_code, str(response.get_json().get("error", ""))

    def status(self) -> tuple[int, str]:
        response = self.client.get("/api/v1/status")
        return response.status_code, str(response.get_json().get("error", ""))

    def status_area(self) -> str:
        """What the page shows where the lights would be."""
        with self.server.test_request_context("/"):
            children, _badge, _stamp = shell.status_lights(None, None, "")
        return " ".join(str(child.children) for child in children)


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    board = Dashboard(database(tmp_path))
    assert board.healthz() == (200, "")
    assert board.status()[0] == 200
    yield board


def test_a_replaced_file_makes_healthz_status_and_the_page_say_so(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    path = database_path(dashboard.service.settings)
    old = os.stat(path)
    other = database_path(database(tmp_path, "other.db"))
    os.replace(other, path)  # e.g. `mv backup.db pairwatch.db` while running
    code, reason = dashboard.healthz()
    print(f"\n[replaced] healthz {code}: {reason}")
    assert code == 503
    assert LOST in reason and str(path) in reason and "another file is there now" in reason
    assert dashboard.status() == (503, reason)
    assert reason in dashboard.status_area()
    assert (old.st_dev, old.st_ino) not in open_inodes()  # the pooled connections let go


def test_a_removed_file_is_reported_until_restart(dashboard: Dashboard, tmp_path: Path) -> None:
    path = database_path(dashboard.service.settings)
    old = os.stat(path)
    remove_database(path)
    code, reason = dashboard.healthz()
    print(f"\n[removed] healthz {code}: {reason}")
    assert code == 503
    assert LOST in reason and "no file is there now" in reason
    assert "the file this process has open is deleted" in reason
    assert (old.st_dev, old.st_ino) not in open_inodes()
    make_engine(dashboard.service.settings.storage.url).dispose()  # a new, empty file appears
    assert dashboard.healthz() == (503, reason)  # not silently served as if nothing happened
    assert reason in dashboard.status_area()


def test_a_file_overwritten_with_garbage_makes_healthz_503(dashboard: Dashboard) -> None:
    path = database_path(dashboard.service.settings)
    size = path.stat().st_size
    with path.open("r+b") as handle:  # in place: same inode, so only reading it tells
        handle.write(os.urandom(size))
    code, reason = dashboard.healthz()
    print(f"\n[garbage] healthz {code}: {reason}")
    assert code == 503
    assert reason == "database unreadable: file is not a database"
