"""The simulator is as strict as Binance's docs: routes, streams, limits, weights, faults.

Sources (each test names the one it checks):
[WSS]   binance/binance-spot-api-docs web-socket-streams.md, commit a5e0bc3 (2026-07-21)
[REST]  same repo, rest-api.md ("Weight:" of each endpoint, "LIMITS"); [ERR] errors.md
[UM-WS] developers.binance.me/docs/derivatives/usds-margined-futures/websocket-market-streams
        (200 streams per connection) and the routed ``/market`` path (Important WebSocket
        Change Notice)
[CONN]  binance/binance-connector-python 29da329 (2026-08-21), USD-M
        rest_api/api/market_data_api.py (weights, 48 h, MARKET_DATA) and websocket_streams
        models (aggTrade, markPriceUpdate fields)
[REV]   ../shared/notes/review-2026-12/binance-conformance.md §1 (``@trade`` on ``/market`` is
        acknowledged and silent)
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests
import websocket

from ingest.simulator import ReplayFile, Simulator, SimulatorConfig
from ingest.simulator.cli import build_parser
from ingest.simulator.faults import FaultState
from ingest.simulator.history import TradeHistory
from ingest.simulator.rest import RestApi
from ingest.simulator.server import StreamServer
from tests.simulator_helpers import wait_connections, wait_finished

KEY = {"X-MBX-APIKEY": "a" * 64}
WEIGHT = "X-MBX-USED-WEIGHT-1M"


def connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=10, skip_utf8_validation=True)


def close_code(ws: websocket.WebSocket) -> int | None:
    """Read until the server closes; its close code (None = dropped without a close frame)."""
    while True:
        try:
            op, data = ws.recv_data()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return None
        if op == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005


def reply(ws: websocket.WebSocket, method: str, params: list[str] | None = None, rid: int = 1):
    """Send a control message; every data frame received before its answer, and the answer."""
    msg: dict[str, object] = {"method": method, "id": rid}
    if params is not None:
        msg["params"] = params
    ws.send(json.dumps(msg))
    before = []
    while True:
        data = json.loads(ws.recv())
        if data.get("id") == rid and ("result" in data or "error" in data):
            return before, data
        before.append(data)


def upgrade_status(url: str) -> int:
    """HTTP status of a refused websocket upgrade (101 when it is accepted)."""
    try:
        ws = connect(url)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    ws.close()
    return 101


# ---- routes per market -----------------------------------------------------------------------

REST_200 = [
    ("/api/v3/ping", {}),
    ("/api/v3/time", {}),
    ("/api/v3/exchangeInfo", {}),
    ("/api/v3/trades", {"symbol": "BTCUSDT"}),
    ("/api/v3/historicalTrades", {"symbol": "BTCUSDT"}),  # no key needed on spot [REST]
    ("/api/v3/aggTrades", {"symbol": "BTCUSDT"}),
    ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 5}),
    ("/fapi/v1/ping", {}),
    ("/fapi/v1/time", {}),
    ("/fapi/v1/exchangeInfo", {}),
    ("/fapi/v1/trades", {"symbol": "BTCUSDT"}),
    ("/fapi/v1/historicalTrades", {"symbol": "BTCUSDT"}),  # sent with a key
    ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT"}),
    ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 5}),
]
REST_404 = [
    "/api/v1/ping",  # spot /api/v1 market endpoints were retired 2026-03-25 (CHANGELOG)
    "/api/v3/depth",
    "/api/v3/markPrice",
    "/fapi/v1/depth",
    "/fapi/v2/ping",
    "/fapi/v1/premiumIndex",
    "/dapi/v1/ping",
    "/sapi/v1/system/status",
    "/",
]


def test_rest_routes_of_both_markets_answer_200(make_sim):
    sim = make_sim(history_s=3600, history_1s_s=60)
    for path, params in REST_200:
        r = requests.get(sim.rest_base + path, params=params, headers=KEY, timeout=10)
        assert r.status_code == 200, (path, r.text)
        assert WEIGHT in r.headers, path


def test_other_rest_paths_answer_404(make_sim):
    sim = make_sim(klines=False)
    for path in REST_404:
        r = requests.get(sim.rest_base + path, params={"symbol": "BTCUSDT"}, timeout=10)
        assert r.status_code == 404, path


@pytest.mark.parametrize(
    ("path", "status"),
    [
        # spot raw and combined [WSS "General WSS information"]
        ("/ws", 101),
        ("/ws/btcusdt@trade", 101),
        ("/ws/btcusdt@trade/ethusdt@aggTrade", 101),
        ("/stream?streams=btcusdt@trade/ethusdt@aggTrade", 101),
        # USD-M only under the routed /market path [UM-WS]
        ("/market/ws", 101),
        ("/market/ws/btcusdt@aggTrade", 101),
        ("/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice", 101),
        ("/market/stream?streams=btcusdt@markPrice@1s/btcusdt@trade", 101),
        # no other prefix is served: the strict simulator no longer strips unknown ones
        ("/public/stream?streams=btcusdt@aggTrade", 404),
        ("/public/ws/btcusdt@aggTrade", 404),
        ("/private/ws", 404),
        ("/market/public/ws/btcusdt@aggTrade", 404),
        ("/market", 404),
        ("/fapi/ws/btcusdt@aggTrade", 404),
        ("/api/v3/ping", 404),
        ("/ws-api/v3", 404),
        ("/streams?streams=btcusdt@trade", 404),
        # a stream the market does not publish
        ("/ws/btcusdt@markPrice", 400),
        ("/market/ws/btcusdt@depth", 400),
        ("/market/ws/dogeusdt@aggTrade", 400),
    ],
)
def test_websocket_routes_per_market(make_sim, path, status):
    sim = make_sim(rate=5)
    assert upgrade_status(sim.ws_base + path) == status


# ---- streams per market ----------------------------------------------------------------------


def test_usdm_trade_stays_silent_while_aggtrade_carries_every_trade(make_sim):
    """[REV] §1: on ``/market`` a ``@trade`` subscription is acknowledged and never fed."""
    sim = make_sim(rate=400, max_trades=200)
    sim.pause()
    both = connect(f"{sim.ws_base}/market/stream?streams=btcusdt@trade/btcusdt@aggTrade")
    only_trade = connect(f"{sim.ws_base}/market/ws/btcusdt@trade")
    spot = connect(f"{sim.ws_base}/ws/btcusdt@trade")
    wait_connections(sim, 3)
    sim.resume()
    wait_finished(sim, 10)
    # every frame published before the reply is queued ahead of it on its connection
    frames, answer = reply(both, "LIST_SUBSCRIPTIONS")
    assert answer["result"] == ["btcusdt@trade", "btcusdt@aggTrade"]
    assert {f["stream"] for f in frames} == {"btcusdt@aggTrade"}
    covered = [i for f in frames for i in range(f["data"]["f"], f["data"]["l"] + 1)]
    assert covered == list(sim.sent_ids("BTCUSDT"))
    silent, answer = reply(only_trade, "LIST_SUBSCRIPTIONS")
    assert (silent, answer["result"]) == ([], ["btcusdt@trade"])
    fed, _ = reply(spot, "LIST_SUBSCRIPTIONS")
    assert [f["t"] for f in fed] == list(sim.sent_ids("BTCUSDT"))  # spot @trade is fed
    for ws in (both, only_trade, spot):
        ws.close()


def test_usdm_live_subscribe_accepts_trade_and_refuses_spot_only_names(make_sim):
    sim = make_sim(rate=5)
    ws = connect(f"{sim.ws_base}/market/ws")
    _, ok = reply(ws, "SUBSCRIBE", ["btcusdt@trade", "ethusdt@markPrice@1s"], 1)
    assert ok == {"result": None, "id": 1}
    _, bad = reply(ws, "SUBSCRIBE", ["btcusdt@bookTicker"], 2)
    assert bad["error"]["code"] == 2
    ws.close()
    spot = connect(f"{sim.ws_base}/ws")
    _, bad = reply(spot, "SUBSCRIBE", ["btcusdt@markPrice"], 3)
    assert bad["error"]["code"] == 2
    spot.close()


def test_usdm_mark_price_events_every_second_and_every_third(make_sim):
    """[CONN] ``mark_price_stream``: "pushed every 3 seconds or every second"; fields of
    ``mark_price_stream_response.py``."""
    sim = make_sim(rate=5)
    fast = connect(f"{sim.ws_base}/market/ws/btcusdt@markPrice@1s")
    slow = connect(f"{sim.ws_base}/market/stream?streams=ethusdt@markPrice")
    a, b = json.loads(fast.recv()), json.loads(fast.recv())
    assert set(a) == {"e", "E", "s", "p", "i", "P", "r", "ap", "T", "st"}
    assert (a["e"], a["s"], a["st"]) == ("markPriceUpdate", "BTCUSDT", 1)
    assert b["E"] - a["E"] == 1000 and a["E"] % 1000 == 0
    assert all(isinstance(a[k], str) and float(a[k]) > 0 for k in ("p", "i", "P", "ap"))
    assert a["T"] > a["E"] and a["T"] % (8 * 3600 * 1000) == 0
    env = json.loads(slow.recv())
    assert env["stream"] == "ethusdt@markPrice" and env["data"]["s"] == "ETHUSDT"
    assert env["data"]["E"] % 3000 == 0
    fast.close()
    slow.close()


def test_stream_url_helper_names_the_usdm_route(make_sim):
    sim = make_sim(rate=5)
    url = sim.stream_url("aggTrade", market="usdm")
    assert url == f"{sim.ws_base}/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade"
    assert sim.stream_url() == f"{sim.ws_base}/stream?streams=btcusdt@trade/ethusdt@trade"


# ---- stream-count limits ---------------------------------------------------------------------


def test_stream_caps_default_to_the_documented_figures():
    """[WSS] "A single connection can listen to a maximum of 1024 streams"; [UM-WS] 200."""
    cfg = SimulatorConfig()
    assert (cfg.max_streams_spot, cfg.max_streams_usdm) == (1024, 200)


def test_usdm_connection_past_200_streams_is_closed_with_policy_violation(make_sim):
    """[UM-WS] 200 streams per USD-M connection. No close code is documented: 1008."""
    symbols = tuple(f"S{i:03d}USDT" for i in range(51))  # 4 USD-M streams each
    sim = make_sim(symbols=symbols, rate=1, klines=False)
    sim.pause()
    names = [f"{s.lower()}@{k}" for s in symbols for k in ("aggTrade", "trade", "markPrice")]
    names += [f"{s.lower()}@markPrice@1s" for s in symbols]
    ws = connect(f"{sim.ws_base}/market/ws")
    _, ok = reply(ws, "SUBSCRIBE", names[:200], 1)
    assert ok == {"result": None, "id": 1}
    _, again = reply(ws, "SUBSCRIBE", names[:10], 2)  # already held: not counted twice
    assert again == {"result": None, "id": 2}
    ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[200:201], "id": 3}))
    assert close_code(ws) == 1008


def test_spot_connection_past_its_cap_is_refused_by_url_and_by_subscribe(make_sim):
    sim = make_sim(rate=5, max_streams_spot=3, max_streams_usdm=2)
    ok = connect(f"{sim.ws_base}/stream?streams=btcusdt@trade/ethusdt@trade/btcusdt@aggTrade")
    wait_connections(sim, 1)
    _, listed = reply(ok, "LIST_SUBSCRIPTIONS")
    assert len(listed["result"]) == 3
    ok.send(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@aggTrade"], "id": 9}))
    assert close_code(ok) == 1008
    four = "/".join(f"{s}@{k}" for s in ("btcusdt", "ethusdt") for k in ("trade", "aggTrade"))
    assert close_code(connect(f"{sim.ws_base}/stream?streams={four}")) == 1008
    usdm = "/".join(f"{s}@aggTrade" for s in ("btcusdt", "ethusdt")) + "/btcusdt@markPrice"
    assert close_code(connect(f"{sim.ws_base}/market/stream?streams={usdm}")) == 1008
    assert sim.total_connections == 1  # refused connections never count as connected


# ---- REST strictness -------------------------------------------------------------------------


def test_usdm_historical_trades_without_api_key_is_401_minus_2014(make_sim):
    """[CONN] Old Trades Lookup is "Security Type: MARKET_DATA"; [ERR] -2014 "API-key format
    invalid."; 401 per binance/binance-skills-hub PR #175."""
    sim = make_sim(rate=500, generate="always", max_trades=50)
    wait_finished(sim, 10)
    url = sim.rest_base + "/fapi/v1/historicalTrades"
    r = requests.get(url, params={"symbol": "BTCUSDT", "fromId": 1}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"code": -2014, "msg": "API-key format invalid."})
    empty = requests.get(url, params={"symbol": "BTCUSDT"}, headers={"X-MBX-APIKEY": ""})
    assert empty.status_code == 401
    rows = requests.get(url, params={"symbol": "BTCUSDT", "fromId": 1}, headers=KEY).json()
    assert [row["id"] for row in rows] == list(range(1, 51))
    assert set(rows[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isRPITrade"}
    spot = requests.get(sim.rest_base + "/api/v3/historicalTrades", params={"symbol": "BTCUSDT"})
    assert spot.status_code == 200 and "isBestMatch" in spot.json()[0]


def test_usdm_rest_rows_and_exchange_info_follow_the_usdm_format(make_sim):
    """[CONN] models: aggTrades rows ``a,p,q,nq,f,l,T,m``; REQUEST_WEIGHT 2,400 (USD-M) and
    6,000 (spot [REST] "LIMITS")."""
    sim = make_sim(rate=500, generate="always", max_trades=20)
    wait_finished(sim, 10)
    agg = requests.get(sim.rest_base + "/fapi/v1/aggTrades", params={"symbol": "ETHUSDT"}).json()
    assert set(agg[0]) == {"a", "p", "q", "nq", "f", "l", "T", "m"}
    spot_agg = requests.get(sim.rest_base + "/api/v3/aggTrades", params={"symbol": "ETHUSDT"})
    assert set(spot_agg.json()[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    for path, limit in (("/fapi/v1/exchangeInfo", 2400), ("/api/v3/exchangeInfo", 6000)):
        info = requests.get(sim.rest_base + path).json()
        assert info["rateLimits"][0]["limit"] == limit, path
        assert {s["symbol"] for s in info["symbols"]} == {"BTCUSDT", "ETHUSDT"}


def test_usdm_agg_trades_serve_only_the_last_48_hours(tmp_path: Path):
    """[CONN] "only trade histories within the past 48 hours (counted from now) can be
    queried"; older rows are not served (what Binance answers to an older fromId is not
    documented). Spot aggTrades keep all history."""
    now = int(time.time() * 1000)
    old, recent = now - 72 * 3600 * 1000, now - 3600 * 1000
    lines = [
        f"{i},{100 + i}.0,1.0,{100 + i}.0,{ts},{'True' if i % 2 else 'False'},True"
        for i, ts in ((1, old), (2, old), (3, old), (4, recent), (5, recent), (6, recent))
    ]
    csv = tmp_path / "XRPUSDT-trades-old-and-new.csv"
    csv.write_text("\n".join(lines) + "\n")
    cfg = SimulatorConfig(
        replay=(ReplayFile(csv, "XRPUSDT"),), speed=0, generate="always", ping_interval_s=None
    )
    with Simulator(cfg) as sim:
        wait_finished(sim, 10)
        futures = sim.rest_base + "/fapi/v1/aggTrades"
        rows = requests.get(futures, params={"symbol": "XRPUSDT", "fromId": 1}).json()
        assert [(r["f"], r["l"]) for r in rows] == [(4, 4), (5, 5), (6, 6)]
        assert requests.get(futures, params={"symbol": "XRPUSDT"}).json() == rows
        spot = requests.get(sim.rest_base + "/api/v3/aggTrades", params={"symbol": "XRPUSDT"})
        assert [r["f"] for r in spot.json()] == [1, 2, 3, 4, 5, 6]
        # "time between startTime and endTime must be less than 1 hour" [CONN]; -1127 [ERR]
        span = {"symbol": "XRPUSDT", "startTime": recent, "endTime": recent + 3600 * 1000}
        r = requests.get(futures, params=span)
        assert (r.status_code, r.json()["code"]) == (400, -1127)
        span["endTime"] -= 1
        assert [x["f"] for x in requests.get(futures, params=span).json()] == [4, 5, 6]


# ---- weights ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "weight"),
    [
        # [REST] a5e0bc3, "Weight:" of each endpoint
        pytest.param("/api/v3/ping", {}, 1, id="spot-ping-1-REST"),
        pytest.param("/api/v3/time", {}, 1, id="spot-time-1-REST"),
        pytest.param("/api/v3/exchangeInfo", {}, 20, id="spot-exchangeInfo-20-REST"),
        pytest.param("/api/v3/historicalTrades", {}, 25, id="spot-historicalTrades-25-REST"),
        pytest.param("/api/v3/trades", {}, 25, id="spot-trades-25-REST"),
        pytest.param("/api/v3/aggTrades", {}, 4, id="spot-aggTrades-4-REST-CHANGELOG-2025-03-10"),
        pytest.param("/api/v3/klines", {"interval": "1m"}, 2, id="spot-klines-2-REST"),
        # [CONN] 29da329 market_data_api.py "Weight(IP):"
        pytest.param("/fapi/v1/ping", {}, 1, id="usdm-ping-1-CONN"),
        pytest.param("/fapi/v1/time", {}, 1, id="usdm-time-1-CONN"),
        pytest.param("/fapi/v1/exchangeInfo", {}, 1, id="usdm-exchangeInfo-1-CONN"),
        pytest.param("/fapi/v1/trades", {}, 5, id="usdm-trades-5-CONN"),
        pytest.param("/fapi/v1/aggTrades", {}, 20, id="usdm-aggTrades-20-CONN"),
        pytest.param("/fapi/v1/historicalTrades", {}, 200, id="usdm-historicalTrades-200-CONN"),
        # [CONN] klines "based on parameter LIMIT": [1,100) 1, [100,500) 2, [500,1000] 5, >1000 10
        pytest.param("/fapi/v1/klines", {"interval": "1m", "limit": 99}, 1, id="usdm-klines-99-1"),
        pytest.param("/fapi/v1/klines", {"interval": "1m"}, 5, id="usdm-klines-default500-5"),
        pytest.param(
            "/fapi/v1/klines", {"interval": "1m", "limit": 1500}, 10, id="usdm-klines-1500-10"
        ),
    ],
)
def test_weight_per_endpoint_and_used_weight_header(make_sim, path, params, weight):
    """Every answer carries ``X-MBX-USED-WEIGHT-1M``, "the current used weight for the IP"
    ([REST] "IP Limits"), counted per market."""
    sim = make_sim(history_s=3600, history_1s_s=60, rate=5)
    other = "spot" if path.startswith("/fapi/") else "usdm"
    before = sim.rest_weight
    r = requests.get(sim.rest_base + path, params={"symbol": "BTCUSDT", **params}, headers=KEY)
    assert r.status_code == 200, r.text
    assert sim.rest_weight - before == weight
    assert int(r.headers[WEIGHT]) == weight  # the first call of a fresh simulator
    assert sim.used_weight(other) == 0


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _api(clock: FakeClock, faults: FaultState | None = None) -> RestApi:
    history = TradeHistory("BTCUSDT", 1, 1)
    return RestApi({"BTCUSDT": history}, faults or FaultState(), clock=clock)


def test_used_weight_is_counted_per_market_and_calendar_minute():
    """[REST] "IP Limits": weight per interval, reset at each minute (header ...-1M)."""
    clock = FakeClock(1_800_000_000.0)  # a minute start
    api = _api(clock)
    q = "symbol=BTCUSDT"
    weights = [int(api.handle("/api/v3/trades", q)[2][WEIGHT]) for _ in range(3)]
    assert weights == [25, 50, 75]
    assert api.handle("/fapi/v1/trades", q)[2][WEIGHT] == "5"  # USD-M counts apart
    clock.t += 59.9
    assert api.handle("/api/v3/ping", "")[2][WEIGHT] == "76"
    clock.t += 0.1  # the next calendar minute
    assert api.handle("/api/v3/ping", "")[2][WEIGHT] == "1"
    assert api.handle("/fapi/v1/ping", "")[2][WEIGHT] == "1"
    assert api.stats.weight == 75 + 5 + 1 + 1 + 1


def test_a_call_past_the_weight_limit_is_429_until_the_next_minute():
    """USD-M REQUEST_WEIGHT 2,400 per minute: 12 historicalTrades (200 each) fit, the 13th is
    refused with 429 -1003 and ``Retry-After`` up to the next minute ([REST] "IP Limits")."""
    clock = FakeClock(1_800_000_000.0 + 15)
    api = _api(clock)
    q = "symbol=BTCUSDT"
    for _ in range(12):
        assert api.handle("/fapi/v1/historicalTrades", q, "key")[0] == 200
    status, body, headers = api.handle("/fapi/v1/historicalTrades", q, "key")
    assert (status, headers["Retry-After"], headers[WEIGHT]) == (429, "45", "2400")
    assert json.loads(body)["code"] == -1003 and "2400 request weight per 1 MINUTE" in body.decode()
    assert api.handle("/api/v3/ping", "")[0] == 200  # spot has its own 6,000
    clock.t += 45
    assert api.handle("/fapi/v1/historicalTrades", q, "key")[0] == 200


# ---- fault knobs -----------------------------------------------------------------------------


def test_report_used_weight_adds_to_the_header_and_counts_against_the_limit(make_sim):
    sim = make_sim(rate=5, used_weight_extra=100)
    r = requests.get(sim.rest_base + "/fapi/v1/ping")
    assert int(r.headers[WEIGHT]) == 1 + 100
    sim.report_used_weight(2390)
    assert sim.used_weight("usdm") >= 2390 and sim.used_weight("spot") >= 2390
    r = requests.get(sim.rest_base + "/fapi/v1/aggTrades", params={"symbol": "BTCUSDT"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1  # 2390 + 20 > 2400
    assert requests.get(sim.rest_base + "/api/v3/aggTrades", params={"symbol": "BTCUSDT"}).ok
    sim.report_used_weight(0)
    assert requests.get(sim.rest_base + "/fapi/v1/aggTrades", params={"symbol": "BTCUSDT"}).ok
    with pytest.raises(ValueError, match="extra"):
        sim.report_used_weight(-1)


def test_injected_403_451_418_answer_like_binance(make_sim):
    sim = make_sim(rate=5)
    url = sim.rest_base + "/api/v3/ping"
    # 403: the WAF ([REST] "HTTP Return Codes"); CloudFront's page, no Binance headers
    sim.inject_rest_errors(1, status=403)
    r = requests.get(url)
    assert r.status_code == 403 and "Request blocked." in r.text
    assert r.headers["Content-Type"].startswith("text/html") and WEIGHT not in r.headers
    # 451: restricted location, body as Binance sends it (ccxt/binance-trade-bot#512)
    sim.inject_rest_errors(1, status=451)
    r = requests.get(url)
    assert (r.status_code, r.json()["code"]) == (451, 0)
    assert r.json()["msg"] == (
        "Service unavailable from a restricted location according to 'b. Eligibility' in "
        "https://www.binance.com/en/terms. Please contact customer service if you believe you "
        "received this message in error."
    )
    # 418: a ban "from 2 minutes to 3 days" with Retry-After in seconds ([REST] "IP Limits")
    sim.inject_rest_errors(2, status=418, retry_after=7200)
    began_ms = int(time.time() * 1000)
    r = requests.get(url)
    assert (r.status_code, r.headers["Retry-After"], r.json()["code"]) == (418, "7200", -1003)
    until = int(r.json()["msg"].split("IP banned until ")[1].split(".")[0])  # epoch ms
    assert began_ms + 7_200_000 - 1 <= until <= int(time.time() * 1000) + 7_200_000
    assert requests.get(url).status_code == 418
    assert requests.get(url).status_code == 200
    # 5xx: -1001 [ERR]
    sim.inject_rest_errors(1, status=503)
    r = requests.get(url)
    assert (r.status_code, r.json()["code"], "Retry-After" in r.headers) == (503, -1001, False)


def test_injected_errors_can_target_one_path_prefix(make_sim):
    sim = make_sim(rate=5)
    sim.inject_rest_errors(2, status=429, retry_after=30, path="/fapi/")
    assert requests.get(sim.rest_base + "/api/v3/ping").status_code == 200
    r = requests.get(sim.rest_base + "/fapi/v1/ping")
    assert (r.status_code, r.headers["Retry-After"]) == (429, "30")
    assert r.json()["msg"].startswith("Too much request weight used; current limit is 2400")
    assert requests.get(sim.rest_base + "/api/v3/time").status_code == 200
    assert requests.get(sim.rest_base + "/fapi/v1/time").status_code == 429
    assert requests.get(sim.rest_base + "/fapi/v1/time").status_code == 200
    with pytest.raises(ValueError, match="rest_error_status"):
        sim.inject_rest_errors(1, status=200)


def test_rest_faults_can_start_from_the_config(make_sim):
    sim = make_sim(rate=5, rest_errors=1, rest_error_status=451)
    assert requests.get(sim.rest_base + "/fapi/v1/ping").status_code == 451
    assert requests.get(sim.rest_base + "/fapi/v1/ping").status_code == 200
    for bad in ({"rest_error_status": 302}, {"max_streams_usdm": 0}, {"used_weight_extra": -5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SimulatorConfig(**bad).validate()


# ---- connection attempts ---------------------------------------------------------------------


def test_connection_attempt_limit_defaults_to_300_per_5_minutes():
    """[WSS] "There is a limit of 300 connections per attempt every 5 minutes per IP"."""
    cfg = SimulatorConfig()
    assert (cfg.max_connection_attempts, cfg.connection_attempts_window_s) == (300, 300.0)


def test_connection_attempts_are_counted_and_refused_past_the_limit(make_sim):
    sim = make_sim(rate=5, max_connection_attempts=4)
    requests.get(sim.rest_base + "/api/v3/ping")  # REST is not a connection attempt
    assert sim.connection_attempts() == 0
    for path in ("/ws/btcusdt@trade", "/market/ws/btcusdt@aggTrade", "/nope"):
        upgrade_status(sim.ws_base + path)  # refused upgrades are attempts too
    assert sim.connection_attempts() == 3
    assert sim.connection_attempts(ip="127.0.0.1") == 3
    assert sim.connection_attempts(ip="10.0.0.1") == 0
    assert upgrade_status(sim.ws_base + "/ws/btcusdt@trade") == 101
    assert upgrade_status(sim.ws_base + "/ws/btcusdt@trade") == 429  # the 5th in 5 minutes
    assert upgrade_status(sim.ws_base + "/stream?streams=btcusdt@trade") == 429
    assert (sim.connection_attempts(), sim.refused_connections) == (6, 2)
    assert sim.total_connections == 3


def test_connection_attempts_leave_the_window_per_ip():
    clock = FakeClock(1000.0)
    server = StreamServer(
        ("BTCUSDT",), FaultState(), _api(FakeClock(0.0)), 1 << 20, max_attempts=2, clock=clock
    )
    assert [server._admit("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert server._admit("10.0.0.2")  # the limit is per IP
    assert (server.attempt_count(300), server.attempt_count(300, "10.0.0.1")) == (4, 3)
    clock.t += 299.0
    assert not server._admit("10.0.0.1")  # refused attempts count as attempts
    clock.t += 1.5  # the first three are now more than 300 s old
    assert server.attempt_count(300, "10.0.0.1") == 1
    assert server._admit("10.0.0.1")
    assert server.attempt_count(3600) == 6  # kept for an hour


# ---- CLI -------------------------------------------------------------------------------------


def test_cli_help_names_the_routes_and_limits():
    text = build_parser().format_help()
    for needle in ("/market/stream", "/fapi/v1/", "X-MBX-APIKEY", "1024", "200", "300"):
        assert needle in text, needle
