"""The backtest over the seeded database: ``/api/v1/backtest`` (JSON, CSV, 400s), the service's
parameters (fill, slippage, log-space β) and the drawdown chart's shared definition."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from analytics.backtest import TRADE_COLUMNS, BacktestParams, drawdown, run_backtest
from dashboard import figures
from dashboard.data import pairs
from dashboard.params import parse_view
from dashboard.services import DataService
from dashboard.wording import notice_text
from ingest.settings import Settings

URL = "/api/v1/backtest?pair=BTC-ETH&tf=1s&method=rolling&window=120&entry_z=1.5&exit_z=0.2"


def test_backtest_contract(client: FlaskClient) -> None:
    response = client.get(f"{URL}&fee_bps=1&slippage_bps=2&lookback=60")
    assert response.status_code == 200
    body = response.get_json()
    assert {"trades", "equity", "stats", "notices"} <= set(body)
    assert body["pair"] == "BTC-ETH" and body["method"] == "rolling"
    stats = body["stats"]
    for key in (
        "total_return",
        "sharpe",
        "sharpe_reason",
        "max_drawdown",
        "hit_rate",
        "n_trades",
        "fill",
        "fee_bps",
        "slippage_bps",
    ):
        assert key in stats, key
    assert stats["fill"] == "next" and stats["fee_bps"] == 1.0 and stats["slippage_bps"] == 2.0
    # two hours of bars: no Sharpe, and the reason says why
    assert stats["sharpe"] is None
    assert stats["sharpe_reason"].startswith("needs at least 2 days of bars; this run covers 0.")
    assert 0.0 <= stats["max_drawdown"] <= 1.0
    trades = body["trades"]
    assert stats["n_trades"] == len(trades) > 0
    assert all(set(t) == set(TRADE_COLUMNS) for t in trades)
    ts, equity = body["equity"]["ts"], body["equity"]["equity"]
    assert len(ts) == len(equity) == 3600 and ts == sorted(ts)
    bar_of = {t: i for i, t in enumerate(ts)}
    for trade in trades:
        assert trade["side"] in {"long", "short"}
        # "short" shorts the spread, entered when z was above +entry
        assert (trade["entry_z"] > 1.5) if trade["side"] == "short" else (trade["entry_z"] < -1.5)
        assert trade["entry_ts"] in bar_of and trade["exit_ts"] in bar_of
        assert trade["exit_ts"] > trade["entry_ts"] and trade["fees"] > 0
        assert trade["reason"] == "exit"
    assert stats["total_return"] == pytest.approx(equity[-1] / 10_000.0)
    assert not any("look-ahead" in n or "optimistic" in n for n in body["notices"])


def test_next_bar_fills_sit_one_bar_after_the_signal(client: FlaskClient) -> None:
    series = client.get(
        "/api/v1/analytics?pair=BTC-ETH&tf=1s&method=rolling&window=120&lookback=60&series=true"
    ).get_json()["series"]
    z = dict(zip(series["ts"], series["z"], strict=True))
    trades = client.get(URL).get_json()["trades"]
    assert trades
    for trade in trades:
        # the decision is made on the previous bar's z; the fill (and the trade's time) is here
        assert z[trade["entry_ts"] - 1] == pytest.approx(trade["entry_z"])
        assert z[trade["exit_ts"] - 1] == pytest.approx(trade["exit_z"])


def test_same_bar_fill_is_offered_but_flagged_optimistic(client: FlaskClient) -> None:
    later = client.get(URL).get_json()
    same = client.get(f"{URL}&fill=same").get_json()
    assert same["stats"]["fill"] == "same"
    assert any(n.startswith("Same-bar fills are optimistic") for n in same["notices"])
    assert [t["entry_ts"] for t in same["trades"]] != [t["entry_ts"] for t in later["trades"]]


def test_slippage_is_a_cost_beside_fees(client: FlaskClient) -> None:
    split = client.get(f"{URL}&fee_bps=1&slippage_bps=2").get_json()
    fees = client.get(f"{URL}&fee_bps=3&slippage_bps=0").get_json()
    free = client.get(f"{URL}&fee_bps=0&slippage_bps=0").get_json()
    assert [t["fees"] for t in split["trades"]] == pytest.approx(
        [t["fees"] for t in fees["trades"]]
    )
    assert all(t["fees"] == 0 for t in free["trades"])
    assert split["stats"]["total_return"] < free["stats"]["total_return"]


def test_backtest_csv_is_the_trades_table(client: FlaskClient) -> None:
    response = client.get(f"{URL}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert tuple(frame.columns) == TRADE_COLUMNS
    body = client.get(URL).get_json()
    assert len(frame) == body["stats"]["n_trades"]
    assert frame["entry_ts"].tolist() == [t["entry_ts"] for t in body["trades"]]


def test_single_leg_pair_is_200_with_the_reason(client: FlaskClient) -> None:
    body = client.get("/api/v1/backtest?pair=SOL-ETH").get_json()
    assert body["trades"] == [] and body["equity"] == {"ts": [], "equity": []}
    assert body["stats"]["n_trades"] == 0 and body["stats"]["sharpe"] is None
    assert "only one leg" in body["notices"][0]


BAD_REQUESTS = [
    ("/api/v1/backtest", "pair"),
    ("/api/v1/backtest?pair=NOPE", "pair"),
    ("/api/v1/backtest?pair=BTC-ETH&entry_z=2&exit_z=2", "exit_z"),
    ("/api/v1/backtest?pair=BTC-ETH&entry_z=1&exit_z=1.5", "exit_z"),
    ("/api/v1/backtest?pair=BTC-ETH&entry_z=0", "entry_z"),
    ("/api/v1/backtest?pair=BTC-ETH&exit_z=x", "exit_z"),
    ("/api/v1/backtest?pair=BTC-ETH&entry=2", "entry"),
    ("/api/v1/backtest?pair=BTC-ETH&bogus=1", "bogus"),
    ("/api/v1/backtest?pair=BTC-ETH&fee_bps=-1", "fee_bps"),
    ("/api/v1/backtest?pair=BTC-ETH&slippage_bps=abc", "slippage_bps"),
    ("/api/v1/backtest?pair=BTC-ETH&slippage_bps=1001", "slippage_bps"),
    ("/api/v1/backtest?pair=BTC-ETH&fill=later", "fill"),
    ("/api/v1/backtest?pair=BTC-ETH&tf=2h", "tf"),
    ("/api/v1/backtest?pair=BTC-ETH&method=magic", "method"),
    ("/api/v1/backtest?pair=BTC-ETH&window=4", "window"),
    ("/api/v1/backtest?pair=BTC-ETH&lookback=0", "lookback"),
    ("/api/v1/backtest?pair=BTC-ETH&fee_bps=1&fee_bps=2", "fee_bps"),
    ("/api/v1/backtest?pair=BTC-ETH&format=xml", "format"),
]


@pytest.mark.parametrize(("url", "parameter"), BAD_REQUESTS)
def test_bad_backtest_parameters_are_400_naming_the_parameter(
    client: FlaskClient, url: str, parameter: str
) -> None:
    response = client.get(url)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["error"]
    if parameter == "exit_z":
        assert "exit_z" in body["error"]


def _captured_params(
    service: DataService, settings: Settings, monkeypatch: pytest.MonkeyPatch, **query: str
) -> BacktestParams:
    captured: dict[str, BacktestParams] = {}

    def spy(*args: object, params: BacktestParams) -> object:
        captured["params"] = params
        return run_backtest(*args, params=params)

    monkeypatch.setattr("dashboard.data.pairs.run_backtest", spy)
    view = parse_view(settings, {"method": "rolling", "window": "120", **query}, strict=True)
    assert pairs.backtest(service, view).result is not None
    return captured["params"]


def test_service_passes_fill_slippage_and_beta_space(
    service: DataService, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _captured_params(
        service, settings, monkeypatch, slippage_bps="2.5", fill="same", fee_bps="1"
    )
    assert (params.fill, params.slippage_bps, params.fee_bps) == ("same", 2.5, 1.0)
    assert params.beta_space == "price"  # analytics.log_prices is false in this config
    default = _captured_params(service, settings, monkeypatch)
    assert (default.fill, default.slippage_bps) == ("next", 0.0)
    log_settings = settings.model_copy(
        update={"analytics": settings.analytics.model_copy(update={"log_prices": True})}
    )
    log_service = DataService(log_settings, clock_ms=service.now_ms, share=False)
    assert _captured_params(log_service, log_settings, monkeypatch).beta_space == "log"


def test_ols_backtest_has_no_look_ahead_notice(service: DataService, settings: Settings) -> None:
    outcome = pairs.backtest(service, parse_view(settings, {"method": "ols", "window": "300"}))
    assert not any("look-ahead" in notice_text(n) for n in outcome.notices)


def test_drawdown_chart_uses_the_backtest_definition() -> None:
    equity = pd.Series([0.0, 500.0, -200.0, -12_000.0, -9_000.0], index=np.arange(5) * 60)
    figure = figures.drawdown_figure(equity, 10_000.0, "UTC", max_points=100)
    expected = -drawdown(equity.to_numpy(), 10_000.0)
    np.testing.assert_allclose(figure.data[0].y, expected)
    assert min(figure.data[0].y) == -1.0  # a loss beyond the notional is 100%, never more
