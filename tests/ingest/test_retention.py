"""Retention: old trades are removed (rows on SQLite, day partitions on PostgreSQL), bars stay."""

from __future__ import annotations

from sqlalchemy import text

from ingest.retention import prune_once
from ingest.storage import Trade, aggregate_trades, insert_trades, make_engine, merge_bars
from ingest.storage.partitions import DAY_MS

NOW_MS = 1_750_000_000_000 // DAY_MS * DAY_MS + 12 * 3_600_000  # noon UTC


def seed(url: str) -> None:
    engine = make_engine(url)
    batch = []
    for day in range(10):  # one trade per hour over the last 10 days
        for hour in range(24):
            ts = NOW_MS - day * DAY_MS - hour * 3_600_000
            batch.append(Trade("BTCUSDT", day * 100 + hour, ts, 100.0, 1.0, False))
    with engine.begin() as conn:
        insert_trades(conn, batch)
        merge_bars(conn, aggregate_trades(batch))


def counts(url: str) -> tuple[int, int, int]:
    with make_engine(url).connect() as conn:
        trades = conn.execute(text("SELECT count(*), min(ts_ms) FROM trades")).one()
        bars = conn.execute(text("SELECT count(*) FROM bars_1s")).scalar()
    return int(trades[0]), int(trades[1]), int(bars or 0)


def test_old_trades_go_and_bars_stay(backend_url: str) -> None:
    seed(backend_url)
    engine = make_engine(backend_url)
    removed = prune_once(engine, ("BTCUSDT",), retention_days=3, now_ms=NOW_MS)
    rows, oldest, bars = counts(backend_url)
    cutoff = NOW_MS - 3 * DAY_MS
    assert removed > 0
    assert bars == 240
    if engine.dialect.name == "sqlite":
        assert oldest >= cutoff
        assert rows == sum(
            1 for d in range(10) for h in range(24) if NOW_MS - d * DAY_MS - h * 3_600_000 >= cutoff
        )
    else:  # whole days only: the partly expired day stays until it has fully expired
        assert cutoff - DAY_MS < oldest <= cutoff
    assert prune_once(engine, ("BTCUSDT",), retention_days=3, now_ms=NOW_MS) == 0
