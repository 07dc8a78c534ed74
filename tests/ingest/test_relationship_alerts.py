"""Relationship alerts in process on a real SQLite file: a pair whose cointegration breaks
fires BROKEN, fires RESTORED when it comes back, stores both with their EG p, and a restarted
worker resumes the stored state instead of firing again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.alert_worker import AlertWorker
from ingest.settings import Settings, load_settings
from ingest.storage import (
    Trade,
    aggregate_trades,
    insert_trades,
    make_engine,
    merge_bars,
    read_alerts,
    rule_states_by_rule,
)

START_S = 1_723_161_600
CALM, BREAK = 300, 200  # seconds cointegrated, then decoupled, then cointegrated again

CONFIG = """
storage: {{url: "sqlite:///{db}"}}
pairs: [{{name: A-B, base: AAAUSDT, hedge: BBBUSDT}}]
analytics: {{window: 60, z_window: 30}}
screener: {{enabled: false}}
alerts:
  rules:
    - {{name: eg, pair: A-B, kind: relationship, timeframe: 1s, window: 60, max_p: 0.05,
       persist: 5}}
"""


def prices(seed: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """B a random walk; A = 2·B + 10 + OU noise, except during the break, when A walks alone."""
    rng = np.random.default_rng(seed)
    n = 2 * CALM + BREAK
    hedge = 100 + np.cumsum(rng.normal(0, 0.05, n))
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.3 * noise[i - 1] + rng.normal(0, 0.02)
    base = 2 * hedge + 10 + noise
    drift = np.linspace(0, 30, BREAK) + np.cumsum(rng.normal(0, 0.4, BREAK))
    base[CALM : CALM + BREAK] += drift - drift[0]
    return base, hedge


def seed(settings: Settings) -> None:
    base, hedge = prices()
    trades = [
        Trade(symbol, i + 1, (START_S + i) * 1000 + 500, float(price), 1.0, False)
        for symbol, series in (("AAAUSDT", base), ("BBBUSDT", hedge))
        for i, price in enumerate(series)
    ]
    engine = make_engine(settings.storage.url)
    with engine.begin() as conn:
        insert_trades(conn, trades)
        merge_bars(conn, aggregate_trades(trades))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "rel.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "rel.db"))
    loaded = load_settings(path, environ={})
    seed(loaded)
    return loaded


def run_worker(settings: Settings, *newest: int) -> None:
    engine = make_engine(settings.storage.url)
    worker = AlertWorker(engine, settings)
    worker.start()  # restores the stored state; its loop idles until notified
    try:
        for second in newest:
            worker.evaluate(second)
    finally:
        assert worker.stop(3.0)
        engine.dispose()


def test_a_break_fires_broken_then_restored_with_the_p_that_decided(settings: Settings) -> None:
    end = START_S + 2 * CALM + BREAK
    run_worker(settings, START_S + 100, end)
    engine = make_engine(settings.storage.url)
    with engine.connect() as conn:
        alerts = read_alerts(conn).sort_values("ts_ms")
        (state,) = rule_states_by_rule(conn).values()
    events = alerts[["direction", "kind"]].values.tolist()
    assert events == [["BROKEN", "relationship"], ["RESTORED", "relationship"]]
    broken, restored = (int(t) // 1000 for t in alerts["ts_ms"])
    assert START_S + CALM < broken < START_S + CALM + BREAK  # during the break
    assert restored > START_S + CALM + BREAK  # once the window is past it
    assert alerts["eg_p"].iloc[0] > 0.05 >= alerts["eg_p"].iloc[1]
    assert alerts["z"].notna().all() and alerts["beta"].notna().all()
    assert (state["kind"], state["armed"], state["last_direction"]) == (
        "relationship",
        True,
        "RESTORED",
    )
    assert state["last_eval_ts"] == end - 1 and state["last_p"] <= 0.05


def test_a_restarted_worker_resumes_and_does_not_fire_again(settings: Settings) -> None:
    middle = START_S + CALM + BREAK - 20  # broken by now, not yet restored
    run_worker(settings, START_S + 100, middle)
    run_worker(settings, middle + 1)  # a restart: one more bar, state from rule_states
    engine = make_engine(settings.storage.url)
    with engine.connect() as conn:
        alerts = read_alerts(conn)
        (state,) = rule_states_by_rule(conn).values()
    assert alerts["direction"].tolist() == ["BROKEN"]
    assert state["armed"] is False or state["armed"] == 0
