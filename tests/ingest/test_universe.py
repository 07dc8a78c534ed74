"""``python -m ingest universe`` against the simulator on loopback: ranking, YAML, exits.

Binance facts checked here: spot ``GET /api/v3/ticker/24hr`` without a symbol weighs 80 and
``exchangeInfo`` 20 (binance-spot-api-docs rest-api.md a5e0bc3, "24hr ticker price change
statistics", "Exchange information"); USD-M ``GET /fapi/v1/ticker/24hr`` without a symbol
weighs 40 and ``exchangeInfo`` 1 (binance-connector-python 29da329, USD-M market_data_api.py
"24hr Ticker Price Change Statistics"); ``quoteVolume`` is a decimal string; delisted or halted
symbols stay in the ticker with zero volumes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket
import yaml

from ingest.cli import main
from ingest.settings import load_settings
from tests.conftest import REPO, free_port
from tests.simulator_helpers import wait_generated

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ETHBTC", "BNBUSDT")
RATES = {"ETHBTC": 80.0, "SOLUSDT": 40.0, "BTCUSDT": 30.0, "ETHUSDT": 20.0, "BNBUSDT": 10.0}
"""Trades/s per symbol: 24 h quote volumes rank ETHBTC (not USDT), SOL, BTC, ETH, BNB."""
HEADER = re.compile(
    r"^# top (\d+) (\w+) symbols on (Binance spot|Binance USD-M futures) by 24 h quote volume "
    r"\((\d{4}-\d\d-\d\d \d\d:\d\d) UTC\)$"
)
ENTRY = re.compile(r"^  - (\S+) +# ([0-9,]+) (\w+)$")


@pytest.fixture(autouse=True)
def _restore_signal_handlers() -> Iterator[None]:
    """The command installs SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def sim(make_sim):
    return make_sim(
        symbols=SYMBOLS,
        rates=RATES,
        proportional=True,
        halted=("LUNAUSDT",),
        history_s=86400 + 3600,
        history_1s_s=60,
    )


def feed(base: str, ws: str | None = None, market: str = "spot") -> dict[str, Any]:
    section = {"market": market, "rest_url": base, "ws_url": ws or base.replace("http", "ws")}
    return {"feed": section | ({"stream": "aggTrade"} if market == "usdm" else {})}


def universe(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["--config", str(config), "universe", *args])
    out, err = capsys.readouterr()
    return status, out, err


def parse(out: str) -> tuple[re.Match[str], list[str], list[tuple[str, int, str]]]:
    """(header match, comment lines after it, [(symbol, volume, asset)]) of the output."""
    lines = out.splitlines()
    header = HEADER.match(lines[0])
    assert header, lines[0]
    start = lines.index("symbols:")
    entries = [ENTRY.match(line) for line in lines[start + 1 :]]
    assert all(entries), lines
    rows = [(m[1], int(m[2].replace(",", "")), m[3]) for m in entries if m]
    return header, lines[1:start], rows


def quote_volumes(sim, market: str) -> dict[str, float]:
    path = "/fapi/v1/ticker/24hr" if market == "usdm" else "/api/v3/ticker/24hr"
    rows = requests.get(sim.rest_base + path, timeout=10).json()
    return {row["symbol"]: float(row["quoteVolume"]) for row in rows}


