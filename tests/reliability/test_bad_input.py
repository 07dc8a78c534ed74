"""Bad frames and back-pressure: the reader counts what it rejects or drops, never dies.

Case 6 sends every malformed kind the simulator knows (invalid JSON, unknown event, wrong
types, a >1 MB frame, invalid UTF-8, ...) in the middle of a live stream; case 9 holds the
SQLite write lock longer than the busy timeout while the simulator blasts, so the bounded buffer
overflows. Both end with the database equal to the simulator and the counters visible in their
own ``feed_status`` columns (``rejected_<kind>``, ``rejected_frames``, ``dropped_trades``).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from ingest.simulator import MALFORMED_KINDS
from ingest.storage import REJECT_KINDS, make_engine, reject_column
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.reliability.support import gap_states, paused_simulator, wait_complete
from tests.simulator_helpers import wait_connections

pytestmark = pytest.mark.slow


def _counter(engine, column: str) -> int:
    with engine.connect() as conn:
        value = conn.execute(
            text(f"SELECT {column} FROM feed_status WHERE symbol = 'BTCUSDT'")
        ).scalar()
    return int(value or 0)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_malformed_frames_are_counted_and_trades_keep_landing(tmp_path, sqlite_url) -> None:
    """Case 6: one frame of every malformed kind, twice, between valid trades."""
    sim = paused_simulator(rate=500, seed=41, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            for _ in range(2):
                for kind in MALFORMED_KINDS:
                    assert sim.send_malformed(kind) == 1
                    time.sleep(0.05)
            after = stored_count(engine)
            wait_until(lambda: stored_count(engine) > after + 1000, 15, "trades after bad frames")
            wait_until(lambda: _counter(engine, "rejected_frames") >= 8, 5, "counters")
            kinds = ("invalid_json", "unknown_event", "wrong_types", "oversized")
            wait_until(
                lambda: all(_counter(engine, reject_column(kind)) for kind in kinds), 5, "per kind"
            )
            per_kind = {kind: _counter(engine, reject_column(kind)) for kind in REJECT_KINDS}
            rejected = _counter(engine, "rejected_frames")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert ingest.proc.poll() is None
            assert ingest.terminate() == 0
            log = ingest.output()
        warnings = log.count("rejected frame")
        print(
            f"\n[bad-frames] sent={sim.malformed_sent} connections={sim.total_connections} "
            f"rejected={per_kind} log_lines={warnings} {final}"
        )
        assert sim.total_connections == 1  # no bad frame cost a reconnect
        assert rejected == sum(per_kind.values()) >= 8  # the total is the sum of the kinds
        assert all(per_kind[kind] >= 2 for kind in kinds)  # each kind was sent twice
        assert "Traceback" not in log
        assert warnings <= len(MALFORMED_KINDS)  # logged once per kind, then only counted


def test_writer_stall_overflows_into_gaps_that_backfill_fills(tmp_path, sqlite_url) -> None:
    """Case 9: queue_max 1000, the write lock held 6 s (> busy timeout) at 3000 trades/s."""
    sim = paused_simulator(rate=3000, seed=43, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, {"ingest": {"queue_max": 1000}})
        with IngestProcess(config) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            wait_until(lambda: stored_count(engine) > 5000, 20, "ingest under load")
            rss_before = _rss_kib(ingest.proc.pid)
            blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            rss_peak = rss_before
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                rss_peak = max(rss_peak, _rss_kib(ingest.proc.pid))
                time.sleep(0.2)
            blocker.execute("ROLLBACK")
            blocker.close()
            dropped = wait_until(lambda: _counter(engine, "dropped_trades"), 10, "dropped")
            before = stored_count(engine)
            wait_until(lambda: stored_count(engine) > before + 3000, 20, "live trades again")
            sim.pause()
            final = wait_complete(engine, sim, timeout=60)
            assert ingest.terminate() == 0
            log = ingest.output()
        print(
            f"\n[back-pressure] dropped={dropped} gaps={gap_states(engine)} "
            f"rss_before={rss_before}KiB rss_peak_during_stall={rss_peak}KiB {final}"
        )
        assert "database is locked" in log  # the stall outlived the busy timeout
        assert rss_peak - rss_before < 50 * 1024
