"""Websocket + REST server of the simulator (asyncio ``websockets`` server, one event loop).

This module owns the wire side of the simulated exchange, as strict as Binance's docs: URL
routing per market (spot ``/ws``, ``/ws/<streams>`` raw and ``/stream?streams=`` combined;
USD-M only under the routed ``/market`` prefix, ``/market/ws/<streams>`` and
``/market/stream?streams=``; REST ``/api/v3/*`` and ``/fapi/v1/*`` answered from
``process_request``; any other path, websocket upgrades included, answers 404), the streams
each market serves (spot ``<sym>@trade`` and ``<sym>@aggTrade``; USD-M ``<sym>@aggTrade``,
``<sym>@markPrice`` and ``<sym>@markPrice@1s``, while ``<sym>@trade`` is accepted there and
never fed, as on Binance's ``/market``), the per-connection stream caps (1024 spot, 200 USD-M;
more closes the connection with 1008) and the connection-attempt limit per client IP (300 per
5 minutes; more is refused with HTTP 429). It keeps per-connection subscriptions (also live
``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS``) and fans out trade batches and mark-price
ticks. Frames are pre-encoded (``wire``) and each connection's backlog is written with a single
``transport.write`` per loop iteration, gated by the connection's flow control, so the server
can push well over 50k frames/s. It applies the per-connection fault switches (drop after N
frames, malformed-frame cadence, shutdown timer) and aborts consumers whose backlog exceeds
``max_backlog_bytes``. A failure of its own code (answering a request, serving a connection,
writing a backlog) goes to ``on_error`` (by default logged at ERROR; the ``Simulator`` records
it and stops) instead of vanishing into the websockets library's log. Everything here runs on
the simulator's event-loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import orjson
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from ingest.simulator import wire
from ingest.simulator.config import (
    CONNECTION_ATTEMPTS_WINDOW_S,
    MAX_CONNECTION_ATTEMPTS,
    SPOT_MAX_STREAMS,
    USDM_MAX_STREAMS,
)
from ingest.simulator.faults import FaultState, malformed_frame
from ingest.simulator.history import TradeRows
from ingest.simulator.rest import API_KEY_HEADER, Market, RestApi

log = logging.getLogger(__name__)

STREAM_KINDS: dict[Market, tuple[str, ...]] = {
    # spot web-socket-streams.md "Aggregate Trade Streams" / "Trade Streams"
    "spot": ("trade", "aggTrade"),
    # USD-M /market: aggTrade and markPrice (connector 29da329 websocket_streams market_api.py,
    # stream_url="market"). "trade" is not a USD-M stream in the docs; a subscription to it on
    # /market is acknowledged and stays silent (binance-conformance review §1), so it is
    # accepted here and never fed.
    "usdm": ("aggTrade", "trade", "markPrice", "markPrice@1s"),
}
USDM_SILENT_KINDS = frozenset({"trade"})
MARK_EVERY_S = {"markPrice": 3, "markPrice@1s": 1}
"""Mark price stream "pushed every 3 seconds or every second" (connector ``mark_price_stream``)."""
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
"""``T`` (next funding time) of markPrice events: the next 8-hour mark, UTC (a simulator choice;
Binance's interval is per symbol, see ``/fapi/v1/fundingInfo``)."""
FUNDING_RATE = 0.0001
POLICY_VIOLATION = 1008
"""Close code for a connection past its stream cap. The docs state the cap ("A single
connection can listen to a maximum of 1024 streams"; USD-M: 200) but not what happens past it,
so the simulator closes with RFC 6455's 1008 (policy violation)."""


def now_ms() -> int:
    return int(time.time() * 1000)


def _client_ip(connection: ServerConnection) -> str:
    addr = connection.remote_address
    return str(addr[0]) if addr else "?"


@dataclass(eq=False)
class Client:
    """One websocket client connection and its delivery state."""

    ws: ServerConnection
    combined: bool
    streams: list[str]
    market: Market = "spot"
    opened: float = field(default_factory=time.monotonic)
    backlog: list[bytes] = field(default_factory=list)
    backlog_bytes: int = 0
    backlog_frames: int = 0
    enqueued: int = 0  # trade/aggTrade frames accepted for this connection
    frames_sent: int = 0
    malformed_sent: int = 0
    malformed_cursor: int = 0
    close_action: tuple[Any, ...] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None

    @property
    def alive(self) -> bool:
        return self.close_action is None and self.ws.state is State.OPEN

    def push(self, data: bytes, n_frames: int) -> None:
        self.backlog.append(data)
        self.backlog_bytes += len(data)
        self.backlog_frames += n_frames
        self.wake.set()

    def pending_bytes(self) -> int:
        transport = self.ws.transport
        return self.backlog_bytes + (transport.get_write_buffer_size() if transport else 0)


def parse_streams(path: str) -> tuple[Market, bool, list[str]] | None:
    """``(market, combined, streams)`` for a websocket path, or None when no market serves it.

    Spot: ``/ws``, ``/ws/<s1>/<s2>``, ``/stream?streams=<s1>/<s2>`` (spot
    web-socket-streams.md, "General WSS information"). USD-M: the same shapes under the routed
    ``/market`` prefix only, e.g. ``/market/stream?streams=bnbusdt@aggTrade`` (USD-M
    websocket-market-streams, "Important WebSocket Change Notice"); no other prefix is served.
    """
    parts = urlsplit(path)
    p = parts.path
    market: Market = "spot"
    if p.startswith("/market/"):
        market, p = "usdm", p[len("/market") :]
    if p in ("/ws", "/ws/"):
        return market, False, []
    if p.startswith("/ws/"):
        return market, False, [s for s in p[4:].split("/") if s]
    if p in ("/stream", "/stream/"):
        vals = parse_qs(parts.query).get("streams", [""])
        return market, True, [s for s in vals[0].split("/") if s]
    return None


def _log_failure(where: str, exc: Exception) -> None:
    log.error("simulator %s failed", where, exc_info=exc)


def next_funding_ms(now_ms: int) -> int:
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


class StreamServer:
    """Connection registry, fan-out and HTTP routing (see module docstring)."""

    def __init__(
        self,
        symbols: tuple[str, ...],
        faults: FaultState,
        rest: RestApi,
        max_backlog_bytes: int,
        *,
        max_streams: dict[Market, int] | None = None,
        max_attempts: int = MAX_CONNECTION_ATTEMPTS,
        attempts_window_s: float = CONNECTION_ATTEMPTS_WINDOW_S,
        mark_price: Callable[[str], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        self.symbols = symbols
        self.valid_streams: dict[Market, dict[str, tuple[str, str]]] = {
            m: {f"{s.lower()}@{k}": (s, k) for s in symbols for k in kinds}
            for m, kinds in STREAM_KINDS.items()
        }
        self.faults = faults
        self.rest = rest
        self.max_backlog_bytes = max_backlog_bytes
        self.max_streams: dict[Market, int] = max_streams or {
            "spot": SPOT_MAX_STREAMS,
            "usdm": USDM_MAX_STREAMS,
        }
        self.max_attempts = max_attempts
        self.attempts_window_s = attempts_window_s
        self.attempts: dict[str, deque[float]] = {}
        self.refused_attempts = 0
        self.mark_price = mark_price
        self.clock = clock
        self.clients: set[Client] = set()
        self.total_connections = 0
        self.frames_sent = 0
        self.malformed_sent = 0
        self.slow_consumer_drops = 0
        self.streamed: dict[str, int] = dict.fromkeys(symbols, 0)
        self.on_error = on_error or _log_failure

    # ---- HTTP / handshake -------------------------------------------------------------------

    def _json_response(
        self, status: int, body: bytes, extra: dict[str, str] | None = None
    ) -> Response:
        headers = Headers(
            [
                ("Content-Type", "application/json;charset=UTF-8"),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ]
        )
        for k, v in (extra or {}).items():
            if k in headers:
                del headers[k]  # Headers appends on assignment; replace instead
            headers[k] = v
        return Response(status, http.HTTPStatus(status).phrase, headers, body)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Answer REST and refused upgrades; a failure here goes to ``on_error`` (HTTP 500)."""
        try:
            return self._answer(connection, request)
        except Exception as exc:
            self.on_error("request handler", exc)
            body = orjson.dumps({"code": -1000, "msg": f"simulator failure: {exc!r}"})
            return self._json_response(500, body)

    def _answer(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if upgrade and not self._admit(_client_ip(connection)):
            # The docs state the limit but not the answer; HTTP 429 is the simulator's choice.
            msg = (
                f"Too many connection attempts: more than {self.max_attempts} per "
                f"{self.attempts_window_s:g} s from this IP."
            )
            return self._json_response(429, orjson.dumps({"code": -1003, "msg": msg}))
        if not upgrade and parts.path.startswith(("/api/", "/fapi/")):
            api_key = request.headers.get(API_KEY_HEADER)
            status, body, headers = self.rest.handle(parts.path, parts.query, api_key)
            return self._json_response(status, body, headers)
        parsed = parse_streams(request.path)
        if parsed is None:
            return self._json_response(
                404, orjson.dumps({"code": -1, "msg": f"Unknown path {parts.path}"})
            )
        market, _, streams = parsed
        valid = self.valid_streams[market]
        bad = [s for s in streams if s not in valid]
        if bad:
            msg = f"Invalid stream {bad[0]!r}; known: {sorted(valid)}"
            return self._json_response(400, orjson.dumps({"code": -1121, "msg": msg}))
        return None

    def _admit(self, ip: str) -> bool:
        """Record one websocket connection attempt of ``ip``; False past the limit."""
        now = self.clock()
        seen = self.attempts.setdefault(ip, deque())
        keep = max(self.attempts_window_s, 3600.0)
        while seen and seen[0] <= now - keep:
            seen.popleft()
        seen.append(now)
        recent = self.attempt_count(self.attempts_window_s, ip, now)
        if recent > self.max_attempts:
            self.refused_attempts += 1
            return False
        return True

    def attempt_count(
        self, window_s: float, ip: str | None = None, now: float | None = None
    ) -> int:
        """Websocket connection attempts (admitted or refused) in the last ``window_s`` seconds,
        from ``ip`` or from every IP (``None``); kept for up to an hour."""
        t = self.clock() if now is None else now
        ips = self.attempts if ip is None else {ip: self.attempts.get(ip, deque())}
        return sum(sum(1 for a in seen if a > t - window_s) for seen in ips.values())

    # ---- connections -------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        """Serve one websocket connection; a failure here goes to ``on_error``."""
        try:
            await self._serve(ws)
        except Exception as exc:
            self.on_error("connection handler", exc)

    async def _serve(self, ws: ServerConnection) -> None:
        parsed = parse_streams(ws.request.path if ws.request else "/ws")
        market, combined, streams = parsed if parsed else ("spot", False, [])
        client = Client(ws, combined, list(dict.fromkeys(streams)), market)
        if len(client.streams) > self.max_streams[market]:
            with contextlib.suppress(Exception):
                await ws.close(POLICY_VIOLATION, self._too_many(market))
            return
        client.writer = asyncio.get_running_loop().create_task(self._writer(client))
        self.clients.add(client)
        self.total_connections += 1
        if self.faults.shutdown_after_s is not None:
            client.timer = asyncio.get_running_loop().call_later(
                self.faults.shutdown_after_s,
                self.shutdown_client,
                client,
                self.faults.shutdown_grace_s,
            )
        try:
            async for message in ws:
                self._control(client, message)
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            if client.timer:
                client.timer.cancel()
            if client.writer and client.close_action is None:
                client.writer.cancel()

    def _too_many(self, market: Market) -> str:
        return f"Too many streams: at most {self.max_streams[market]} per connection"

    def _control(self, client: Client, message: str | bytes) -> None:
        """Live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS, answered in-band."""
        try:
            req = orjson.loads(message)
            method, rid = req["method"], req.get("id")
            params = req.get("params", [])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            client.push(wire.frame(b'{"error":{"code":2,"msg":"Invalid request"},"id":null}'), 0)
            return
        if method == "SUBSCRIBE":
            valid = self.valid_streams[client.market]
            bad = [p for p in params if p not in valid]
            if bad:
                err = {"error": {"code": 2, "msg": f"Invalid stream {bad[0]}"}, "id": rid}
                client.push(wire.frame(orjson.dumps(err)), 0)
                return
            new = [p for p in dict.fromkeys(params) if p not in client.streams]
            if len(client.streams) + len(new) > self.max_streams[client.market]:
                reason = self._too_many(client.market)
                self.close_client(client, ("close", POLICY_VIOLATION, reason))
                return
            client.streams.extend(new)
            result: Any = None
        elif method == "UNSUBSCRIBE":
            client.streams[:] = [s for s in client.streams if s not in params]
            result = None
        elif method == "LIST_SUBSCRIPTIONS":
            result = list(client.streams)
        else:
            err = {"error": {"code": 2, "msg": f"Unknown method {method}"}, "id": rid}
            client.push(wire.frame(orjson.dumps(err)), 0)
            return
        client.push(wire.frame(orjson.dumps({"result": result, "id": rid})), 0)

    async def _writer(self, client: Client) -> None:
        ws = client.ws
        try:
            while True:
                await client.wake.wait()
                client.wake.clear()
                if client.backlog:
                    data = b"".join(client.backlog)
                    n = client.backlog_frames
                    client.backlog.clear()
                    client.backlog_bytes = client.backlog_frames = 0
                    if ws.state is not State.OPEN:
                        return
                    ws.transport.write(data)
                    client.frames_sent += n
                    self.frames_sent += n
                if client.close_action is not None:
                    await self._do_close(client)
                    return
                await ws.drain()
        except (ConnectionError, ConnectionClosed, asyncio.CancelledError):
            return
        except Exception as exc:
            self.on_error("stream writer", exc)

    async def _do_close(self, client: Client) -> None:
        action = client.close_action or ("abort",)
        ws = client.ws
        if action[0] == "abort":
            ws.transport.abort()
        else:
            with contextlib.suppress(Exception):
                await ws.close(action[1], action[2])

    def close_client(self, client: Client, action: tuple[Any, ...]) -> None:
        if client.close_action is None:
            client.close_action = action
            client.wake.set()

    def drop_all(
        self, mode: str = "abort", code: int = 1001, reason: str = "simulated drop"
    ) -> int:
        n = 0
        for c in list(self.clients):
            if c.alive:
                self.close_client(c, ("abort",) if mode == "abort" else ("close", code, reason))
                n += 1
        return n

    def shutdown_client(self, client: Client, grace_s: float) -> None:
        """Send ``serverShutdown`` now, keep streaming ``grace_s`` seconds, then close 1001."""
        if not client.alive:
            return
        client.push(wire.frame(wire.shutdown_payload(now_ms(), client.combined)), 0)
        asyncio.get_running_loop().call_later(
            grace_s, self.close_client, client, ("close", 1001, "server shutdown")
        )

    def shutdown_all(self, grace_s: float) -> int:
        clients = [c for c in self.clients if c.alive]
        for c in clients:
            self.shutdown_client(c, grace_s)
        return len(clients)

    def send_malformed(self, kind: str) -> int:
        clients = [c for c in self.clients if c.alive]
        for c in clients:
            self._push_malformed(c, kind)
        return len(clients)

    def _push_malformed(self, client: Client, kind: str) -> None:
        stream = (
            (client.streams[0] if client.streams else "btcusdt@trade") if client.combined else None
        )
        client.push(malformed_frame(kind, stream, now_ms()), 0)
        client.malformed_sent += 1
        self.malformed_sent += 1

    def max_pending_bytes(self) -> int:
        return max((c.pending_bytes() for c in self.clients if c.alive), default=0)

    @property
    def connection_count(self) -> int:
        return len(self.clients)

    # ---- fan-out -----------------------------------------------------------------------------

    def publish(self, symbol: str, rows: TradeRows) -> None:
        """Send freshly generated rows of ``symbol`` to every subscribed connection."""
        faults = self.faults
        if faults.skip_ids:
            skipped = faults.skipped_mask(symbol, rows.ids)
            if skipped.any():
                # aggregates touching a skipped id are withheld whole
                bad_aggs = np.unique(rows.agg[skipped])
                keep = ~np.isin(rows.agg, bad_aggs) if len(bad_aggs) else ~skipped
                trade_rows = rows.take(np.flatnonzero(~skipped))
                agg_rows = rows.take(np.flatnonzero(keep))
            else:
                trade_rows = agg_rows = rows
        else:
            trade_rows = agg_rows = rows
        self.streamed[symbol] += len(trade_rows)
        if not self.clients or len(rows) == 0:
            return
        low = symbol.lower()
        emitted = now_ms()
        for kind, sel in (("trade", trade_rows), ("aggTrade", agg_rows)):
            stream = f"{low}@{kind}"
            subs = [c for c in self.clients if stream in c.streams and c.alive]
            if not subs or len(sel) == 0:
                continue
            aggs = wire.aggregate(sel) if kind == "aggTrade" else None
            for market in ("spot", "usdm"):
                if market == "usdm" and kind in USDM_SILENT_KINDS:
                    continue
                group = [c for c in subs if c.market == market]
                if not group:
                    continue
                if aggs is None:
                    payloads = wire.trade_payloads(symbol, emitted, sel)
                elif market == "usdm":
                    payloads = wire.usdm_agg_payloads(symbol, emitted, aggs)
                else:
                    payloads = wire.agg_payloads(symbol, emitted, aggs)
                self._fan_out(group, stream, payloads)

    def _fan_out(self, subs: list[Client], stream: str, payloads: list[bytes]) -> None:
        raw_frames: list[bytes] | None = None
        comb_frames: list[bytes] | None = None
        for c in subs:
            if c.combined:
                if comb_frames is None:
                    comb_frames = wire.frames(wire.combined(stream, payloads))
                self._deliver(c, comb_frames)
            else:
                if raw_frames is None:
                    raw_frames = wire.frames(payloads)
                self._deliver(c, raw_frames)

    def publish_marks(self, now_s: int) -> None:
        """Send ``markPriceUpdate`` events due at wall second ``now_s`` to USD-M subscribers:
        ``@markPrice@1s`` every second, ``@markPrice`` every third."""
        if self.mark_price is None:
            return
        subs = [c for c in self.clients if c.market == "usdm" and c.alive]
        if not subs:
            return
        event_ms = now_s * 1000
        funding_ms = next_funding_ms(event_ms)
        for symbol in self.symbols:
            low = symbol.lower()
            for kind, every in MARK_EVERY_S.items():
                if now_s % every:
                    continue
                stream = f"{low}@{kind}"
                group = [c for c in subs if stream in c.streams]
                if not group:
                    continue
                mark = self.mark_price(symbol)
                if mark is None:
                    continue
                payload = wire.mark_price_payload(symbol, event_ms, mark, FUNDING_RATE, funding_ms)
                self._fan_out(group, stream, [payload])

    def _deliver(self, c: Client, frames: list[bytes]) -> None:
        faults = self.faults
        if faults.drop_after_frames is not None:
            room = faults.drop_after_frames - c.enqueued
            if room <= len(frames):
                frames = frames[: max(room, 0)]
                mode = faults.drop_mode
                action = ("abort",) if mode == "abort" else ("close", 1001, "simulated drop")
                self._deliver_some(c, frames)
                self.close_client(c, action)
                return
        self._deliver_some(c, frames)
        if c.backlog_bytes > self.max_backlog_bytes:
            self.slow_consumer_drops += 1
            self.close_client(c, ("abort",))

    def _deliver_some(self, c: Client, frames: list[bytes]) -> None:
        if not frames:
            return
        every = self.faults.malformed_every
        kinds = self.faults.malformed_kinds
        if not every or not kinds:
            c.push(b"".join(frames), len(frames))
            c.enqueued += len(frames)
            return
        i = 0
        while i < len(frames):
            until_bad = every - (c.enqueued % every)
            part = frames[i : i + until_bad]
            c.push(b"".join(part), len(part))
            c.enqueued += len(part)
            i += len(part)
            if c.enqueued % every == 0:
                self._push_malformed(c, kinds[c.malformed_cursor % len(kinds)])
                c.malformed_cursor += 1
