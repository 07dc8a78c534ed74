"""The simulator's 24 h tickers answer as Binance documents them: fields, weights, parameters.

Sources (each test names the one it checks):
[SPOT] binance/binance-spot-api-docs rest-api.md, commit a5e0bc3 (2026-07-21), "24hr ticker
       price change statistics" (weights, ``symbol``/``symbols``, Response - FULL); [ERR]
       errors.md (-1121 "Invalid symbol.", -1101, -1102, -1128); [ENUM] enums.md "Symbol status"
[UM]   binance/binance-connector-python 29da329 (2026-08-21), USD-M rest_api/api/
       market_data_api.py ``ticker24hr_price_change_statistics`` ("24hr Ticker Price Change
       Statistics": weight 1 for a single symbol, 40 when the symbol parameter is omitted) and
       models/ticker24hr_price_change_statistics_response1.py (the fields)
"""

from __future__ import annotations

import json
import re

import pytest
import requests
import websocket

from ingest.simulator import SimulatorConfig
from tests.simulator_helpers import wait_generated

SPOT_FIELDS = [
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
]
USDM_FIELDS = [
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "lastPrice",
    "lastQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
]
INTEGERS = {"openTime", "closeTime", "firstId", "lastId", "count"}
DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
RATES = {"BTCUSDT": 30.0, "ETHUSDT": 10.0, "SOLUSDT": 20.0}
TICKER = {"spot": "/api/v3/ticker/24hr", "usdm": "/fapi/v1/ticker/24hr"}
MINUTE_MS = 60_000


@pytest.fixture
def sim(make_sim):
    """Three symbols trading at different rates over a 2-day generated past, one halted."""
    return make_sim(
        symbols=SYMBOLS,
        rates=RATES,
        proportional=True,
        halted=("LUNAUSDT",),
        history_s=2 * 86400,
        history_1s_s=60,
    )


def get(sim, market: str, **params: str) -> requests.Response:
    return requests.get(sim.rest_base + TICKER[market], params=params, timeout=10)


def check_row(row: dict, fields: list[str]) -> None:
    assert list(row) == fields
    for name in fields[1:]:
        if name in INTEGERS:
            assert type(row[name]) is int, (name, row[name])
        else:
            assert isinstance(row[name], str) and DECIMAL.match(row[name]), (name, row[name])


@pytest.mark.parametrize(("market", "fields"), [("spot", SPOT_FIELDS), ("usdm", USDM_FIELDS)])
def test_24hr_ticker_price_change_statistics_rows_have_the_documented_fields(sim, market, fields):
    """[SPOT] Response - FULL / [UM] response model: these fields in this order, decimals as
    strings, times, ids and count as integers; every listed symbol without a parameter."""
    rows = get(sim, market).json()
    assert [row["symbol"] for row in rows] == [*SYMBOLS, "LUNAUSDT"]
    for row in rows:
        check_row(row, fields)
    one = get(sim, market, symbol="ETHUSDT").json()
    assert isinstance(one, dict) and one["symbol"] == "ETHUSDT"
    check_row(one, fields)


