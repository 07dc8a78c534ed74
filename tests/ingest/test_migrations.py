"""Schema versions: an older database is migrated in place, a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from ingest.storage import (
    REJECT_KINDS,
    SchemaVersionError,
    insert_alerts,
    make_engine,
    read_alerts,
    read_status,
    reject_column,
    rule_states_by_rule,
    upsert_rule_states,
    upsert_status,
)
from ingest.storage.partitions import create_partitioned_trades
from ingest.storage.schema import SCHEMA_VERSION, metadata

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
    assert sorted(versions) == list(range(1, SCHEMA_VERSION + 1))
    assert (kept["reconnects"], kept["rejected_frames"], kept["dropped_trades"]) == (3, 0, 0)
    assert (after["rejected_frames"], after["dropped_trades"]) == (4, 9)
    make_engine(backend_url).dispose()  # a second start finds nothing to do


V5_STATUS_COLUMNS = ("rest_note", "mark_price", "funding_rate", "next_funding_ms")
V6_STATUS_COLUMNS = (
    "link_state",
    "connect_error",
    "retry_at_ms",
    *(reject_column(kind) for kind in REJECT_KINDS),
)


V8_ALERT_COLUMNS = ("kind", "eg_p")


def write_v2_database(url: str) -> None:
    """A version-2 database: no ``rule_states`` (v3), ``klines``/``history`` (v4),
    ``feed_kind`` or ``feed_status.rest_note`` (v5), no typed link and reject columns (v6);
    one alert and one status row."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            create_partitioned_trades(conn)
    later = {"rule_states", "klines", "history", "feed_kind", "screens", "notifications"}
    v2_tables = [t for t in metadata.sorted_tables if t.name not in later]
    metadata.create_all(engine, tables=v2_tables)
    with engine.begin() as conn:
        for column in (*V5_STATUS_COLUMNS, *V6_STATUS_COLUMNS):
            conn.exec_driver_sql(f"ALTER TABLE feed_status DROP COLUMN {column}")
        for column in V8_ALERT_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE alerts DROP COLUMN {column}")
        conn.exec_driver_sql("INSERT INTO schema_version VALUES (2)")
        conn.exec_driver_sql(
            "INSERT INTO feed_status VALUES "
            "('BTCUSDT', TRUE, 1, 1, 3, 1, 7, 2.5, 'binance', '', 4, 9)"
        )
        insert_alerts(
            conn,
            [{"pair": "BTC-ETH", "rule": "z2", "direction": "UP", "z": 2.6, "ts_ms": 5000}],
        )
    assert not inspect(engine).has_table("rule_states")
    engine.dispose()


def test_version_2_database_gets_rule_states_and_keeps_its_data(backend_url: str) -> None:
    write_v2_database(backend_url)
    engine = make_engine(backend_url)
    assert all(
        inspect(engine).has_table(t)
        for t in ("rule_states", "klines", "history", "screens", "notifications")
    )
    row = {
        "pair": "BTC-ETH",
        "rule": "z2",
        "armed": False,
        "last_direction": "UP",
        "last_z": 2.6,
        "last_eval_ts": 5,
        "last_alert_ts": 5,
        "timeframe": "1s",
        "updated_ms": 6000,
    }
    with engine.begin() as conn:
        versions = conn.execute(text("SELECT version FROM schema_version")).scalars().all()
        status = read_status(conn).to_dict("records")
        alerts = read_alerts(conn)
        assert not rule_states_by_rule(conn)
        upsert_rule_states(conn, [row])
        stored = list(rule_states_by_rule(conn).values())
    assert sorted(versions) == list(range(2, SCHEMA_VERSION + 1)) and SCHEMA_VERSION >= 9
    assert [(s["symbol"], s["reconnects"], s["rejected_frames"]) for s in status] == [
        ("BTCUSDT", 3, 4)
    ]
    (kept,) = status  # v6 columns arrive with their defaults
    assert (kept["link_state"], kept["connect_error"], kept["retry_at_ms"]) == (
        "starting",
        "",
        None,
    )
    assert all(kept[reject_column(kind)] == 0 for kind in REJECT_KINDS)
    assert alerts[["rule", "direction", "ts_ms"]].to_dict("records") == [
        {"rule": "z2", "direction": "UP", "ts_ms": 5000}
    ]
    assert stored == [row | {"kind": "z", "last_p": None, "streak": 0}]
    make_engine(backend_url).dispose()  # a second start finds nothing to do


def test_newer_database_is_refused(backend_url: str) -> None:
    make_engine(backend_url).dispose()
    engine = create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version VALUES (:v)"), {"v": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaVersionError, match="newer than this pairwatch"):
        make_engine(backend_url)
