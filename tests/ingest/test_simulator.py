"""The offline Binance simulator over real loopback sockets (websocket-client + requests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
import websocket

from ingest.simulator import IdRange, ReplayFile, Simulator, SimulatorConfig
from ingest.simulator.cli import main as cli_main
from ingest.simulator.replay import load_trades_csv, symbol_from_name
from tests.simulator_helpers import wait_connections, wait_finished, wait_generated, wait_sim

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "data" / "real"
BTC_CSV = REAL / "binance_spot_BTCUSDT_trades_20240808T2354_20240809T0005.csv"
ETH_CSV = REAL / "binance_spot_ETHUSDT_trades_20240808T2354_20240809T0005.csv"
TRADE_KEYS = {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
AGG_KEYS = {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"}
USDM_AGG_KEYS = {"e", "E", "s", "a", "p", "q", "nq", "f", "l", "T", "m", "st"}  # no M on USD-M


def real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real data file absent: {path} (see ../shared/data/real/README.md)")
    return path


def connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=10, skip_utf8_validation=True)


CLOSE_CODES: dict[int, int | None] = {}


def recv_frames(ws: websocket.WebSocket, n: int, timeout: float = 10.0) -> list[tuple[int, bytes]]:
    """Receive n frames as (opcode, bytes); stops early if the connection closes.

    ``CLOSE_CODES[id(ws)]`` records the close code (None = dropped without a close frame).
    """
    out: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        try:
            op, data = ws.recv_data()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            CLOSE_CODES[id(ws)] = None
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            CLOSE_CODES[id(ws)] = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
            break
        out.append((op, data))
    return out


def recv_until_closed(ws: websocket.WebSocket, timeout: float = 10.0) -> list[tuple[int, bytes]]:
    return recv_frames(ws, 10**9, timeout)


def trades_of(frames: list[tuple[int, bytes]]) -> list[dict]:
    return [
        json.loads(d)["data"] if d.startswith(b'{"stream"') else json.loads(d) for _, d in frames
    ]


def check_trade(d: dict) -> None:
    assert set(d) == TRADE_KEYS
    assert d["e"] == "trade" and d["M"] is True
    assert isinstance(d["t"], int) and isinstance(d["T"], int) and isinstance(d["E"], int)
    assert isinstance(d["p"], str) and isinstance(d["q"], str) and isinstance(d["m"], bool)
    assert float(d["p"]) > 0 and float(d["q"]) > 0 and len(d["p"].split(".")[1]) == 8
    assert d["E"] >= d["T"] > 1.6e12


# ---- streams ---------------------------------------------------------------------------------


def test_combined_stream_delivers_binance_trades_with_contiguous_ids(make_sim):
    sim = make_sim(rate=500, max_trades=300, start_id=1000, start_ids={"ETHUSDT": 5})
    ws = connect(sim.stream_url())
    frames = recv_frames(ws, 600)
    ws.close()
    assert len(frames) == 600
    by_stream: dict[str, list[dict]] = {}
    for _, raw in frames:
        msg = json.loads(raw)
        assert set(msg) == {"stream", "data"}
        check_trade(msg["data"])
        assert msg["stream"] == msg["data"]["s"].lower() + "@trade"
        by_stream.setdefault(msg["data"]["s"], []).append(msg["data"])
    btc = [d["t"] for d in by_stream["BTCUSDT"]]
    eth = [d["t"] for d in by_stream["ETHUSDT"]]
    assert btc == list(range(1000, 1300)) and eth == list(range(5, 305))
    wait_finished(sim, 5)
    assert list(sim.sent_ids("BTCUSDT")) == btc
    frame = sim.trades_frame("BTCUSDT")
    assert list(frame.columns) == ["trade_id", "ts_ms", "price", "qty", "buyer_maker"]
    assert [f"{p:.8f}" for p in frame.price] == [d["p"] for d in by_stream["BTCUSDT"]]
    assert frame.ts_ms.tolist() == [d["T"] for d in by_stream["BTCUSDT"]]
    assert sim.frames_sent == 600 and sim.generated_count == 600


def test_raw_path_receives_only_its_stream(make_sim):
    sim = make_sim(rate=300, max_trades=100)
    ws = connect(f"{sim.ws_base}/ws/ethusdt@trade")
    frames = recv_frames(ws, 100)
    ws.close()
    for d in trades_of(frames):
        check_trade(d)
        assert d["s"] == "ETHUSDT"
    assert all(not raw.startswith(b'{"stream"') for _, raw in frames)
    assert [d["t"] for d in trades_of(frames)] == list(range(1, 101))


def test_usdm_routed_path_and_aggtrade_stream(make_sim):
    sim = make_sim(rate=400, max_trades=200)
    ws = connect(f"{sim.ws_base}/market/stream?streams=btcusdt@aggTrade")
    wait_finished(sim, 10)
    aggs = []
    while not aggs or aggs[-1]["l"] < sim.sent_ids("BTCUSDT")[-1]:
        ((_, raw),) = recv_frames(ws, 1)
        msg = json.loads(raw)
        assert msg["stream"] == "btcusdt@aggTrade"
        aggs.append(msg["data"])
    ws.close()
    assert all(set(a) == USDM_AGG_KEYS and a["e"] == "aggTrade" for a in aggs)
    covered = [i for a in aggs for i in range(a["f"], a["l"] + 1)]
    assert covered == list(range(1, 201))
    assert [a["a"] for a in aggs] == list(range(1, len(aggs) + 1))
    rest = requests.get(
        f"{sim.rest_base}/fapi/v1/aggTrades",
        params={"symbol": "BTCUSDT", "fromId": 1, "limit": 1000},
    ).json()
    assert [{k: v for k, v in a.items() if k not in ("e", "E", "s", "st")} for a in aggs] == rest


def test_live_subscribe_and_unknown_stream_rejected(make_sim):
    sim = make_sim(rate=200, max_trades=50)
    ws = connect(f"{sim.ws_base}/ws")
    ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}))
    first = json.loads(recv_frames(ws, 1)[0][1])
    assert first == {"result": None, "id": 7}
    ids = [d["t"] for d in trades_of(recv_frames(ws, 50))]
    assert ids == list(range(1, 51))
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        connect(f"{sim.ws_base}/ws/dogeusdt@trade")
    assert exc.value.status_code == 400


def test_generates_only_while_connected_by_default(make_sim):
    sim = make_sim(rate=1000)
    time.sleep(0.15)  # a negative condition needs a window; nothing must happen in it
    assert sim.generated_count == 0
    ws = connect(sim.stream_url())
    wait_generated(sim, 50)
    ws.close()
    always = make_sim(rate=1000, generate="always")
    wait_generated(always, 50)


def test_synthetic_pair_has_configured_beta(make_sim):
    sim = make_sim(
        rate=400, generate="always", beta=17.5, hedge_vol=40.0, spread_sigma=0.5, max_trades=1200
    )
    wait_finished(sim, 15)
    base, hedge = sim.trades_frame("BTCUSDT"), sim.trades_frame("ETHUSDT")
    b = base.groupby("ts_ms").price.last()
    h = hedge.groupby("ts_ms").price.last()
    joined = pd.concat([b, h], axis=1, keys=["b", "h"]).dropna()
    assert len(joined) > 100
    slope, _ = np.polyfit(joined.h.to_numpy(), joined.b.to_numpy(), 1)
    assert slope == pytest.approx(17.5, rel=0.02)


def test_proportional_bases_follow_the_hedge_by_price_ratio(make_sim):
    sim = make_sim(
        symbols=("BTCUSDT", "SOLUSDT", "ETHUSDT"),
        hedge_symbol="ETHUSDT",
        proportional=True,
        rate=400,
        generate="always",
        hedge_vol=40.0,
        spread_sigma=0.5,
        max_trades=1200,
    )
    wait_finished(sim, 15)
    hedge = sim.trades_frame("ETHUSDT").groupby("ts_ms").price.last()
    for symbol, price in (("BTCUSDT", 60_000.0), ("SOLUSDT", 150.0)):
        base = sim.trades_frame(symbol).groupby("ts_ms").price.last()
        joined = pd.concat([base, hedge], axis=1, keys=["b", "h"]).dropna()
        slope, _ = np.polyfit(joined.h.to_numpy(), joined.b.to_numpy(), 1)
        assert slope == pytest.approx(price / 2500.0, rel=0.05), symbol


def test_spread_excursion_moves_spread_several_sigma():
    cfg = SimulatorConfig(
        rate=500,
        generate="always",
        hedge_vol=5.0,
        spread_sigma=1.0,
        spread_half_life_s=0.2,
        ping_interval_s=None,
    )
    with Simulator(cfg) as sim:
        wait_generated(sim, 400)
        t_exc = int(time.time() * 1000)
        sim.start_excursion(sigma=8.0, duration_s=0.4)
        wait_sim(sim, lambda: sim.trades_frame("BTCUSDT").ts_ms.max() > t_exc + 300, 10)
        market = sim.market
        base, hedge = sim.trades_frame("BTCUSDT"), sim.trades_frame("ETHUSDT")
    j = pd.concat(
        [base.groupby("ts_ms").price.last(), hedge.groupby("ts_ms").price.last()],
        axis=1,
        keys=["b", "h"],
    ).dropna()
    spread = j.b - 22.0 * j.h - market.alpha["BTCUSDT"]
    before = spread[spread.index < t_exc - 20]
    during = spread[(spread.index > t_exc + 50) & (spread.index < t_exc + 350)]
    assert len(before) > 10 and len(during) > 5
    assert during.mean() - before.mean() > 5.0


# ---- REST ------------------------------------------------------------------------------------


def test_rest_history_limits_errors_and_forgotten_ranges(make_sim):
    sim = make_sim(
        rate=5000,
        generate="always",
        max_trades=2500,
        start_id=100,
        forget_ids=(IdRange("BTCUSDT", 1100, 1199),),
    )
    wait_finished(sim, 10)
    base = sim.rest_base + "/api/v3/"
    assert requests.get(base + "ping").json() == {}
    assert abs(requests.get(base + "time").json()["serverTime"] - time.time() * 1000) < 5000
    info = requests.get(base + "exchangeInfo").json()
    assert {s["symbol"]: s["status"] for s in info["symbols"]} == {
        "BTCUSDT": "TRADING",
        "ETHUSDT": "TRADING",
    }
    frame = sim.trades_frame("ETHUSDT").set_index("trade_id")
    rows = requests.get(
        base + "historicalTrades", params={"symbol": "ETHUSDT", "fromId": 200, "limit": 1000}
    ).json()
    assert [r["id"] for r in rows] == list(range(200, 1200))
    for r in rows[:50]:
        f = frame.loc[r["id"]]
        assert set(r) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}
        assert (r["price"], r["qty"], r["time"], r["isBuyerMaker"]) == (
            f"{f.price:.8f}",
            f"{f.qty:.8f}",
            f.ts_ms,
            bool(f.buyer_maker),
        )
    tail = requests.get(
        base + "historicalTrades", params={"symbol": "ETHUSDT", "fromId": 2550, "limit": 1000}
    ).json()
    assert [r["id"] for r in tail] == list(range(2550, 2600))
    recent = requests.get(base + "trades", params={"symbol": "ETHUSDT", "limit": 5}).json()
    assert [r["id"] for r in recent] == list(range(2595, 2600))
    # forgotten ids are absent (Binance-style hole)
    hole = requests.get(
        base + "historicalTrades", params={"symbol": "BTCUSDT", "fromId": 1090, "limit": 20}
    ).json()
    assert [r["id"] for r in hole] == [*range(1090, 1100), *range(1200, 1210)]
    sim.set_faults(forget_mode="empty")
    assert (
        requests.get(base + "historicalTrades", params={"symbol": "BTCUSDT", "fromId": 1150}).json()
        == []
    )
    assert set(sim.servable_ids("BTCUSDT")) == set(range(100, 2600)) - set(range(1100, 1200))
    # Binance-style errors
    for params, code in (
        ({"symbol": "ETHUSDT", "limit": 1001}, -1130),
        ({"symbol": "ETHUSDT", "limit": 0}, -1130),
        ({"symbol": "NOPE"}, -1121),
        ({}, -1102),
        ({"symbol": "ETHUSDT", "fromId": "x"}, -1100),
    ):
        r = requests.get(base + "historicalTrades", params=params)
        assert r.status_code == 400 and r.json()["code"] == code, params
    assert requests.get(base + "aggTrades", params={"symbol": "xx"}).json() == {
        "code": -1121,
        "msg": "Invalid symbol.",
    }
    calls = sim.rest_calls
    # 429 injection: the next K calls answer 429 with Retry-After
    sim.inject_rest_errors(2)
    r1, r2, r3 = (requests.get(base + "ping") for _ in range(3))
    assert (r1.status_code, r2.status_code, r3.status_code) == (429, 429, 200)
    assert r1.headers["Retry-After"] == "1" and r1.json()["code"] == -1003
    assert sim.rest_calls == calls + 3
    assert int(r3.headers["X-MBX-USED-WEIGHT-1M"]) == sim.rest_weight


# ---- faults ----------------------------------------------------------------------------------


def test_drop_after_n_frames_closes_connection(make_sim):
    sim = make_sim(rate=2000, drop_after_frames=37)
    ws = connect(sim.stream_url())
    frames = recv_until_closed(ws)
    assert len(frames) == 37
    assert CLOSE_CODES[id(ws)] is None  # abort: no close frame
    wait_sim(sim, lambda: sim.connections == 0, 5)
    ws2 = connect(sim.stream_url())  # reconnect works and is cut again
    assert len(recv_until_closed(ws2)) == 37
    sim.set_faults(drop_mode="close", drop_after_frames=5)
    ws3 = connect(sim.stream_url())
    assert len(recv_until_closed(ws3)) == 5
    assert CLOSE_CODES[id(ws3)] == 1001
    sim.set_faults(drop_after_frames=None)
    ws4 = connect(sim.stream_url())
    assert len(recv_frames(ws4, 10)) == 10
    assert sim.drop_connections() == 1
    recv_until_closed(ws4)
    assert CLOSE_CODES[id(ws4)] is None
    assert sim.total_connections == 4


def test_server_shutdown_event_then_close(make_sim):
    sim = make_sim(rate=500)
    comb = connect(sim.stream_url())
    raw = connect(f"{sim.ws_base}/ws/btcusdt@trade")
    recv_frames(comb, 5)
    recv_frames(raw, 5)
    wait_connections(sim, 2)
    assert sim.server_shutdown(grace_s=0.2) == 2
    for ws, expect in ((comb, "combined"), (raw, "raw")):
        frames = recv_until_closed(ws)
        events = [json.loads(d) for _, d in frames if b"serverShutdown" in d]
        assert len(events) == 1
        if expect == "combined":
            assert events[0]["stream"] == "!serverShutdown"
            assert events[0]["data"]["e"] == "serverShutdown"
        else:
            assert events[0]["e"] == "serverShutdown" and isinstance(events[0]["E"], int)
        assert CLOSE_CODES[id(ws)] == 1001
    wait_sim(sim, lambda: sim.connections == 0, 5)


def test_shutdown_after_seconds_is_per_connection(make_sim):
    sim = make_sim(rate=200, shutdown_after_s=0.2, shutdown_grace_s=0.1)
    ws = connect(sim.stream_url())
    frames = recv_until_closed(ws)
    assert any(b"!serverShutdown" in d for _, d in frames)


def test_skipped_ids_missing_from_stream_but_served_by_rest(make_sim):
    sim = make_sim(rate=500, max_trades=100, skip_ids=(IdRange("BTCUSDT", 20, 29),))
    ws = connect(f"{sim.ws_base}/ws/btcusdt@trade")
    got = [d["t"] for d in trades_of(recv_frames(ws, 90))]
    ws.close()
    assert got == [*range(1, 20), *range(30, 101)]
    assert list(sim.streamed_ids("BTCUSDT")) == got
    rows = requests.get(
        f"{sim.rest_base}/api/v3/historicalTrades",
        params={"symbol": "BTCUSDT", "fromId": 20, "limit": 10},
    ).json()
    assert [r["id"] for r in rows] == list(range(20, 30))


def test_malformed_frames_arrive(make_sim):
    sim = make_sim(rate=2000, malformed_every=5)
    ws = connect(sim.stream_url())
    frames = recv_frames(ws, 30)
    ws.close()
    bad = frames[5::6]
    good = [f for i, f in enumerate(frames) if i % 6 != 5]
    for _, raw in good:
        check_trade(json.loads(raw)["data"])
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad[0][1])  # invalid_json
    assert json.loads(bad[1][1])["data"]["e"] == "mysteryEvent"
    assert isinstance(json.loads(bad[2][1])["data"]["p"], float)  # wrong_types
    assert len(bad[3][1]) > 1_000_000  # huge
    with pytest.raises(UnicodeDecodeError):
        bad[4][1].decode("utf-8")
    assert sim.malformed_sent >= 5
    sim.set_faults(malformed_every=None)
    ws = connect(sim.stream_url())
    recv_frames(ws, 3)
    wait_connections(sim, 1)
    sim.send_malformed("binary")
    frames = recv_frames(ws, 200)
    assert any(op == websocket.ABNF.OPCODE_BINARY for op, _ in frames)
    ws.close()


def test_silence_one_symbol_and_pause_all(make_sim):
    sim = make_sim(rate=1000, generate="always")
    wait_generated(sim, 100)
    sim.silence("ETHUSDT", 0.4)
    eth0, btc0 = sim.generated("ETHUSDT"), sim.generated("BTCUSDT")
    wait_sim(sim, lambda: sim.generated("BTCUSDT") > btc0 + 100, 5)
    assert sim.generated("ETHUSDT") == eth0
    wait_sim(sim, lambda: sim.generated("ETHUSDT") > eth0, 5)
    ids = sim.sent_ids("ETHUSDT")
    assert np.array_equal(ids, np.arange(1, len(ids) + 1))  # silence leaves no id gap
    sim.pause()
    n = sim.generated_count
    time.sleep(0.1)  # negative condition: nothing generated while paused
    assert sim.generated_count == n
    sim.resume()
    wait_generated(sim, n + 50)


# ---- replay ----------------------------------------------------------------------------------


def test_replay_real_csv_delivers_every_row(make_sim):
    btc, eth = real(BTC_CSV), real(ETH_CSV)
    sim = make_sim(replay=(ReplayFile(btc), ReplayFile(eth)), speed=0)
    assert sim.symbols == ("BTCUSDT", "ETHUSDT")
    ws = connect(sim.stream_url())
    expected = {s: pd.read_csv(p) for s, p in (("BTCUSDT", btc), ("ETHUSDT", eth))}
    total = sum(len(d) for d in expected.values())
    frames = recv_frames(ws, total, timeout=30)
    ws.close()
    assert len(frames) == total
    got: dict[str, list[dict]] = {"BTCUSDT": [], "ETHUSDT": []}
    last_t = 0
    for d in trades_of(frames):
        got[d["s"]].append(d)
        assert d["T"] >= last_t  # merged across symbols by time
        last_t = d["T"]
    for sym, df in expected.items():
        assert [d["t"] for d in got[sym]] == df.id.tolist()
        assert [d["T"] for d in got[sym]] == df.time.tolist()
        assert [float(d["p"]) for d in got[sym]] == df.price.tolist()
        assert [d["m"] for d in got[sym]] == df.is_buyer_maker.tolist()
    wait_finished(sim, 5)
    assert len(sim.sent_ids("ETHUSDT")) == len(expected["ETHUSDT"])


def test_replay_headerless_microsecond_file(tmp_path):
    p = tmp_path / "XRPUSDT-trades-2025-01-01.csv"
    p.write_text(
        "5,0.50000000,10.0,5.0,1735689600000123,True,True\n"
        "6,0.50010000,2.0,1.0002,1735689600500000,False,True\n"
    )
    assert symbol_from_name(p) == "XRPUSDT"
    t = load_trades_csv(p)
    assert t.ids.tolist() == [5, 6] and t.ts.tolist() == [1735689600000, 1735689600500]
    assert t.maker.tolist() == [True, False]
    q = tmp_path / "anything.csv"
    q.write_text(p.read_text())
    cfg = SimulatorConfig(replay=(ReplayFile(q, "XRPUSDT"),), speed=100.0, ping_interval_s=None)
    with Simulator(cfg) as sim:
        ws = connect(f"{sim.ws_base}/ws/xrpusdt@trade")
        data = trades_of(recv_frames(ws, 2))
        ws.close()
    assert [(d["t"], d["T"], d["p"]) for d in data] == [
        (5, 1735689600000, "0.50000000"),
        (6, 1735689600500, "0.50010000"),
    ]


# ---- CLI -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--rate", "-5"],
        ["--port", "70000"],
        ["--skip-ids", "BTCUSDT:9-3"],
        ["--forget-ids", "nonsense"],
        ["--max-trades", "0"],
        ["--replay", "/nonexistent/BTCUSDT.csv"],
        ["--speed", "-1"],
        ["--symbols", "btc/usdt"],
        ["--skip-ids", "SOLUSDT:1-2"],
        ["--bogus"],
    ],
)
def test_cli_bad_arguments_exit_2(argv, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("simulate: error:") and "\n" not in err


def test_cli_runs_prints_urls_and_stops_on_sigterm():
    code = "import sys; from ingest.simulator.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--rate", "50", "--max-trades", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        line = ""
        deadline = time.monotonic() + 20
        while not line.startswith("SIMULATOR ") and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
        fields = dict(kv.split("=", 1) for kv in line.split()[1:])
        assert requests.get(fields["rest"] + "/api/v3/ping", timeout=5).json() == {}
        ws = connect(fields["ws"] + "/ws/btcusdt@trade")
        assert [d["t"] for d in trades_of(recv_frames(ws, 5))] == [1, 2, 3, 4, 5]
        ws.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_server_pings_like_binance(make_sim):
    sim = make_sim(rate=5, ping_interval_s=0.1, ping_timeout_s=5.0)
    ws = connect(f"{sim.ws_base}/ws/btcusdt@trade")
    deadline = time.monotonic() + 5
    opcodes = set()
    while websocket.ABNF.OPCODE_PING not in opcodes and time.monotonic() < deadline:
        op, _ = ws.recv_data(control_frame=True)
        opcodes.add(op)
    ws.close()
    assert websocket.ABNF.OPCODE_PING in opcodes
    r = requests.get(f"{sim.rest_base}/api/v3/nothing")
    assert r.status_code == 404