def test_the_ticker_is_the_newest_1440_one_minute_klines_aggregated(sim):
    """Rolling 24 h statistics: open of the first, high, low, close of the last, summed
    volumes and trades, weighted average = quote / base volume, previous close before."""
    for _attempt in range(3):  # a minute boundary between the calls moves the window
        klines = requests.get(
            sim.rest_base + "/api/v3/klines",
            params={"symbol": "BTCUSDT", "interval": "1m", "limit": 1000},
            timeout=10,
        ).json()
        older = requests.get(
            sim.rest_base + "/api/v3/klines",
            params={
                "symbol": "BTCUSDT",
                "interval": "1m",
                "endTime": klines[0][0] - 1,
                "limit": 441,
            },
            timeout=10,
        ).json()
        row = get(sim, "spot", symbol="BTCUSDT").json()
        if row["openTime"] == older[1][0]:
            break
    window = older[1:] + klines
    assert len(window) == 1440 and row["openTime"] == window[0][0]
    assert window[-1][0] <= row["closeTime"] <= window[-1][6]
    assert row["openPrice"] == window[0][1] and row["lastPrice"] == window[-1][4]
    assert row["prevClosePrice"] == older[0][4]
    assert float(row["highPrice"]) == max(float(k[2]) for k in window)
    assert float(row["lowPrice"]) == min(float(k[3]) for k in window)
    volume, quote = (sum(float(k[i]) for k in window) for i in (5, 7))
    assert float(row["volume"]) == pytest.approx(volume, rel=1e-9)
    assert float(row["quoteVolume"]) == pytest.approx(quote, rel=1e-9)
    assert float(row["weightedAvgPrice"]) == pytest.approx(quote / volume, rel=1e-8)
    assert row["count"] == sum(k[8] for k in window)
    change = float(window[-1][4]) - float(window[0][1])
    assert float(row["priceChange"]) == pytest.approx(change, abs=1e-8)
    assert row["priceChangePercent"] == f"{100 * change / float(window[0][1]):.3f}"
    assert (row["firstId"], row["lastId"], row["lastQty"]) == (-1, -1, "0.00000000")
    assert row["bidPrice"] == row["askPrice"] == "0.00000000"  # no order book


def test_quote_volumes_rank_by_each_symbols_own_rate(sim):
    """``rates`` sets trades/s per symbol, so 24 h volumes are distinct and rank by it."""
    for market in ("spot", "usdm"):
        volumes = {row["symbol"]: float(row["quoteVolume"]) for row in get(sim, market).json()}
        assert sorted(volumes, key=volumes.__getitem__, reverse=True) == [
            "BTCUSDT",
            "SOLUSDT",
            "ETHUSDT",
            "LUNAUSDT",
        ]
        assert volumes["LUNAUSDT"] == 0.0
        assert volumes["BTCUSDT"] / volumes["ETHUSDT"] == pytest.approx(3.0, rel=0.1)


def test_live_trades_give_first_and_last_id_and_last_qty(make_sim):
    sim = make_sim(symbols=("BTCUSDT",), rate=50, klines=False)
    ws = websocket.create_connection(sim.ws_base + "/ws/btcusdt@trade", timeout=10)
    try:
        wait_generated(sim, 20)
    finally:
        ws.close()
    row = get(sim, "usdm", symbol="BTCUSDT").json()
    trades = sim.trades_frame("BTCUSDT")
    live = trades[trades["trade_id"] <= row["lastId"]]  # generation may go on for a moment
    assert (row["firstId"], row["count"]) == (1, len(live))
    assert float(row["lastQty"]) == pytest.approx(float(live["qty"].iloc[-1]), abs=1e-8)
    assert float(row["lastPrice"]) == pytest.approx(float(live["price"].iloc[-1]), abs=1e-8)


@pytest.mark.parametrize(
    ("market", "params", "weight"),
    [
        ("spot", {}, 80),
        ("spot", {"symbol": "BTCUSDT"}, 2),
        ("spot", {"symbols": json.dumps(["BTCUSDT", "ETHUSDT"])}, 2),
        ("spot", {"symbols": json.dumps([f"H{i:03d}USDT" for i in range(20)])}, 2),
        ("spot", {"symbols": json.dumps([f"H{i:03d}USDT" for i in range(21)])}, 40),
        ("spot", {"symbols": json.dumps([f"H{i:03d}USDT" for i in range(100)])}, 40),
        ("spot", {"symbols": json.dumps([f"H{i:03d}USDT" for i in range(101)])}, 80),
        ("usdm", {}, 40),
        ("usdm", {"symbol": "BTCUSDT"}, 1),
    ],
)
def test_24hr_ticker_weight_follows_the_documented_table(make_sim, market, params, weight):
    """[SPOT] "Weight": symbol 2, omitted 80; symbols 1-20 → 2, 21-100 → 40, 101+ → 80.
    [UM] 1 for a single symbol, 40 when the symbol parameter is omitted."""
    halted = tuple(f"H{i:03d}USDT" for i in range(101))
    sim = make_sim(symbols=("BTCUSDT", "ETHUSDT"), halted=halted, klines=False)
    before = sim.rest_weight
    r = get(sim, market, **params)
    assert r.status_code == 200, r.text
    assert sim.rest_weight - before == weight
    assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) == weight  # the first call
    if "symbols" in params:
        assert [row["symbol"] for row in r.json()] == json.loads(params["symbols"])


