"""Shared fixtures: data paths, database backends, config files, simulators and a wait helper.

``backend_url`` is parametrized over SQLite (a file in ``tmp_path``) and PostgreSQL (a fresh
schema in the local server's ``test`` database, dropped afterwards); PostgreSQL cases skip with
the reason when no server answers. ``wait_until`` polls a condition with a deadline so no test
sleeps for a fixed time (``tests.simulator_helpers`` builds the waits on a simulator on it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.simulator import Simulator, SimulatorConfig

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "real"
PG_URL = os.environ.get(
    "PAIRWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def real_file(name: str) -> Path:
    """Path of a file in ../shared/data/real, skipping the test when it is absent."""
    path = REAL_DATA / name
    if not path.exists():
        pytest.skip(f"real data file {path} is absent (../shared/data/real not beside the repo)")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``condition`` every 20 ms until it returns a truthy value or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _pg_reason() -> str | None:
    try:
        import psycopg  # noqa: PLC0415

        plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, connect_timeout=2):
            return None
    except Exception as exc:
        return f"no PostgreSQL server answers at {PG_URL}: {type(exc).__name__}"


_PG_SKIP = _pg_reason()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``postgres`` every test that runs on the PostgreSQL server (``pg_url`` directly, or
    the ``postgresql`` case of ``backend_url``), so ``-m "not postgres"`` leaves them out."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend_url") if callspec is not None else None
        if "pg_url" in getattr(item, "fixturenames", ()) or backend == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if _PG_SKIP:
        pytest.skip(_PG_SKIP)
    import psycopg  # noqa: PLC0415

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's folder."""
    return f"sqlite:///{tmp_path / 'db' / 'pairwatch.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per storage backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


DEFAULT_CONFIG: dict[str, Any] = {
    "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a config YAML (defaults merged with the given sections) and return its path."""

    def write(data: dict[str, Any] | None = None, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(_deep_merge(DEFAULT_CONFIG, data or {})))
        return path

    return write


@pytest.fixture
def make_sim() -> Iterator[Callable[..., Simulator]]:
    """Factory: ``make_sim(**config)`` → a started ``Simulator``, every one stopped after the
    test (a simulator that failed meanwhile raises its ``SimulatorError`` there)."""
    with contextlib.ExitStack() as started:

        def factory(**kw: object) -> Simulator:
            kw.setdefault("ping_interval_s", None)
            return started.enter_context(Simulator(SimulatorConfig(), **kw))

        yield factory
