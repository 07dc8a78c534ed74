"""USD-M at the edges of configuration, and databases that know which trade ids they hold.

Binance USD-M streams live on ``wss://fstream.binance.com`` (routed ``/market`` path) and REST
on ``https://fapi.binance.com``; only ``@aggTrade`` is published on ``/market`` (USD-M websocket
docs, "Important WebSocket Change Notice"). Spot and USD-M ids, and trade and aggTrade ids, are
different id spaces, so a database refuses a second kind.
"""

from __future__ import annotations

import pytest

from ingest.settings import ConfigError, load_settings
from ingest.storage import StorageError, claim_feed_kind, make_engine
from tests.ingest_process import run_ingest


def test_usdm_defaults_to_the_futures_hosts(write_config) -> None:
    feed = load_settings(
        write_config({"feed": {"market": "usdm", "stream": "aggTrade"}}), environ={}
    ).feed
    assert (feed.ws_url, feed.rest_url) == ("wss://fstream.binance.com", "https://fapi.binance.com")


def test_spot_defaults_stay_the_spot_hosts(write_config) -> None:
    feed = load_settings(write_config(), environ={}).feed
    assert (feed.ws_url, feed.rest_url) == (
        "wss://stream.binance.com:9443",
        "https://api.binance.com",
    )


def test_usdm_with_trade_stream_exits_2_naming_the_key(write_config) -> None:
    path = write_config({"feed": {"market": "usdm", "stream": "trade"}})
    result = run_ingest(path, "run")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "feed.stream" in lines[0] and "aggTrade only" in lines[0]


def test_a_spot_host_with_market_usdm_is_refused(write_config) -> None:
    path = write_config(
        {"feed": {"market": "usdm", "stream": "aggTrade", "rest_url": "https://api.binance.com"}}
    )
    with pytest.raises(ConfigError, match=r"feed\.rest_url .* is a Binance spot host"):
        load_settings(path, environ={})


def test_a_database_keeps_the_kind_it_was_first_used_for(backend_url) -> None:
    engine = make_engine(backend_url)
    with engine.begin() as conn:
        claim_feed_kind(conn, "spot", "trade", now_ms=1)
    with engine.begin() as conn:
        claim_feed_kind(conn, "spot", "trade", now_ms=2)  # the same kind again is fine
    with (
        pytest.raises(StorageError, match="holds spot trade trades, but usdm aggTrade"),
        engine.begin() as conn,
    ):
        claim_feed_kind(conn, "usdm", "aggTrade", now_ms=3)


def test_run_on_a_database_of_another_kind_exits_2(write_config, sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        claim_feed_kind(conn, "spot", "trade", now_ms=1)
    path = write_config({"storage": {"url": sqlite_url}, "feed": {"stream": "aggTrade"}})
    result = run_ingest(path, "run")
    assert result.returncode == 2
    assert "holds spot trade trades, but spot aggTrade was asked for" in result.stderr


def test_importing_aggtrades_into_a_trade_feed_is_refused_and_stores_nothing(
    tmp_path, write_config, sqlite_url
) -> None:
    file = tmp_path / "BTCUSDT-aggTrades-2024-08-08.csv"
    file.write_text("26129,0.01633102,4.7,27781,27781,1723161255000,True,True\n")
    path = write_config({"storage": {"url": sqlite_url}})
    result = run_ingest(path, "import", str(file))
    assert result.returncode == 2
    assert "spot aggTrades" in result.stderr and "does not match the feed" in result.stderr
    with make_engine(sqlite_url).connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM trades").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM feed_kind").scalar() == 0
