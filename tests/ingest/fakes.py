"""Test doubles of the in-process ingest tests: scripted websocket servers, a REST tape, an engine.

``FrameServer`` is a real websocket server on loopback that plays one ``Script`` per connection
attempt (refuse the handshake, or send frames and then close or hold), so the reader runs its
real websocket-client code; ``DeafServer`` completes the handshake and then neither reads nor
writes, like a link that died without a FIN. ``FakeRest`` stands in for ``RestClient``: it
serves trade pages of an in-memory tape, raising scripted ``RestError`` first. ``ProxyEngine``
wraps a real engine, can fail or slow down ``begin()`` and counts ``connect()`` (one per
backfill pass).
``running`` starts a worker and checks that its ``stop`` ended it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from ingest.errors import RestError
from ingest.rest import RestClient
from ingest.storage.records import Trade

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 handshake constant
T0 = 1_723_161_255_000
"""A trade time on a whole second (epoch ms)."""


class Stoppable(Protocol):
    """The ``Worker`` lifecycle: ``stop`` says whether the thread ended."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> bool: ...


W = TypeVar("W", bound=Stoppable)


@contextmanager
def running(worker: W) -> Iterator[W]:
    """``worker`` started, and stopped on leaving; its threads must end within 2 s."""
    worker.start()
    try:
        yield worker
    finally:
        assert worker.stop(2.0), f"{type(worker).__name__} outlived its stop"


def trade(symbol: str, trade_id: int, ts_ms: int, price: float = 100.0, qty: float = 1.0) -> Trade:
    """A trade with the given id and time (buyer not maker)."""
    return Trade(symbol, trade_id, ts_ms, price, qty, False)


def trade_frame(item: Trade, *, stream: str = "trade") -> str:
    """The combined-stream frame Binance sends for ``item`` (``stream`` trade or aggTrade)."""
    id_field = "a" if stream == "aggTrade" else "t"
    event = {
        "e": stream,
        "E": item.ts_ms,
        "s": item.symbol,
        id_field: item.trade_id,
        "p": str(item.price),
        "q": str(item.qty),
        "T": item.ts_ms,
        "m": item.buyer_maker,
    }
    return orjson.dumps({"stream": f"{item.symbol.lower()}@{stream}", "data": event}).decode()


def mark_frame(symbol: str, price: float, rate: float, next_ms: int) -> str:
    """A USD-M ``markPriceUpdate`` frame."""
    event = {"e": "markPriceUpdate", "s": symbol, "p": str(price), "r": str(rate), "T": next_ms}
    return orjson.dumps({"stream": f"{symbol.lower()}@markPrice@1s", "data": event}).decode()


@dataclass(frozen=True)
class Script:
    """One connection: refuse the handshake with HTTP ``refuse``, or send ``frames`` and then
    close (code 1001) when ``close`` is set, else hold until the client closes."""

    frames: tuple[str, ...] = ()
    close: bool = False
    refuse: int | None = None


class FrameServer:
    """Loopback websocket server playing ``scripts`` in order, one per attempt; the last repeats."""

    def __init__(self, *scripts: Script) -> None:
        self._scripts = list(scripts) or [Script()]
        self._playing: dict[ServerConnection, Script] = {}
        self.paths: list[str] = []
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._handshake,
            ping_interval=None,
            close_timeout=0.2,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="frame-server", daemon=True
        )

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT``, the base a ``FeedSettings.ws_url`` takes."""
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def __enter__(self) -> FrameServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._thread.join(2.0)

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        script = self._scripts.pop(0) if len(self._scripts) > 1 else self._scripts[0]
        self.paths.append(request.path)
        if script.refuse is not None:
            return connection.respond(script.refuse, "refused by the test server")
        self._playing[connection] = script
        return None

    def _handle(self, connection: ServerConnection) -> None:
        script = self._playing.pop(connection)
        try:
            for frame in script.frames:
                connection.send(frame)
            if script.close:
                connection.close(1001, "going away")
            for _ in connection:  # hold: read until the client closes
                pass
        except ConnectionClosed:
            pass


class DeafServer:
    """Loopback server that accepts websocket handshakes, then never reads or writes again."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="deaf-server", daemon=True)

    @property
    def url(self) -> str:
        """``ws://127.0.0.1:PORT``."""
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def accepted(self) -> int:
        """Connections accepted so far."""
        return len(self._held)

    def __enter__(self) -> DeafServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (Linux)
        self._listener.close()
        self._thread.join(2.0)
        for conn in self._held:
            conn.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by __exit__
                return
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                assert chunk, "the client left during the handshake"
                request += chunk
            key = re.search(rb"Sec-WebSocket-Key: *(\S+)", request, re.IGNORECASE)
            assert key is not None
            digest = hashlib.sha1(key.group(1) + WS_GUID, usedforsecurity=False).digest()
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                + base64.b64encode(digest)
                + b"\r\n\r\n"
            )
            self._held.append(conn)


