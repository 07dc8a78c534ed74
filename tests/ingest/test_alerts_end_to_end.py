"""Alerts end to end: a simulated spread excursion fires exactly the expected alert rows.

The simulator pushes the base leg several sigma away for a few seconds. The ingestor's alert
worker evaluates the rule after each bar close, with no browser anywhere. The expected events
are recomputed offline from the stored bars with the same pure functions (rolling β is causal,
so a bar's z does not depend on when it was evaluated) and must equal the ``alerts`` table and
what the webhook received. The rule state the worker left in ``rule_states`` must agree with
the last stored alert and with the offline replay up to the last bar it evaluated, and
``dashboard.data.alert_log.rule_states`` (the dashboard) must report that same state.
``tests/ingest/test_alert_worker.py`` shows the same holds for static fits, which the worker
refits per bar.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from analytics import (
    AlertRule,
    AlertState,
    PairParams,
    align_pair,
    complete_rows,
    compute_pair,
    evaluate,
)
from dashboard.data import alert_log
from dashboard.services import DataService
from ingest.settings import load_settings
from ingest.simulator import Simulator, SimulatorConfig
from ingest.storage import make_engine, read_alerts, read_bars, rule_states_by_rule
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.simulator_helpers import wait_finished

pytestmark = pytest.mark.slow

RULE = {
    "name": "z25",
    "pair": "BTC-ETH",
    "entry_z": 2.5,
    "exit_z": 0.5,
    "cooldown_s": 0,
    "direction": "both",
    "timeframe": "1s",
    "window": 10,
}


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP server recording the JSON bodies POSTed to it."""
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()


def alert_count(engine) -> int:
    with engine.connect() as conn:
        return len(read_alerts(conn))


SPEC = AlertRule(name="z25", pair="BTC-ETH", entry_z=2.5, exit_z=0.5, cooldown_s=0, window=10)


def offline_z(engine) -> tuple[np.ndarray, np.ndarray]:
    """Bar times and causal z of every stored bar, computed offline."""
    with engine.connect() as conn:
        legs = [
            read_bars(conn, s, 0, 2**40).set_index("ts_s")["close"] for s in ("BTCUSDT", "ETHUSDT")
        ]
    aligned = complete_rows(align_pair(legs[0], legs[1], bar_seconds=1, max_stale_bars=5))
    params = PairParams(method="rolling", window=10, z_window=10)
    z = compute_pair(aligned["base"], aligned["hedge"], params, with_health=False).z
    return aligned.index.to_numpy(dtype=np.int64), z


def expected_events(engine) -> list[tuple[int, str]]:
    ts, z = offline_z(engine)
    closed = ts < ts.max()  # the last bar may still have been open when ingestion stopped
    events, _ = evaluate(ts[closed], z[closed], SPEC, AlertState())
    return [(int(event.ts) * 1000, str(event.direction)) for event in events]


def test_excursion_fires_exactly_the_expected_alerts(tmp_path, sqlite_url, webhook) -> None:
    config = SimulatorConfig(
        symbols=("BTCUSDT", "ETHUSDT"),
        rate=25,
        max_trades=25 * 34,
        seed=11,
        excursion_at_s=22,
        excursion_sigma=8,
        excursion_duration_s=5,
    )
    with Simulator(config).start() as sim:
        hook_url, posted = webhook
        extra = {
            "analytics": {"hedge_method": "rolling", "window": 10},
            "alerts": {"rules": [RULE], "webhook_url": hook_url},
        }
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url, extra)
        with IngestProcess(config) as ingest:
            wait_finished(sim, timeout=60)
            wait_until(lambda: stored_count(engine) == sim.generated_count, 20, "all trades")
            wait_until(lambda: alert_count(engine) > 0, 10, "an alert row")
            wait_until(lambda: len(posted) >= alert_count(engine), 10, "the webhook posts")
            assert ingest.terminate() == 0
    expected = expected_events(engine)
    with engine.connect() as conn:
        stored = read_alerts(conn).sort_values("ts_ms")
    assert "UP" in [d for _, d in expected], expected
    assert [
        (int(t), str(d)) for t, d in zip(stored.ts_ms, stored.direction, strict=True)
    ] == expected
    assert (stored.pair == "BTC-ETH").all() and (stored.rule == "z25").all()
    assert stored.beta.notna().all() and stored.spread.notna().all()
    assert sorted((p["ts_ms"], p["direction"], p["pair"], p["rule"]) for p in posted) == [
        (ts, direction, "BTC-ETH", "z25") for ts, direction in expected
    ]

    with engine.connect() as conn:
        (state,) = rule_states_by_rule(conn).values()
    last = stored.iloc[-1]
    assert (state["pair"], state["rule"], state["timeframe"]) == ("BTC-ETH", "z25", "1s")
    assert (state["last_alert_ts"] * 1000, state["last_direction"]) == (last.ts_ms, last.direction)
    ts, z = offline_z(engine)
    seen = ts <= state["last_eval_ts"]
    assert state["last_eval_ts"] in ts and state["last_eval_ts"] >= last.ts_ms // 1000
    _, replayed = evaluate(ts[seen], z[seen], SPEC, AlertState())
    assert bool(state["armed"]) is replayed.armed
    assert state["last_z"] == pytest.approx(z[seen][-1], rel=1e-6)
    (shown,) = alert_log.rule_states(DataService(load_settings(config, environ={})))
    assert (shown.pair, shown.name) == ("BTC-ETH", "z25")
    assert shown.state == ("armed" if replayed.armed else "triggered")
    assert (shown.last_direction, shown.last_alert_ts) == (last.direction, last.ts_ms // 1000)
    assert (shown.last_eval_ts, shown.last_z) == (state["last_eval_ts"], state["last_z"])
