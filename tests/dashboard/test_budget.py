"""Work budgets and the heavy-work limiter: caps refused with a 400 naming them, 429 when busy.

The caps are checked from the query alone, so each refusal is deterministic; the limiter is
saturated by taking every slot of the app's ``DataService`` by hand, then released.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from dash import Dash
from flask.testing import FlaskClient

from dashboard import budget
from dashboard.context import EXTENSION_KEY
from dashboard.limiter import HEAVY_SLOTS, RETRY_AFTER_S, WORKER_THREADS, HeavyLimiter
from dashboard.params import default_view
from ingest.settings import Settings
from tests.dashboard.conftest import END_S, page

HEAVY = "/api/v1/analytics?pair=BTC-ETH&tf=1s&lookback=1440"
LIGHT = "/api/v1/analytics?pair=BTC-ETH"
BACKTEST_1M = "/api/v1/backtest?pair=BTC-ETH&tf=1m&lookback=1440"


@contextmanager
def saturated(app: Dash) -> Iterator[HeavyLimiter]:
    """Every heavy slot of the app's worker taken, as by long heavy requests."""
    limiter: HeavyLimiter = app.server.extensions[EXTENSION_KEY].limiter
    taken = [limiter.try_acquire() for _ in range(limiter.slots)]
    assert all(taken)
    try:
        yield limiter
    finally:
        for _ in taken:
            limiter.release()


def all_slots_free(limiter: HeavyLimiter) -> bool:
    taken = [limiter.try_acquire() for _ in range(limiter.slots)]
    for ok in taken:
        if ok:
            limiter.release()
    return all(taken)


def spread_payload(client: FlaskClient, search: str, session: str) -> dict:
    deps = client.get("/_dash-dependencies").get_json()
    spread = next(d for d in deps if "spread-chart.figure" in d["output"])
    return {
        "output": spread["output"],
        "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]}
            for o in spread["output"].strip(".").split("...")
        ],
        "inputs": [
            {"id": "pw-tick", "property": "n_intervals", "value": 1},
            {"id": "pw-refresh-now", "property": "n_clicks", "value": None},
            {"id": "pw-url", "property": "search", "value": search},
        ],
        "state": [{"id": "pw-session", "property": "data", "value": session}],
        "changedPropIds": ["pw-tick.n_intervals"],
    }


def test_heavy_slots_leave_threads_for_light_requests() -> None:
    assert 1 <= HEAVY_SLOTS < WORKER_THREADS


def test_default_views_are_light_and_long_ones_heavy(settings: Settings) -> None:
    view = default_view(settings)
    assert not budget.pair_work(view).heavy
    assert budget.pair_work(replace(view, lookback=1440)).heavy
    assert budget.pair_work(replace(view, method="robust")).heavy  # ~1 s of Huber fits


def test_heatmap_symbols_share_the_read_budget() -> None:
    assert budget.heatmap_span(2, "1s", 10**6) == budget.MAX_READ_BARS // 2
    assert budget.heatmap_span(4, "1s", 10**6) == budget.MAX_READ_BARS // 4
    assert budget.heatmap_span(4, "1m", 61) == 61 * 60
    assert budget.heatmap_work(8, "1s", 10**6).read_bars <= budget.MAX_READ_BARS


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/analytics?pair=BTC-ETH&tf=1s&lookback=334&series=true", "series"),
        ("/api/v1/analytics?pair=BTC-ETH&tf=1s&lookback=334&format=csv", "format"),
        (f"/api/v1/bars?symbol=BTCUSDT&tf=1s&start={END_S - 20_000}&end={END_S + 1}", "end"),
        ("/api/v1/backtest?pair=BTC-ETH&tf=1s&lookback=334", "lookback"),
    ],
)
def test_series_over_the_points_cap_is_a_400_naming_it(
    client: FlaskClient, path: str, parameter: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["parameter"] == parameter
    assert f"at most {budget.MAX_SERIES_POINTS:,} bars" in body["error"]


def test_answers_within_the_points_cap_are_served(client: FlaskClient) -> None:
    assert (
        client.get("/api/v1/analytics?pair=BTC-ETH&tf=1s&lookback=333&series=1").status_code == 200
    )
    assert (
        client.get("/api/v1/backtest?pair=BTC-ETH&tf=1s&lookback=334&format=csv").status_code == 200
    )
    bars = client.get(f"/api/v1/bars?symbol=BTCUSDT&tf=1s&start={END_S - 19_999}")
    assert bars.status_code == 200 and len(bars.get_json()["bars"]) <= budget.MAX_SERIES_POINTS


def test_robust_fit_over_budget_is_a_400_on_the_api(client: FlaskClient) -> None:
    for endpoint in ("analytics", "backtest"):
        answer = client.get(f"/api/v1/{endpoint}?pair=BTC-ETH&method=robust&window=1000")
        assert answer.status_code == 400, endpoint
        body = answer.get_json()
        assert body["parameter"] == "window"
        assert f"cap of {budget.MAX_ROBUST_VALUES:,}" in body["error"]


@pytest.mark.usefixtures("app_context")
def test_robust_fit_over_budget_is_a_notice_on_the_page(settings: Settings) -> None:
    view = replace(default_view(settings), method="robust", window=1000)
    text, _color, spread, *_rest, notices, _progress, _hidden = page("spread").render(view)
    assert "not enough data" in text and spread.data == ()
    assert f"cap of {budget.MAX_ROBUST_VALUES:,}" in str(notices)


def test_saturated_worker_refuses_heavy_api_requests_with_429(app: Dash) -> None:
    client = app.server.test_client()
    with saturated(app):
        for path in (HEAVY, f"{HEAVY}&window=777", BACKTEST_1M):
            answer = client.get(path)
            assert answer.status_code == 429, path
            assert answer.headers["Retry-After"] == str(RETRY_AFTER_S)
            assert "heavy slots" in answer.get_json()["error"]
        refused_bars = client.get(f"/api/v1/bars?symbol=BTCUSDT&tf=1m&start={END_S - 86_400}")
        assert refused_bars.status_code == 429


def test_saturated_worker_still_serves_light_requests(app: Dash) -> None:
    client = app.server.test_client()
    with saturated(app):
        for path in ("/healthz", "/api/v1/pairs", LIGHT, "/assets/app.css", "/_dash-layout"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "Retry-After" not in answer.headers


def test_refused_callback_keeps_its_outputs_whatever_the_session(app: Dash) -> None:
    client = app.server.test_client()
    heavy = "?pair=BTC-ETH&tf=1s&lookback=1440&window=301"
    with saturated(app):
        for session in ("a", "b", "fresh-every-time"):
            answer = client.post(
                "/_dash-update-component", json=spread_payload(client, heavy, session)
            )
            assert answer.status_code == 200, session
            assert answer.get_json()["response"] == {}  # no output updated: figures stay
            assert answer.headers["Retry-After"] == str(RETRY_AFTER_S)
        light = client.post(
            "/_dash-update-component", json=spread_payload(client, "?pair=BTC-ETH", "a")
        )
        assert light.status_code == 200


def test_heavy_requests_release_their_slot(app: Dash) -> None:
    client = app.server.test_client()
    limiter = app.server.extensions[EXTENSION_KEY].limiter
    assert client.get(HEAVY).status_code == 200
    assert client.get(f"{HEAVY}&series=true").status_code == 400  # refused before a slot
    assert (
        client.post(
            "/_dash-update-component",
            json=spread_payload(client, "?pair=BTC-ETH&tf=1s&lookback=1440", "release"),
        ).status_code
        == 200
    )
    assert all_slots_free(limiter)
