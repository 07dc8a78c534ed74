"""Schema versions: an older database is migrated in place, a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from ingest.storage import SchemaVersionError, make_engine, read_status, upsert_status
from ingest.storage.schema import SCHEMA_VERSION

V1_FEED_STATUS = """
CREATE TABLE feed_status (
    symbol VARCHAR(20) PRIMARY KEY, connected BOOLEAN NOT NULL, last_trade_ms BIGINT,
    last_msg_ms BIGINT, reconnects INTEGER NOT NULL, updated_ms BIGINT NOT NULL,
    last_trade_id BIGINT, rate FLOAT NOT NULL, source VARCHAR(20) NOT NULL,
    reason VARCHAR(200) NOT NULL
)
"""


def write_v1_database(url: str) -> None:
    """A version-1 database as the first release left it, with one status row."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(V1_FEED_STATUS)
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("INSERT INTO schema_version VALUES (1)")
        conn.exec_driver_sql(
            "INSERT INTO feed_status VALUES ('BTCUSDT', TRUE, 1, 1, 3, 1, 7, 2.5, 'binance', '')"
        )
    engine.dispose()


def test_version_1_database_is_migrated_in_place(backend_url: str) -> None:
    write_v1_database(backend_url)
    engine = make_engine(backend_url)
    columns = {c["name"] for c in inspect(engine).get_columns("feed_status")}
    assert {"rejected_frames", "dropped_trades"} <= columns
    with engine.begin() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
        kept = read_status(conn).to_dict("records")[0]
        upsert_status(conn, [{**kept, "rejected_frames": 4, "dropped_trades": 9}])
        after = read_status(conn).to_dict("records")[0]
    assert sorted(versions) == [1, SCHEMA_VERSION]
    assert (kept["reconnects"], kept["rejected_frames"], kept["dropped_trades"]) == (3, 0, 0)
    assert (after["rejected_frames"], after["dropped_trades"]) == (4, 9)
    make_engine(backend_url).dispose()  # a second start finds nothing to do


def test_newer_database_is_refused(backend_url: str) -> None:
    make_engine(backend_url).dispose()
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (:v)"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaVersionError, match="newer than this pairwatch"):
        make_engine(backend_url)
