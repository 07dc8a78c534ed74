"""History on start, against the simulator's klines: full windows within seconds, exact seam.

A fresh database and ``python -m ingest run`` with the default ``history:`` (2 h of 1s, 7 d of
1m klines). The simulator's klines are the exchange's truth: before its live tape they come
from its generated past, over the tape they aggregate the trades it sent. Bars read the way
the dashboard reads them must equal those klines on every 1m and 1s bar, before, at and after
the seam, and a z must exist on 1s, 1m and 5m as soon as the history is in. An exchange that
answers every klines request with ``-1120 Invalid interval.`` must not stop trade ingestion.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from analytics.bars import resample_bars
from ingest.simulator import Simulator, SimulatorConfig
from ingest.storage import make_engine, read_bars, read_history, read_trade_bars
from tests.conftest import wait_until
from tests.history_probe import TF_WINDOWS, newest_z
from tests.ingest_process import IngestProcess, ingest_config, run_ingest, stored_count

pytestmark = pytest.mark.slow

SYMBOLS = ("BTCUSDT", "ETHUSDT")
DEFAULT_HISTORY = {"history": {"one_second_hours": 2, "one_minute_days": 7}}
KLINE_FIELDS = ("open", "high", "low", "close", "volume", "n_trades")


def _all_klines(sim: Simulator, symbol: str, interval: str, start_ms: int, end_ms: int):
    """Every kline opening in ``[start_ms, end_ms]``, paged like a client would."""
    rows: list[list] = []
    cursor = start_ms
    while cursor <= end_ms:
        page = sim.klines(symbol, interval, cursor, end_ms, 1000)
        if not page:
            break
        rows += page
        cursor = int(page[-1][0]) + 1
    frame = pd.DataFrame(
        {
            "ts_s": [int(r[0]) // 1000 for r in rows],
            **{
                name: [float(r[i]) for r in rows]
                for name, i in (("open", 1), ("high", 2), ("low", 3), ("close", 4), ("volume", 5))
            },
            "n_trades": [int(r[8]) for r in rows],
        }
    )
    return frame


def _assert_bars_equal_klines(bars: pd.DataFrame, klines: pd.DataFrame, what: str) -> None:
    bars = bars[bars.volume > 0].reset_index(drop=True)  # klines of quiet intervals are empty
    klines = klines[klines.volume > 0].reset_index(drop=True)
    assert bars.ts_s.tolist() == klines.ts_s.tolist(), what
    assert bars.n_trades.tolist() == klines.n_trades.tolist(), what
    for name in KLINE_FIELDS[:-1]:
        np.testing.assert_allclose(bars[name], klines[name], rtol=1e-9, err_msg=f"{what} {name}")


def _history_loaded(engine) -> bool:
    with engine.connect() as conn:
        rows = read_history(conn)
    return len(rows) == 2 * len(SYMBOLS) and all(r.state == "loaded" for r in rows)


def test_fresh_database_has_full_windows_and_an_exact_seam(tmp_path, sqlite_url) -> None:
    sim = Simulator(SimulatorConfig(symbols=SYMBOLS, rate=40, seed=5)).start()
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, DEFAULT_HISTORY)
        with IngestProcess(config) as ingest:
            began = time.monotonic()
            wait_until(lambda: _history_loaded(engine), 30, "history loaded")
            loaded_s = time.monotonic() - began
            z = {tf: newest_z(engine, *SYMBOLS, tf, w) for tf, w in TF_WINDOWS.items()}
            wait_until(lambda: stored_count(engine) > 200, 20, "live trades")
            sim.pause()
            total = sum(sim.generated(s) for s in SYMBOLS)
            wait_until(lambda: stored_count(engine) == total, 20, "every sent trade stored")
            assert ingest.terminate() == 0
            log = ingest.output()
        status = run_ingest(config, "status").stdout
    print(f"\n[history] loaded in {loaded_s:.1f} s; z {z}")
    assert all(value is not None for value in z.values()), z
    assert "history: BTCUSDT 1m 7 d loaded" in status
    assert "history: ETHUSDT 1s 2 h loaded" in status
    assert "history: BTCUSDT 1m loading" in log or "history: BTCUSDT 1m 7 d loaded" in log
    tape_s = sim.tape_start_ms // 1000
    with engine.connect() as conn:
        rows = {(r.symbol, r.interval): r for r in read_history(conn)}
        for symbol in SYMBOLS:
            last_s = int(read_trade_bars(conn, symbol, 0, 2**40).ts_s.max())
            start_s = rows[(symbol, "1m")].from_s
            minutes = resample_bars(read_bars(conn, symbol, start_s, last_s, 60), "1m")
            want = _all_klines(sim, symbol, "1m", start_s * 1000, last_s * 1000)
            _assert_bars_equal_klines(minutes, want, f"{symbol} 1m")
            seam = rows[(symbol, "1s")].to_s
            lo, hi = max(seam - 120, tape_s - 60), min(seam + 120, last_s)
            seconds = resample_bars(read_bars(conn, symbol, lo, hi, 1), "1s")
            _assert_bars_equal_klines(
                seconds, _all_klines(sim, symbol, "1s", lo * 1000, hi * 1000), f"{symbol} 1s"
            )


def test_an_exchange_without_klines_still_ingests_trades(tmp_path, sqlite_url) -> None:
    sim = Simulator(SimulatorConfig(symbols=SYMBOLS, rate=40, seed=6, klines=False)).start()
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, DEFAULT_HISTORY)
        with IngestProcess(config) as ingest:

            def refused() -> bool:
                with engine.connect() as conn:
                    rows = read_history(conn)
                return len(rows) == 2 * len(SYMBOLS) and all(r.state == "unavailable" for r in rows)

            wait_until(refused, 30, "every interval marked unavailable")
            before = stored_count(engine)
            wait_until(lambda: stored_count(engine) > before + 100, 20, "trades keep coming")
            assert ingest.terminate() == 0
            log = ingest.output()
    with engine.connect() as conn:
        rows = read_history(conn)
        bars = read_bars(conn, "BTCUSDT", 0, 2**40, 60)
        trade_bars = read_trade_bars(conn, "BTCUSDT", 0, 2**40)
    assert all("Invalid interval" in r.reason for r in rows), [r.reason for r in rows]
    assert log.count("going on with trades") == 2 * len(SYMBOLS)
    pd.testing.assert_frame_equal(bars, trade_bars)
