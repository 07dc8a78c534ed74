"""The ingest service in process: its workers start, a stop ends them within the shutdown budget,
and the single-writer lock is released only once the writer has finished."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from ingest.errors import LockHeldError
from ingest.lock import InstanceLock
from ingest.service import SHUTDOWN_BUDGET_S, Ingestor
from ingest.settings import Settings
from ingest.storage import make_engine, read_status, trade_summary
from tests.conftest import wait_until
from tests.ingest.fakes import T0, FrameServer, ProxyEngine, Script, trade, trade_frame

WORKERS = frozenset(
    {"writer", "ws-reader", "ws-watchdog", "backfill", "history", "alerts", "screener", "retention"}
)
SENDER_PREFIX = "notify-"  # one delivery thread per notification target
FEED = tuple(
    trade_frame(trade(symbol, trade_id, T0 + trade_id))
    for trade_id in (1, 2)
    for symbol in ("BTCUSDT", "ETHUSDT")
)


def settings_for(server: FrameServer, url: str) -> Settings:
    """BTC-ETH read from ``server``, stored at ``url``; no candle history, REST unreachable."""
    return Settings.model_validate(
        {
            "feed": {"ws_url": server.url, "rest_url": "http://127.0.0.1:9"},
            "storage": {"url": url},
            "history": {"one_second_hours": 0, "one_minute_days": 0},
            "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
        }
    )


def workers() -> set[threading.Thread]:
    return {
        thread
        for thread in threading.enumerate()
        if thread.name in WORKERS or thread.name.startswith(SENDER_PREFIX)
    }


def reasons(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(read_status(conn).reason)


class WatchedLock(InstanceLock):
    """The real lock, noting at release the status reasons and which ``threads`` still ran."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.watched = engine
        self.threads: set[threading.Thread] = set()
        self.seen: tuple[set[str], set[str]] | None = None

    def release(self) -> None:
        alive = {thread.name for thread in self.threads if thread.is_alive()}
        self.seen = (reasons(self.watched), alive)
        super().release()


class Run:
    """``Ingestor.run`` on a thread; ``finish`` sets its stop event and times the return."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(ingestor,), name="ingestor-run")
        self._thread.start()

    def _run(self, ingestor: Ingestor) -> None:
        try:
            ingestor.run(self.stop)
        except BaseException as exc:
            self.error = exc

    def finish(self) -> float:
        started = time.monotonic()
        self.stop.set()
        self._thread.join(10.0)
        assert not self._thread.is_alive(), "run did not return"
        if self.error is not None:
            raise self.error
        return time.monotonic() - started


def started(ingestor: Ingestor, engine: Engine, lock: WatchedLock) -> Run:
    """``ingestor`` running with ``lock`` once both symbols' trades are stored."""
    before = workers()
    ingestor.lock = lock
    run = Run(ingestor)
    wait_until(lambda: stored(engine) == {"BTCUSDT": 2, "ETHUSDT": 2}, 5.0, "the feed's trades")
    lock.threads = workers() - before
    return run


def stored(engine: Engine) -> dict[str, Any]:
    summary = trade_summary(engine)
    return dict(zip(summary.symbol, summary.rows, strict=True))


def test_a_run_starts_its_workers_and_stops_them_within_the_budget(sqlite_url: str) -> None:
    with FrameServer(Script(FEED)) as server:
        engine = make_engine(sqlite_url)
        ingestor = Ingestor(settings_for(server, sqlite_url), engine)
        lock = WatchedLock(engine)
        run = started(ingestor, engine, lock)
        names = {thread.name for thread in lock.threads}
        assert {"writer", "ws-reader", "ws-watchdog", "backfill", "alerts", "retention"} <= names
        assert reasons(engine) == {""}  # connected, nothing wrong
        took = run.finish()
    assert took < SHUTDOWN_BUDGET_S
    assert lock.seen == ({"ingestor stopped"}, set())  # released after every worker ended
    assert ingestor.lock.try_acquire()
    ingestor.lock.release()


def test_a_writer_slower_than_the_budget_keeps_the_lock_until_it_has_finished(
    sqlite_url: str,
) -> None:
    with FrameServer(Script(FEED)) as server:
        engine = make_engine(sqlite_url)
        proxy = ProxyEngine(engine)
        ingestor = Ingestor(settings_for(server, sqlite_url), proxy.as_engine(), shutdown_s=0.2)
        lock = WatchedLock(engine)
        run = started(ingestor, engine, lock)
        proxy.begin_delay_s = 0.5  # every commit from now on: the final status takes 0.5 s
        took = run.finish()
    assert took > 0.5
    status, alive = lock.seen or (set(), {"no release"})
    assert status == {"ingestor stopped"} and "writer" not in alive


def test_a_held_lock_refuses_a_second_ingestor_before_it_starts_anything(
    sqlite_url: str,
) -> None:
    engine = make_engine(sqlite_url)
    holder = InstanceLock(engine)
    assert holder.try_acquire()
    before = workers()
    with FrameServer() as server, pytest.raises(LockHeldError, match="already writing"):
        Ingestor(settings_for(server, sqlite_url), engine).run(threading.Event())
    holder.release()
    assert workers() == before and server.paths == []
