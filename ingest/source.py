"""The websocket reader: one thread holding the Binance combined-stream connection.

``BinanceSource`` owns the connection lifecycle. It connects with websocket-client
(``skip_utf8_validation=True``, which is 3.5x faster and safe because orjson validates), answers
server pings (websocket-client does this inside its receive loop, which is why ``on_message``
never blocks), parses each frame and appends trades to a bounded buffer. It reconnects with
jittered capped exponential backoff after any drop, on ``serverShutdown``, before Binance's 24 h
limit, and when its watchdog sees the whole connection or one symbol silent for
``feed.silence_s``. A silent symbol is reconnected once and stays flagged ``stale`` until its
next trade (a symbol still quiet after a fresh connection is a quiet market, not a dead link,
so it does not cause a reconnect loop). A full buffer drops the trade: the writer sees the id
hole and the gap ledger gets it backfilled, so overload never grows memory and never loses data
silently. A close (from the watchdog, a stop or ``serverShutdown``) sends the close frame and
shuts the socket down without waiting for the server, so it always wakes the reader at once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import deque
from urllib.parse import urlsplit

import websocket

from ingest.backoff import AttemptLimit, Backoff
from ingest.binance import Control, FrameError, MarkPrice, parse_frame, stream_url
from ingest.feedstate import FeedState, connect_failure_reason, now_ms
from ingest.settings import FeedSettings
from ingest.storage.records import LinkState, Trade
from ingest.storage.text import display_text
from ingest.worker import Worker

log = logging.getLogger(__name__)
WATCHDOG_PERIOD_S = 0.5


class BinanceSource(Worker):
    """Reads trades of one connection's symbols into ``buffer`` until ``stop`` is called.

    ``exchange`` maps each stored key to its exchange symbol; trades are stored under the key
    (``usdm:BTCUSDT`` for a perpetual next to spot BTCUSDT), mark prices go to the state.
    ``backoff`` and ``limit`` pace the reconnects (defaults: Binance's limits).
    """

    def __init__(
        self,
        feed: FeedSettings,
        exchange: dict[str, str],
        buffer: deque[Trade],
        buffer_max: int,
        state: FeedState,
        *,
        backoff: Backoff | None = None,
        limit: AttemptLimit | None = None,
    ) -> None:
        super().__init__("ws-reader")
        names = list(exchange.values())
        self.url = stream_url(feed.ws_url, feed.market, names, feed.stream)
        self._stored = {name: key for key, name in exchange.items()}
        self._renamed = any(name != key for name, key in self._stored.items())
        self._host = urlsplit(self.url).netloc
        self._feed = feed
        self._buffer = buffer
        self._buffer_max = buffer_max
        self._state = state
        self._backoff = backoff or Backoff()
        self._limit = limit or AttemptLimit()
        self._app: websocket.WebSocketApp | None = None
        self._opened_at = 0.0
        self._opened = False
        self._error = ""
        self._got_data = False
        self._watchdog = threading.Thread(target=self._watch, name="ws-watchdog", daemon=True)

    def start(self) -> None:
        """Start the reader and its watchdog."""
        super().start()
        self._watchdog.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Close the connection and wait up to ``timeout`` s; True when both threads ended."""
        deadline = time.monotonic() + timeout
        ended = super().stop(timeout)
        if self._watchdog.ident is not None:  # it waits on the same stop event
            self._watchdog.join(max(deadline - time.monotonic(), 0.05))
        return ended and not self._watchdog.is_alive()

    def _wake(self) -> None:
        self._close("stopping")

    def _close(self, reason: str) -> None:
        """End the current connection from any thread; the reader loop then reconnects or stops.

        ``WebSocketApp.close`` from another thread leaves the reader blocked in ``select`` on a
        closed socket forever; sending the close frame and shutting the socket down instead
        wakes the reader at once, which then tears the connection down itself. The TCP socket
        is shut down directly: ``WebSocket.abort`` does nothing once ``send_close`` has run, and
        a dead link never answers the close frame, which left the reader blocked for good.
        """
        app = self._app
        if app is None:
            return
        self._state.reason = reason
        app.keep_running = False
        sock = app.sock
        if sock is None:
            return
        with contextlib.suppress(websocket.WebSocketException, OSError):
            sock.send_close()
        raw = sock.sock
        if raw is not None:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        backoff, limit = self._backoff, self._limit
        limit.delay_for(time.monotonic(), 0.0)
        while not self._stopping.is_set():
            self._got_data = False
            self._opened = False
            self._error = ""
            self._app = websocket.WebSocketApp(
                self.url,
                on_open=self._on_open,
                on_message=self._on_message,
                on_error=self._on_error,
                on_close=self._on_close,
            )
            self._app.run_forever(skip_utf8_validation=True, ping_interval=0)
            self._state.connected = False
            if self._stopping.is_set():
                break
            self._state.reconnects += 1
            if self._got_data:
                backoff.reset()
            delay = limit.delay_for(time.monotonic(), backoff.next_delay())
            if self._opened:
                self._state.link = LinkState.RECONNECTING
            else:
                error = self._error or "closed before the handshake"
                retry_at = now_ms() + round(delay * 1000)
                reason = connect_failure_reason(self._host, error, retry_at)
                self._state.failed_attempt(error[:200], retry_at, reason)
            reason = display_text(self._state.reason)
            log.warning("disconnected (%s); reconnecting in %.2f s", reason, delay)
            self._stopping.wait(delay)
        self._state.connected = False
        self._state.link = LinkState.STOPPED
        self._state.reason = "stopped"

    def _on_open(self, _ws: websocket.WebSocketApp) -> None:
        self._opened_at = time.monotonic()
        self._opened = True
        self._state.opened(now_ms())
        self._state.last_msg_ms = now_ms()
        log.info("connected to %s", self.url)
        if self._stopping.is_set():  # a stop that raced the connect found no socket to close
            self._close("stopping")

    def _on_message(self, _ws: websocket.WebSocketApp, payload: bytes | str) -> None:
        state = self._state
        received = now_ms()
        state.last_msg_ms = received
        try:
            frame = parse_frame(payload)
        except FrameError as exc:
            if state.count_rejected(exc.kind):
                log.warning("rejected frame (%s); further ones are only counted", exc)
            return
        if isinstance(frame, Control):
            if frame.kind == "server_shutdown":
                self._close("serverShutdown received")
            elif frame.kind == "error_reply" and state.count_rejected("error_reply"):
                log.warning("error reply from server: %s", frame.detail)
            return
        key = self._stored.get(frame.symbol)
        if key is None:
            state.count_rejected("unknown_symbol")
            return
        if isinstance(frame, MarkPrice):
            state.marks[key] = (frame.mark_price, frame.funding_rate, frame.next_funding_ms)
            return
        if self._renamed:
            frame = frame._replace(symbol=key)
        self._got_data = True
        state.last_trade_ms[frame.symbol] = received
        state.stale.discard(frame.symbol)
        if len(self._buffer) >= self._buffer_max:
            state.dropped += 1
            return
        self._buffer.append(frame)

    def _on_error(self, _ws: websocket.WebSocketApp, error: Exception) -> None:
        if isinstance(error, websocket.WebSocketBadStatusException):  # headers left out
            body = (error.resp_body or b"").decode("utf-8", "replace")
            self._error = f"HTTP {error.status_code} {error.status_message or ''} {body}".strip()
        else:
            self._error = f"{type(error).__name__}: {error}"
        self._state.reason = self._error[:200]

    def _on_close(self, _ws: websocket.WebSocketApp, code: int | None, message: str | None) -> None:
        self._state.connected = False
        if not self._state.reason:
            self._state.reason = f"closed by server ({code} {message or ''})".strip()

    def _watch(self) -> None:
        """Reconnect a silent connection, a silent symbol, or one near the 24 h limit."""
        limit_ms = self._feed.silence_s * 1000
        while not self._stopping.wait(WATCHDOG_PERIOD_S):
            state = self._state
            if not state.connected:
                continue
            now = now_ms()
            if time.monotonic() - self._opened_at > self._feed.max_connection_s:
                self._close("planned reconnect before the 24 h connection limit")
            elif state.last_msg_ms is not None and now - state.last_msg_ms > limit_ms:
                self._close(f"no frame for {self._feed.silence_s:g} s")
            else:
                self._check_symbols(now, limit_ms)

    def _check_symbols(self, now: int, limit_ms: float) -> None:
        state = self._state
        opened_ms = now - (time.monotonic() - self._opened_at) * 1000
        silent = [
            symbol
            for symbol in state.symbols
            if now - max(state.last_trade_ms.get(symbol, 0), opened_ms) > limit_ms
        ]
        if not silent or len(silent) == len(state.symbols):
            return
        newly = [symbol for symbol in silent if symbol not in state.stale]
        state.stale.update(silent)
        if newly:  # one reconnect per silence: a symbol still quiet after it is a quiet market
            self._close(f"{', '.join(newly)} silent for {self._feed.silence_s:g} s")
