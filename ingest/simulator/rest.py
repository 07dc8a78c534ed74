"""Binance REST endpoints served from the simulator's trade history and generated past.

This module owns the REST surface of both markets, and nothing else answers 200: spot
``/api/v3/{ping,time,exchangeInfo,trades,historicalTrades,aggTrades,klines,ticker/24hr}`` and
USD-M ``/fapi/v1/{ping,time,exchangeInfo,trades,historicalTrades,aggTrades,klines,ticker/24hr}``
(klines: spot ``1s``, ``1m`` .. ``1d``; USD-M ``1m`` .. ``1d``; see ``klines``; the ticker's
rows: see ``ticker``); any other path answers 404. Halted symbols are listed by exchangeInfo
(status ``BREAK`` on spot, ``SETTLING`` on USD-M) and the ticker only; every other endpoint
answers them -1121 as unknown.
Rows follow each market's format (USD-M: ``isRPITrade``, ``nq``, no ``M``/``isBestMatch``). It
applies Binance's rules: HTTP 400 ``{"code":-1121,"msg":"Invalid symbol."}``, -1102 missing
parameter, -1100 illegal characters, -1120 invalid interval, -1130 bad ``limit`` (<= 1000,
<= 1500 on ``/fapi/v1/klines``); the spot ticker's ``symbols`` (a JSON array) answers -1102
when malformed, -1101 with a duplicate and -1128 beside ``symbol``; USD-M ``historicalTrades``
without an ``X-MBX-APIKEY`` header answers 401 -2014; USD-M ``aggTrades`` serves only the last
48 hours and refuses a ``startTime``..``endTime`` span of an hour or more (-1127). It weighs
every call with the documented per-endpoint weight (USD-M klines by ``limit``, the ticker by
the number of symbols asked), counts weight per market and calendar minute, reports the count
(plus any ``used_weight_extra``) in ``X-MBX-USED-WEIGHT-1M`` on every answer under a market
prefix (not on the WAF's 403), and answers 429 (``Retry-After`` = seconds to the next minute)
to a call that would pass the limit (spot 6,000, USD-M 2,400).
It applies the "forgotten" id ranges (absent rows, or an empty page when ``fromId`` falls inside
one, per ``forget_mode``) and injected errors, each with Binance's body: 418/429 ``-1003`` with
``Retry-After``, 401 ``-2014``, 403 the WAF's HTML page, 451 the restricted-location message,
5xx ``-1001``. It is pure request → (status, body, headers) logic; the server glues it to
websockets' ``process_request`` hook.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import numpy as np
import orjson

from ingest.simulator import ticker, wire
from ingest.simulator.errors import SimulatorError
from ingest.simulator.faults import FaultState
from ingest.simulator.history import TradeHistory, TradeRows
from ingest.simulator.klines import ENDPOINTS, KlineBook, KlineError

Market = Literal["spot", "usdm"]
PREFIXES: dict[str, Market] = {"/api/v3/": "spot", "/fapi/v1/": "usdm"}

# Spot weights: binance-spot-api-docs rest-api.md (commit a5e0bc3, 2026-07-21), "Weight:" of
# each endpoint. USD-M weights: binance-connector-python 29da329 (2026-08-21), USD-M
# rest_api/api/market_data_api.py "Weight(IP):" (historicalTrades 200 since the connector's
# v17.0.0 of 2026-08-07; it was 20 before). Klines weigh by limit (``klines.ENDPOINTS``).
WEIGHTS: dict[str, int] = {
    "/api/v3/ping": 1,
    "/api/v3/time": 1,
    "/api/v3/exchangeInfo": 20,
    "/api/v3/historicalTrades": 25,
    "/api/v3/trades": 25,
    "/api/v3/aggTrades": 4,
    "/api/v3/klines": 2,
    "/fapi/v1/ping": 1,
    "/fapi/v1/time": 1,
    "/fapi/v1/exchangeInfo": 1,
    "/fapi/v1/trades": 5,
    "/fapi/v1/historicalTrades": 200,
    "/fapi/v1/aggTrades": 20,
}
UNKNOWN_PATH_WEIGHT = 1
"""Weight charged for a 404 under a market prefix (the docs give none; a simulator choice)."""

WEIGHT_LIMITS: dict[Market, int] = {"spot": 6000, "usdm": 2400}
"""REQUEST_WEIGHT per IP and minute: spot rest-api.md "LIMITS" / CHANGELOG 2023-08-25 (6,000);
USD-M 2,400 (binance-docs futures "Limits", as quoted by the crypto-rest-client docs; notes
features.md §3.6)."""

USDM_AGG_HISTORY_MS = 48 * 3600 * 1000
"""USD-M aggTrades: "only trade histories within the past 48 hours (counted from now) can be
queried" (connector 29da329 ``compressed_aggregate_trades_list``). What Binance answers to a
``fromId`` older than that is not documented; the simulator serves nothing older, so such a
``fromId`` gets the oldest aggregates still inside the window."""
USDM_AGG_MAX_SPAN_MS = 3600 * 1000
"""USD-M aggTrades: "time between startTime and endTime must be less than 1 hour" (same)."""

MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
API_KEY_HEADER = "X-MBX-APIKEY"
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"

# Error bodies. -1003, -1001, -1127 and -2014 BAD_API_KEY_FMT: binance-spot-api-docs errors.md
# ("per 1 MINUTE" as Binance fills it in: uneasyguy/binance_data#4). No USD-M error list was
# at hand; the same codes are assumed there. The 401 status of a missing key:
# binance/binance-skills-hub PR #175 on the spot and futures historicalTrades ("Agents calling
# these without the API key will receive 401 errors"; also ccxt/ccxt#6418). The 451 body as
# Binance sends it (ccxt/binance-trade-bot#512, crypto-power/cryptopower#510). The 403 page
# is CloudFront's, not Binance's JSON (tellor-io/telliot#69, JKorf/Binance.Net#115); it
# carries no X-MBX header.
MSG_RATE = (
    "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
MSG_BANNED = (
    "Way too much request weight used; IP banned until {until}. "
    "Please use WebSocket Streams for live updates to avoid bans."
)
MSG_BAD_KEY = "API-key format invalid."
MSG_RESTRICTED = (
    "Service unavailable from a restricted location according to 'b. Eligibility' in "
    "https://www.binance.com/en/terms. Please contact customer service if you believe you "
    "received this message in error."
)
MSG_INTERNAL = "Internal error; unable to process your request. Please try again."
WAF_PAGE = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
    b'"http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" '
    b'CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be '
    b"satisfied</TITLE>\n</HEAD><BODY>\n<H1>403 ERROR</H1>\n<H2>The request could not be "
    b'satisfied.</H2>\n<HR noshade size="1px">\nRequest blocked.\n<BR clear="all">\n'
    b"<PRE>\nGenerated by cloudfront (CloudFront)\n</PRE>\n</BODY></HTML>\n"
)


class RestError(SimulatorError):
    """An HTTP error answer: ``status`` and Binance's ``code`` and ``msg``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


