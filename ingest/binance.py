"""Binance wire format: stream URLs, REST paths and frame parsing.

This module owns everything pairwatch knows about Binance's market-data protocol and nothing
else: it builds combined-stream URLs for spot (``/stream?streams=...``) and USD-M futures
(the routed ``/market/stream?streams=...``), names the REST endpoints of backfill, of the
newest trade, of klines, of the 24 h ticker and of exchange information (with their request
weight), turns a websocket payload into a ``Trade``, a ``MarkPrice`` (USD-M) or a ``Control``
frame, and a klines row into a candle. It
also knows the venues' stream caps per connection. Anything malformed or unexpected
raises ``FrameError`` carrying a short kind (``invalid_json``, ``wrong_types`` …) that the
reader counts; the parser itself never logs and never touches the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import orjson

from ingest.errors import IngestError
from ingest.storage.records import RejectKind, Trade

MAX_FRAME_BYTES = 1_000_000
Market = Literal["spot", "usdm"]
StreamKind = Literal["trade", "aggTrade"]


class FrameError(IngestError):
    """A payload that is not a usable Binance frame; ``kind`` classifies it for counters."""

    def __init__(self, kind: RejectKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A USD-M ``markPriceUpdate``: mark price, funding rate and next funding time (ms)."""

    symbol: str
    mark_price: float
    funding_rate: float
    next_funding_ms: int


@dataclass(frozen=True, slots=True)
class Control:
    """A non-trade frame the reader must react to (``server_shutdown``) or may ignore."""

    kind: Literal["server_shutdown", "subscription_reply", "error_reply"]
    detail: str = ""


MAX_STREAMS: dict[Market, int] = {"spot": 1024, "usdm": 200}
"""Streams one connection may carry: spot websocket docs ("A single connection can listen to a
maximum of 1024 streams"), USD-M websocket docs (200)."""

MARK_PRICE_STREAM = "markPrice@1s"
"""USD-M mark price and funding stream each perp symbol also subscribes (``markPriceUpdate``)."""


def streams_of(market: Market, stream: StreamKind) -> tuple[str, ...]:
    """Stream names each symbol subscribes on ``market``: trades, plus mark price on USD-M."""
    return (stream, MARK_PRICE_STREAM) if market == "usdm" else (stream,)


def symbols_per_connection(market: Market, stream: StreamKind) -> int:
    """How many symbols fit on one connection under the venue's stream cap."""
    return MAX_STREAMS[market] // len(streams_of(market, stream))


def stream_url(ws_base: str, market: Market, symbols: list[str], stream: StreamKind) -> str:
    """Combined-stream URL for ``symbols`` (exchange names) on ``ws_base`` (scheme://host[:port])."""
    if not symbols:
        raise ValueError("at least one symbol is needed to subscribe")
    kinds = streams_of(market, stream)
    if len(symbols) * len(kinds) > MAX_STREAMS[market]:
        raise ValueError(f"{len(symbols)} symbols exceed {MAX_STREAMS[market]} streams")
    names = "/".join(f"{symbol.lower()}@{kind}" for symbol in symbols for kind in kinds)
    path = "/market/stream" if market == "usdm" else "/stream"
    return f"{ws_base.rstrip('/')}{path}?streams={names}"


def backfill_url(
    rest_base: str, market: Market, stream: StreamKind, symbol: str, *, from_id: int, limit: int
) -> str:
    """REST URL returning up to ``limit`` trades of ``symbol`` starting at id ``from_id``."""
    endpoint = "aggTrades" if stream == "aggTrade" else "historicalTrades"
    params = {"symbol": symbol, "fromId": from_id, "limit": limit}
    return _rest_url(rest_base, market, endpoint, params)


def trades_weight(market: Market, stream: StreamKind) -> int:
    """Request weight of one backfill or newest-trade call (any ``limit`` up to 1,000).

    Spot ``historicalTrades`` and ``trades`` cost 25 and ``aggTrades`` 4 (spot REST docs,
    2026-07); USD-M ``aggTrades`` costs 20 (USD-M REST docs, "Compressed/Aggregate Trades List").
    """
    if stream == "aggTrade":
        return 20 if market == "usdm" else 4
    return 25


