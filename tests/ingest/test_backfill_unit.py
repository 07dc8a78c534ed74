"""The backfiller in process: gaps filled from a fake REST tape via the real writer and SQLite."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from ingest.backfill import Backfiller
from ingest.errors import RestError
from ingest.feedstate import FeedState, now_ms
from ingest.settings import FeedSettings, IngestSettings
from ingest.storage import make_engine, read_gaps, trade_summary
from ingest.storage.records import Trade
from ingest.writer import Writer
from tests.conftest import wait_until
from tests.ingest.fakes import T0, FakeRest, ProxyEngine, running, trade

REST_URL = "http://127.0.0.1:9"
SPOT_FEED = FeedSettings(rest_url=REST_URL)
USDM_FEED = FeedSettings(market="usdm", stream="aggTrade", rest_url=REST_URL)
REFUSED = RestError("HTTP 400: {'code': -1100}", refused=True, status=400)


def tape(symbol: str, ids: range, missing: frozenset[int] = frozenset()) -> list[Trade]:
    return [trade(symbol, i, T0 + i, 100.0 + i % 7) for i in ids if i not in missing]


class FakeClock:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    """A running writer on a SQLite file, a REST tape, and backfillers polling every 10 ms.

    Backfillers read through ``proxy`` (which counts their passes); the test reads ``engine``.
    """

    engine: Engine
    proxy: ProxyEngine
    writer: Writer
    rest: FakeRest
    live: deque[Trade] = field(default_factory=deque)
    clock: FakeClock = field(default_factory=FakeClock)

    def backfiller(
        self, feed: FeedSettings, exchange: dict[str, str], state: FeedState | None = None
    ) -> Backfiller:
        """A backfiller of ``exchange`` (by default with a disconnected feed: no probes)."""
        return Backfiller(
            self.proxy.as_engine(),
            feed,
            self.writer,
            state or FeedState(symbols=tuple(exchange), source="binance"),
            self.live,
            rest=self.rest.as_client(),
            exchange=exchange,
            clock=self.clock,
            poll_s=0.01,
        )

    def gap(self) -> dict[str, Any]:
        """The one gap of the database."""
        with self.engine.connect() as conn:
            rows = read_gaps(conn).to_dict("records")
        assert len(rows) == 1, rows
        return rows[0]

    def stored(self, key: str) -> int:
        """Trades stored of ``key``."""
        return int(trade_summary(self.engine).set_index("symbol").loc[key, "rows"])

    def passes(self, count: int) -> None:
        """Wait until ``count`` more backfill passes have begun."""
        target = self.proxy.connects + count
        wait_until(lambda: self.proxy.connects >= target, 3.0, f"{count} backfill passes")


@contextmanager
def rig(sqlite_url: str, stored: list[Trade], rest: FakeRest) -> Iterator[Rig]:
    """``stored`` written first (their id holes become open gaps), then the writer keeps running."""
    engine = make_engine(sqlite_url)
    writer = Writer(engine, IngestSettings(flush_ms=5), deque(stored), ())
    with running(writer):
        wait_until(lambda: writer.written == len(stored), 3.0, "the stored trades")
        yield Rig(engine, ProxyEngine(engine), writer, rest)


def test_an_open_gap_is_filled_page_by_page(sqlite_url: str) -> None:
    full = tape("BTCUSDT", range(1, 2504))
    rest = FakeRest({"BTCUSDT": full})
    with rig(sqlite_url, [full[0], full[-1]], rest) as world:
        with running(world.backfiller(SPOT_FEED, {"BTCUSDT": "BTCUSDT"})):
            wait_until(lambda: world.gap()["state"] == "filled", 3.0, "the filled gap")
        assert world.stored("BTCUSDT") == 2503
        assert world.gap()["reason"] == ""
    assert [(c["fromId"], c["limit"]) for c in rest.calls_to("historicalTrades")] == [
        ("2", "1000"),
        ("1002", "1000"),
        ("2002", "501"),
    ]


def test_ids_the_exchange_no_longer_serves_end_the_gap_lost(sqlite_url: str) -> None:
    served = tape("BTCUSDT", range(1, 22), missing=frozenset({10, 11, 12}))
    rest = FakeRest({"BTCUSDT": served})
    with rig(sqlite_url, [served[0], served[-1]], rest) as world:
        with running(world.backfiller(SPOT_FEED, {"BTCUSDT": "BTCUSDT"})):
            wait_until(lambda: world.gap()["state"] == "lost", 3.0, "the lost gap")
        assert world.stored("BTCUSDT") == 18
        assert world.gap()["reason"] == "3 of 19 ids not served"


def test_a_lost_perpetual_gap_names_the_daily_file_to_import(sqlite_url: str) -> None:
    served = tape("BTCUSDT", range(1, 6), missing=frozenset({3}))
    rest = FakeRest({"BTCUSDT": served})
    stored = [t._replace(symbol="usdm:BTCUSDT") for t in (served[0], served[-1])]
    with rig(sqlite_url, stored, rest) as world:
        with running(world.backfiller(USDM_FEED, {"usdm:BTCUSDT": "BTCUSDT"})):
            wait_until(lambda: world.gap()["state"] == "lost", 3.0, "the lost gap")
        assert world.stored("usdm:BTCUSDT") == 4
        assert world.gap()["reason"] == (
            "1 of 3 ids not served; USD-M REST keeps about 48 h of aggTrades: import data."
            "binance.vision futures/um/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-08-08.zip"
        )
    assert [c["symbol"] for c in rest.calls_to("aggTrades")] == ["BTCUSDT"]


def failed_and_waiting(world: Rig, attempts: int) -> None:
    """Wait for the ``attempts``-th failure, then check passes go by without a retry."""
    wait_until(lambda: world.gap()["attempts"] == attempts, 3.0, f"failure {attempts}")
    world.passes(2)
    assert len(world.rest.urls) == attempts  # still inside the backoff: no early retry


def test_a_failed_attempt_waits_its_backoff_then_fills(sqlite_url: str) -> None:
    full = tape("BTCUSDT", range(1, 11))
    rest = FakeRest({"BTCUSDT": full}, failures=[RestError("request failed: ConnectionError")])
    with (
        rig(sqlite_url, [full[0], full[-1]], rest) as world,
        running(world.backfiller(SPOT_FEED, {"BTCUSDT": "BTCUSDT"})),
    ):
        failed_and_waiting(world, 1)
        assert world.gap()["reason"] == "request failed: ConnectionError"
        world.clock.now += 1.9
        world.passes(2)
        assert len(rest.urls) == 1
        world.clock.now += 0.1  # 2 s after the first failure
        wait_until(lambda: world.gap()["state"] == "filled", 3.0, "the filled gap")
    assert len(rest.urls) == 2


def test_three_refusals_end_the_gap_lost_with_the_answer(sqlite_url: str) -> None:
    full = tape("BTCUSDT", range(1, 11))
    rest = FakeRest({"BTCUSDT": full}, failures=[REFUSED, REFUSED, REFUSED])
    with rig(sqlite_url, [full[0], full[-1]], rest) as world:
        with running(world.backfiller(SPOT_FEED, {"BTCUSDT": "BTCUSDT"})):
            failed_and_waiting(world, 1)
            world.clock.now += 2.0
            failed_and_waiting(world, 2)
            world.clock.now += 4.0
            wait_until(lambda: world.gap()["state"] == "lost", 3.0, "the lost gap")
        assert world.stored("BTCUSDT") == 2
        assert world.gap()["reason"] == f"REST refused 3 times: {REFUSED}"


def test_a_stop_ends_a_rest_wait_at_once_and_keeps_the_gap(sqlite_url: str) -> None:
    full = tape("BTCUSDT", range(1, 11))
    rest = FakeRest({"BTCUSDT": full}, hold=True)
    with rig(sqlite_url, [full[0], full[-1]], rest) as world:
        backfiller = world.backfiller(SPOT_FEED, {"BTCUSDT": "BTCUSDT"})
        backfiller.start()
        wait_until(lambda: rest.urls, 3.0, "the REST call")
        assert backfiller.stop(0.5)
        gap = world.gap()
    assert (gap["state"], gap["attempts"]) == ("open", 0)  # a stop is not a failed attempt


def test_quiet_symbols_get_their_newest_trade_probed_once_per_connection(
    sqlite_url: str,
) -> None:
    rest = FakeRest({"BTCUSDT": tape("BTCUSDT", range(1, 6)), "ETHUSDT": []})
    connected = now_ms()
    state = FeedState(
        symbols=("BTCUSDT", "ETHUSDT"),
        source="binance",
        connected=True,
        connections=1,
        connected_ms=connected,
    )
    state.last_trade_ms["ETHUSDT"] = connected + 1  # traded since connecting: not probed
    exchange = {"BTCUSDT": "BTCUSDT", "ETHUSDT": "ETHUSDT"}
    with rig(sqlite_url, [], rest) as world, running(world.backfiller(SPOT_FEED, exchange, state)):
        world.passes(3)
        assert rest.urls == []  # too soon after connecting
        state.connected_ms = connected - 5_000
        wait_until(lambda: world.live, 3.0, "the probed trade")
        world.passes(3)
        assert [c["symbol"] for c in rest.calls_to("trades")] == ["BTCUSDT"]
        state.connections = 2
        wait_until(lambda: len(world.live) == 2, 3.0, "the probe of the next connection")
    assert [t.trade_id for t in world.live] == [5, 5]
