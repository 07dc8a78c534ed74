"""Binance wire format: stream payloads, combined envelopes, REST rows and websocket framing.

This module owns the exact bytes the simulator puts on the wire: spot ``@trade`` and
``@aggTrade`` event JSON (prices and quantities as 8-decimal strings, like Binance), USD-M
``@aggTrade`` (``nq`` and ``st`` fields, no ``M``) and ``@markPrice`` (``markPriceUpdate``)
events, the combined ``{"stream":..,"data":..}`` envelope, ``serverShutdown`` events, spot and
USD-M REST rows for ``historicalTrades``/``trades``/``aggTrades`` and klines (12-field arrays),
and RFC 6455 server-to-client (unmasked) frame headers. Frames are pre-encoded here so the
server can write thousands of them per event-loop iteration with one ``transport.write``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ingest.simulator.bars import FIELDS, Bars
from ingest.simulator.history import TradeRows

OP_TEXT = 0x1
OP_BINARY = 0x2

_TRADE = b'{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%.8f","q":"%.8f","T":%d,"m":%s,"M":true}'
_AGG = (
    b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%.8f","q":"%.8f","f":%d,"l":%d,"T":%d,'
    b'"m":%s,"M":true}'
)
# USD-M payloads: fields of binance-connector-python (generated from Binance's specs) at
# 29da329 (2026-08-21), derivatives_trading_usds_futures websocket_streams/models
# aggregate_trade_streams_response.py and mark_price_stream_response.py. The simulator has no
# RPI orders (nq = q) and only UM symbols (st = 1).
_USDM_AGG = (
    b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%.8f","q":"%.8f","nq":"%.8f","f":%d,"l":%d,'
    b'"T":%d,"m":%s,"st":1}'
)
_MARK = (
    b'{"e":"markPriceUpdate","E":%d,"s":"%s","p":"%.8f","i":"%.8f","P":"%.8f","r":"%.8f",'
    b'"ap":"%.8f","T":%d,"st":1}'
)
_COMBINED = b'{"stream":"%s","data":%s}'
_BOOL = (b"false", b"true")


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, unmasked websocket frame (server → client) carrying ``payload``."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def frames(payloads: list[bytes]) -> list[bytes]:
    """Text frames for many payloads (fast path for the < 126 and < 64 KiB cases)."""
    out: list[bytes] = []
    append = out.append
    pack = struct.pack
    for p in payloads:
        n = len(p)
        if n < 126:
            append(bytes((0x81, n)) + p)
        elif n < 65536:
            append(pack("!BBH", 0x81, 126, n) + p)
        else:
            append(pack("!BBQ", 0x81, 127, n) + p)
    return out


def combined(stream: str, payloads: list[bytes]) -> list[bytes]:
    """Wrap raw payloads in the combined-stream envelope of ``stream``."""
    sb = stream.encode()
    return [_COMBINED % (sb, p) for p in payloads]


def trade_payloads(symbol: str, event_ms: int, rows: TradeRows) -> list[bytes]:
    """Spot ``@trade`` payloads, one per row."""
    sb = symbol.encode()
    return [
        _TRADE % (event_ms, sb, t, p, q, ts, _BOOL[m])
        for t, p, q, ts, m in zip(
            rows.ids.tolist(),
            rows.price.tolist(),
            rows.qty.tolist(),
            rows.ts.tolist(),
            rows.maker.tolist(),
            strict=True,
        )
    ]


def aggregate(rows: TradeRows) -> dict[str, np.ndarray]:
    """Collapse trade rows (sorted, aggregates complete) into aggregate columns."""
    if len(rows) == 0:
        e = np.empty(0, np.int64)
        return {"a": e, "p": np.empty(0), "q": np.empty(0), "f": e, "l": e, "T": e, "m": e}
    starts = np.flatnonzero(np.r_[True, rows.agg[1:] != rows.agg[:-1]])
    ends = np.r_[starts[1:], len(rows)] - 1
    return {
        "a": rows.agg[starts],
        "p": rows.price[starts],
        "q": np.add.reduceat(rows.qty, starts),
        "f": rows.ids[starts],
        "l": rows.ids[ends],
        "T": rows.ts[starts],
        "m": rows.maker[starts],
    }


AGG_FIELDS = ("a", "p", "q", "f", "l", "T", "m")


def _agg_columns(aggs: dict[str, np.ndarray]) -> zip[tuple[Any, ...]]:
    """Rows of the ``aggregate()`` columns in stream field order."""
    return zip(*(aggs[name].tolist() for name in AGG_FIELDS), strict=True)


def agg_payloads(symbol: str, event_ms: int, aggs: dict[str, np.ndarray]) -> list[bytes]:
    """Spot ``@aggTrade`` payloads from ``aggregate()`` columns."""
    sb = symbol.encode()
    return [
        _AGG % (event_ms, sb, a, p, q, f, last, ts, _BOOL[m])
        for a, p, q, f, last, ts, m in _agg_columns(aggs)
    ]


def usdm_agg_payloads(symbol: str, event_ms: int, aggs: dict[str, np.ndarray]) -> list[bytes]:
    """USD-M ``@aggTrade`` payloads from ``aggregate()`` columns."""
    sb = symbol.encode()
    return [
        _USDM_AGG % (event_ms, sb, a, p, q, q, f, last, ts, _BOOL[m])
        for a, p, q, f, last, ts, m in _agg_columns(aggs)
    ]


def mark_price_payload(
    symbol: str, event_ms: int, mark: float, funding_rate: float, next_funding_ms: int
) -> bytes:
    """USD-M ``@markPrice`` event: the simulator's index, settle estimate and moving average
    all equal its mark price."""
    return _MARK % (
        event_ms,
        symbol.encode(),
        mark,
        mark,
        mark,
        funding_rate,
        mark,
        next_funding_ms,
    )


def shutdown_payload(event_ms: int, combined_form: bool) -> bytes:
    """``serverShutdown`` event, raw or wrapped as ``{"stream":"!serverShutdown","data":..}``."""
    raw = b'{"e":"serverShutdown","E":%d}' % event_ms
    return _COMBINED % (b"!serverShutdown", raw) if combined_form else raw


def historical_rows(rows: TradeRows) -> list[dict[str, Any]]:
    """REST ``historicalTrades``/``trades`` rows in Binance spot format."""
    return [
        {
            "id": t,
            "price": f"{p:.8f}",
            "qty": f"{q:.8f}",
            "quoteQty": f"{p * q:.8f}",
            "time": ts,
            "isBuyerMaker": m,
            "isBestMatch": True,
        }
        for t, p, q, ts, m in zip(
            rows.ids.tolist(),
            rows.price.tolist(),
            rows.qty.tolist(),
            rows.ts.tolist(),
            rows.maker.tolist(),
            strict=True,
        )
    ]


def usdm_trade_rows(rows: TradeRows) -> list[dict[str, Any]]:
    """REST ``/fapi/v1/historicalTrades``/``trades`` rows (USD-M: ``isRPITrade``, no
    ``isBestMatch``; connector models ``old_trades_lookup_response_inner.py``)."""
    return [
        {
            "id": r["id"],
            "price": r["price"],
            "qty": r["qty"],
            "quoteQty": r["quoteQty"],
            "time": r["time"],
            "isBuyerMaker": r["isBuyerMaker"],
            "isRPITrade": False,
        }
        for r in historical_rows(rows)
    ]


def agg_rows(aggs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """REST ``aggTrades`` rows in Binance spot format."""
    return [
        {"a": a, "p": f"{p:.8f}", "q": f"{q:.8f}", "f": f, "l": last, "T": ts, "m": m, "M": True}
        for a, p, q, f, last, ts, m in _agg_columns(aggs)
    ]


def usdm_agg_rows(aggs: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """REST ``/fapi/v1/aggTrades`` rows (``nq``, no ``M``; connector model
    ``compressed_aggregate_trades_list_response_inner.py``)."""
    return [
        {
            "a": a,
            "p": f"{p:.8f}",
            "q": f"{q:.8f}",
            "nq": f"{q:.8f}",
            "f": f,
            "l": last,
            "T": ts,
            "m": m,
        }
        for a, p, q, f, last, ts, m in _agg_columns(aggs)
    ]


def kline_rows(bars: Bars, interval_ms: int) -> list[list[Any]]:
    """REST klines rows: ``[open time, "open", "high", "low", "close", "volume", close time,
    "quote volume", trades, "taker buy base", "taker buy quote", "0"]`` (close time = open time
    + interval - 1; decimals as 8-decimal strings, like Binance)."""
    last = interval_ms - 1
    return [
        [
            t,
            f"{o:.8f}",
            f"{h:.8f}",
            f"{lo:.8f}",
            f"{c:.8f}",
            f"{v:.8f}",
            t + last,
            f"{q:.8f}",
            n,
            f"{tb:.8f}",
            f"{tq:.8f}",
            "0",
        ]
        for t, o, h, lo, c, v, q, n, tb, tq in zip(
            *(getattr(bars, name).tolist() for name in FIELDS), strict=True
        )
    ]
