"""Simulator klines: Binance rows over the generated past and the live tape (accessor + REST)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from ingest.simulator import ReplayFile, Simulator, SimulatorConfig
from ingest.simulator.cli import build_parser, config_from_args
from ingest.simulator.history import TradeHistory
from ingest.simulator.klines import KlineError
from ingest.simulator.past import ar1
from tests.simulator_helpers import wait_finished

MIN = 60_000
SEC = 1000
INVALID_INTERVAL = {"code": -1120, "msg": "Invalid interval."}


# ---- helpers ---------------------------------------------------------------------------------


def sim_at(minutes_ago: float = 0.0, **kw: object) -> Simulator:
    """An unstarted simulator whose tape starts ``minutes_ago`` (klines need no server)."""
    t0 = int(time.time() * 1000 - minutes_ago * MIN)
    return Simulator(SimulatorConfig(ping_interval_s=None, tape_start_ms=t0), **kw)


def page_all(sim: Simulator, symbol: str, interval: str, start: int, limit: int = 1000) -> list:
    """Every kline from ``start`` on, paged forward with startTime = last open time + 1."""
    out: list = []
    while page := sim.klines(symbol, interval, start, None, limit):
        out += page
        start = page[-1][0] + 1
    return out


def agg(rows: list[list]) -> dict:
    """Aggregate kline rows the Binance way (open of the first, close of the last, ...)."""
    return {
        "open": float(rows[0][1]),
        "high": max(float(r[2]) for r in rows),
        "low": min(float(r[3]) for r in rows),
        "close": float(rows[-1][4]),
        "volume": sum(float(r[5]) for r in rows),
        "quote": sum(float(r[7]) for r in rows),
        "trades": sum(r[8] for r in rows),
        "taker_base": sum(float(r[9]) for r in rows),
        "taker_quote": sum(float(r[10]) for r in rows),
    }


def agg_trades(frame: pd.DataFrame) -> dict:
    """Aggregate ``Simulator.trades_frame`` rows into kline fields."""
    f = frame.sort_values("trade_id")
    taker = f[~f.buyer_maker]
    return {
        "open": float(f.price.iloc[0]),
        "high": float(f.price.max()),
        "low": float(f.price.min()),
        "close": float(f.price.iloc[-1]),
        "volume": float(f.qty.sum()),
        "quote": float((f.price * f.qty).sum()),
        "trades": len(f),
        "taker_base": float(taker.qty.sum()),
        "taker_quote": float((taker.price * taker.qty).sum()),
    }


def combine(a: dict, b: dict) -> dict:
    """Two consecutive aggregates of one interval as one."""
    out = {k: a[k] + b[k] for k in ("volume", "quote", "trades", "taker_base", "taker_quote")}
    out |= {"open": a["open"], "close": b["close"]}
    return out | {"high": max(a["high"], b["high"]), "low": min(a["low"], b["low"])}


def assert_kline(row: list, expected: dict) -> None:
    """``row`` carries ``expected`` (prices exactly, sums to float rounding, 8-decimal strings)."""
    for i, name in ((1, "open"), (2, "high"), (3, "low"), (4, "close")):
        assert row[i] == f"{expected[name]:.8f}", (name, row, expected)
    assert row[8] == expected["trades"], row
    for i, name in ((5, "volume"), (7, "quote"), (9, "taker_base"), (10, "taker_quote")):
        assert float(row[i]) == pytest.approx(expected[name], rel=1e-9, abs=2e-8), (name, row)


def check_shape(rows: list, step: int) -> None:
    """Binance kline rows: 12 fields, types, close time, ascending contiguous open times."""
    for r in rows:
        assert len(r) == 12 and r[11] == "0"
        assert isinstance(r[0], int) and isinstance(r[6], int) and isinstance(r[8], int)
        assert all(isinstance(r[i], str) and len(r[i].split(".")[1]) == 8 for i in (1, 2, 3, 4, 5))
        assert all(isinstance(r[i], str) for i in (7, 9, 10))
        assert r[0] % step == 0 and r[6] == r[0] + step - 1
        o, h, lo, c, v, q, tb, tq = (float(r[i]) for i in (1, 2, 3, 4, 5, 7, 9, 10))
        assert 0 < lo <= min(o, c) <= max(o, c) <= h
        assert 0 <= tb <= v and 0 <= tq <= q * (1 + 1e-12)
    opens = [r[0] for r in rows]
    assert opens == list(range(opens[0], opens[0] + step * len(opens), step))


def closes(rows: list) -> np.ndarray:
    return np.array([float(r[4]) for r in rows])


# ---- shape and generated past ----------------------------------------------------------------


def test_rows_have_binance_shape_and_the_past_spans_the_configured_history():
    sim = sim_at()
    t0 = sim.tape_start_ms
    assert t0 is not None and t0 % SEC == 0
    assert sim.history_start_ms == (t0 - 7 * 86_400_000) // MIN * MIN
    assert sim.history_1s_start_ms == (t0 - 2 * 3_600_000) // MIN * MIN
    minutes = page_all(sim, "BTCUSDT", "1m", 0)
    assert minutes[0][0] == sim.history_start_ms
    check_shape(minutes, MIN)
    assert len(minutes) >= 7 * 1440
    seconds = sim.klines("ETHUSDT", "1s", sim.history_1s_start_ms, None, 1000)
    assert seconds[0][0] == sim.history_1s_start_ms and len(seconds) == 1000
    check_shape(seconds, SEC)
    past = [r for r in minutes + seconds if r[0] < t0]
    assert all(r[8] >= 1 and float(r[5]) > 0 for r in past)
    # the default (newest 500) ends with the still-open interval
    newest = sim.klines("BTCUSDT", "1m")
    assert len(newest) == 500 and newest[-1][0] == int(time.time() * 1000) // MIN * MIN


def test_past_1m_klines_are_the_past_1s_klines_aggregated():
    t0 = int(time.time() * 1000 - 2 * MIN) // MIN * MIN + 17 * SEC  # inside a minute
    sim = Simulator(SimulatorConfig(tape_start_ms=t0))
    assert sim.tape_start_ms == t0 and sim.history_1s_start_ms is not None
    seconds = [r for r in page_all(sim, "BTCUSDT", "1s", sim.history_1s_start_ms) if r[0] < t0]
    minutes = sim.klines("BTCUSDT", "1m", sim.history_1s_start_ms, t0 - 1, 1000)
    assert len(minutes) == math.ceil(len(seconds) / 60) >= 120
    by_minute: dict[int, list] = {}
    for r in seconds:
        by_minute.setdefault(r[0] // MIN * MIN, []).append(r)
    for m in minutes[:-1]:
        assert len(by_minute[m[0]]) == 60
        assert_kline(m, agg(by_minute[m[0]]))
    # the minute holding the tape start: past seconds, then flat quiet seconds (no trades yet)
    last = minutes[-1]
    assert last[0] == t0 // MIN * MIN
    rest = sim.klines("BTCUSDT", "1s", t0, last[0] + MIN - 1, 60)
    assert all(r[8] == 0 and r[1] == r[2] == r[3] == r[4] == seconds[-1][4] for r in rest)
    assert_kline(last, agg(by_minute[last[0]] + rest))


def test_past_ends_at_the_start_prices_where_the_tape_starts():
    sim = sim_at()
    t0 = sim.tape_start_ms
    assert t0 is not None
    for symbol, start in (("BTCUSDT", 60000.0), ("ETHUSDT", 2500.0)):
        last = sim.klines(symbol, "1s", None, t0 - 1, 1)[0]
        assert last[0] == t0 - SEC
        assert abs(float(last[4]) - start) <= 0.0101  # a bid/ask print around the start mid


def test_live_tape_continues_the_past_without_a_jump(make_sim):
    sim = make_sim(rate=2000, generate="always", max_trades=400)
    wait_finished(sim, 10)
    t0 = sim.tape_start_ms
    assert t0 is not None
    for symbol in sim.symbols:
        past = sim.klines(symbol, "1s", None, t0 - 1, 1000)
        step_sd = float(np.std(np.diff(closes(past))))
        first = sim.trades_frame(symbol).iloc[0]
        elapsed_s = max(1.0, (first.ts_ms - t0) / 1000)
        jump = abs(first.price - float(past[-1][4]))
        assert jump <= 6 * step_sd * math.sqrt(elapsed_s) + 0.02, (symbol, jump, step_sd)


def test_past_follows_the_pair_law_beta_and_ou_spread():
    sim = sim_at(betas={"BTCUSDT": 15.0})
    assert sim.hedge_symbol == "ETHUSDT" and sim.betas == {"BTCUSDT": 15.0}
    t0 = sim.tape_start_ms
    assert t0 is not None and sim.history_start_ms is not None
    base = [r for r in page_all(sim, "BTCUSDT", "1m", 0) if r[0] < t0 - MIN]
    hedge = [r for r in page_all(sim, "ETHUSDT", "1m", 0) if r[0] < t0 - MIN]
    assert [r[0] for r in base] == [r[0] for r in hedge] and len(base) > 10_000
    b, h = closes(base), closes(hedge)
    beta, alpha = np.polyfit(h, b, 1)
    assert beta == pytest.approx(15.0, abs=0.05)
    resid = b - alpha - beta * h
    cfg = sim.config
    assert float(np.std(resid)) == pytest.approx(cfg.spread_sigma, rel=0.1)
    decay_1m = math.exp(-math.log(2) / cfg.spread_half_life_s * 60)
    assert np.corrcoef(resid[:-1], resid[1:])[0, 1] == pytest.approx(decay_1m, abs=0.05)
    # the 1s span has the same law at one-second steps
    assert sim.history_1s_start_ms is not None
    span = sim.history_1s_start_ms
    b1 = closes([r for r in page_all(sim, "BTCUSDT", "1s", span) if r[0] < t0])
    h1 = closes([r for r in page_all(sim, "ETHUSDT", "1s", span) if r[0] < t0])
    assert len(b1) == len(h1) > 7000
    r1 = b1 - alpha - beta * h1
    decay_1s = math.exp(-math.log(2) / cfg.spread_half_life_s)
    assert np.corrcoef(r1[:-1], r1[1:])[0, 1] == pytest.approx(decay_1s, abs=0.02)


def test_past_is_deterministic_from_the_seed():
    t0 = int(time.time() * 1000) - 5 * MIN

    def sample(seed: int) -> list:
        sim = Simulator(SimulatorConfig(tape_start_ms=t0, seed=seed))
        return sim.klines("BTCUSDT", "1m", None, t0 - 1, 1000) + sim.klines(
            "ETHUSDT", "1s", None, t0 - 1, 1000
        )

    assert sample(7) == sample(7)
    assert sample(7) != sample(8)


def test_history_lengths_and_the_no_klines_exchange():
    sim = sim_at(history_s=600, history_1s_s=120)
    t0 = sim.tape_start_ms
    assert t0 is not None
    assert sim.history_start_ms == (t0 - 600 * SEC) // MIN * MIN
    assert sim.klines("BTCUSDT", "1m", 0, None, 1000)[0][0] == sim.history_start_ms
    assert sim.klines("BTCUSDT", "1s", 0, None, 10)[0][0] == (t0 - 120 * SEC) // MIN * MIN
    bare = sim_at(klines=False)
    assert bare.history_start_ms is None
    with pytest.raises(KlineError) as e:
        bare.klines("BTCUSDT", "1m")
    assert (e.value.code, e.value.msg) == (-1120, "Invalid interval.")
    for bad in ({"history_1s_s": 7200.0, "history_s": 60.0}, {"history_s": -1.0}):
        with pytest.raises(ValueError, match="history"):
            Simulator(SimulatorConfig(**bad))
    with pytest.raises(ValueError, match="tape_start_ms"):
        Simulator(SimulatorConfig(tape_start_ms=int(time.time() * 1000) + 3_600_000))


@pytest.mark.parametrize("decay", [0.977, 0.25, 1e-13, 0.999999])
def test_ar1_matches_the_plain_recursion(decay):
    shocks = np.random.default_rng(3).standard_normal(5000)
    expected, x = [], 1.5
    for e in shocks:
        x = decay * x + e
        expected.append(x)
    np.testing.assert_allclose(ar1(decay, shocks, 1.5), expected, rtol=0, atol=1e-9)


def test_cli_flags_set_the_klines_history():
    args = build_parser().parse_args(["--history-seconds", "600", "--history-1s-seconds", "60"])
    cfg = config_from_args(args)
    assert (cfg.klines, cfg.history_s, cfg.history_1s_s) == (True, 600.0, 60.0)
    assert config_from_args(build_parser().parse_args(["--no-klines"])).klines is False


# ---- live tape -------------------------------------------------------------------------------


def test_live_klines_are_the_stored_trades_aggregated(make_sim):
    sim = make_sim(rate=3000, generate="always", max_trades=4000)
    wait_finished(sim, 10)
    t0 = sim.tape_start_ms
    assert t0 is not None
    for symbol in sim.symbols:
        frame = sim.trades_frame(symbol)
        assert frame.ts_ms.min() >= t0
        seconds = sim.klines(symbol, "1s", t0, None, 1000)
        check_shape(seconds, SEC)
        by_sec = dict(tuple(frame.groupby(frame.ts_ms // SEC * SEC)))
        assert set(by_sec) <= {r[0] for r in seconds}
        prev = sim.klines(symbol, "1s", None, t0 - 1, 1)[0][4]
        for r in seconds:
            if r[0] in by_sec:
                assert_kline(r, agg_trades(by_sec[r[0]]))
            else:  # a quiet second: flat at the previous close
                assert r[8] == 0 and r[1] == r[2] == r[3] == r[4] == prev and r[5] == "0.00000000"
            prev = r[4]
        # 1m: the tape start's minute also holds the past seconds before the tape start
        last_trade = int(frame.ts_ms.max())
        minutes = sim.klines(symbol, "1m", t0 // MIN * MIN, last_trade, 10)
        assert minutes == sim.klines(symbol, "1m", t0 // MIN * MIN, last_trade, 10, futures=True)
        by_min = dict(tuple(frame.groupby(frame.ts_ms // MIN * MIN)))
        combined = 0
        for r in minutes:
            live = agg_trades(by_min[r[0]]) if r[0] in by_min else None
            past = sim.klines(symbol, "1s", r[0], min(t0, r[0] + MIN) - 1, 60)
            if past and live:
                assert_kline(r, combine(agg(past), live))
                combined += 1
            elif live or past:  # seconds between the tape start and the first trade are quiet
                assert_kline(r, live or agg(past))
        assert combined == 1 or t0 % MIN == 0 or frame.ts_ms.min() >= t0 // MIN * MIN + MIN


def test_klines_over_a_tape_of_many_minutes_with_quiet_ones():
    sim = sim_at(minutes_ago=20)
    t0 = sim.tape_start_ms
    assert t0 is not None
    m0 = t0 // MIN * MIN
    # hand-made tape: trades in minutes +2, +3 and +7 after the tape start's minute
    rng = np.random.default_rng(1)
    ts = np.sort(
        np.r_[
            m0 + 2 * MIN + rng.integers(0, MIN, 50),
            m0 + 3 * MIN + rng.integers(0, MIN, 30),
            m0 + 7 * MIN + rng.integers(0, MIN, 20),
        ]
    ).astype(np.int64)
    price = np.round(60000 + np.cumsum(rng.normal(0, 3, len(ts))), 2)
    qty = np.round(rng.uniform(0.001, 0.1, len(ts)), 5)
    maker = rng.random(len(ts)) < 0.5
    history: TradeHistory = sim.histories["BTCUSDT"]
    history.append(ts, price, qty, maker)
    frame = sim.trades_frame("BTCUSDT")
    rows = sim.klines("BTCUSDT", "1m", m0 + MIN, m0 + 9 * MIN, 100)
    check_shape(rows, MIN)
    assert [r[0] for r in rows] == [m0 + k * MIN for k in range(1, 10)]
    by_min = dict(tuple(frame.groupby(frame.ts_ms // MIN * MIN)))
    prev = sim.klines("BTCUSDT", "1m", None, m0, 1)[0][4]
    for r in rows:
        if r[0] in by_min:
            assert_kline(r, agg_trades(by_min[r[0]]))
        else:
            assert r[8] == 0 and r[1] == r[4] == prev and float(r[5]) == 0.0
        prev = r[4]
    # coarser intervals merge the minutes that traded (open = the bucket's first trade)
    five = sim.klines("BTCUSDT", "5m", m0 // (5 * MIN) * 5 * MIN + 5 * MIN, None, 2)
    assert len(five) == 2
    for r in five:
        assert r[6] == r[0] + 5 * MIN - 1
        parts = sim.klines("BTCUSDT", "1m", r[0], r[0] + 4 * MIN, 5)
        traded = [p for p in parts if p[8] > 0]
        if traded:
            assert_kline(r, agg(traded))
        else:
            assert r[8] == 0 and r[1] == r[4] == parts[0][4]


def test_replay_klines_aggregate_the_file_without_a_generated_past(make_sim, tmp_path: Path):
    base = 1_723_161_600_000  # 2024-08-09 00:00 UTC
    times = [base + 5, base + 30_000, base + 20_000, base + 61_000, base + 3 * MIN + 1]
    path = tmp_path / "binance_spot_BTCUSDT_trades_x.csv"
    path.write_text(
        "".join(
            f"{i},{60000 + i}.5,0.01,{600 + i},{t},{'true' if i % 2 else 'false'},true\n"
            for i, t in enumerate(times, 1)
        )
    )
    sim = make_sim(replay=(ReplayFile(path),), speed=0, generate="always")
    wait_finished(sim, 10)
    assert sim.history_start_ms is None and sim.tape_start_ms is None and sim.betas == {}
    rows = sim.klines("BTCUSDT", "1m", 0, None, 100)
    assert [r[0] for r in rows] == [base + k * MIN for k in range(4)]
    frame = sim.trades_frame("BTCUSDT")
    assert_kline(rows[0], agg_trades(frame[frame.ts_ms < base + MIN]))
    assert rows[0][1] == "60001.50000000" and rows[0][4] == "60003.50000000"  # by id, not time
    assert rows[2][8] == 0 and rows[2][1] == rows[1][4]
    assert sim.klines("BTCUSDT", "1m", None, base - 1) == []


# ---- REST ------------------------------------------------------------------------------------


def test_rest_serves_the_accessor_rows_and_pages_contiguously(make_sim):
    sim = make_sim(history_s=86_400, history_1s_s=1800)
    url = sim.rest_base + "/api/v3/klines"
    first = requests.get(url, params={"symbol": "ETHUSDT", "interval": "1m", "startTime": 0})
    assert first.status_code == 200
    body = first.json()
    assert body == sim.klines("ETHUSDT", "1m", 0, None, 500)
    assert body[0][0] == sim.history_start_ms and len(body) == 500
    # forward pages: startTime = last open + 1 → contiguous, non-overlapping, up to now
    rows, start = [], 0
    while page := requests.get(
        url, params={"symbol": "ETHUSDT", "interval": "1m", "startTime": start, "limit": 1000}
    ).json():
        rows += page
        start = page[-1][0] + 1
    check_shape(rows, MIN)
    assert rows[-1][0] >= int(time.time() * 1000) // MIN * MIN - MIN
    # backward pages with endTime only: the newest `limit` at or before it
    back, end = [], rows[-1][0]
    while page := requests.get(
        url, params={"symbol": "ETHUSDT", "interval": "1m", "endTime": end, "limit": 700}
    ).json():
        assert len(page) == 700 or page[0][0] == rows[0][0]
        back = page + back
        end = page[0][0] - 1
    assert [r[0] for r in back] == [r[0] for r in rows]
    # both bounds: startTime rounds up to the next open, endTime includes an open at it
    t = sim.history_1s_start_ms
    assert t is not None
    mid = sim.klines("BTCUSDT", "1s", t + 1, t + 10 * SEC, 1000)
    assert [r[0] for r in mid] == [t + k * SEC for k in range(1, 11)]
    assert len(sim.klines("BTCUSDT", "1s", t, t + 10 * SEC, 4)) == 4
    # USD-M: up to 1500 rows; a day of history fits in one page
    end = rows[-1][0]
    r = requests.get(
        sim.rest_base + "/fapi/v1/klines",
        params={"symbol": "BTCUSDT", "interval": "1m", "endTime": end, "limit": 1500},
    )
    assert r.status_code == 200
    assert r.json() == sim.klines("BTCUSDT", "1m", None, end, 1500, futures=True)
    assert r.json()[0][0] == sim.history_start_ms and r.json()[-1][0] == end


@pytest.mark.parametrize(
    ("path", "params", "status", "body"),
    [
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "7m"}, 400, INVALID_INTERVAL),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1S"}, 400, INVALID_INTERVAL),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1w"}, 400, INVALID_INTERVAL),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1s"}, 400, INVALID_INTERVAL),
        (
            "/api/v3/klines",
            {"symbol": "BTCUSDT"},
            400,
            {
                "code": -1102,
                "msg": "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
            },
        ),
        (
            "/fapi/v1/klines",
            {"interval": "1m"},
            400,
            {
                "code": -1102,
                "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            },
        ),
        ("/api/v3/klines", {"symbol": "NOPE", "interval": "1m"}, 400, -1121),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 0}, 400, -1130),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1001}, 400, -1130),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1501}, 400, -1130),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "startTime": "x"}, 400, -1100),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 1000}, 200, 1000),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1s", "limit": 3}, 200, 3),
        ("/fapi/v1/klines", {"symbol": "ETHUSDT", "interval": "5m", "limit": 2}, 200, 2),
    ],
)
def test_rest_klines_answers_like_binance(make_sim, path, params, status, body):
    sim = make_sim(history_s=86_400, history_1s_s=60)
    r = requests.get(sim.rest_base + path, params=params)
    assert r.status_code == status, r.text
    if isinstance(body, dict):
        assert r.json() == body
    elif status == 200:
        assert len(r.json()) == body
    else:
        assert r.json()["code"] == body


def test_exchange_without_klines_refuses_every_interval(make_sim):
    sim = make_sim(klines=False)
    for path in ("/api/v3/klines", "/fapi/v1/klines"):
        r = requests.get(sim.rest_base + path, params={"symbol": "BTCUSDT", "interval": "1m"})
        assert (r.status_code, r.json()) == (400, INVALID_INTERVAL)


def test_klines_weights_and_injected_faults(make_sim):
    sim = make_sim(history_s=3600, history_1s_s=60)
    spot, futures = sim.rest_base + "/api/v3/klines", sim.rest_base + "/fapi/v1/klines"
    cases = [
        (spot, None, 2),
        (spot, 1000, 2),
        (futures, 99, 1),
        (futures, 100, 2),
        (futures, 499, 2),
        (futures, None, 5),
        (futures, 1000, 5),
        (futures, 1001, 10),
        (futures, 1500, 10),
    ]
    for url, limit, weight in cases:
        params: dict[str, object] = {"symbol": "BTCUSDT", "interval": "1m"}
        if limit is not None:
            params["limit"] = limit
        before = sim.rest_weight
        r = requests.get(url, params=params)
        assert r.status_code == 200 and sim.rest_weight - before == weight, (url, limit)
        assert int(r.headers["X-MBX-USED-WEIGHT-1M"]) >= weight
    for status in (429, 418, 503):
        sim.inject_rest_errors(1, status=status, retry_after=7)
        r = requests.get(futures, params={"symbol": "BTCUSDT", "interval": "1m"})
        assert r.status_code == status
        assert r.headers.get("Retry-After") == ("7" if status in (418, 429) else None)
    assert requests.get(spot, params={"symbol": "BTCUSDT", "interval": "1m"}).status_code == 200
    assert [s for _, p, s in sim.rest_log()[-4:] if p.endswith("klines")] == [429, 418, 503, 200]
