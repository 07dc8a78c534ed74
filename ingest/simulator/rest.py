"""Binance REST endpoints served from the simulator's trade history and generated past.

This module owns the REST surface: spot ``/api/v3/ping``, ``time``, ``exchangeInfo``,
``historicalTrades``, ``trades``, ``aggTrades`` and ``klines`` (``1s``, ``1m`` .. ``1d``), and
USD-M ``/fapi/v1/klines`` (``1m`` .. ``1d``, no ``1s``; see ``klines`` for the kline rules). It
parses parameters and answers with Binance-style errors (HTTP 400
``{"code":-1121,"msg":"Invalid symbol."}``, -1102 missing parameter, -1120 invalid interval,
-1130 bad ``limit``; ``limit`` <= 1000, and <= 1500 on ``/fapi/v1/klines``). It applies the
"forgotten" id ranges (absent rows, or an empty page when ``fromId`` falls inside one, per
``forget_mode``) and injected 429/418/5xx answers with ``Retry-After``. It counts requests and
weight (``X-MBX-USED-WEIGHT-1M``, with Binance's per-endpoint weights, USD-M klines weighed by
``limit``). It is pure request → (status, body, headers) logic; the server glues it to
websockets' ``process_request`` hook.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import orjson

from ingest.simulator import wire
from ingest.simulator.faults import FaultState
from ingest.simulator.history import TradeHistory, TradeRows
from ingest.simulator.klines import ENDPOINTS, KlineBook, KlineError

WEIGHTS = {
    "/api/v3/ping": 1,
    "/api/v3/time": 1,
    "/api/v3/exchangeInfo": 20,
    "/api/v3/historicalTrades": 25,
    "/api/v3/trades": 25,
    "/api/v3/aggTrades": 4,
    "/api/v3/klines": 2,  # binance-spot-api-docs rest-api.md "Kline/Candlestick data"
}
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500


class RestError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass(slots=True)
class RestStats:
    """REST call accounting (read from any thread; written on the event loop)."""

    calls: int = 0
    weight: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    log: deque[tuple[float, str, int]] = field(default_factory=lambda: deque(maxlen=10_000))
    minute: int = 0
    minute_weight: int = 0


def _int(q: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    vals = q.get(name)
    if not vals or vals[0] == "":
        return default
    v = vals[0]
    if not v.lstrip("-").isdigit():
        raise RestError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )
    return int(v)


def _weight(path: str, q: dict[str, list[str]]) -> int:
    """Request weight of a call (USD-M klines: by ``limit``, the endpoint default if unreadable)."""
    endpoint = ENDPOINTS.get(path)
    if endpoint is None:
        return WEIGHTS.get(path, 1)
    vals = q.get("limit")
    text = vals[0] if vals else ""
    return endpoint.weight(int(text) if text.isdigit() else endpoint.default_limit)


def _limit(q: dict[str, list[str]]) -> int:
    limit = _int(q, "limit", DEFAULT_LIMIT)
    assert limit is not None
    if not (1 <= limit <= MAX_LIMIT):
        raise RestError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit


class RestApi:
    """Answers REST requests from ``histories`` under ``faults``."""

    def __init__(
        self,
        histories: dict[str, TradeHistory],
        faults: FaultState,
        klines: KlineBook | None = None,
    ) -> None:
        self.histories = histories
        self.faults = faults
        self.klines = klines or KlineBook(histories, False, None, None, sorted_ts=True)
        self.stats = RestStats()

    def handle(self, path: str, query: str) -> tuple[int, bytes, dict[str, str]]:
        st = self.stats
        q = parse_qs(query, keep_blank_values=True)
        weight = _weight(path, q)
        minute = int(time.time() // 60)
        if minute != st.minute:
            st.minute, st.minute_weight = minute, 0
        st.calls += 1
        st.weight += weight
        st.minute_weight += weight
        st.by_path[path] += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(st.minute_weight)}
        f = self.faults
        if f.rest_errors_left > 0:
            f.rest_errors_left -= 1
            status = f.rest_error_status
            if status in (418, 429):
                headers["Retry-After"] = str(f.rest_retry_after)
            msg = "Too many requests; current limit of IP is 6000 requests per minute."
            body = orjson.dumps({"code": -1003, "msg": msg})
            st.log.append((time.monotonic(), path, status))
            return status, body, headers
        try:
            status, payload = 200, self._route(path, q)
        except RestError as e:
            status, payload = e.status, {"code": e.code, "msg": e.msg}
        st.log.append((time.monotonic(), path, status))
        return status, orjson.dumps(payload), headers

    def _route(self, path: str, q: dict[str, list[str]]) -> Any:
        if path == "/api/v3/ping":
            return {}
        if path == "/api/v3/time":
            return {"serverTime": int(time.time() * 1000)}
        if path == "/api/v3/exchangeInfo":
            return self._exchange_info(q)
        if path == "/api/v3/historicalTrades":
            return self._historical(q)
        if path == "/api/v3/trades":
            return self._recent(q)
        if path == "/api/v3/aggTrades":
            return self._agg(q)
        if path in ENDPOINTS:
            return self._klines(path, q)
        raise RestError(404, -1000, f"Unknown path {path}")

    def _history(self, q: dict[str, list[str]]) -> TradeHistory:
        vals = q.get("symbol")
        if not vals or not vals[0]:
            raise RestError(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        h = self.histories.get(vals[0])
        if h is None:
            raise RestError(400, -1121, "Invalid symbol.")
        return h

    def _exchange_info(self, q: dict[str, list[str]]) -> Any:
        syms = list(self.histories)
        if q.get("symbol"):
            self._history(q)
            syms = [q["symbol"][0]]
        return {
            "timezone": "UTC",
            "serverTime": int(time.time() * 1000),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                }
            ],
            "exchangeFilters": [],
            "symbols": [
                {
                    "symbol": s,
                    "status": "TRADING",
                    "baseAsset": s[:-4] if s.endswith("USDT") else s[:-3],
                    "quoteAsset": "USDT" if s.endswith("USDT") else s[-3:],
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": "0.01000000",
                            "maxPrice": "1000000.00000000",
                            "tickSize": "0.01000000",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": "0.00001000",
                            "maxQty": "9000.00000000",
                            "stepSize": "0.00001000",
                        },
                    ],
                }
                for s in syms
            ],
        }

    def _served(self, symbol: str, rows: TradeRows) -> TradeRows:
        if not self.faults.forget_ids:
            return rows
        return rows.take(np.flatnonzero(~self.faults.forgotten_mask(symbol, rows.ids)))

    def _historical(self, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        from_id = _int(q, "fromId")
        rows = h.rows()
        if from_id is None:
            return wire.historical_rows(self._served(h.symbol, rows.take(slice(-limit, None))))
        if self.faults.forget_mode == "empty" and self.faults.is_forgotten(h.symbol, from_id):
            return []
        lo = int(np.searchsorted(rows.ids, from_id, side="left"))
        hi = lo + limit + self.faults.forgotten_count(h.symbol)
        served = self._served(h.symbol, rows.take(slice(lo, hi)))
        return wire.historical_rows(served.take(slice(0, limit)))

    def _recent(self, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        rows = h.rows()
        return wire.historical_rows(self._served(h.symbol, rows.take(slice(-limit, None))))

    def _agg(self, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        from_id = _int(q, "fromId")
        start = _int(q, "startTime")
        end = _int(q, "endTime")
        rows = h.rows()
        if from_id is not None:
            lo = int(np.searchsorted(rows.agg, from_id, side="left"))
        elif start is not None:
            lo = int(np.searchsorted(rows.ts, start, side="left"))
        else:
            lo = None
        if end is not None:
            rows = rows.take(slice(0, int(np.searchsorted(rows.ts, end, side="right"))))
        if lo is None:
            # most recent `limit` aggregates
            if len(rows) == 0:
                return []
            first_agg = int(rows.agg[-1]) - limit + 1
            lo = int(np.searchsorted(rows.agg, first_agg, side="left"))
            window = rows.take(slice(lo, None))
        else:
            span = limit * 4
            while True:
                window = rows.take(slice(lo, lo + span))
                n_aggs = len(np.unique(window.agg)) if len(window) else 0
                if n_aggs > limit or lo + span >= len(rows):
                    break
                span *= 4
        aggs = wire.aggregate(window)
        if self.faults.forget_ids and len(aggs["a"]):
            bad = self.faults.forgotten_mask(h.symbol, window.ids)
            bad_aggs = np.unique(window.agg[bad])
            keep = ~np.isin(aggs["a"], bad_aggs)
            aggs = {k: v[keep] for k, v in aggs.items()}
        aggs = {k: v[:limit] for k, v in aggs.items()}
        return wire.agg_rows(aggs)

    def _klines(self, path: str, q: dict[str, list[str]]) -> Any:
        symbol = q.get("symbol", [""])[0]
        interval = q.get("interval", [""])[0]
        start, end, limit = (_int(q, name) for name in ("startTime", "endTime", "limit"))
        try:
            return self.klines.rows(symbol, interval, start, end, limit, endpoint=ENDPOINTS[path])
        except KlineError as e:
            raise RestError(400, e.code, e.msg) from None
