"""Case 8: one writer under load plus eight reader processes on SQLite WAL for 60 s.

The ingestor subprocess writes the simulator's stream (2 x 2000 trades/s) while eight spawned
processes read ``bars_1s`` windows in short transactions, like dashboard workers. The pass bar
is zero "database is locked" (or any other) errors on either side; reads/s and the p95 read
latency are printed. This is the suite's only long case.
"""

from __future__ import annotations

import multiprocessing
from functools import partial

import numpy as np
import pytest

from ingest.storage import make_engine
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.reliability.readers import read_loop
from tests.reliability.support import SYMBOLS, paused_simulator, wait_complete
from tests.simulator_helpers import wait_connections

pytestmark = pytest.mark.slow

READERS = 8
SECONDS = 60.0


def test_eight_readers_and_one_writer_never_see_a_locked_database(tmp_path, sqlite_url) -> None:
    sim = paused_simulator(rate=2000, seed=47, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            sim.resume()
            work = partial(read_loop, sqlite_url, SYMBOLS)
            with multiprocessing.get_context("spawn").Pool(READERS) as pool:
                results = pool.map(work, [SECONDS] * READERS)
            written = stored_count(engine)
            sim.pause()
            final = wait_complete(engine, sim, timeout=60)
            assert ingest.terminate() == 0
            log = ingest.output()
        latencies = np.concatenate([np.asarray(r["latencies"]) for r in results])
        errors: dict[str, int] = {}
        for result in results:
            for key, n in result["errors"].items():
                errors[key] = errors.get(key, 0) + n
        print(
            f"\n[concurrency] readers={READERS} seconds={SECONDS:g} reads={len(latencies)} "
            f"reads_per_s={len(latencies) / SECONDS:.0f} "
            f"p50={np.percentile(latencies, 50) * 1000:.1f}ms "
            f"p95={np.percentile(latencies, 95) * 1000:.1f}ms "
            f"max={latencies.max() * 1000:.0f}ms read_errors={errors} "
            f"written_during={written} writer_locked={log.count('database is locked')} {final}"
        )
        assert errors == {}
        assert "database is locked" not in log
        assert "Traceback" not in log
