"""The writer in process on a real SQLite file: batches, bars, gaps, late trades, status, retry."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from ingest.feedstate import FeedState
from ingest.settings import IngestSettings
from ingest.storage import make_engine, read_gaps, read_status, read_trade_bars, trade_summary
from ingest.storage.records import GapState, Trade
from ingest.writer import BackfillBatch, Writer
from tests.conftest import wait_until
from tests.ingest.fakes import T0, ProxyEngine, running, trade

S = T0 // 1000
BAR = ["ts_s", "open", "high", "low", "close", "volume", "n_trades"]


def btc(trade_id: int, offset_ms: int, price: float = 100.0, qty: float = 1.0) -> Trade:
    return trade("BTCUSDT", trade_id, T0 + offset_ms, price, qty)


def state_of(*symbols: str, **facts: Any) -> FeedState:
    return FeedState(symbols=symbols or ("BTCUSDT",), source="simulator", **facts)


def writer_for(
    engine: Engine, trades: list[Trade], *states: FeedState, **ingest: Any
) -> tuple[Writer, deque[Trade]]:
    """A writer of ``engine`` with ``trades`` already buffered (flushing every 5 ms)."""
    buffer = deque(trades)
    settings = IngestSettings(**{"flush_ms": 5, **ingest})
    return Writer(engine, settings, buffer, states or (state_of(),)), buffer


def bars(engine: Engine, symbol: str = "BTCUSDT") -> list[list[Any]]:
    with engine.connect() as conn:
        frame = read_trade_bars(conn, symbol, S - 10, S + 10)
    return frame[BAR].to_numpy().tolist()


def gaps(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_gaps(conn).sort_values("from_id").reset_index(drop=True)


def status(engine: Engine) -> dict[str, dict[str, Any]]:
    """The ``feed_status`` rows by symbol, with None where a column is empty."""
    with engine.connect() as conn:
        frame = read_status(conn)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {row["symbol"]: row for row in rows}


def stored_ids(engine: Engine) -> tuple[int, int, int]:
    """Rows, first and last id of the BTCUSDT trades."""
    row = trade_summary(engine).set_index("symbol").loc["BTCUSDT"]
    return int(row["rows"]), int(row["first_id"]), int(row["last_id"])


def test_batches_become_trades_and_bars_that_roll_incrementally(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    first = [btc(1, 100, 10.0), btc(2, 200, 12.0, 2.0), btc(3, 900, 11.0), btc(4, 1500, 13.0)]
    writer, buffer = writer_for(engine, first)
    newest: list[int] = []
    writer.on_commit(newest.append)
    with running(writer):
        wait_until(lambda: writer.written == 4, 3.0, "the first batch")
        assert bars(engine) == [[S, 10, 12, 10, 11, 4, 3], [S + 1, 13, 13, 13, 13, 1, 1]]
        buffer.append(btc(5, 1700, 9.0))
        wait_until(lambda: writer.written == 5, 3.0, "the second batch")
    assert bars(engine)[1] == [S + 1, 13, 13, 9, 9, 2, 2]
    assert newest == [S + 1, S + 1] and stored_ids(engine) == (5, 1, 5)
    assert gaps(engine).empty


def test_an_id_hole_opens_a_gap_and_late_trades_are_stored_once(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    writer, buffer = writer_for(engine, [btc(1, 100), btc(2, 200), btc(5, 1200, 50.0)])
    with running(writer):
        wait_until(lambda: writer.written == 3, 3.0, "the batch with a hole")
        opened = gaps(engine)
        buffer.extend([btc(2, 200), btc(3, 1100, 70.0), btc(4, 1150, 60.0)])  # overlap + hole
        wait_until(lambda: writer.written == 6, 3.0, "the late trades")
    assert opened[["symbol", "from_id", "to_id", "from_ms", "to_ms", "state"]].to_dict(
        "records"
    ) == [
        {
            "symbol": "BTCUSDT",
            "from_id": 3,
            "to_id": 4,
            "from_ms": T0 + 200,
            "to_ms": T0 + 1200,
            "state": "open",
        }
    ]
    assert stored_ids(engine) == (5, 1, 5)
    assert bars(engine) == [[S, 100, 100, 100, 100, 2, 2], [S + 1, 70, 70, 50, 50, 3, 3]]
    assert len(gaps(engine)) == 1  # the duplicate of id 2 opened nothing


def test_a_restarted_writer_sees_the_hole_from_the_stored_ids(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    writer, _ = writer_for(engine, [btc(1, 100), btc(2, 200), btc(3, 300)])
    with running(writer):
        wait_until(lambda: writer.written == 3, 3.0, "the first run")
    writer, _ = writer_for(engine, [btc(10, 5000)])
    with running(writer):
        wait_until(lambda: not gaps(engine).empty, 3.0, "the gap across the restart")
    gap = gaps(engine).iloc[0]
    assert (gap.from_id, gap.to_id, gap.from_ms, gap.to_ms) == (4, 9, T0 + 300, T0 + 5000)


def test_backfill_batches_fill_the_hole_and_close_the_gap(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    writer, _ = writer_for(engine, [btc(1, 100), btc(4, 1300, 40.0)])
    newest: list[int] = []
    writer.on_commit(newest.append)
    with running(writer):
        wait_until(lambda: len(gaps(engine)), 3.0, "the gap")
        gap_id = int(gaps(engine).id[0])
        writer.backfills.put(BackfillBatch(gap_id, "BTCUSDT", [btc(2, 900, 20.0), btc(3, 1200)]))
        writer.backfills.put(BackfillBatch(gap_id, "BTCUSDT", [], GapState.FILLED))
        wait_until(lambda: gaps(engine).state[0] == "filled", 3.0, "the filled gap")
    assert stored_ids(engine) == (4, 1, 4)
    assert bars(engine) == [[S, 100, 100, 20, 20, 2, 2], [S + 1, 100, 100, 40, 40, 2, 2]]
    assert gaps(engine).filled_ms[0] > 0
    assert newest == [S + 1]  # backfill commits wrote no fresh trade: no bar closed


def test_a_failed_commit_is_retried_and_records_the_same_gap(sqlite_url: str) -> None:
    proxy = ProxyEngine(make_engine(sqlite_url))
    proxy.fail_begins = 1
    writer, buffer = writer_for(proxy.as_engine(), [btc(1, 100), btc(2, 200), btc(5, 300)])
    with running(writer):
        wait_until(lambda: writer.written == 3, 3.0, "the retried batch")
    assert proxy.failed == 1 and not buffer
    assert stored_ids(proxy.as_engine()) == (3, 1, 5)
    assert gaps(proxy.as_engine())[["from_id", "to_id"]].values.tolist() == [[3, 4]]


def test_a_commit_that_keeps_failing_is_logged_once(sqlite_url: str, caplog) -> None:
    proxy = ProxyEngine(make_engine(sqlite_url))
    proxy.fail_begins = 3
    writer, _ = writer_for(proxy.as_engine(), [btc(1, 100)])
    with caplog.at_level(logging.ERROR, logger="ingest.writer"), running(writer):
        wait_until(lambda: writer.written == 1, 5.0, "the batch after three failures")
    assert proxy.failed == 3
    assert [r.getMessage() for r in caplog.records if r.name == "ingest.writer"] == [
        "write of 1 trades failed; retrying them"
    ]


def test_stop_drains_the_buffer_in_batches(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    writer, buffer = writer_for(
        engine, [btc(i, i) for i in range(1, 26)], batch_max=10, flush_ms=1000
    )
    commits: list[int] = []
    writer.on_commit(commits.append)
    writer.start()
    assert writer.stop(2.0)
    assert writer.written == 25 and not buffer and len(commits) == 3
    assert stored_ids(engine) == (25, 1, 25)


def test_stop_says_when_the_drain_outlives_its_budget(sqlite_url: str) -> None:
    proxy = ProxyEngine(make_engine(sqlite_url))
    writer, _ = writer_for(proxy.as_engine(), [btc(1, 100)])
    proxy.begin_delay_s = 0.2
    writer.start()
    assert not writer.stop(0.05)
    assert writer.stop(2.0) and writer.written == 1


def columns(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The columns of ``row`` that ``expected`` names."""
    return {name: row[name] for name in expected}


