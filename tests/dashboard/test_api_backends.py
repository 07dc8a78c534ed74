"""The HTTP API over both storage backends: the same data gives the same answers.

Seeds two hours of a cointegrated BTC/ETH pair (true β = 20), a feed status, a gap and an alert
into a SQLite file and into a fresh PostgreSQL schema, serves each through the session's app
(``use_service``) and checks the API answers, including that β is recovered.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from analytics import ols_fit
from dashboard.services import DataService
from ingest.settings import Settings
from ingest.storage import Gap, insert_alerts, make_engine, open_gap, upsert_status
from tests.dashboard.conftest import (
    END_S,
    NOW_MS,
    SECONDS,
    START_S,
    TRUE_BETA,
    cointegrated_trades,
    seed,
    status_row,
)


@pytest.fixture
def backend_client(backend_url: str, settings: Settings, client: FlaskClient, use_service):
    """The app's test client reading ``backend_url``, seeded like the session database."""
    seed(backend_url, cointegrated_trades(START_S, SECONDS))
    engine = make_engine(backend_url)
    with engine.begin() as conn:
        upsert_status(
            conn,
            [
                status_row(s, updated_ms=NOW_MS - 500, last_trade_ms=NOW_MS - 900)
                for s in ("BTCUSDT", "ETHUSDT")
            ],
        )
        open_gap(
            conn,
            Gap("ETHUSDT", 100, 109, START_S * 1000, START_S * 1000 + 60_000),
            detected_ms=NOW_MS,
        )
        insert_alerts(
            conn,
            [
                {
                    "pair": "BTC-ETH",
                    "rule": "z2",
                    "direction": "UP",
                    "z": 2.2,
                    "spread": 3.0,
                    "beta": 20.0,
                    "ts_ms": (END_S - 5) * 1000,
                }
            ],
        )
    engine.dispose()
    storage = settings.storage.model_copy(update={"url": backend_url})
    service = DataService(settings.model_copy(update={"storage": storage}), clock_ms=lambda: NOW_MS)
    with use_service(service):
        yield client


def test_analytics_recovers_beta_on_each_backend(backend_client: FlaskClient) -> None:
    body = backend_client.get(
        "/api/v1/analytics?pair=BTC-ETH&tf=1s&window=600&z_window=60&method=ols"
    ).get_json()
    trades = cointegrated_trades(START_S, SECONDS)
    closes = {  # the second trade of each second closes its bar
        leg: [t.price for t in trades if t.symbol == leg and t.trade_id % 2 == 0]
        for leg in ("BTCUSDT", "ETHUSDT")
    }
    expected = ols_fit(closes["BTCUSDT"][-600:], closes["ETHUSDT"][-600:])
    assert body["last_ts"] == END_S
    assert body["beta"] == pytest.approx(expected.beta, rel=1e-9)
    assert body["r2"] == pytest.approx(expected.r2, rel=1e-9)
    assert body["beta"] == pytest.approx(TRUE_BETA, rel=0.05)
    assert body["adf_p"] < 0.05


def test_bars_alerts_and_status_on_each_backend(backend_client: FlaskClient) -> None:
    bars = backend_client.get(f"/api/v1/bars?symbol=BTCUSDT&tf=1m&start={START_S}&end={END_S}")
    assert len(bars.get_json()["bars"]) == SECONDS // 60
    alerts = backend_client.get("/api/v1/alerts?pair=BTC-ETH").get_json()["alerts"]
    assert [(a["direction"], a["z"]) for a in alerts] == [("UP", 2.2)]
    status = {s["symbol"]: s for s in backend_client.get("/api/v1/status").get_json()["symbols"]}
    assert status["ETHUSDT"]["gaps"]["open"] == 1
    assert status["BTCUSDT"]["gaps"]["open"] == 0
    assert status["BTCUSDT"]["completeness"] == 1.0
    assert status["ETHUSDT"]["completeness"] < 1.0
