"""Notifications through apprise, against real targets: a loopback ``json://`` receiver and a
closed port.

The alert worker evaluates stored bars with two rules; a spike fires both, and the alerts and
their outbox rows commit in one transaction. Each alert reaches the receiver exactly once,
also across a restart of the senders and of the alert worker; a slow target never delays the
alert worker; a dead target is retried with growing pauses and then given up, with its error
on record and no token anywhere in the database. Settings keep ``${NAME}`` references and fail
with the variable's name when it is unset. The outbox behaves alike on SQLite and PostgreSQL,
and the real ingest process (simulated excursion, restarted once) delivers each alert once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import Engine, select, update

from ingest.alert_worker import AlertWorker
from ingest.notify import Notifier, build_targets
from ingest.settings import ConfigError, Settings, load_settings
from ingest.simulator import Simulator, SimulatorConfig
from ingest.storage import (
    NotifyState,
    Trade,
    aggregate_trades,
    due_notifications,
    enqueue_notifications,
    insert_alerts,
    insert_trades,
    make_engine,
    merge_bars,
    notification_summary,
    read_alerts,
    record_attempt,
)
from ingest.storage.schema import notifications
from tests.conftest import free_port, wait_until
from tests.ingest_process import IngestProcess, ingest_config, stored_count
from tests.notify_receiver import FAST, Receiver
from tests.simulator_helpers import wait_finished

START_S = 1_717_200_000
UP_AT, DOWN_AT = 60, 100
RULES = [
    {"name": "z2", "pair": "BTC-ETH", "entry_z": 2.0, "exit_z": 0.5, "cooldown_s": 0, "window": 10},
    {"name": "z3", "pair": "BTC-ETH", "entry_z": 2.5, "exit_z": 0.5, "cooldown_s": 0, "window": 20},
]


def settings_for(*urls: str) -> Settings:
    return Settings.model_validate(
        {
            "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
            "analytics": {"hedge_method": "ols", "window": 30},
            "alerts": {"rules": RULES, "notify": list(urls)},
        }
    )


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A database with two minutes of a cointegrated pair whose spread jumps up at bar 60 and
    down at bar 100 (each jump fires both rules)."""
    rng = np.random.default_rng(3)
    hedge = 3000 + np.cumsum(rng.normal(0, 0.5, 120))
    base = 20 * hedge + 500 + rng.normal(0, 2, 120)
    base[UP_AT] += 150
    base[DOWN_AT] -= 150
    trades = [
        trade
        for i in range(120)
        for trade in (
            Trade("BTCUSDT", i + 1, (START_S + i) * 1000, base[i], 0.01, False),
            Trade("ETHUSDT", i + 1, (START_S + i) * 1000 + 100, hedge[i], 0.2, True),
        )
    ]
    made = make_engine(sqlite_url)
    with made.begin() as conn:
        insert_trades(conn, trades)
        merge_bars(conn, aggregate_trades(trades))
    yield made
    made.dispose()


def outbox(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(notifications)).mappings()]


def states(engine: Engine) -> list[str]:
    return sorted(row["state"] for row in outbox(engine))


def test_each_alert_reaches_the_receiver_once_across_restarts(engine: Engine) -> None:
    with Receiver() as receiver:
        settings = settings_for(receiver.url)
        first = Notifier(engine, settings, environ={}, policy=FAST)
        first.start()
        AlertWorker(engine, settings, first).evaluate(START_S + UP_AT + 1)
        wait_until(lambda: states(engine) == ["sent", "sent"], 10, "both UP alerts sent")
        assert first.stop(2.0)

        second = Notifier(engine, settings, environ={}, policy=FAST)
        second.start()
        worker = AlertWorker(engine, settings, second)
        worker.start()  # a restarted worker: state restored, the UP bar evaluated again
        worker.evaluate(START_S + UP_AT + 1)
        worker.evaluate(START_S + DOWN_AT + 1)
        wait_until(lambda: states(engine) == ["sent"] * 4, 10, "the DOWN alerts sent")
        time.sleep(3 * FAST.poll_s)  # room for a duplicate to arrive, if one were sent
        assert worker.stop(2.0) and second.stop(2.0)

    titles = receiver.titles()
    assert sorted(titles) == sorted(
        ["pairwatch ALERT BTC-ETH UP"] * 2 + ["pairwatch ALERT BTC-ETH DOWN"] * 2
    )
    messages = sorted(body["message"] for body in receiver.bodies)
    assert len(set(messages)) == 4  # one per (rule, bar): nothing delivered twice
    with engine.connect() as conn:
        stored = read_alerts(conn)
    assert len(stored) == 4
    up = stored[(stored["rule"] == "z2") & (stored["direction"] == "UP")].iloc[0]
    assert (
        f"rule: z2\nz: {up.z:.2f}\nspread: {up.spread:.6g}\nβ: {up.beta:.6g}\n"
        "bar: 2024-06-01T00:01:00Z"
    ) in messages