def latest_trade_url(rest_base: str, market: Market, stream: StreamKind, symbol: str) -> str:
    """REST URL of the newest trade of ``symbol`` (reveals trades missed while disconnected)."""
    endpoint = "aggTrades" if stream == "aggTrade" else "trades"
    return _rest_url(rest_base, market, endpoint, {"symbol": symbol, "limit": 1})


KLINE_LIMIT = 1000
"""Klines per call: spot's maximum; on USD-M it costs weight 5 (1,500 rows would cost 10)."""

VENUE_KLINE_INTERVALS: dict[Market, tuple[str, ...]] = {"spot": ("1s", "1m"), "usdm": ("1m",)}
"""Intervals pairwatch loads per venue: USD-M has no 1s klines (USD-M REST docs, Kline data)."""


def klines_url(
    rest_base: str, market: Market, symbol: str, interval: str, *, start_s: int, end_s: int
) -> str:
    """REST URL of up to ``KLINE_LIMIT`` candles opening in seconds ``start_s..end_s - 1``."""
    params = {
        "symbol": symbol,
        "interval": interval,
        "startTime": start_s * 1000,
        "endTime": end_s * 1000 - 1,
        "limit": KLINE_LIMIT,
    }
    return _rest_url(rest_base, market, "klines", params)


def klines_weight(market: Market) -> int:
    """Request weight of one klines call of ``KLINE_LIMIT`` rows.

    Spot ``GET /api/v3/klines`` costs 2 whatever the limit; USD-M ``GET /fapi/v1/klines``
    costs 5 for a limit in [500, 1000] (Binance REST docs, "Kline/Candlestick Data").
    """
    return 5 if market == "usdm" else 2


