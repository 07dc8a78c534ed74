"""Connection faults: repeated drops under load, ``serverShutdown``, one silent symbol.

Each case runs the real ``python -m ingest run`` subprocess against the loopback simulator and
ends by comparing the database with the simulator's record: every trade stored exactly once,
every gap closed. Figures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from ingest.storage import make_engine, read_status
from tests.conftest import wait_until
from tests.ingest.test_end_to_end import assert_database_matches
from tests.ingest_process import IngestProcess, ingest_config
from tests.reliability.support import gap_states, paused_simulator, wait_complete
from tests.simulator_helpers import wait_connections, wait_generated

pytestmark = pytest.mark.slow

TOTAL_TRADES = 120_000


def test_drops_every_n_frames_under_load_lose_nothing(tmp_path, sqlite_url) -> None:
    """Case 1: 120k trades at 3000/s per symbol, the link dropped every 5000 frames."""
    sim = paused_simulator(rate=3000, seed=11, generate="always", drop_after_frames=5000)
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            started = time.monotonic()
            sim.resume()
            wait_generated(sim, TOTAL_TRADES, timeout=90)
            sim.set_faults(drop_after_frames=None)  # a healthy tail reveals the last gap
            wait_connections(sim, 1, timeout=15)
            wait_generated(sim, sim.generated_count + 2000, timeout=15)
            sim.pause()
            final = wait_complete(engine, sim, timeout=90)
            elapsed = time.monotonic() - started
            assert ingest.terminate() == 0
        gaps = gap_states(engine)
        with engine.connect() as conn:
            reconnects = int(read_status(conn).reconnects.min())
        print(
            f"\n[drops] drops={sim.total_connections - 1} reconnects={reconnects} "
            f"{final} gaps={gaps} rest_calls={sim.rest_calls} complete_after={elapsed:.1f}s"
        )
        assert sim.total_connections > 10
        assert gaps.get("lost", 0) == 0
        assert_database_matches(engine, sim)


def test_server_shutdown_reconnects_within_5s(tmp_path, sqlite_url) -> None:
    """Case 2: ``serverShutdown`` event, then the server closes with 1001 after 1 s."""
    sim = paused_simulator(rate=1000, seed=5, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_generated(sim, 4000, timeout=15)
            before = sim.total_connections
            sent_at = time.monotonic()
            assert sim.server_shutdown(grace_s=1.0) == 1
            wait_until(lambda: sim.total_connections > before, 5, "a new connection")
            reconnect_s = time.monotonic() - sent_at
            wait_generated(sim, sim.generated_count + 4000, timeout=15)
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert ingest.terminate() == 0
            log = ingest.output()
        print(f"\n[serverShutdown] reconnect={reconnect_s:.2f}s {final} gaps={gap_states(engine)}")
        assert reconnect_s < 5
        assert "serverShutdown received" in log


def _status_reason(engine, symbol: str) -> str:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT reason FROM feed_status WHERE symbol = :s"), {"s": symbol}
        ).first()
    return "" if row is None else str(row[0])


def _connected(engine, symbol: str) -> bool:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT connected, reason FROM feed_status WHERE symbol = :s"), {"s": symbol}
        ).first()
    return row is not None and bool(row[0]) and not row[1]


def _last_trade_ms(engine, symbol: str) -> int:
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT max(ts_ms) FROM trades WHERE symbol = :s"), {"s": symbol}
        ).scalar()
    return int(value or 0)


def test_silent_symbol_is_flagged_and_reconnected(tmp_path, sqlite_url) -> None:
    """Case 3: ETHUSDT silent for 6 s while BTCUSDT flows; ``feed.silence_s`` = 2."""
    sim = paused_simulator(rate=200, seed=9, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, {"feed": {"silence_s": 2}})
        with IngestProcess(config) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: _last_trade_ms(engine, "ETHUSDT") > 0, 15, "ETH trades")
            connections = sim.total_connections
            silenced_at = time.monotonic()
            sim.silence("ETHUSDT", 6.0)
            wait_until(
                lambda: "silent" in _status_reason(engine, "ETHUSDT"), 6, "ETH flagged silent"
            )
            flagged_s = time.monotonic() - silenced_at
            wait_until(lambda: sim.total_connections > connections, 5, "watchdog reconnect")
            wait_until(lambda: _connected(engine, "BTCUSDT"), 5, "feed_status connected again")
            flagged_reason = _status_reason(engine, "ETHUSDT")  # still flagged after reconnect
            btc_reason = _status_reason(engine, "BTCUSDT")
            resumed_from = int(time.time() * 1000) + max(0, int((6.0 - flagged_s) * 1000))
            wait_until(lambda: _last_trade_ms(engine, "ETHUSDT") > resumed_from, 15, "ETH resumes")
            wait_until(lambda: "silent" not in _status_reason(engine, "ETHUSDT"), 5, "flag cleared")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert ingest.terminate() == 0
        print(
            f"\n[silence] flagged_after={flagged_s:.1f}s reason={flagged_reason!r} "
            f"reconnects={sim.total_connections - 1} {final}"
        )
        assert "silent" in flagged_reason
        assert "silent" not in btc_reason