@dataclass(slots=True)
class RestStats:
    """REST call accounting (read from any thread; written on the event loop).

    ``weight`` and ``by_path`` count every call ever; ``minute``/``minute_weight`` are the
    current calendar minute and its weight per market (what ``X-MBX-USED-WEIGHT-1M`` reports,
    before ``used_weight_extra``).
    """

    calls: int = 0
    weight: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    log: deque[tuple[float, str, int]] = field(default_factory=lambda: deque(maxlen=10_000))
    minute: dict[Market, int] = field(default_factory=lambda: {"spot": 0, "usdm": 0})
    minute_weight: dict[Market, int] = field(default_factory=lambda: {"spot": 0, "usdm": 0})


def market_of(path: str) -> tuple[Market, str] | None:
    """``(market, endpoint name)`` of a REST path, or None outside ``/api/v3/``/``/fapi/v1/``."""
    for prefix, market in PREFIXES.items():
        if path.startswith(prefix):
            return market, path[len(prefix) :]
    return None


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


TICKER = "ticker/24hr"
HALTED_STATUS: dict[Market, str] = {"spot": "BREAK", "usdm": "SETTLING"}
"""Status of a listed symbol that does not trade: spot enums.md "Symbol status" ``BREAK``; a
delisted USD-M perpetual shows ``SETTLING`` (polyoxide-binance ``usdm::types::SymbolStatus``,
counted on exchangeInfo 2026-10-07)."""


