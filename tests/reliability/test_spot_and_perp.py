"""Spot and USD-M perpetual side by side in one ingestor: a basis pair on the strict simulator.

``symbols: [BTCUSDT, ETHUSDT, usdm:BTCUSDT]`` with ``feed.market: spot``: spot BTCUSDT and
ETHUSDT stream ``@trade`` on ``/stream``, the perpetual streams ``@aggTrade`` and
``@markPrice@1s`` on the routed ``/market/stream`` (USD-M websocket docs), each on its own
connection. The perpetual's aggregate trades are stored under the key ``usdm:BTCUSDT`` beside
spot BTCUSDT, its mark price and funding rate reach ``feed_status``, and the dashboard's data
service computes the basis pair from both keys like any other pair.
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.components import perp_line
from dashboard.data import feed, windows
from dashboard.params import parse_view
from dashboard.services import DataService
from ingest.settings import load_settings
from ingest.storage import make_engine, read_status
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_trades
from tests.reliability.support import paused_simulator
from tests.simulator_helpers import wait_connections, wait_generated

pytestmark = pytest.mark.slow

PERP = "usdm:BTCUSDT"
BASIS = {
    "symbols": ["BTCUSDT", "ETHUSDT", PERP],
    "pairs": [
        {"name": "BASIS", "base": PERP, "hedge": "BTCUSDT"},
        {"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"},
    ],
}


def test_a_basis_pair_streams_both_markets_and_computes(tmp_path, sqlite_url) -> None:
    sim = paused_simulator(rate=200, seed=71, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, BASIS)
        with IngestProcess(config) as ingest:
            wait_connections(sim, 2, timeout=15)
            sim.resume()
            wait_generated(sim, sim.generated_count + 3000, timeout=30)
            sim.pause()
            want_aggs = len(np.unique(sim.histories["BTCUSDT"].rows().agg))
            want_trades = len(sim.sent_ids("BTCUSDT"))
            wait_until(
                lambda: (
                    len(stored_trades(engine, PERP)) == want_aggs
                    and len(stored_trades(engine, "BTCUSDT")) == want_trades
                ),
                30,
                "both markets stored",
            )

            def marked() -> bool:
                with engine.connect() as conn:
                    status = read_status(conn).set_index("symbol")
                return PERP in status.index and status.loc[PERP, "mark_price"] > 0

            wait_until(marked, 15, "the perpetual's mark price")
            assert ingest.terminate() == 0
    with engine.connect() as conn:
        status = read_status(conn).set_index("symbol")
    perp, spot = stored_trades(engine, PERP), stored_trades(engine, "BTCUSDT")
    assert perp.trade_id.max() < spot.trade_id.max()  # aggregate ids, not trade ids
    assert status.loc[PERP, "next_funding_ms"] > 0
    assert np.isnan(status.loc["BTCUSDT", "mark_price"])  # spot has no mark price
    service = DataService(load_settings(config, environ={}))
    result = windows.pair_window(service, parse_view(service.settings, {"pair": "BASIS"}))
    assert result.both_legs and len(result.aligned) >= 5
    np.testing.assert_allclose(result.aligned["base"], result.aligned["hedge"], rtol=1e-3)
    quotes = feed.perp_quotes(service, (PERP, "BTCUSDT"))
    assert [q.symbol for q in quotes] == [PERP]
    line = perp_line(quotes[0], "UTC").children
    assert line.startswith(f"{PERP} mark ") and " · funding " in line and "UTC" in line
    rows = {r.light.symbol: r for r in feed.status_report(service).symbols}
    assert rows[PERP].quote == quotes[0]
    assert rows["BTCUSDT"].quote is None
