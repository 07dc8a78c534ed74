"""Storage on both backends: idempotent inserts, exact bar merge, gaps, alerts, status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from ingest.storage import (
    Gap,
    GapState,
    StorageError,
    Trade,
    aggregate_trades,
    close_gap,
    completeness,
    insert_alerts,
    insert_trades,
    last_alert_times,
    last_trades,
    make_engine,
    merge_bars,
    open_gap,
    read_alerts,
    read_bars,
    read_gaps,
    read_status,
    rebuild_bars,
    upsert_status,
)
from ingest.storage.schema import trades

T0 = 1_723_161_255_000


def synthetic_trades(n: int, symbol: str = "BTCUSDT", seed: int = 1) -> list[Trade]:
    rng = np.random.default_rng(seed)
    times = T0 + np.cumsum(rng.integers(0, 400, n))
    prices = 60_000 + np.cumsum(rng.normal(0, 5, n))
    qtys = rng.uniform(0.001, 2, n)
    return [
        Trade(symbol, 1000 + i, int(times[i]), float(prices[i]), float(qtys[i]), bool(i % 3 == 0))
        for i in range(n)
    ]


def pandas_bars(batch: list[Trade]) -> pd.DataFrame:
    frame = pd.DataFrame(batch, columns=list(Trade._fields)).sort_values("trade_id")
    frame["ts_s"] = frame["ts_ms"] // 1000
    frame["quote"] = frame["price"] * frame["qty"]
    grouped = frame.groupby("ts_s")
    bars = pd.DataFrame(
        {
            "open": grouped["price"].first(),
            "high": grouped["price"].max(),
            "low": grouped["price"].min(),
            "close": grouped["price"].last(),
            "volume": grouped["qty"].sum(),
            "n_trades": grouped["price"].size(),
        }
    )
    bars["vwap"] = grouped["quote"].sum() / bars["volume"]
    return bars.reset_index()


def count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(trades)).scalar())


def test_insert_is_idempotent(backend_url: str) -> None:
    engine = make_engine(backend_url)
    batch = synthetic_trades(3000)
    for _ in range(2):
        with engine.begin() as conn:
            insert_trades(conn, batch)
    assert count(engine) == 3000
    with engine.connect() as conn:
        assert last_trades(conn, ["BTCUSDT", "ETHUSDT"]) == {"BTCUSDT": (3999, batch[-1].ts_ms)}


def test_incremental_merge_equals_pandas_and_rebuild(backend_url: str) -> None:
    engine = make_engine(backend_url)
    batch = synthetic_trades(4000)
    with engine.begin() as conn:
        for start in range(0, len(batch), 357):  # chunks that split seconds
            chunk = batch[start : start + 357]
            insert_trades(conn, chunk)
            merge_bars(conn, aggregate_trades(chunk))
    expected = pandas_bars(batch)
    with engine.connect() as conn:
        merged = read_bars(conn, "BTCUSDT", 0, 2**40)
    pd.testing.assert_frame_equal(merged[expected.columns], expected, check_dtype=False)
    with engine.begin() as conn:
        rebuild_bars(conn, "BTCUSDT", int(merged.ts_s.min()), int(merged.ts_s.max()))
        rebuilt = read_bars(conn, "BTCUSDT", 0, 2**40)
    pd.testing.assert_frame_equal(rebuilt, merged)


def test_read_bars_is_a_time_range(backend_url: str) -> None:
    engine = make_engine(backend_url)
    batch = synthetic_trades(2000)
    with engine.begin() as conn:
        insert_trades(conn, batch)
        merge_bars(conn, aggregate_trades(batch))
        full = read_bars(conn, "BTCUSDT", 0, 2**40)
        middle = read_bars(conn, "BTCUSDT", int(full.ts_s[10]), int(full.ts_s[20]))
    assert middle.ts_s.tolist() == full.ts_s[10:21].tolist()
    assert list(middle.columns) == [
        "ts_s",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "vwap",
        "n_trades",
    ]


def test_gap_lifecycle_and_status(backend_url: str) -> None:
    engine = make_engine(backend_url)
    gap = Gap("BTCUSDT", from_id=10, to_id=19, from_ms=1, to_ms=2)
    with engine.begin() as conn:
        open_gap(conn, gap, detected_ms=3)
        open_gap(conn, gap, detected_ms=4)  # the same hole reported twice is one gap
        upsert_status(
            conn,
            [
                {
                    "symbol": "BTCUSDT",
                    "connected": True,
                    "last_trade_ms": 5,
                    "last_msg_ms": 5,
                    "reconnects": 0,
                    "updated_ms": 5,
                    "last_trade_id": 9,
                    "rate": 1.5,
                    "source": "simulator",
                    "reason": "",
                }
            ],
        )
    with engine.connect() as conn:
        opened = read_gaps(conn, state=GapState.OPEN)
    assert len(opened) == 1 and opened.detected_ms[0] == 3
    with engine.begin() as conn:
        close_gap(conn, int(opened.id[0]), GapState.LOST, 9, "3 of 10 ids not served")
        upsert_status(
            conn,
            [
                {
                    "symbol": "BTCUSDT",
                    "connected": False,
                    "last_trade_ms": 6,
                    "last_msg_ms": 6,
                    "reconnects": 1,
                    "updated_ms": 6,
                    "last_trade_id": 9,
                    "rate": 0.0,
                    "source": "simulator",
                    "reason": "closed",
                }
            ],
        )
    with engine.connect() as conn:
        lost = read_gaps(conn, state=GapState.LOST)
        status = read_status(conn)
    assert lost.reason[0] == "3 of 10 ids not served"
    assert status.to_dict("records")[0]["reconnects"] == 1
    with engine.begin() as conn, pytest.raises(ValueError, match="filled or lost"):
        close_gap(conn, 1, GapState.OPEN, 0)


def test_alerts_deduplicated_and_last_times(backend_url: str) -> None:
    engine = make_engine(backend_url)
    rows = [
        {
            "pair": "BTC-ETH",
            "rule": "z2",
            "direction": "UP",
            "z": 2.5,
            "spread": 1.0,
            "beta": 0.5,
            "ts_ms": 1000,
        },
        {
            "pair": "BTC-ETH",
            "rule": "z2",
            "direction": "DOWN",
            "z": -2.4,
            "spread": -1.0,
            "beta": 0.5,
            "ts_ms": 5000,
        },
    ]
    with engine.begin() as conn:
        insert_alerts(conn, rows)
        insert_alerts(conn, rows)
    with engine.connect() as conn:
        stored = read_alerts(conn)
        down = read_alerts(conn, direction="DOWN")
        latest = last_alert_times(conn)
    assert len(stored) == 2
    assert stored.ts_ms.tolist() == [5000, 1000]
    assert down.z.tolist() == [-2.4]
    assert latest == {("BTC-ETH", "z2"): (5000, "DOWN")}


def test_bad_urls_raise_storage_error(tmp_path) -> None:
    with pytest.raises(StorageError, match="not a database URL"):
        make_engine("not a url")
    with pytest.raises(StorageError, match="only sqlite and postgresql"):
        make_engine("mysql://localhost/x")
    with pytest.raises(StorageError, match="cannot open database"):
        make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_sqlite_pragmas_and_directory_creation(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_completeness_counts_open_and_lost_ids_over_the_covered_range(backend_url: str) -> None:
    """One definition: 1 − ids in open or lost gaps / (last − first + 1) under stored bars."""
    engine = make_engine(backend_url)
    batch = [Trade("A", i, T0 + i * 10, 100.0, 1.0, False) for i in range(1, 1001)]
    with engine.begin() as conn:
        merge_bars(conn, aggregate_trades(batch))
        for first, last in ((10, 19), (50, 59), (70, 79)):
            open_gap(conn, Gap("A", first, last, None, T0), detected_ms=T0)
        ids = read_gaps(conn, symbol="A").set_index("from_id")["id"]
        close_gap(conn, int(ids[50]), GapState.LOST, T0)
        close_gap(conn, int(ids[70]), GapState.FILLED, T0)
        open_gap(conn, Gap("B", 1, 5, None, T0), detected_ms=T0)  # another symbol's hole
        ledger = completeness(conn, "A")
        nothing = completeness(conn, "B")
    assert (ledger.first_id, ledger.last_id) == (1, 1000)
    assert (ledger.open, ledger.filled, ledger.lost, ledger.missing_ids) == (1, 1, 1, 20)
    assert ledger.fraction == pytest.approx(0.98)
    assert nothing.open == 1 and nothing.fraction is None  # no bars: nothing covered yet


def test_remote_text_is_stored_on_one_line(backend_url: str) -> None:
    """A server's close reason with CR/LF (the red-team's ``bye\\r=cmd``) is stored flattened."""
    engine = make_engine(backend_url)
    row = {
        "symbol": "BTCUSDT",
        "connected": False,
        "last_trade_ms": None,
        "last_msg_ms": None,
        "reconnects": 1,
        "updated_ms": 1,
        "last_trade_id": None,
        "rate": 0.0,
        "source": "binance",
        "reason": "bye\r=cmd|' /C calc'!A0\n" + "x" * 300,
        "connect_error": "HTTP 403\r\nforbidden",
    }
    with engine.begin() as conn:
        upsert_status(conn, [row])
        open_gap(conn, Gap("BTCUSDT", 1, 2, None, 5), detected_ms=5)
        gap_id = int(read_gaps(conn).id[0])
        close_gap(conn, gap_id, GapState.LOST, 9, "served\r\n=1+1")
        (stored,) = read_status(conn).to_dict("records")
        gap = read_gaps(conn).to_dict("records")[0]
    assert stored["reason"].startswith("bye =cmd|' /C calc'!A0 x") and len(stored["reason"]) == 200
    assert stored["connect_error"] == "HTTP 403  forbidden"
    assert gap["reason"] == "served  =1+1"
