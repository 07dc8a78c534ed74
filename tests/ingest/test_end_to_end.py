"""End to end: simulator on loopback → ``python -m ingest run`` subprocess → database.

Each case compares the database with the simulator's own record of every trade it generated:
same ids, times, prices and quantities, no duplicates, and 1-second bars equal to a pandas
resample of those trades. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from ingest.simulator import Simulator, SimulatorConfig
from ingest.storage import Trade, make_engine, read_bars, read_gaps, read_status
from tests.conftest import wait_until
from tests.ingest.test_storage import pandas_bars
from tests.ingest_process import IngestProcess, ingest_config, stored_count, stored_trades
from tests.simulator_helpers import wait_finished

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def assert_database_matches(engine, sim: Simulator) -> None:
    for symbol in SYMBOLS:
        expected = sim.trades_frame(symbol).sort_values("trade_id").reset_index(drop=True)
        stored = stored_trades(engine, symbol)
        assert stored.trade_id.is_unique
        assert stored.trade_id.tolist() == expected.trade_id.tolist()
        assert stored.ts_ms.tolist() == expected.ts_ms.tolist()
        assert stored.price.tolist() == pytest.approx(expected.price.tolist(), rel=1e-12)
        assert stored.qty.tolist() == pytest.approx(expected.qty.tolist(), rel=1e-12)
        assert (
            stored.buyer_maker.astype(bool).tolist() == expected.buyer_maker.astype(bool).tolist()
        )
        bars = pandas_bars(
            [
                Trade(symbol, *row)
                for row in expected[list(Trade._fields[1:])].itertuples(index=False)
            ]
        )
        with engine.connect() as conn:
            stored_bars = read_bars(conn, symbol, 0, 2**40)
        pd.testing.assert_frame_equal(
            stored_bars[bars.columns].reset_index(drop=True), bars, check_dtype=False, rtol=1e-9
        )


@pytest.mark.slow
def test_every_trade_lands_once_and_bars_match(tmp_path, backend_url) -> None:
    config = SimulatorConfig(symbols=SYMBOLS, rate=1500, max_trades=3000, seed=7)
    with Simulator(config).start() as sim:
        path = ingest_config(tmp_path, sim, backend_url)
        engine = make_engine(backend_url)
        with IngestProcess(path) as ingest:
            wait_finished(sim, timeout=30)
            wait_until(lambda: stored_count(engine) == sim.generated_count, 20, "all trades")
            assert ingest.terminate() == 0
        assert_database_matches(engine, sim)
        with engine.connect() as conn:
            status = read_status(conn).set_index("symbol")
            gaps = read_gaps(conn)
        assert set(status.index) == set(SYMBOLS)
        assert (status.source == "simulator").all()
        assert not status.connected.any()  # the final heartbeat says the ingestor stopped
        assert gaps.empty


@pytest.mark.slow
def test_dropped_connections_lose_nothing(tmp_path, backend_url) -> None:
    config = SimulatorConfig(
        symbols=SYMBOLS, rate=2000, max_trades=4000, seed=3, drop_after_frames=1500
    )
    with Simulator(config).start() as sim:
        engine = make_engine(backend_url)
        with IngestProcess(ingest_config(tmp_path, sim, backend_url)) as ingest:
            wait_finished(sim, timeout=40)
            wait_until(lambda: stored_count(engine) == sim.generated_count, 30, "backfill")
            assert ingest.terminate() == 0
        assert sim.total_connections >= 3
        assert_database_matches(engine, sim)
        with engine.connect() as conn:
            assert read_status(conn).reconnects.min() >= 2
            assert (read_gaps(conn).state != "open").all()


@pytest.mark.slow
def test_second_ingestor_on_the_same_database_refuses(tmp_path, backend_url) -> None:
    with Simulator(SimulatorConfig(symbols=SYMBOLS, rate=50)).start() as sim:
        path = ingest_config(tmp_path, sim, backend_url)
        engine = make_engine(backend_url)
        with IngestProcess(path) as first:
            wait_until(lambda: stored_count(engine) > 0, 15, "first ingestor writing")
            with IngestProcess(path) as second:
                assert second.proc.wait(20) == 2
                assert "another ingestor is already writing this database" in second.output()
                assert "Traceback" not in second.output()
            assert first.proc.poll() is None
            assert first.terminate() == 0


def test_sigterm_drains_and_exits_quickly(tmp_path, sqlite_url) -> None:
    with Simulator(SimulatorConfig(symbols=SYMBOLS, rate=5000)).start() as sim:
        engine = make_engine(sqlite_url)
        path = ingest_config(tmp_path, sim, sqlite_url, {"ingest": {"flush_ms": 1000}})
        with IngestProcess(path) as ingest:
            wait_until(lambda: stored_count(engine) > 2000, 20, "ingest under load")
            assert ingest.terminate(timeout=5) == 0
            assert "stopped after writing" in ingest.output()
        with engine.connect() as conn:
            last_ids = dict(
                conn.execute(
                    text("SELECT symbol, max(trade_id) FROM trades GROUP BY symbol")
                ).fetchall()
            )
            counts = dict(
                conn.execute(text("SELECT symbol, count(*) FROM trades GROUP BY symbol")).fetchall()
            )
        for symbol in SYMBOLS:  # contiguous from the first id: nothing buffered was dropped
            first = int(sim.trades_frame(symbol).trade_id.min())
            assert counts[symbol] == last_ids[symbol] - first + 1