def test_status_rows_carry_the_feed_state_and_the_stop(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    spot = state_of("BTCUSDT", "ETHUSDT", reconnects=2)
    spot.opened(T0)
    spot.last_msg_ms = T0 + 1000
    spot.last_trade_ms["BTCUSDT"] = T0 + 900
    spot.stale.add("ETHUSDT")
    for kind in ("invalid_json", "invalid_json", "unknown_symbol"):
        spot.count_rejected(kind)
    spot.dropped = 3
    perp = state_of("usdm:BTCUSDT")
    perp.failed_attempt("ConnectionRefusedError: refused", T0 + 8000, "cannot connect to x")
    perp.marks["usdm:BTCUSDT"] = (60_000.5, 0.0001, T0 + 3_600_000)
    perp.rest_note = "REST paced: 3,000 of 3,000 weight used this minute"
    writer, _ = writer_for(engine, [btc(7, 100)], spot, perp)
    with running(writer):
        wait_until(lambda: len(status(engine)) == 3, 3.0, "three status rows")
        live = status(engine)
    stopped = status(engine)
    btc_row = {
        "connected": True,
        "link_state": "connected",
        "last_trade_ms": T0 + 900,
        "last_msg_ms": T0 + 1000,
        "reconnects": 2,
        "last_trade_id": 7,
        "source": "simulator",
        "reason": "",
        "connect_error": "",
        "retry_at_ms": None,
        "rejected_invalid_json": 2,
        "rejected_unknown_symbol": 1,
        "rejected_wrong_types": 0,
        "rejected_frames": 3,
        "dropped_trades": 3,
        "mark_price": None,
    }
    assert columns(live["BTCUSDT"], btc_row) == btc_row
    silent = "ETHUSDT went silent (no trade for feed.silence_s); feed reconnected"
    assert (live["ETHUSDT"]["reason"], live["ETHUSDT"]["last_trade_id"]) == (silent, None)
    perp_row = {
        "connected": False,
        "link_state": "connect_failed",
        "connect_error": "ConnectionRefusedError: refused",
        "retry_at_ms": T0 + 8000,
        "reason": "cannot connect to x",
        "rest_note": perp.rest_note,
        "rejected_frames": 0,
        "mark_price": 60_000.5,
        "funding_rate": 0.0001,
        "next_funding_ms": T0 + 3_600_000,
    }
    assert columns(live["usdm:BTCUSDT"], perp_row) == perp_row
    final = {"connected": False, "link_state": "stopped", "reason": "ingestor stopped"}
    assert [columns(row, final) for row in stopped.values()] == [final] * 3
    assert stopped["BTCUSDT"]["rejected_frames"] == 3  # the counters survive the stop