# The docs say only that ``symbol`` and ``symbols`` "cannot be used in combination" and show the
# accepted ``symbols`` format; the codes for breaking that are the simulator's choice among
# errors.md's: -1128 OPTIONAL_PARAMS_BAD_COMBO, -1102 "... or malformed", -1101 "Duplicate
# values for a parameter detected."
def _symbol_list(market: Market, q: dict[str, list[str]]) -> list[str] | None:
    """The spot ticker's ``symbols`` (``["BTCUSDT","BNBUSDT"]``), None when not sent; USD-M
    documents no such parameter."""
    if market != "spot" or "symbols" not in q:
        return None
    try:
        names = json.loads(q["symbols"][0])
    except ValueError:
        names = None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RestError(
            400,
            -1102,
            "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed.",
        )
    if len(set(names)) < len(names):
        raise RestError(400, -1101, "Duplicate values for a parameter detected.")
    return names


def _ticker_asked(market: Market, q: dict[str, list[str]]) -> int | None:
    """How many symbols a ticker call asks for (None: all; an unreadable list weighs as all)."""
    if "symbol" in q:
        return 1
    try:
        names = _symbol_list(market, q)
    except RestError:
        return None
    return None if names is None else len(names)


def _weight(market: Market, name: str, path: str, q: dict[str, list[str]]) -> int:
    """Request weight of a call (USD-M klines: by ``limit``, the endpoint default if unreadable;
    the ticker: by the number of symbols asked)."""
    if name == TICKER:
        return ticker.weight(market, _ticker_asked(market, q))
    endpoint = ENDPOINTS.get(path)
    if endpoint is None:
        return WEIGHTS.get(path, UNKNOWN_PATH_WEIGHT)
    vals = q.get("limit")
    text = vals[0] if vals else ""
    return endpoint.weight(int(text) if text.isdigit() else endpoint.default_limit)


def _limit(q: dict[str, list[str]]) -> int:
    limit = _int(q, "limit", DEFAULT_LIMIT)
    assert limit is not None
    if not (1 <= limit <= MAX_LIMIT):
        raise RestError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def error_answer(
    status: int, retry_after: int, market: Market, now_s: float
) -> tuple[bytes, dict[str, str]]:
    """Body and extra headers Binance sends with an error ``status`` (see the sources above)."""
    headers: dict[str, str] = {}
    if status in (418, 429):
        headers["Retry-After"] = str(retry_after)
    if status == 418:
        until_ms = int((now_s + retry_after) * 1000)  # epoch ms, as in ccxt/ccxt#14639
        payload: dict[str, Any] = {"code": -1003, "msg": MSG_BANNED.format(until=until_ms)}
    elif status == 429:
        payload = {"code": -1003, "msg": MSG_RATE.format(limit=WEIGHT_LIMITS[market])}
    elif status == 401:
        payload = {"code": -2014, "msg": MSG_BAD_KEY}
    elif status == 451:
        payload = {"code": 0, "msg": MSG_RESTRICTED}
    elif status == 403:
        return WAF_PAGE, {"Content-Type": "text/html"}
    elif status >= 500:
        payload = {"code": -1001, "msg": MSG_INTERNAL}
    else:
        payload = {"code": -1000, "msg": "An unknown error occurred while processing the request."}
    return orjson.dumps(payload), headers