def test_a_slow_target_never_delays_the_alert_worker(engine: Engine) -> None:
    with Receiver(hold=True) as receiver:
        settings = settings_for(receiver.url)
        notifier = Notifier(engine, settings, environ={}, policy=FAST)
        notifier.start()
        started = time.monotonic()
        AlertWorker(engine, settings, notifier).evaluate(START_S + UP_AT + 1)
        took = time.monotonic() - started
        assert receiver.arrived.wait(5), "the delivery never started"
        with engine.connect() as conn:  # committed while the target still holds the request
            assert len(read_alerts(conn)) == 2
        assert states(engine) == ["pending", "pending"] and took < 1.0
        receiver.release()
        wait_until(lambda: states(engine) == ["sent", "sent"], 10, "deliveries after release")
        assert notifier.stop(2.0)
    assert len(receiver.bodies) == 2


def test_a_dead_target_is_retried_with_backoff_then_given_up(engine: Engine) -> None:
    secret = "s3cr3t-pw"
    dead = f"json://user:${{HOOK_PW}}@127.0.0.1:{free_port()}/"
    with Receiver() as good:
        settings = settings_for(good.url, dead)
        notifier = Notifier(engine, settings, environ={"HOOK_PW": secret}, policy=FAST)
        notifier.start()
        AlertWorker(engine, settings, notifier).evaluate(START_S + UP_AT + 1)
        wait_until(lambda: len(good.bodies) == 2, 10, "the good target's alerts")
        wait_until(
            lambda: states(engine).count(NotifyState.FAILED) == 2, 10, "the dead target given up"
        )
        assert notifier.stop(2.0)
    rows = [row for row in outbox(engine) if row["state"] == NotifyState.FAILED]
    assert all(row["attempts"] == FAST.max_attempts for row in rows)
    with engine.connect() as conn:
        summary = {line.target: line for line in notification_summary(conn)}
    port = good.url.split(":")[2].rstrip("/")
    dead_label = dead.replace("user:${HOOK_PW}@", "").rstrip("/")
    assert summary[f"json://127.0.0.1:{port}"].sent == 2
    bad = summary[dead_label]
    assert (bad.sent, bad.pending, bad.failed) == (0, 0, 2)
    assert "connection" in bad.last_error.lower()
    assert secret not in repr(outbox(engine)) and secret not in repr(summary)


def test_retries_wait_longer_each_time(engine: Engine) -> None:
    dead = f"json://127.0.0.1:{free_port()}/"
    settings = settings_for(dead)
    notifier = Notifier(engine, settings, environ={}, policy=FAST)
    notifier.start()
    AlertWorker(engine, settings, notifier).evaluate(START_S + UP_AT + 1)
    seen: list[tuple[int, int]] = []

    def attempts_of_one() -> bool:
        row = min(outbox(engine), key=lambda r: r["alert_id"])
        if not seen or seen[-1][0] != row["attempts"]:
            seen.append((row["attempts"], time.monotonic_ns() // 1_000_000))
        return row["state"] == NotifyState.FAILED

    wait_until(attempts_of_one, 10, "the dead target given up")
    assert notifier.stop(2.0)
    times = dict(seen)
    assert times.keys() >= {1, 2, 3}
    assert times[2] - times[1] >= 150 and times[3] - times[2] >= 350  # 0.2 s, then 0.4 s


def test_a_target_removed_from_the_config_is_given_up_at_start(engine: Engine) -> None:
    with Receiver() as gone, Receiver() as kept:
        old = Notifier(engine, settings_for(gone.url), environ={}, policy=FAST)
        AlertWorker(engine, settings_for(gone.url), old).evaluate(START_S + UP_AT + 1)
        new = Notifier(engine, settings_for(kept.url), environ={}, policy=FAST)
        new.start()
        with engine.connect() as conn:
            (line,) = notification_summary(conn)
        assert new.stop(2.0)
    assert not gone.bodies and not kept.bodies
    assert (line.pending, line.failed) == (0, 2)
    assert line.last_error == "target no longer in alerts.notify"


def test_notify_urls_keep_env_names_and_name_a_missing_variable(write_config) -> None:
    path = write_config({"alerts": {"notify": ["tgram://${TG_TOKEN}/${TG_CHAT}"]}})
    token = "123456789:AAFakeTokenForTests"
    settings = load_settings(path, environ={"TG_TOKEN": token, "TG_CHAT": "42"})
    assert settings.alerts.notify == ("tgram://${TG_TOKEN}/${TG_CHAT}",)
    with pytest.raises(ConfigError, match=r"alerts\.notify\[0\]: environment variable TG_CHAT "):
        load_settings(path, environ={"TG_TOKEN": token})
    (target,) = build_targets(settings.alerts.notify, {"TG_TOKEN": token, "TG_CHAT": "42"})
    assert target.label.startswith("tgram://") and token not in target.label + target.key
    assert "AAFake" not in target.label


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("nosuchservice://host/", "must be an apprise URL"),
        ("json://127.0.0.1:9/\nX-Injected: 1", "control characters"),
        ("127.0.0.1:9", "must be an apprise URL"),
    ],
)
def test_bad_notify_urls_are_refused(write_config, url: str, problem: str) -> None:
    path = write_config({"alerts": {"notify": [url]}})
    with pytest.raises(ConfigError, match=rf"alerts\.notify\[0\].*{problem}"):
        load_settings(path, environ={})