def _rest_row(item: Trade, endpoint: str) -> dict[str, Any]:
    if endpoint == "aggTrades":
        return {
            "a": item.trade_id,
            "p": str(item.price),
            "q": str(item.qty),
            "f": item.trade_id,
            "l": item.trade_id,
            "T": item.ts_ms,
            "m": item.buyer_maker,
        }
    return {
        "id": item.trade_id,
        "price": str(item.price),
        "qty": str(item.qty),
        "time": item.ts_ms,
        "isBuyerMaker": item.buyer_maker,
    }


@dataclass
class FakeRest:
    """``RestClient.get_json`` over ``tape`` (exchange symbol → trades in id order).

    ``failures`` are raised by the first calls, in order; with ``hold`` every call waits for the
    caller's stop event instead, as the real client does while rate-limited.
    """

    tape: dict[str, list[Trade]]
    failures: list[RestError] = field(default_factory=list)
    hold: bool = False
    urls: list[str] = field(default_factory=list)

    def as_client(self) -> RestClient:
        """This double typed as the ``RestClient`` it stands in for."""
        return cast(RestClient, self)

    def get_json(self, url: str, weight: int, stop: threading.Event) -> list[dict[str, Any]]:
        """The JSON rows Binance would answer ``url`` with."""
        assert weight > 0
        self.urls.append(url)
        if self.hold:
            stop.wait()
            raise RestError("stopped while waiting for the request budget")
        if self.failures:
            raise self.failures.pop(0)
        parts = urlsplit(url)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        endpoint = parts.path.rsplit("/", 1)[-1]
        rows = self.tape.get(query["symbol"], [])
        limit = int(query["limit"])
        if "fromId" in query:
            served = [t for t in rows if t.trade_id >= int(query["fromId"])][:limit]
        else:
            served = rows[-limit:]
        return [_rest_row(t, endpoint) for t in served]

    def calls_to(self, endpoint: str) -> list[dict[str, str]]:
        """Query parameters of the calls made to ``endpoint`` (``historicalTrades`` …)."""
        return [
            {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            for url in self.urls
            if urlsplit(url).path.endswith(f"/{endpoint}")
        ]


class ProxyEngine:
    """A real engine whose ``begin`` can fail (``fail_begins`` times) or wait ``begin_delay_s``.

    ``connects`` counts ``connect()`` calls; everything else goes to the wrapped engine.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.fail_begins = 0
        self.begin_delay_s = 0.0
        self.failed = 0
        self.connects = 0

    def as_engine(self) -> Engine:
        """This proxy typed as the ``Engine`` it stands in for."""
        return cast(Engine, self)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """``Engine.begin``, after the configured delay or failure."""
        time.sleep(self.begin_delay_s)
        if self.fail_begins:
            self.fail_begins -= 1
            self.failed += 1
            raise OperationalError("BEGIN", {}, Exception("database is locked (test)"))
        with self._engine.begin() as conn:
            yield conn

    def connect(self) -> Connection:
        """``Engine.connect``, counted."""
        self.connects += 1
        return self._engine.connect()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)
