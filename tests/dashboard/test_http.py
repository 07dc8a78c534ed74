"""The app over HTTP with Flask's test client: pages, Dash endpoints, API, headers, errors."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.dashboard.conftest import END_S

PAGES = ("/", "/prices", "/spread", "/correlation", "/alerts", "/backtest", "/nowhere")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_serves_with_dark_theme(client: FlaskClient, path: str) -> None:
    response = client.get(f"{path}?pair=BTC-ETH&tf=1m")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert '<html data-bs-theme="dark">' in body and "00-bootswatch-darkly.min.css" in body
    assert "cdn.jsdelivr" not in body and "fonts.googleapis" not in body


def test_layout_and_dependencies_list_every_page_output(client: FlaskClient) -> None:
    assert client.get("/_dash-layout").status_code == 200
    outputs = " ".join(d["output"] for d in client.get("/_dash-dependencies").get_json())
    for expected in (
        "spread-chart.figure",
        "spread-z-chart.figure",
        "spread-banner.color",
        "prices-chart.figure",
        "overview-cards.children",
        "corr-heatmap.figure",
        "alerts-grid.rowData",
        "alerts-download.data",
        "bt-equity.figure",
        "pw-status.children",
        "pw-tick.disabled",
        "pw-url.search@",
    ):
        assert expected in outputs, expected


def test_dash_update_component_round_trip(client: FlaskClient) -> None:
    deps = client.get("/_dash-dependencies").get_json()
    spread = next(d for d in deps if "spread-chart.figure" in d["output"])
    payload = {
        "output": spread["output"],
        "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]}
            for o in spread["output"].strip(".").split("...")
        ],
        "inputs": [
            {"id": "pw-tick", "property": "n_intervals", "value": 1},
            {"id": "pw-refresh-now", "property": "n_clicks", "value": None},
            {"id": "pw-url", "property": "search", "value": "?pair=BTC-ETH"},
        ],
        "state": [{"id": "pw-session", "property": "data", "value": "http-test"}],
        "changedPropIds": ["pw-tick.n_intervals"],
    }
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 200
    body = response.get_json()["response"]
    assert body["spread-banner"]["children"].startswith(("z =", "ALERT"))
    assert len(response.data) < 150_000


def test_security_headers_on_every_kind_of_response(client: FlaskClient) -> None:
    for path in ("/", "/api/v1/pairs", "/healthz", "/api/v1/bars?symbol=NOPE", "/assets/app.css"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_healthz_and_pairs(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/api/v1/pairs").get_json() == [
        {"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"},
        {"name": "SOL-ETH", "base": "SOLUSDT", "hedge": "ETHUSDT"},
    ]
    assert (
        client.get("/api/v1/pairs?format=csv").get_data(as_text=True).startswith("name,base,hedge")
    )


def test_analytics_contract(client: FlaskClient) -> None:
    body = client.get(
        "/api/v1/analytics?pair=BTC-ETH&tf=1s&window=300&z_window=60&method=rolling&series=true"
    ).get_json()
    for key in (
        "pair",
        "tf",
        "method",
        "n",
        "beta",
        "alpha",
        "r2",
        "z",
        "spread",
        "corr",
        "adf_stat",
        "adf_p",
        "half_life",
        "last_ts",
    ):
        assert key in body, key
    assert body["last_ts"] == END_S and body["method"] == "rolling"
    assert len(body["series"]["z"]) == body["n"] and body["series"]["z"][0] is None
    csv = client.get("/api/v1/analytics?pair=BTC-ETH&format=csv").get_data(as_text=True)
    assert csv.splitlines()[0] == "ts,base,hedge,beta,spread,z,corr"


def test_analytics_adhoc_pair_and_single_leg(client: FlaskClient) -> None:
    body = client.get("/api/v1/analytics?pair=ETHUSDT/BTCUSDT").get_json()
    assert body["pair"] == "ETHUSDT/BTCUSDT" and body["beta"] is not None
    empty = client.get("/api/v1/analytics?pair=SOL-ETH").get_json()
    assert empty["beta"] is None and "only one leg" in empty["notices"][0]


def test_bars_and_status(client: FlaskClient) -> None:
    bars = client.get(f"/api/v1/bars?symbol=BTCUSDT&tf=1m&start={END_S - 599}&end={END_S}")
    rows = bars.get_json()["bars"]
    assert len(rows) == 10 and all(r["ts_s"] % 60 == 0 for r in rows)
    iso = client.get(
        "/api/v1/bars?symbol=ethusdt&tf=5m&start=2024-06-01T01:00:00Z&end=2024-06-01T01:59:59Z"
    ).get_json()
    assert len(iso["bars"]) == 12
    status = client.get("/api/v1/status").get_json()
    btc = status["symbols"][0]
    assert btc["gaps"]["open"] == 1 and 0.99 < btc["completeness"] < 1
    assert client.get("/api/v1/status?format=csv").get_data(as_text=True).count("\n") == 4


def test_alerts_api_filters_and_guards_csv(client: FlaskClient) -> None:
    assert len(client.get("/api/v1/alerts?pair=BTC-ETH").get_json()["alerts"]) == 2
    down = client.get("/api/v1/alerts?direction=down").get_json()["alerts"]
    assert [a["direction"] for a in down] == ["DOWN"]
    csv = client.get("/api/v1/alerts?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv and "'-fired" in csv and ",-2.7," in csv
    assert "attachment" in client.get("/api/v1/alerts?format=csv").headers["Content-Disposition"]


BAD_REQUESTS = [
    ("/api/v1/analytics?pair=NOPE", "pair"),
    ("/api/v1/analytics", "pair"),
    ("/api/v1/analytics?pair=BTC-ETH&tf=2h", "tf"),
    ("/api/v1/analytics?pair=BTC-ETH&window=4", "window"),
    ("/api/v1/analytics?pair=BTC-ETH&window=100001", "window"),
    ("/api/v1/analytics?pair=BTC-ETH&window=12.5", "window"),
    ("/api/v1/analytics?pair=BTC-ETH&window=99999999999999999999999", "window"),
    ("/api/v1/analytics?pair=BTC-ETH&z_window=abc", "z_window"),
    ("/api/v1/analytics?pair=BTC-ETH&method=magic", "method"),
    ("/api/v1/analytics?pair=%F0%9F%92%A5%00", "pair"),
    ("/api/v1/analytics?pair=BTC-ETH&series=maybe", "series"),
    ("/api/v1/analytics?pair=BTC-ETH&format=xml", "format"),
    ("/api/v1/analytics?pair=BTC-ETH&bogus=1", "bogus"),
    ("/api/v1/analytics?pair=BTC-ETH&window=10&window=20", "window"),
    ("/api/v1/bars?tf=1m", "symbol"),
    ("/api/v1/bars?symbol=DOGEUSDT", "symbol"),
    ("/api/v1/bars?symbol=BTCUSDT&start=200&end=100", "start"),
    ("/api/v1/bars?symbol=BTCUSDT&start=yesterday", "start"),
    ("/api/v1/bars?symbol=BTCUSDT&start=0&end=4000000000", "end"),
    ("/api/v1/bars?symbol=BTCUSDT&end=1e309", "end"),
    ("/api/v1/alerts?direction=sideways", "direction"),
    ("/api/v1/alerts?limit=0", "limit"),
    ("/api/v1/alerts?limit=-5", "limit"),
    ("/api/v1/alerts?start=9999999999999", "start"),
    ("/api/v1/status?x=1", "x"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD_REQUESTS)
def test_bad_parameters_are_400_with_the_parameter_named(
    client: FlaskClient, url: str, parameter: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["error"]


def test_unhandled_errors_are_json_500_without_details(client: FlaskClient, monkeypatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr("dashboard.data.feed.status_report", explode)
    response = client.get("/api/v1/status")
    assert response.status_code == 500
    assert json.loads(response.data) == {"error": "internal server error"}


def test_unknown_api_paths_are_a_json_404(client: FlaskClient) -> None:
    for path in ("/api/v1/nope", "/api/v1/bars/extra", "/api/v1/"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.is_json and "no endpoint" in answer.get_json()["error"]
    assert client.post("/api/v1/nope").status_code == 404


def test_symbols_are_matched_in_any_case_and_with_the_default_market(client: FlaskClient) -> None:
    """``spot:ethusdt`` on a spot feed is the ETHUSDT series (the stored key)."""
    answer = client.get(f"/api/v1/bars?symbol=spot:ethusdt&tf=1m&start={END_S - 599}&end={END_S}")
    assert answer.status_code == 200 and len(answer.get_json()["bars"]) == 10
