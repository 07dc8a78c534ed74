"""Rule state persisted by the alert worker, on both backends: storage, evaluation, restore.

The worker runs for real (its own thread, woken by ``notify`` as the writer would) over bars
stored through ``ingest.storage``; what it leaves in ``rule_states`` is compared with an offline
replay of the same pure functions over the same bars (rolling β is causal, so a bar's z does
not depend on when it was evaluated).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analytics import AlertRule, AlertState, PairParams, aligned_closes, compute_pair, evaluate
from ingest.alert_worker import AlertWorker
from ingest.settings import Settings, load_settings
from ingest.storage import (
    Trade,
    aggregate_trades,
    insert_alerts,
    insert_trades,
    make_engine,
    merge_bars,
    read_alerts,
    read_bars,
    rule_states_by_rule,
    upsert_rule_states,
)
from tests.conftest import wait_until

S = 1_717_200_000
SECONDS = 200
EXCURSION = range(150, 155)
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


def state_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "pair": "BTC-ETH",
        "rule": "z25",
        "armed": True,
        "last_direction": None,
        "last_z": None,
        "last_eval_ts": None,
        "last_alert_ts": None,
        "timeframe": "1s",
        "updated_ms": 1,
        "kind": "z",
        "last_p": None,
        "streak": 0,
    }
    return {**row, **values}


def stored_states(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {rule: row for (_, rule, _), row in rule_states_by_rule(conn).items()}


def settings_for(
    write_config: Callable[..., Path], url: str, rules: list[dict], name: str = "c.yaml"
) -> Settings:
    path = write_config(
        {
            "storage": {"url": url},
            "analytics": {"hedge_method": "rolling", "window": 20},
            "alerts": {"rules": rules},
        },
        name,
    )
    return load_settings(path, environ={})


def seed_excursion(engine) -> None:
    """One trade per second per leg: BTC = 20·ETH + 500 + noise, pushed up for 5 seconds."""
    rng = np.random.default_rng(3)
    hedge = 3000 + np.cumsum(rng.normal(0, 0.5, SECONDS))
    base = 20 * hedge + 500 + rng.normal(0, 4, SECONDS)
    base[list(EXCURSION)] += 80
    trades = [
        Trade(symbol, i + 1, (S + i) * 1000 + 100, float(price[i]), 1.0, False)
        for symbol, price in (("BTCUSDT", base), ("ETHUSDT", hedge))
        for i in range(SECONDS)
    ]
    with engine.begin() as conn:
        insert_trades(conn, trades)
        merge_bars(conn, aggregate_trades(trades))


def test_upsert_and_read_round_trip(backend_url: str) -> None:
    engine = make_engine(backend_url)
    first = [
        state_row(),
        state_row(
            rule="z3",
            armed=False,
            last_direction="DOWN",
            last_z=-3.25,
            last_eval_ts=S + 10,
            last_alert_ts=S + 8,
            timeframe="1m",
            updated_ms=S * 1000,
        ),
    ]
    with engine.begin() as conn:
        upsert_rule_states(conn, first)
        upsert_rule_states(conn, [])
    changed = state_row(armed=False, last_direction="UP", last_z=2.75, last_alert_ts=S + 20)
    with engine.begin() as conn:
        upsert_rule_states(conn, [{**changed, "last_eval_ts": S + 20, "updated_ms": 7}])
    with engine.connect() as conn:
        frame = rule_states_by_rule(conn)
    rows = list(frame.values())
    assert [(r["pair"], r["rule"]) for r in rows] == [("BTC-ETH", "z25"), ("BTC-ETH", "z3")]
    assert rows[0] == {**changed, "last_eval_ts": S + 20, "updated_ms": 7}
    assert rows[1] == first[1]
    assert isinstance(rows[1]["last_eval_ts"], int) and not rows[0]["armed"]


def test_worker_stores_each_pass_and_matches_an_offline_replay(
    backend_url: str, write_config: Callable[..., Path]
) -> None:
    settings = settings_for(write_config, backend_url, [RULE])
    engine = make_engine(backend_url)
    seed_excursion(engine)
    worker = AlertWorker(engine, settings)
    worker.start()
    try:
        before = stored_states(engine)["z25"]
        assert bool(before["armed"]) and before["last_eval_ts"] is None
        worker.notify(S + 100)
        wait_until(lambda: stored_states(engine)["z25"]["last_eval_ts"] == S + 99, 10, "pass 1")
        worker.notify(S + SECONDS)
        wait_until(
            lambda: stored_states(engine)["z25"]["last_eval_ts"] == S + SECONDS - 1, 10, "pass 2"
        )
    finally:
        worker.stop()

    with engine.connect() as conn:
        legs = [read_bars(conn, s, 0, 2**40) for s in ("BTCUSDT", "ETHUSDT")]
        alerts = read_alerts(conn).sort_values("ts_ms")
    aligned = aligned_closes(legs[0], legs[1], bar_seconds=1, max_stale_bars=5)
    z = compute_pair(
        aligned["base"], aligned["hedge"], PairParams("rolling", 20, 10), with_health=False
    ).z
    ts = aligned.index.to_numpy(dtype=np.int64)
    seen = ts >= S + 99
    rule = AlertRule(**{k: v for k, v in RULE.items() if k != "timeframe"})
    events, expected = evaluate(ts[seen], z[seen], rule, AlertState())

    assert [e.ts * 1000 for e in events] == alerts.ts_ms.tolist() and events
    assert [e.direction for e in events] == alerts.direction.tolist()
    row = stored_states(engine)["z25"]
    assert bool(row["armed"]) is expected.armed
    assert row["last_direction"] == expected.last_direction == alerts.direction.iloc[-1]
    assert row["last_alert_ts"] == expected.last_fire_ts == alerts.ts_ms.iloc[-1] // 1000
    assert row["last_z"] == pytest.approx(z[-1], rel=1e-9)
    assert row["timeframe"] == "1s" and row["updated_ms"] > before["updated_ms"]

    again = AlertWorker(engine, settings)  # a restart restores the row and stores it unchanged
    again.start()
    again.stop()
    restored = stored_states(engine)["z25"]
    assert {k: v for k, v in restored.items() if k != "updated_ms"} == {
        k: v for k, v in row.items() if k != "updated_ms"
    }


def test_start_restores_from_rule_states_then_from_alerts(
    backend_url: str, write_config: Callable[..., Path]
) -> None:
    rules = [
        RULE,
        {**RULE, "name": "fresh"},
        {**RULE, "name": "legacy"},
        {**RULE, "name": "retimed", "timeframe": "1m"},
        {**RULE, "name": "behind"},
    ]
    settings = settings_for(write_config, backend_url, rules)
    engine = make_engine(backend_url)
    down = state_row(
        armed=False, last_direction="DOWN", last_z=-3.1, last_eval_ts=S + 5, last_alert_ts=S + 4
    )
    with engine.begin() as conn:
        upsert_rule_states(
            conn,
            [
                down,
                state_row(rule="retimed", armed=False, last_direction="UP", last_alert_ts=S),
                state_row(rule="behind", armed=True, last_z=0.2, last_eval_ts=S + 1),
            ],
        )
        alert = {"pair": "BTC-ETH", "direction": "UP", "z": 2.7, "ts_ms": (S + 2) * 1000}
        insert_alerts(
            conn,
            [
                {**alert, "rule": "z25", "direction": "DOWN", "ts_ms": (S + 4) * 1000},
                {**alert, "rule": "legacy"},
                {**alert, "rule": "behind", "ts_ms": (S + 3) * 1000},
            ],
        )
    worker = AlertWorker(engine, settings)
    worker.start()
    worker.stop()
    rows = stored_states(engine)
    assert {c: v for c, v in rows["z25"].items() if c != "updated_ms"} == {
        c: v for c, v in down.items() if c != "updated_ms"
    }
    assert rows["z25"]["updated_ms"] > 1
    assert (rows["fresh"]["armed"], rows["fresh"]["last_alert_ts"]) == (True, None)
    for name, direction, fired in (("legacy", "UP", S + 2), ("behind", "UP", S + 3)):
        got = rows[name]
        assert (got["armed"], got["last_direction"], got["last_alert_ts"]) == (
            False,
            direction,
            fired,
        ), name
    assert (rows["retimed"]["armed"], rows["retimed"]["timeframe"]) == (True, "1m")
    assert rows["retimed"]["last_alert_ts"] is None