def test_the_same_target_twice_is_refused() -> None:
    url = "json://127.0.0.1:9/"
    with pytest.raises(ConfigError, match=r"alerts\.notify\[1\]: json://127\.0\.0\.1:9 is already"):
        build_targets([url, url], {})


def test_the_outbox_queues_once_and_counts_per_target(backend_url: str) -> None:
    engine = make_engine(backend_url)
    alert = {"pair": "BTC-ETH", "rule": "z2", "direction": "UP", "z": 2.5, "ts_ms": 5000}
    targets = [("k1", "json://a:1"), ("k2", "tgram://1...9")]
    with engine.begin() as conn:
        insert_alerts(conn, [alert])
        for _ in range(2):  # queued again (a re-evaluated bar): nothing new
            enqueue_notifications(conn, [("BTC-ETH", "z2", 5000)], targets, now_ms=10)
        (due,) = due_notifications(conn, "k1", now_ms=10)
        record_attempt(
            conn, due.alert_id, "k1", state=NotifyState.SENT, now_ms=20, next_attempt_ms=20
        )
        record_attempt(
            conn,
            due.alert_id,
            "k2",
            state=NotifyState.PENDING,
            now_ms=30,
            next_attempt_ms=99,
            error="refused",
        )
        assert not due_notifications(conn, "k2", now_ms=98)
        assert due_notifications(conn, "k2", now_ms=99)[0].attempts == 1
        summary = notification_summary(conn)
    assert [(s.key, s.target, s.sent, s.pending, s.failed, s.last_error) for s in summary] == [
        ("k1", "json://a:1", 1, 0, 0, ""),
        ("k2", "tgram://1...9", 0, 1, 0, "refused"),
    ]
    engine.dispose()


@pytest.mark.slow
def test_the_ingest_process_notifies_once_per_alert_across_a_restart(
    tmp_path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real ingestor against a simulated excursion: the receiver gets each alert once, the
    dead target keeps them pending with its error, and a restarted ingestor resumes retrying
    the dead target without sending anything to the receiver again."""
    monkeypatch.setenv("HOOK_PW", "pw-in-env")  # inherited by the ingest process
    config = SimulatorConfig(
        symbols=("BTCUSDT", "ETHUSDT"),
        rate=25,
        max_trades=25 * 34,
        seed=11,
        excursion_at_s=22,
        excursion_sigma=8,
        excursion_duration_s=5,
    )
    engine = make_engine(sqlite_url)
    dead = f"json://user:${{HOOK_PW}}@127.0.0.1:{free_port()}/"
    rule = RULES[0] | {"entry_z": 2.5}
    with Receiver() as receiver, Simulator(config).start() as sim:
        extra = {
            "analytics": {"hedge_method": "rolling", "window": 10},
            "alerts": {"rules": [rule], "notify": [receiver.url, dead]},
        }
        path = ingest_config(tmp_path, sim, sqlite_url, extra)
        with IngestProcess(path) as ingest:
            wait_finished(sim, timeout=60)
            wait_until(lambda: stored_count(engine) == sim.generated_count, 20, "all trades")
            wait_until(lambda: outbox(engine), 10, "queued notifications")
            fired = len(read_alerts(engine.connect()))
            wait_until(lambda: len(receiver.bodies) == fired, 10, "the receiver's alerts")
            assert ingest.terminate() == 0
        tried = {r["alert_id"]: r["attempts"] for r in outbox(engine) if r["state"] == "pending"}
        assert len(tried) == fired
        with engine.begin() as conn:  # due now, not after the 5 s, 10 s … pauses
            conn.execute(update(notifications).values(next_attempt_ms=0))
        with IngestProcess(path) as again:

            def retried_again() -> bool:
                rows = [r for r in outbox(engine) if r["state"] == "pending"]
                return any(r["attempts"] > tried[r["alert_id"]] for r in rows)

            wait_until(retried_again, 20, "the dead target retried after the restart")
            assert again.terminate() == 0
    assert len(receiver.bodies) == fired and len(set(map(str, receiver.bodies))) == fired
    with engine.connect() as conn:
        lines = {line.target: line for line in notification_summary(conn)}
    assert lines[receiver.url.removesuffix("/")].sent == fired
    assert "pw-in-env" not in repr(outbox(engine)) + repr(lines)
