"""Alert markers sit on the drawn z line: the worker's z equals the page's z at every alert.

The ingestor's alert worker evaluates an OLS rule (the default method, a static fit refitted
per bar) bar by bar while a simulated excursion runs. Afterwards the dashboard's own
``pairs.pair_result`` reads the same bars as the spread page does. Because both take z
from the causal ``analytics.compute_pair``, every stored alert's z must equal the charted z of
its bar, beyond the threshold on the side of its direction (the audit found 53 % of markers
inside the band when the page used one in-sample fit).
"""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.data import pairs
from dashboard.params import parse_view
from dashboard.services import DataService
from ingest.settings import load_settings
from ingest.simulator import Simulator, SimulatorConfig
from ingest.storage import make_engine, read_alerts
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.simulator_helpers import wait_finished

pytestmark = pytest.mark.slow

RULE = {
    "name": "z2",
    "pair": "BTC-ETH",
    "entry_z": 2.0,
    "exit_z": 0.5,
    "cooldown_s": 0,
    "direction": "both",
    "timeframe": "1s",
    "window": 10,
}


def test_every_stored_alert_sits_on_the_displayed_z_line(tmp_path, sqlite_url) -> None:
    config = SimulatorConfig(
        symbols=("BTCUSDT", "ETHUSDT"),
        rate=25,
        max_trades=25 * 40,
        seed=12,
        excursion_at_s=26,
        excursion_sigma=8,
        excursion_duration_s=5,
    )
    extra = {"analytics": {"hedge_method": "ols", "window": 12}, "alerts": {"rules": [RULE]}}
    engine = make_engine(sqlite_url)
    with Simulator(config).start() as sim:
        path = ingest_config(tmp_path, sim, sqlite_url, extra)
        with IngestProcess(path) as ingest:
            wait_finished(sim, timeout=60)
            wait_until(lambda: stored_count(engine) == sim.generated_count, 20, "all trades")
            wait_until(lambda: not read_alerts(engine.connect()).empty, 10, "an alert row")
            assert ingest.terminate() == 0
    with engine.connect() as conn:
        stored = read_alerts(conn)
    settings = load_settings(path, environ={})
    query = {"pair": "BTC-ETH", "tf": "1s", "method": "ols", "window": "12", "z_window": "10"}
    result = pairs.pair_result(DataService(settings, share=False), parse_view(settings, query))
    assert result.analytics is not None
    index = {int(t): i for i, t in enumerate(result.ts)}
    assert len(stored) >= 1
    for alert in stored.itertuples():
        charted = result.analytics.z[index[alert.ts_ms // 1000]]
        assert charted == pytest.approx(alert.z, abs=1e-9)
        assert charted > 2.0 if alert.direction == "UP" else charted < -2.0
    assert np.isfinite(result.analytics.z[-5:]).all()