class RestApi:
    """Answers REST requests from ``histories`` under ``faults`` (see module docstring)."""

    def __init__(
        self,
        histories: dict[str, TradeHistory],
        faults: FaultState,
        klines: KlineBook | None = None,
        clock: Callable[[], float] = time.time,
        halted: tuple[str, ...] = (),
    ) -> None:
        self.histories = histories
        self.faults = faults
        self.klines = klines or KlineBook(histories, False, None, None, sorted_ts=True)
        self.tickers = ticker.TickerBook(self.klines, halted)
        self.clock = clock
        self.stats = RestStats()

    def used_weight(self, market: Market) -> int:
        """What ``X-MBX-USED-WEIGHT-1M`` reports for ``market`` now (this minute + extra)."""
        st = self.stats
        minute = int(self.clock() // 60)
        used = st.minute_weight[market] if st.minute[market] == minute else 0
        return used + self.faults.used_weight_extra

    def handle(
        self, path: str, query: str, api_key: str | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Answer ``GET path?query``; ``api_key`` is the ``X-MBX-APIKEY`` header (None = absent)."""
        st = self.stats
        st.calls += 1
        st.by_path[path] += 1
        located = market_of(path)
        if located is None:  # no market: no weight, no header
            st.log.append((time.monotonic(), path, 404))
            return 404, orjson.dumps({"code": -1, "msg": f"Unknown path {path}"}), {}
        market, name = located
        q = parse_qs(query, keep_blank_values=True)
        weight = _weight(market, name, path, q)
        now = self.clock()
        minute = int(now // 60)
        if minute != st.minute[market]:
            st.minute[market], st.minute_weight[market] = minute, 0
        f = self.faults
        if f.rest_errors_left > 0 and (
            f.rest_error_path is None or path.startswith(f.rest_error_path)
        ):
            f.rest_errors_left -= 1
            self._charge(market, weight)
            body, headers = error_answer(f.rest_error_status, f.rest_retry_after, market, now)
            if f.rest_error_status != 403:  # the WAF answers before Binance counts anything
                headers[USED_WEIGHT_HEADER] = str(self.used_weight(market))
            st.log.append((time.monotonic(), path, f.rest_error_status))
            return f.rest_error_status, body, headers
        if self.used_weight(market) + weight > WEIGHT_LIMITS[market]:
            # A call past the limit is refused. Whether Binance still counts its weight is not
            # documented; the simulator does not, so the count stays at what was served.
            retry = max(1, math.ceil(60 - now % 60))
            body, headers = error_answer(429, retry, market, now)
            headers[USED_WEIGHT_HEADER] = str(self.used_weight(market))
            st.log.append((time.monotonic(), path, 429))
            return 429, body, headers
        self._charge(market, weight)
        headers = {USED_WEIGHT_HEADER: str(self.used_weight(market))}
        try:
            status, payload = 200, self._route(market, name, path, q, api_key)
        except RestError as e:
            status, payload = e.status, {"code": e.code, "msg": e.msg}
        st.log.append((time.monotonic(), path, status))
        return status, orjson.dumps(payload), headers

    def _charge(self, market: Market, weight: int) -> None:
        self.stats.weight += weight
        self.stats.minute_weight[market] += weight

    def _route(
        self, market: Market, name: str, path: str, q: dict[str, list[str]], api_key: str | None
    ) -> Any:
        if name == "ping":
            return {}
        if name == "time":
            return {"serverTime": int(self.clock() * 1000)}
        if name == "exchangeInfo":
            return self._exchange_info(market, q)
        if name == TICKER:
            return self._ticker(market, q)
        if name == "historicalTrades":
            if market == "usdm" and not api_key:
                # USD-M Old Trades Lookup is "Security Type: MARKET_DATA" (connector 29da329);
                # spot's has needed no key since 2023-07-11 (spot CHANGELOG). The simulator
                # knows no keys: any non-empty value passes.
                raise RestError(401, -2014, MSG_BAD_KEY)
            return self._historical(market, q)
        if name == "trades":
            return self._recent(market, q)
        if name == "aggTrades":
            return self._agg(market, q)
        if path in ENDPOINTS:
            return self._klines(path, q)
        raise RestError(404, -1000, f"Unknown path {path}")

    @staticmethod
    def _symbol(q: dict[str, list[str]]) -> str:
        vals = q.get("symbol")
        if not vals or not vals[0]:
            raise RestError(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        return vals[0]

    def _history(self, q: dict[str, list[str]]) -> TradeHistory:
        h = self.histories.get(self._symbol(q))
        if h is None:
            raise RestError(400, -1121, "Invalid symbol.")
        return h

    def _listed(self, symbol: str) -> str:
        """``symbol`` when the exchange lists it (traded or halted), else -1121."""
        if symbol not in self.tickers.listed:
            raise RestError(400, -1121, "Invalid symbol.")
        return symbol

    def _ticker(self, market: Market, q: dict[str, list[str]]) -> Any:
        names = _symbol_list(market, q)
        if "symbol" in q:
            if names is not None:
                raise RestError(400, -1128, "Combination of optional parameters invalid.")
            return self.tickers.row(market, self._listed(self._symbol(q)))
        asked = self.tickers.listed if names is None else [self._listed(n) for n in names]
        return [self.tickers.row(market, s) for s in asked]

    def _exchange_info(self, market: Market, q: dict[str, list[str]]) -> Any:
        syms = list(self.tickers.listed)
        if q.get("symbol"):
            syms = [self._listed(self._symbol(q))]
        rate_limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": WEIGHT_LIMITS[market],
            }
        ]
        info: dict[str, Any] = {
            "timezone": "UTC",
            "serverTime": int(self.clock() * 1000),
            "rateLimits": rate_limits,
            "exchangeFilters": [],
        }
        symbols = []
        for s in syms:
            base = s[:-4] if s.endswith("USDT") else s[:-3]
            quote = "USDT" if s.endswith("USDT") else s[-3:]
            status = HALTED_STATUS[market] if s in self.tickers.halted else "TRADING"
            row: dict[str, Any] = {"symbol": s, "status": status}
            if market == "usdm":
                row |= {"pair": s, "contractType": "PERPETUAL", "marginAsset": quote}
            row |= {
                "baseAsset": base,
                "quoteAsset": quote,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
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
            if market == "spot":
                row["quoteAssetPrecision"] = 8
            symbols.append(row)
        if market == "usdm":
            info["assets"] = []
        info["symbols"] = symbols
        return info

    def _served(self, symbol: str, rows: TradeRows) -> TradeRows:
        if not self.faults.forget_ids:
            return rows
        return rows.take(np.flatnonzero(~self.faults.forgotten_mask(symbol, rows.ids)))

    @staticmethod
    def _trade_rows(market: Market, rows: TradeRows) -> list[dict[str, Any]]:
        return wire.usdm_trade_rows(rows) if market == "usdm" else wire.historical_rows(rows)

    def _historical(self, market: Market, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        from_id = _int(q, "fromId")
        rows = h.rows()
        if from_id is None:
            return self._trade_rows(market, self._served(h.symbol, rows.take(slice(-limit, None))))
        if self.faults.forget_mode == "empty" and self.faults.is_forgotten(h.symbol, from_id):
            return []
        lo = int(np.searchsorted(rows.ids, from_id, side="left"))
        hi = lo + limit + self.faults.forgotten_count(h.symbol)
        served = self._served(h.symbol, rows.take(slice(lo, hi)))
        return self._trade_rows(market, served.take(slice(0, limit)))

    def _recent(self, market: Market, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        rows = h.rows()
        return self._trade_rows(market, self._served(h.symbol, rows.take(slice(-limit, None))))

    def _agg(self, market: Market, q: dict[str, list[str]]) -> Any:
        h = self._history(q)
        limit = _limit(q)
        from_id = _int(q, "fromId")
        start = _int(q, "startTime")
        end = _int(q, "endTime")
        rows = h.rows()
        if market == "usdm":
            if start is not None and end is not None and end - start >= USDM_AGG_MAX_SPAN_MS:
                raise RestError(400, -1127, "More than 1 hours between startTime and endTime.")
            # aggregates share one time, so the cut never splits one
            cutoff = int(self.clock() * 1000) - USDM_AGG_HISTORY_MS
            rows = rows.take(np.flatnonzero(rows.ts >= cutoff))
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
        return wire.usdm_agg_rows(aggs) if market == "usdm" else wire.agg_rows(aggs)

    def _klines(self, path: str, q: dict[str, list[str]]) -> Any:
        symbol = q.get("symbol", [""])[0]
        interval = q.get("interval", [""])[0]
        start, end, limit = (_int(q, name) for name in ("startTime", "endTime", "limit"))
        try:
            return self.klines.rows(symbol, interval, start, end, limit, endpoint=ENDPOINTS[path])
        except KlineError as e:
            raise RestError(400, e.code, e.msg) from None