@pytest.mark.parametrize(
    ("market", "params", "code", "msg"),
    [
        ("spot", {"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        ("usdm", {"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        ("spot", {"symbols": '["BTCUSDT","DOGEUSDT"]'}, -1121, "Invalid symbol."),
        ("spot", {"symbol": ""}, -1102, None),
        ("spot", {"symbols": "BTCUSDT"}, -1102, None),
        ("spot", {"symbols": "[]"}, -1102, None),
        ("spot", {"symbols": "[1]"}, -1102, None),
        ("spot", {"symbols": '["BTCUSDT","BTCUSDT"]'}, -1101, None),
        ("spot", {"symbol": "BTCUSDT", "symbols": '["ETHUSDT"]'}, -1128, None),
    ],
)
def test_24hr_ticker_refuses_bad_symbol_parameters(sim, market, params, code, msg):
    """[ERR] -1121 for an unknown symbol; ``symbol`` and ``symbols`` "cannot be used in
    combination" [SPOT], a malformed or repeating ``symbols`` is refused."""
    r = get(sim, market, **params)
    assert r.status_code == 400 and r.json()["code"] == code
    assert msg is None or r.json()["msg"] == msg


def test_a_halted_symbol_is_listed_with_its_status_and_zeros_but_never_traded(sim):
    """[ENUM] spot ``BREAK``; a delisted USD-M perpetual ``SETTLING``. Binance keeps such
    symbols in the ticker with zero volumes; nothing else of theirs is served."""
    for market, prefix, status in (("spot", "/api/v3", "BREAK"), ("usdm", "/fapi/v1", "SETTLING")):
        info = requests.get(sim.rest_base + f"{prefix}/exchangeInfo", timeout=10).json()
        statuses = {row["symbol"]: row["status"] for row in info["symbols"]}
        assert statuses == {**dict.fromkeys(SYMBOLS, "TRADING"), "LUNAUSDT": status}
        one = requests.get(
            sim.rest_base + f"{prefix}/exchangeInfo", params={"symbol": "LUNAUSDT"}, timeout=10
        ).json()
        assert [row["status"] for row in one["symbols"]] == [status]
        row = get(sim, market, symbol="LUNAUSDT").json()
        assert (row["quoteVolume"], row["count"], row["firstId"], row["lastId"]) == (
            "0.00000000",
            0,
            -1,
            -1,
        )
        assert row["closeTime"] - row["openTime"] == 1440 * MINUTE_MS
        trades = requests.get(
            sim.rest_base + f"{prefix}/trades", params={"symbol": "LUNAUSDT"}, timeout=10
        )
        assert (trades.status_code, trades.json()["code"]) == (400, -1121)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rates": {"BTCUSDT": 0.0}}, r"rates\[BTCUSDT\]=0.0: must be > 0"),
        ({"rates": {"DOGEUSDT": 5.0}}, r"rates: \['DOGEUSDT'\] are not in symbols"),
        ({"halted": ("BTCUSDT",)}, "halted: 'BTCUSDT' must be"),
        ({"halted": ("luna",)}, "halted: 'luna' must be"),
        ({"halted": ("LUNAUSDT", "LUNAUSDT")}, "halted: 'LUNAUSDT' must be"),
    ],
)
def test_rates_and_halted_are_validated(fields, message):
    with pytest.raises(ValueError, match=message):
        SimulatorConfig(**fields).validate()
