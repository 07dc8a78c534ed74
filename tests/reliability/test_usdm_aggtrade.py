"""USD-M futures end to end on the strict simulator: routed aggTrade stream and fapi backfill.

Binance USD-M publishes ``<symbol>@aggTrade`` on the routed ``/market/stream`` path and serves
``GET /fapi/v1/aggTrades?fromId=`` without an API key, weight 20, for the last 48 hours (USD-M
websocket and REST docs). The ingestor runs with ``market: usdm`` and ``stream: aggTrade``
through dropped links, skipped ids, a ``serverShutdown`` and a 429 on the backfill endpoint;
at the end every aggregate trade the exchange produced is stored exactly once, with its price
and quantity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ingest.storage import make_engine
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_trades
from tests.reliability.support import SYMBOLS, paused_simulator
from tests.simulator_helpers import wait_connections, wait_generated

pytestmark = pytest.mark.slow

USDM = {"feed": {"market": "usdm", "stream": "aggTrade"}}


def _aggregates(sim, symbol: str) -> pd.DataFrame:
    """The exchange's aggregate trades of ``symbol``: id, price, summed quantity."""
    rows = sim.histories[symbol].rows()
    frame = pd.DataFrame({"agg": rows.agg, "price": rows.price, "qty": rows.qty})
    return frame.groupby("agg", sort=True).agg(price=("price", "first"), qty=("qty", "sum"))


def _complete(engine, sim) -> bool:
    return all(
        len(stored_trades(engine, s)) == len(np.unique(sim.histories[s].rows().agg))
        for s in SYMBOLS
    )


def test_usdm_aggtrades_survive_drops_skips_shutdown_and_a_429(tmp_path, sqlite_url) -> None:
    sim = paused_simulator(rate=800, seed=61, generate="always", drop_after_frames=3000)
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url, USDM)) as ingest:
            wait_connections(sim, 1, timeout=15)
            start = sim.config.start_id_for("BTCUSDT") + sim.generated("BTCUSDT")
            sim.skip_ids("BTCUSDT", start + 500, start + 699)  # aggregates withheld whole
            sim.inject_rest_errors(1, status=429, retry_after=1, path="/fapi/")
            sim.resume()
            wait_generated(sim, sim.generated_count + 20_000, timeout=60)
            sim.set_faults(drop_after_frames=None)
            assert sim.server_shutdown(grace_s=0.5) >= 1
            wait_connections(sim, 1, timeout=15)
            wait_generated(sim, sim.generated_count + 2000, timeout=15)
            sim.pause()
            wait_until(lambda: _complete(engine, sim), 60, "every aggregate trade stored")
            assert ingest.terminate() == 0
            log = ingest.output()
    paths = {entry[1].split("?")[0] for entry in sim.rest_log()}
    print(f"\n[usdm] connections={sim.total_connections} rest paths={sorted(paths)}")
    assert sim.total_connections > 3
    assert "/fapi/v1/aggTrades" in paths
    assert not any(p.startswith("/api/v3/") for p in paths)
    assert "REST 429" in log
    for symbol in SYMBOLS:
        want = _aggregates(sim, symbol)
        have = stored_trades(engine, symbol).set_index("trade_id").sort_index()
        assert have.index.is_unique
        assert have.index.tolist() == want.index.tolist()
        np.testing.assert_allclose(have.price, want.price, rtol=1e-12)
        np.testing.assert_allclose(have.qty, want.qty, rtol=1e-9)
