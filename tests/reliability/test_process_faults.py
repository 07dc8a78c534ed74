"""Process faults: ``kill -9`` and restart, and a standby taking over from a killed ingestor.

The simulator keeps generating while no ingestor runs (``generate="always"``), so the downtime
is a real hole the restarted (or standby) ingestor must backfill from REST.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
from sqlalchemy import text

from ingest.lock import ADVISORY_KEY, InstanceLock
from ingest.storage import make_engine
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.reliability.support import gap_states, kill9, paused_simulator, wait_complete
from tests.simulator_helpers import wait_connections, wait_sim

pytestmark = pytest.mark.slow


def test_kill9_then_restart_backfills_the_downtime(tmp_path, sqlite_url) -> None:
    """Case 5: kill -9 under load, 2 s down, restart: complete, no duplicates, lock free."""
    sim = paused_simulator(rate=2000, seed=31, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url)
        with IngestProcess(config) as first:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 6000, 20, "ingest under load")
            kill9(first.proc.pid)
            assert first.proc.wait(5) == -9
        lock = InstanceLock(engine)
        lock_free = lock.try_acquire()
        lock.release()
        at_kill = stored_count(engine)
        time.sleep(2)  # downtime: the exchange keeps trading
        with IngestProcess(config) as second:
            wait_until(lambda: stored_count(engine) > sim.generated_count - 500, 20, "caught up")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert second.terminate() == 0
        with engine.connect() as conn:
            integrity = conn.execute(text("PRAGMA integrity_check")).scalar()
        print(
            f"\n[kill-9] stored_at_kill={at_kill} lock_free={lock_free} integrity={integrity} "
            f"gaps={gap_states(engine)} {final}"
        )
        assert lock_free
        assert integrity == "ok"


def _holding(process: IngestProcess) -> bool:
    return "holding" in process.output()


def test_standby_takes_over_after_kill9(tmp_path, backend_url) -> None:
    """Case 10: ``run --standby`` waits; after kill -9 of the active one it takes over < 10 s."""
    sim = paused_simulator(rate=1000, seed=37, generate="always")
    with sim:
        engine = make_engine(backend_url)
        active_cfg = ingest_config(tmp_path, sim, backend_url, name="active.yaml")
        standby_cfg = ingest_config(tmp_path, sim, backend_url, name="standby.yaml")
        with IngestProcess(active_cfg) as active, ExitStack() as stack:
            wait_until(lambda: _holding(active), 15, "active ingestor holding the lock")
            standby = stack.enter_context(IngestProcess(standby_cfg, "--standby"))
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 3000, 20, "active ingestor writing")
            wait_until(lambda: "standby: waiting" in standby.output(), 15, "standby waiting")
            assert not _holding(standby)
            assert sim.connections == 1
            killed_at = kill9(active.proc.pid)
            wait_until(lambda: _holding(standby), 10, "standby holding the lock")
            took_over = time.monotonic() - killed_at
            before = stored_count(engine)
            wait_until(lambda: stored_count(engine) > before + 2000, 20, "standby writing")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert standby.terminate() == 0
        backend = backend_url.split(":", 1)[0]
        print(f"\n[standby {backend}] takeover={took_over:.2f}s gaps={gap_states(engine)} {final}")
        assert took_over < 10


def test_restart_finds_downtime_of_a_symbol_that_then_goes_quiet(tmp_path, sqlite_url) -> None:
    """Trades made while down, then silence: only the newest-trade probe can reveal the hole."""
    sim = paused_simulator(rate=200, seed=41, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, {"feed": {"silence_s": 60}})
        with IngestProcess(config) as first:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 400, 20, "first ingestor writing")
            assert first.terminate() == 0
        down_from = sim.generated("ETHUSDT")
        wait_sim(sim, lambda: sim.generated("ETHUSDT") > down_from + 300, timeout=10)
        sim.silence("ETHUSDT", 120)  # ETH traded while we were down, then went quiet
        with IngestProcess(config) as second:
            final = wait_complete(engine, sim, timeout=30)
            assert second.terminate() == 0
        print(f"\n[quiet after downtime] eth_down={sim.generated('ETHUSDT') - down_from} {final}")
        assert final.complete


def test_lost_postgres_lock_stops_the_ingestor_without_writing(tmp_path, pg_url) -> None:
    """The lock's session is killed: the ingestor stops (status 1) so two can never write."""
    sim = paused_simulator(rate=200, seed=43, generate="always")
    with sim:
        engine = make_engine(pg_url)
        with IngestProcess(ingest_config(tmp_path, sim, pg_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 200, 20, "ingest writing")
            with engine.connect() as conn:
                holder = conn.execute(
                    text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :k"),
                    {"k": ADVISORY_KEY},
                ).scalar_one()
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
            began = time.monotonic()
            status = ingest.proc.wait(15)
            stopped_after = time.monotonic() - began
            output = ingest.output()
        print(f"\n[lock lost] status={status} stopped_after={stopped_after:.1f}s")
        assert status == 1
        assert "lost PostgreSQL advisory lock" in output
        assert "Traceback" not in output
        assert stopped_after < 8