def kline_from_rest(row: Any) -> dict[str, Any]:
    """Validate one klines row ``[open_time_ms, "open", "high", "low", "close", "volume",
    close_time_ms, "quote_volume", n_trades, ...]`` into a candle keyed like ``klines``."""
    if not isinstance(row, list) or len(row) < 9:
        raise FrameError("wrong_types", "klines row is not a list of at least 9 fields")
    open_ms = _integer(row[0], "open_time")
    if open_ms % 1000:
        raise FrameError("wrong_types", f"open_time={open_ms} is not on a second")
    candle: dict[str, Any] = {"ts_s": open_ms // 1000}
    for index, name in ((1, "open"), (2, "high"), (3, "low"), (4, "close")):
        candle[name] = _number(row[index], name)
        if candle[name] == 0:
            raise FrameError("wrong_types", f"{name}=0")
    candle["volume"] = _number(row[5], "volume")
    candle["quote_volume"] = _number(row[7], "quote_volume")
    candle["n_trades"] = _integer(row[8], "n_trades")
    if not candle["low"] <= min(candle["open"], candle["close"]) <= candle["high"]:
        raise FrameError("wrong_types", "klines row has low/high outside open/close")
    return candle


TICKER_24HR_ALL_WEIGHT: dict[Market, int] = {"spot": 80, "usdm": 40}
"""Weight of a 24 h ticker of every symbol (no ``symbol`` parameter): spot ``GET
/api/v3/ticker/24hr`` 80 (binance-spot-api-docs rest-api.md a5e0bc3, "24hr ticker price change
statistics"); USD-M ``GET /fapi/v1/ticker/24hr`` 40 (connector 29da329, USD-M
``market_data_api.py`` "24hr Ticker Price Change Statistics")."""

EXCHANGE_INFO_WEIGHT: dict[Market, int] = {"spot": 20, "usdm": 1}
"""Weight of ``exchangeInfo`` of every symbol: spot 20 (rest-api.md a5e0bc3, "Exchange
information"); USD-M 1 (connector 29da329, USD-M ``market_data_api.py``)."""


def ticker_24hr_url(rest_base: str, market: Market) -> str:
    """REST URL of the rolling 24 h ticker of every symbol (``TICKER_24HR_ALL_WEIGHT``)."""
    return _rest_url(rest_base, market, "ticker/24hr", {})


def exchange_info_url(rest_base: str, market: Market) -> str:
    """REST URL of the trading rules of every symbol (``EXCHANGE_INFO_WEIGHT``)."""
    return _rest_url(rest_base, market, "exchangeInfo", {})


def _rest_url(rest_base: str, market: Market, endpoint: str, params: dict[str, object]) -> str:
    prefix = "/fapi/v1" if market == "usdm" else "/api/v3"
    query = f"?{urlencode(params)}" if params else ""
    return f"{rest_base.rstrip('/')}{prefix}/{endpoint}{query}"


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FrameError("wrong_types", f"{field} is {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise FrameError("wrong_types", f"{field}={value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise FrameError("wrong_types", f"{field}={value!r} out of range")
    return number


def _integer(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FrameError("wrong_types", f"{field}={value!r} is not a non-negative integer")
    return value


def trade_from_event(event: dict[str, Any]) -> Trade:
    """Validate a ``trade`` or ``aggTrade`` event object into a ``Trade``."""
    symbol = event.get("s")
    if not isinstance(symbol, str) or not 2 <= len(symbol) <= 20:
        raise FrameError("wrong_types", f"symbol {symbol!r}")
    id_field = "a" if event.get("e") == "aggTrade" else "t"
    maker = event.get("m")
    if not isinstance(maker, bool):
        raise FrameError("wrong_types", f"m={maker!r} is not a boolean")
    price = _number(event.get("p"), "p")
    if price == 0:
        raise FrameError("wrong_types", "p=0")
    return Trade(
        symbol,
        _integer(event.get(id_field), id_field),
        _integer(event.get("T"), "T"),
        price,
        _number(event.get("q"), "q"),
        maker,
    )


def trade_from_rest(row: dict[str, Any], symbol: str) -> Trade:
    """Validate one row of ``historicalTrades`` (or ``aggTrades``) into a ``Trade``."""
    if not isinstance(row, dict):
        raise FrameError("wrong_types", "REST row is not an object")
    if "a" in row:  # aggTrades rows use the stream's short names
        return trade_from_event({**row, "e": "aggTrade", "s": symbol})
    return trade_from_event(
        {
            "e": "trade",
            "s": symbol,
            "t": row.get("id"),
            "p": row.get("price"),
            "q": row.get("qty"),
            "T": row.get("time"),
            "m": row.get("isBuyerMaker"),
        }
    )


def _mark_price(event: dict[str, Any]) -> MarkPrice:
    symbol = event.get("s")
    if not isinstance(symbol, str) or not 2 <= len(symbol) <= 20:
        raise FrameError("wrong_types", f"symbol {symbol!r}")
    rate = event.get("r")
    try:
        funding = float(rate) if isinstance(rate, str) else math.nan
    except ValueError:
        funding = math.nan
    if not math.isfinite(funding):
        raise FrameError("wrong_types", f"r={rate!r} is not a funding rate")
    return MarkPrice(symbol, _number(event.get("p"), "p"), funding, _integer(event.get("T"), "T"))


def parse_frame(payload: bytes | str) -> Trade | MarkPrice | Control:
    """Parse one websocket payload (raw or combined-stream form)."""
    if len(payload) > MAX_FRAME_BYTES:
        raise FrameError("oversized", f"{len(payload)} bytes")
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise FrameError("invalid_json", str(exc)[:80]) from None
    if not isinstance(message, dict):
        raise FrameError("unexpected", f"top level is {type(message).__name__}")
    data = message.get("data", message) if "stream" in message else message
    if not isinstance(data, dict):
        raise FrameError("unexpected", "data is not an object")
    event = data.get("e")
    if event in ("trade", "aggTrade"):
        return trade_from_event(data)
    if event == "markPriceUpdate":
        return _mark_price(data)
    if event == "serverShutdown" or message.get("stream") == "!serverShutdown":
        return Control("server_shutdown")
    if "result" in message and "id" in message:
        return Control("subscription_reply", str(message.get("id")))
    if "code" in message or "error" in message:
        return Control("error_reply", str(message)[:200])
    raise FrameError("unknown_event", f"e={event!r}")