def test_spot_top_symbols_rank_by_quote_volume_and_paste_into_a_config(
    sim, write_config, capsys
) -> None:
    config = write_config(feed(sim.rest_base, sim.ws_base))
    before = sim.rest_weight
    status, out, err = universe(config, "--quote", "usdt", "--top", "3", capsys=capsys)
    assert (status, err) == (0, "")
    assert sim.rest_weight - before == 20 + 80  # exchangeInfo + the ticker of every symbol
    header, notes, rows = parse(out)
    assert header.groups()[:3] == ("3", "USDT", "Binance spot") and notes == []
    as_of = datetime.strptime(header[4], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert abs(as_of.timestamp() - time.time()) < 120
    volumes = quote_volumes(sim, "spot")
    assert rows == [(s, round(volumes[s]), "USDT") for s in ("SOLUSDT", "BTCUSDT", "ETHUSDT")]
    block = yaml.safe_load(out)
    assert block == {"symbols": ["SOLUSDT", "BTCUSDT", "ETHUSDT"]}
    pasted = write_config(
        {**block, "pairs": [{"name": "SOL-BTC", "base": "SOLUSDT", "hedge": "BTCUSDT"}]},
        name="pasted.yaml",
    )
    assert load_settings(pasted).symbols == ("SOLUSDT", "BTCUSDT", "ETHUSDT")


def test_usdm_symbols_are_qualified_unless_the_feed_is_usdm(sim, write_config, capsys) -> None:
    spot_feed = write_config(feed(sim.rest_base, sim.ws_base))
    before = sim.rest_weight
    status, out, _ = universe(spot_feed, "--market", "usdm", "--top", "2", capsys=capsys)
    assert status == 0 and sim.rest_weight - before == 1 + 40
    header, _, rows = parse(out)
    assert header[3] == "Binance USD-M futures"
    assert [row[0] for row in rows] == ["usdm:SOLUSDT", "usdm:BTCUSDT"]
    block = yaml.safe_load(out)
    pair = {"name": "p", "base": "usdm:SOLUSDT", "hedge": "usdm:BTCUSDT"}
    settings = load_settings(write_config({**block, "pairs": [pair]}, name="pasted.yaml"))
    assert settings.markets() == {"usdm": ("usdm:SOLUSDT", "usdm:BTCUSDT")}

    usdm_feed = write_config(feed(sim.rest_base, sim.ws_base, "usdm"), name="usdm.yaml")
    _, out, _ = universe(usdm_feed, "--top", "2", capsys=capsys)
    assert yaml.safe_load(out) == {"symbols": ["SOLUSDT", "BTCUSDT"]}
    _, out, _ = universe(usdm_feed, "--market", "spot", "--top", "1", capsys=capsys)
    assert yaml.safe_load(out) == {"symbols": ["spot:SOLUSDT"]}


def test_halted_and_zero_volume_symbols_are_left_out(make_sim, write_config, capsys) -> None:
    """LUNAUSDT is listed but not TRADING; ETHUSDT trades nothing in 24 h (quoteVolume 0)."""
    sim = make_sim(
        symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"),
        rates={"BTCUSDT": 200.0, "SOLUSDT": 20.0},
        halted=("LUNAUSDT",),
        klines=False,
    )
    sim.silence("ETHUSDT", 3600)
    ws = websocket.create_connection(sim.ws_base + "/ws/btcusdt@trade", timeout=10)
    try:
        wait_generated(sim, 5, symbol="SOLUSDT")
        wait_generated(sim, 100, symbol="BTCUSDT")
    finally:
        ws.close()
    volumes = quote_volumes(sim, "spot")
    assert volumes["ETHUSDT"] == volumes["LUNAUSDT"] == 0.0  # both still in the ticker
    status, out, _ = universe(write_config(feed(sim.rest_base, sim.ws_base)), capsys=capsys)
    assert status == 0
    _, notes, rows = parse(out)
    assert [row[0] for row in rows] == ["BTCUSDT", "SOLUSDT"]
    assert notes == ["# only 2 of the 30 asked: no other trading USDT symbol had 24 h volume"]


def test_the_module_command_reads_the_rest_url_from_the_environment(sim, write_config) -> None:
    """As in the README: ``PAIRWATCH_FEED__REST_URL=http://127.0.0.1:PORT python -m ingest
    universe``; the config's own feed URLs point elsewhere."""
    config = write_config(feed(f"http://127.0.0.1:{free_port()}"))
    env = {"PAIRWATCH_FEED__REST_URL": sim.rest_base, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), "universe", "--top", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert yaml.safe_load(done.stdout) == {"symbols": ["SOLUSDT"]}


# ---- errors: 2 for bad arguments, 1 for the network or the answer ---------------------------


@pytest.mark.parametrize(
    "args",
    [["--top", "0"], ["--top", "-3"], ["--top", "x"], ["--quote", "US-DT"], ["--market", "coin"]],
)
def test_bad_arguments_exit_2(sim, write_config, capsys, args) -> None:
    with pytest.raises(SystemExit) as exited:
        universe(write_config(feed(sim.rest_base)), *args, capsys=capsys)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith("python -m ingest universe: error:")


def test_a_quote_asset_no_trading_symbol_uses_exits_2(sim, write_config, capsys) -> None:
    status, out, err = universe(write_config(feed(sim.rest_base)), "--quote", "XYZ", capsys=capsys)
    assert (status, out) == (2, "")
    assert err == "error: no trading symbol on Binance spot is quoted in XYZ\n"


def test_network_and_http_failures_exit_1_with_one_line(sim, write_config, capsys) -> None:
    port = free_port()
    status, _, err = universe(write_config(feed(f"http://127.0.0.1:{port}")), capsys=capsys)
    assert status == 1
    assert err == (
        f"error: GET http://127.0.0.1:{port}/api/v3/exchangeInfo: request failed: ConnectionError\n"
    )
    config = write_config(feed(sim.rest_base), name="sim.yaml")
    for status_code, path in ((500, "/api/v3/exchangeInfo"), (451, "/api/v3/ticker/24hr")):
        sim.inject_rest_errors(1, status=status_code, path=path)
        status, out, err = universe(config, capsys=capsys)
        assert (status, out) == (1, "")
        assert err.startswith(f"error: GET {sim.rest_base}{path}: HTTP {status_code}: ")
        assert err.count("\n") == 1


GOOD_INFO = {"symbols": [{"symbol": "BTCUSDT", "status": "TRADING", "quoteAsset": "USDT"}]}
GOOD_ROW = {"symbol": "BTCUSDT", "quoteVolume": "15.30000000", "closeTime": 1_800_000_000_000}


@pytest.fixture
def stub() -> Iterator[Callable[[Any, Any], str]]:
    """A fake exchange answering ``exchangeInfo`` and the ticker with the given bodies."""
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path, b"{}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()

    def answer(info: Any, tickers: Any) -> str:
        for path, body in (("/api/v3/exchangeInfo", info), ("/api/v3/ticker/24hr", tickers)):
            bodies[path] = body if isinstance(body, bytes) else json.dumps(body).encode()
        return f"http://127.0.0.1:{server.server_port}"

    yield answer
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("info", "tickers", "problem"),
    [
        ({}, [GOOD_ROW], "symbols = None is not list"),
        ({"symbols": ["BTCUSDT"]}, [GOOD_ROW], "symbols[0] is str, not an object"),
        (
            {"symbols": [{"symbol": "BTCUSDT", "status": 1, "quoteAsset": "USDT"}]},
            [GOOD_ROW],
            "symbols[0] (BTCUSDT): status = 1 is not str",
        ),
        (
            {"symbols": [{"symbol": "BTCUSDT", "status": "TRADING"}]},
            [GOOD_ROW],
            "quoteAsset = None is not str",
        ),
        (GOOD_INFO, {"code": -1121, "msg": "Invalid symbol."}, "expected a non-empty array"),
        (GOOD_INFO, [], "expected a non-empty array"),
        (GOOD_INFO, [{"quoteVolume": "1.0"}], "ticker [0]: symbol = None is not str"),
        (GOOD_INFO, [GOOD_ROW | {"quoteVolume": 15.3}], "quoteVolume = 15.3 is not str"),
        (GOOD_INFO, [GOOD_ROW | {"quoteVolume": "NaN"}], "'NaN' is not a decimal string"),
        (GOOD_INFO, [GOOD_ROW | {"quoteVolume": "-1.5"}], "'-1.5' is not a decimal string"),
        (GOOD_INFO, [GOOD_ROW | {"quoteVolume": "1e9"}], "'1e9' is not a decimal string"),
        (GOOD_INFO, [GOOD_ROW | {"closeTime": "1"}], "closeTime = '1' is not int"),
        (GOOD_INFO, [GOOD_ROW | {"closeTime": True}], "closeTime = True is not int"),
        (GOOD_INFO, [GOOD_ROW, GOOD_ROW], "ticker [1] (BTCUSDT): listed twice"),
        (GOOD_INFO, [GOOD_ROW | {"quoteVolume": "0.00000000"}], "none of the 1 trading USDT"),
        (GOOD_INFO, b"<html>busy</html>", "unusable response"),
    ],
)
def test_a_malformed_answer_is_refused_with_one_line_and_exit_1(
    stub, write_config, capsys, info, tickers, problem
) -> None:
    status, out, err = universe(write_config(feed(stub(info, tickers))), capsys=capsys)
    assert (status, out) == (1, "")
    assert err.startswith("error: ") and err.count("\n") == 1
    assert problem in err, err
