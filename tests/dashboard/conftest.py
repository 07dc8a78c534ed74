"""Fixtures for the dashboard tests: a seeded SQLite file, settings from YAML, one Dash app.

The Dash app is built once per session (Dash Pages registers page callbacks globally and hands
them to the first app that serves a request). Tests that need another database swap the
app's ``DataService`` with ``use_service`` instead of building a second app.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashboard.app import create_app
from dashboard.context import EXTENSION_KEY
from dashboard.services import DataService
from ingest.settings import Settings, load_settings
from ingest.storage import (
    Gap,
    Trade,
    aggregate_trades,
    insert_alerts,
    insert_trades,
    make_engine,
    merge_bars,
    open_gap,
    upsert_status,
)

START_S = 1_717_200_000  # 2024-06-01 00:00:00 UTC
SECONDS = 2 * 3600
END_S = START_S + SECONDS - 1
NOW_MS = (END_S + 1) * 1000
TRUE_BETA = 20.0

CONFIG = """
storage:
  url: sqlite:///{db}
pairs:
  - {{name: BTC-ETH, base: BTCUSDT, hedge: ETHUSDT}}
  - {{name: SOL-ETH, base: SOLUSDT, hedge: ETHUSDT}}
analytics:
  timeframe: 1s
  window: 300
  z_window: 60
alerts:
  rules:
    - {{name: z2, pair: BTC-ETH, entry_z: 2.0, exit_z: 0.5, cooldown_s: 60, direction: both}}
dashboard:
  timezone: Asia/Kolkata
  max_points: 2000
  auth: {{enabled: {auth}}}
"""


def write_settings(directory: Path, db_name: str = "pairwatch.db", auth: bool = False) -> Settings:
    """Write a config YAML for a database file in ``directory`` and load it."""
    path = directory / f"{db_name}.yaml"
    db = directory / db_name
    path.write_text(CONFIG.format(db=db, auth=str(auth).lower()), encoding="utf-8")
    return load_settings(path, environ={})


def cointegrated_trades(start_s: int, seconds: int, seed: int = 7) -> list[Trade]:
    """Two trades per second per leg: ETH a random walk, BTC = 20·ETH + 500 + OU noise."""
    rng = np.random.default_rng(seed)
    hedge = 3000.0 + np.cumsum(rng.normal(0.0, 0.5, seconds))
    noise = np.zeros(seconds)
    for i in range(1, seconds):
        noise[i] = 0.95 * noise[i - 1] + rng.normal(0.0, 4.0)
    base = TRUE_BETA * hedge + 500.0 + noise
    trades: list[Trade] = []
    for i in range(seconds):
        ts_ms = (start_s + i) * 1000
        for k in range(2):
            trades.append(Trade("BTCUSDT", 2 * i + k + 1, ts_ms + 300 * k, base[i], 0.01, k == 1))
            trades.append(Trade("ETHUSDT", 2 * i + k + 1, ts_ms + 400 * k, hedge[i], 0.2, k == 0))
    return trades


def seed(engine_url: str, trades: list[Trade]) -> None:
    engine = make_engine(engine_url)
    with engine.begin() as conn:
        insert_trades(conn, trades)
        merge_bars(conn, aggregate_trades(trades))
    engine.dispose()


def status_row(
    symbol: str,
    *,
    updated_ms: int,
    last_trade_ms: int | None,
    connected: bool = True,
    reconnects: int = 0,
    source: str = "simulator",
    reason: str = "",
    **typed: object,
) -> dict:
    """A ``feed_status`` row; ``typed`` sets further columns (``link_state``, counters …)."""
    return typed | {
        "symbol": symbol,
        "connected": connected,
        "last_trade_ms": last_trade_ms,
        "last_msg_ms": updated_ms,
        "reconnects": reconnects,
        "updated_ms": updated_ms,
        "last_trade_id": None,
        "rate": 2.0,
        "source": source,
        "reason": reason,
    }


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings over a database seeded with two hours of a cointegrated BTC/ETH pair."""
    directory = tmp_path_factory.mktemp("db")
    config = write_settings(directory)
    seed(config.storage.url, cointegrated_trades(START_S, SECONDS))
    engine = make_engine(config.storage.url)
    with engine.begin() as conn:
        upsert_status(
            conn,
            [
                status_row("BTCUSDT", updated_ms=NOW_MS - 500, last_trade_ms=NOW_MS - 1000),
                status_row("ETHUSDT", updated_ms=NOW_MS - 500, last_trade_ms=NOW_MS - 20_000),
            ],
        )
        open_gap(
            conn,
            Gap("BTCUSDT", 5000, 5009, (END_S - 700) * 1000, (END_S - 690) * 1000),
            detected_ms=(END_S - 600) * 1000,
        )
        insert_alerts(
            conn,
            [
                {
                    "pair": "BTC-ETH",
                    "rule": "z2",
                    "direction": "UP",
                    "z": 2.4,
                    "spread": 12.5,
                    "beta": 20.0,
                    "ts_ms": (END_S - 120) * 1000,
                    "state": "fired",
                },
                {
                    "pair": "BTC-ETH",
                    "rule": '=HYPERLINK("http://x")',
                    "direction": "DOWN",
                    "z": -2.7,
                    "spread": -13.0,
                    "beta": 20.0,
                    "ts_ms": (END_S - 60) * 1000,
                    "state": "-fired",
                },
            ],
        )
    engine.dispose()
    return config


@pytest.fixture(scope="session")
def service(settings: Settings) -> DataService:
    return DataService(settings, clock_ms=lambda: NOW_MS)


@pytest.fixture(scope="session")
def app(settings: Settings, service: DataService) -> Dash:
    """The one Dash app of the test session."""
    return create_app(settings, service)


@pytest.fixture
def client(app: Dash) -> FlaskClient:
    return app.server.test_client()


@pytest.fixture
def app_context(app: Dash) -> Iterator[None]:
    with app.server.test_request_context("/"):
        yield


@pytest.fixture
def use_service(app: Dash) -> Iterator:
    """Temporarily serve another ``DataService`` (e.g. over an empty database)."""

    @contextlib.contextmanager
    def swap(other: DataService) -> Iterator[DataService]:
        saved = app.server.extensions[EXTENSION_KEY]
        app.server.extensions[EXTENSION_KEY] = other
        try:
            yield other
        finally:
            app.server.extensions[EXTENSION_KEY] = saved

    return swap


def page(name: str) -> ModuleType:
    """A Dash page module as Dash Pages registered it (``pages.<name>``)."""
    return sys.modules[f"pages.{name}"]
