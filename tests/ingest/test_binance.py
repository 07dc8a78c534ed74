"""Wire format: URLs, real recorded frames, control frames and every kind of bad frame."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from ingest.binance import (
    Control,
    FrameError,
    MarkPrice,
    backfill_url,
    parse_frame,
    stream_url,
    symbols_per_connection,
    trade_from_rest,
)
from ingest.storage.records import Trade
from tests.conftest import real_file


def test_spot_and_usdm_combined_stream_urls() -> None:
    spot = stream_url("wss://stream.binance.com:9443", "spot", ["BTCUSDT", "ETHUSDT"], "trade")
    assert spot == "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"
    futures = stream_url("wss://fstream.binance.com/", "usdm", ["BTCUSDT"], "aggTrade")
    assert futures == (
        "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s"
    )
    with pytest.raises(ValueError, match="at least one symbol"):
        stream_url("wss://x", "spot", [], "trade")


def test_streams_per_connection_stay_under_the_documented_caps() -> None:
    """Spot: 1,024 streams per connection; USD-M: 200 (websocket docs); USD-M also subscribes
    each symbol's mark price, so 100 symbols fill a USD-M connection."""
    assert symbols_per_connection("spot", "trade") == 1024
    assert symbols_per_connection("usdm", "aggTrade") == 100
    names = [f"S{i:04d}USDT" for i in range(101)]
    stream_url("wss://fstream.binance.com", "usdm", names[:100], "aggTrade")
    with pytest.raises(ValueError, match="exceed 200 streams"):
        stream_url("wss://fstream.binance.com", "usdm", names, "aggTrade")


def test_mark_price_update_is_parsed_with_a_negative_funding_rate() -> None:
    """USD-M ``markPriceUpdate``: p mark price, r funding rate (may be negative), T next funding."""
    frame = parse_frame(
        b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSDT",'
        b'"p":"60000.5","i":"60001","P":"60002","r":"-0.00012","T":1723190400000}}'
    )
    assert frame == MarkPrice("BTCUSDT", 60000.5, -0.00012, 1723190400000)


def test_backfill_urls() -> None:
    url = backfill_url("https://api.binance.com", "spot", "trade", "BTCUSDT", from_id=5, limit=1000)
    assert (
        url == "https://api.binance.com/api/v3/historicalTrades?symbol=BTCUSDT&fromId=5&limit=1000"
    )
    agg = backfill_url(
        "https://fapi.binance.com", "usdm", "aggTrade", "ETHUSDT", from_id=1, limit=2
    )
    assert agg.startswith("https://fapi.binance.com/fapi/v1/aggTrades?")


def test_real_recorded_frames_match_the_trade_csv() -> None:
    raw = real_file("raw_ws_binance_spot_btcusdt_20240808.gz")
    csv = pd.read_csv(real_file("binance_spot_BTCUSDT_trades_20240808T2354_20240809T0005.csv"))
    trades: list[Trade] = []
    with gzip.open(raw) as lines:
        for line in lines:
            payload = line.split(b" ", 1)[1]
            if b"@trade" in payload:
                frame = parse_frame(payload)
                assert isinstance(frame, Trade)
                trades.append(frame)
    assert len(trades) == 9757
    by_id = csv.set_index("id")
    for trade in trades[:: max(1, len(trades) // 200)]:
        row = by_id.loc[trade.trade_id]
        assert trade.symbol == "BTCUSDT"
        assert trade.ts_ms == row["time"]
        assert trade.price == pytest.approx(row["price"], rel=0, abs=0)
        assert trade.qty == row["qty"]
        assert trade.buyer_maker == bool(row["is_buyer_maker"])


def test_raw_and_agg_trade_payloads() -> None:
    raw = (
        b'{"e":"trade","E":2,"s":"ETHUSDT","t":7,"p":"2500.5","q":"1.25","T":1,"m":false,"M":true}'
    )
    assert parse_frame(raw) == Trade("ETHUSDT", 7, 1, 2500.5, 1.25, False)
    agg = (
        b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":3,"s":"BTCUSDT","a":11,'
        b'"p":"60000","q":"0.1","f":100,"l":105,"T":2,"m":true,"M":true}}'
    )
    assert parse_frame(agg) == Trade("BTCUSDT", 11, 2, 60000.0, 0.1, True)


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b'{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}', "server_shutdown"),
        (b'{"e":"serverShutdown","E":1}', "server_shutdown"),
        (b'{"result":null,"id":1}', "subscription_reply"),
        (b'{"code":2,"msg":"Invalid request"}', "error_reply"),
    ],
)
def test_control_frames(payload: bytes, kind: str) -> None:
    frame = parse_frame(payload)
    assert isinstance(frame, Control)
    assert frame.kind == kind


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b'{"e":"trade",', "invalid_json"),
        (b"\xff\xfe\x00garbage", "invalid_json"),
        (b"[1,2,3]", "unexpected"),
        (b'{"stream":"x","data":5}', "unexpected"),
        (b'{"e":"kline","s":"BTCUSDT"}', "unknown_event"),
        (b'{"e":"trade","s":"BTCUSDT","t":"7","p":"1","q":"1","T":1,"m":true}', "wrong_types"),
        (b'{"e":"trade","s":"BTCUSDT","t":7,"p":"abc","q":"1","T":1,"m":true}', "wrong_types"),
        (b'{"e":"trade","s":"BTCUSDT","t":7,"p":"1","q":"-1","T":1,"m":true}', "wrong_types"),
        (b'{"e":"trade","s":"BTCUSDT","t":7,"p":"NaN","q":"1","T":1,"m":true}', "wrong_types"),
        (b'{"e":"trade","s":"BTCUSDT","t":7,"p":"1","q":"1","T":1,"m":"yes"}', "wrong_types"),
        (b'{"e":"trade","s":null,"t":7,"p":"1","q":"1","T":1,"m":true}', "wrong_types"),
        (b'{"e":"trade","s":"BTCUSDT","t":7,"p":"0","q":"1","T":1,"m":true}', "wrong_types"),
        (b'{"x":"' + b"a" * 1_000_001 + b'"}', "oversized"),
    ],
)
def test_bad_frames_raise_classified_errors(payload: bytes, kind: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(payload)
    assert caught.value.kind == kind


def test_rest_rows_historical_and_aggregate() -> None:
    row = {
        "id": 9,
        "price": "10.5",
        "qty": "2",
        "quoteQty": "21",
        "time": 5,
        "isBuyerMaker": True,
        "isBestMatch": True,
    }
    assert trade_from_rest(row, "BTCUSDT") == Trade("BTCUSDT", 9, 5, 10.5, 2.0, True)
    agg = {"a": 3, "p": "1.5", "q": "4", "f": 1, "l": 2, "T": 8, "m": False, "M": True}
    assert trade_from_rest(agg, "ETHUSDT") == Trade("ETHUSDT", 3, 8, 1.5, 4.0, False)
    with pytest.raises(FrameError):
        trade_from_rest({"id": "x"}, "BTCUSDT")
