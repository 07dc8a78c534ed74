"""``Simulator``: the public, thread-safe facade tests and the CLI drive.

This module owns the simulator's lifecycle (a background thread running an asyncio loop with
the ``websockets`` server), the generation loop (every ``tick_s`` it asks the synthetic or replay
market for the next trades, appends them to the per-symbol history and fans them out), the
generation policy (``generate="connected"``: only while at least one websocket client is
connected; ``"always"``: from ``start()``; both stop at ``max_trades`` per symbol /
``max_total_trades`` in total or when a replay is exhausted), the once-a-second mark-price
tick of the USD-M ``@markPrice`` streams, and the control API, fault knobs included (REST error
injection, extra reported weight). Control calls from other threads are marshalled onto the
loop and return once applied. Read-only accessors (counters, used weight, connection attempts,
``sent_ids``, ``trades_frame``, ``klines`` with the tape start, history start and the synthetic
pair's betas) are safe from any thread and need no running server. A failure after ``start()``
(the serving thread, generation, mark ticks, or a handler reported by the server) is logged at
ERROR, stops the simulator, and is raised as ``SimulatorError`` by ``check()``, ``stop()`` and
every control call, so a caller fails loudly instead of waiting for trades that never come.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from websockets.asyncio.server import serve

from ingest.simulator.config import (
    CONNECTION_ATTEMPTS_WINDOW_S,
    MALFORMED_KINDS,
    IdRange,
    SimulatorConfig,
    check_rest_error,
)
from ingest.simulator.errors import SimulatorError
from ingest.simulator.faults import FaultState
from ingest.simulator.history import TradeHistory
from ingest.simulator.klines import SPOT, USDM, KlineBook
from ingest.simulator.market import Batch, SyntheticMarket
from ingest.simulator.past import PairModel, PastTape
from ingest.simulator.replay import ReplayMarket, load_sources
from ingest.simulator.rest import Market, RestApi
from ingest.simulator.server import StreamServer, now_ms

log = logging.getLogger(__name__)
T = TypeVar("T")
THROTTLE_BYTES = 4 * 1024 * 1024
START_TIMEOUT_S = 30.0
FAULT_FIELDS = frozenset(
    {
        "drop_after_frames",
        "drop_mode",
        "shutdown_after_s",
        "shutdown_grace_s",
        "malformed_every",
        "malformed_kinds",
        "forget_mode",
    }
)


class Simulator:
    """Offline Binance-compatible exchange on 127.0.0.1 (see module docstring)."""

    def __init__(self, config: SimulatorConfig | None = None, **overrides: Any) -> None:
        cfg = dataclasses.replace(config or SimulatorConfig(), **overrides)
        cfg.validate()
        self.config = cfg
        self.market: SyntheticMarket | ReplayMarket
        if cfg.replay:
            tables = load_sources(cfg.replay)
            self.market = ReplayMarket(tables, cfg.speed, cfg.replay_rebase_time, cfg.replay_chunk)
            first_ids = {s: (int(t.ids[0]) if len(t) else 1) for s, t in tables.items()}
        else:
            self.market = SyntheticMarket(cfg)
            first_ids = {s: cfg.start_id_for(s) for s in cfg.symbols}
        self.symbols: tuple[str, ...] = tuple(self.market.symbols)
        self.histories = {s: TradeHistory(s, first_ids[s], cfg.agg_start_id) for s in self.symbols}
        self.faults = FaultState.from_config(cfg)
        self._tape_start_ms: int | None = None
        self._past: PastTape | None = None
        if isinstance(self.market, SyntheticMarket):
            t0 = cfg.tape_start_ms if cfg.tape_start_ms is not None else now_ms()
            self._tape_start_ms = t0 - t0 % 1000
            if cfg.klines:
                model = PairModel.of(self.market, cfg.seed)
                self._past = PastTape(model, self._tape_start_ms, cfg.history_s, cfg.history_1s_s)
        self.kline_book = KlineBook(
            self.histories,
            cfg.klines,
            self._past,
            self._tape_start_ms,
            sorted_ts=isinstance(self.market, SyntheticMarket),
        )
        self.rest = RestApi(self.histories, self.faults, self.kline_book, halted=cfg.halted)
        self.server = StreamServer(
            self.symbols,
            self.faults,
            self.rest,
            cfg.max_backlog_bytes,
            max_streams={"spot": cfg.max_streams_spot, "usdm": cfg.max_streams_usdm},
            max_attempts=cfg.max_connection_attempts,
            attempts_window_s=cfg.connection_attempts_window_s,
            mark_price=self._mark_price,
            on_error=self._fail,
        )
        self._skipped: dict[str, list[npt.NDArray[np.int64]]] = {s: [] for s in self.symbols}
        self._generated = dict.fromkeys(self.symbols, 0)
        self._finished = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: tuple[str, BaseException] | None = None
        self._port: int | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve on a background thread; ``SimulatorError`` if that fails."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="binance-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise SimulatorError(f"simulator did not start within {START_TIMEOUT_S:g} s")
        if self._failure is not None:
            self._thread.join(5)
            cause = self._failure[1]
            raise SimulatorError(f"simulator failed to start: {cause}") from cause
        return self

    def stop(self) -> None:
        """Stop serving and join the thread; ``SimulatorError`` if the simulator had failed."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            if self._stop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._stop.set)
            thread.join(15)
            self._thread = None
        self.check()

    def check(self) -> None:
        """Raise ``SimulatorError`` (chained to the cause) if the simulator failed after start."""
        if self._failure is not None:
            where, exc = self._failure
            raise SimulatorError(f"simulator {where} failed: {exc!r}") from exc

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # kept for start(), stop() and check() to raise
            self._fail("serving thread", e)
        finally:
            self._ready.set()
            loop.close()

    def _fail(self, where: str, exc: BaseException) -> None:
        """Keep the first failure, log a late one at ERROR and stop serving (loop thread)."""
        if self._failure is not None:
            return
        self._failure = (where, exc)
        if self._ready.is_set():  # a startup failure is raised by start() instead
            log.error("simulator %s failed; stopping the simulator", where, exc_info=exc)
        if self._stop is not None:
            self._stop.set()

    def _task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(task.get_name(), exc)

    async def _main(self) -> None:
        cfg = self.config
        self._stop = asyncio.Event()
        async with serve(
            self.server.handler,
            cfg.host,
            cfg.port,
            process_request=self.server.process_request,
            compression=None,
            ping_interval=cfg.ping_interval_s,
            ping_timeout=cfg.ping_timeout_s,
            close_timeout=1.0,
            max_size=2**20,
        ) as server:
            self._port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            loop = asyncio.get_running_loop()
            tasks = [
                loop.create_task(self._generate(), name="generation"),
                loop.create_task(self._mark_ticks(), name="mark-price ticks"),
            ]
            for task in tasks:
                task.add_done_callback(self._task_done)
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # failures: see _task_done
            self.server.drop_all("close", 1001, "simulator stopping")
            await asyncio.sleep(0)

    # ---- generation --------------------------------------------------------------------------

    def _mark_price(self, symbol: str) -> float | None:
        """Mark price of ``symbol``: the synthetic mid, or a replay's last traded price."""
        if isinstance(self.market, SyntheticMarket):
            return self.market.mid(symbol)
        rows = self.histories[symbol].rows()
        return float(rows.price[-1]) if len(rows) else None

    async def _mark_ticks(self) -> None:
        """Publish the USD-M mark-price events at every wall-clock second."""
        while True:
            now = time.time()
            second = math.floor(now) + 1
            await asyncio.sleep(second - now)
            self.server.publish_marks(second)

    def _active(self) -> bool:
        if self._finished or self.faults.paused:
            return False
        return self.config.generate == "always" or self.server.connection_count > 0

    def _remaining(self) -> dict[str, int] | None:
        cfg = self.config
        if cfg.max_trades is None and cfg.max_total_trades is None:
            return None
        total_left = (
            cfg.max_total_trades - sum(self._generated.values())
            if cfg.max_total_trades is not None
            else None
        )
        out = {}
        for s in self.symbols:
            left = cfg.max_trades - self._generated[s] if cfg.max_trades is not None else 1 << 62
            if total_left is not None:
                left = min(left, total_left)
            out[s] = max(0, left)
        return out

    async def _generate(self) -> None:
        cfg = self.config
        fast = isinstance(self.market, ReplayMarket) and cfg.speed == 0
        last = time.monotonic()
        while True:
            await asyncio.sleep(0 if fast and self._active() else cfg.tick_s)
            now = time.monotonic()
            dt, last = min(now - last, 1.0), now
            if not self._active():
                continue
            if fast and self.server.max_pending_bytes() > THROTTLE_BYTES:
                await asyncio.sleep(0.001)
                continue
            remaining = self._remaining()
            if remaining is not None and not any(remaining.values()):
                self._finished = True
                continue
            batches = self.market.step(now_ms(), dt, self.faults.silenced(), remaining)
            self._emit(batches)
            if isinstance(self.market, ReplayMarket) and self.market.exhausted:
                self._finished = True
            rem = self._remaining()
            if rem is not None and not any(rem.values()):
                self._finished = True

    def _emit(self, batches: list[Batch]) -> None:
        total_left = None
        if self.config.max_total_trades is not None:
            total_left = self.config.max_total_trades - sum(self._generated.values())
        for batch in batches:
            b = batch
            if total_left is not None:
                if total_left <= 0:
                    break
                if len(b) > total_left:
                    b = Batch(
                        b.symbol,
                        b.ts[:total_left],
                        b.price[:total_left],
                        b.qty[:total_left],
                        b.maker[:total_left],
                        None if b.ids is None else b.ids[:total_left],
                    )
                total_left -= len(b)
            rows = self.histories[b.symbol].append(b.ts, b.price, b.qty, b.maker, b.ids)
            self._generated[b.symbol] += len(rows)
            if self.faults.skip_ids:
                mask = self.faults.skipped_mask(b.symbol, rows.ids)
                if mask.any():
                    self._skipped[b.symbol].append(rows.ids[mask].copy())
            self.server.publish(b.symbol, rows)

    # ---- control API (thread-safe) -----------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        self.check()
        loop = self._loop
        if loop is None or not loop.is_running() or self._thread is None:
            return fn()
        if threading.current_thread() is self._thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(10)

    def pause(self) -> None:
        """Stop generating trades (connections and pings stay up)."""
        self._call(lambda: setattr(self.faults, "paused", True))

    def resume(self) -> None:
        self._call(lambda: setattr(self.faults, "paused", False))

    def set_faults(self, **changes: Any) -> None:
        """Change fault switches: drop_after_frames, drop_mode, shutdown_after_s,
        shutdown_grace_s, malformed_every, malformed_kinds, forget_mode."""
        unknown = set(changes) - FAULT_FIELDS
        if unknown:
            raise ValueError(f"set_faults: unknown switch(es) {sorted(unknown)}")
        for k in changes.get("malformed_kinds", ()):
            if k not in MALFORMED_KINDS:
                raise ValueError(f"malformed_kinds: {k!r} unknown")

        def apply() -> None:
            for k, v in changes.items():
                setattr(self.faults, k, tuple(v) if k == "malformed_kinds" else v)

        self._call(apply)

    def skip_ids(self, symbol: str, first: int, last: int) -> None:
        """Withhold ids ``first..last`` of ``symbol`` from the stream (REST still serves them)."""
        rng = IdRange(symbol, first, last)
        rng.check()
        self._call(lambda: self.faults.skip_ids.append(rng))

    def forget_ids(self, symbol: str, first: int, last: int) -> None:
        """Make REST stop serving ids ``first..last`` of ``symbol``."""
        rng = IdRange(symbol, first, last)
        rng.check()
        self._call(lambda: self.faults.forget_ids.append(rng))

    def drop_connections(self, mode: str = "abort") -> int:
        """Drop every websocket now: ``abort`` (TCP, no close frame) or ``close`` (1001)."""
        return self._call(lambda: self.server.drop_all(mode))

    def server_shutdown(self, grace_s: float = 1.0) -> int:
        """Send ``serverShutdown`` to every connection, then close each with 1001 after grace."""
        return self._call(lambda: self.server.shutdown_all(grace_s))

    def send_malformed(self, kind: str = "invalid_json") -> int:
        """Send one malformed frame of ``kind`` to every connection now."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind {kind!r} unknown; allowed {list(MALFORMED_KINDS)}")
        return self._call(lambda: self.server.send_malformed(kind))

    def silence(self, symbol: str, seconds: float) -> None:
        """Generate no trades for ``symbol`` for ``seconds`` (others keep flowing; no id gap)."""
        if symbol not in self.histories:
            raise ValueError(f"unknown symbol {symbol!r}")
        until = time.monotonic() + seconds
        self._call(lambda: self.faults.silenced_until.__setitem__(symbol, until))

    def start_excursion(self, sigma: float = 6.0, duration_s: float = 10.0) -> None:
        """Push the synthetic spread ``sigma`` stationary sigmas away for ``duration_s``."""
        market = self.market
        if not isinstance(market, SyntheticMarket):
            raise SimulatorError("spread excursions exist only for the synthetic market")
        self._call(lambda: market.start_excursion(sigma, duration_s))

    def inject_rest_errors(
        self, count: int, status: int = 429, retry_after: int = 1, path: str | None = None
    ) -> None:
        """Answer the next ``count`` REST calls (those whose path starts with ``path``, if
        given) with ``status`` and Binance's body for it: 418/429 ``-1003`` with ``Retry-After:
        retry_after`` (418 is a ban "from 2 minutes to 3 days", so give it a long one), 401
        ``-2014``, 403 the WAF's HTML page, 451 the restricted-location message, 5xx ``-1001``.
        A new call replaces any injection still pending."""
        check_rest_error(count, status, retry_after)

        def apply() -> None:
            self.faults.rest_errors_left = count
            self.faults.rest_error_status = status
            self.faults.rest_retry_after = retry_after
            self.faults.rest_error_path = path

        self._call(apply)

    def report_used_weight(self, extra: int) -> None:
        """Add ``extra`` to every ``X-MBX-USED-WEIGHT-1M`` from now on (both markets; 0 ends
        it), as if another process on the IP used that weight. It counts against the limit:
        a call that would take the reported weight past 6,000 (spot) or 2,400 (USD-M) in a
        minute answers 429."""
        if extra < 0:
            raise ValueError(f"extra={extra}: must be >= 0")
        self._call(lambda: setattr(self.faults, "used_weight_extra", extra))

    # ---- read-only accessors -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise SimulatorError("simulator not started")
        return self._port

    @property
    def ws_base(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    @property
    def rest_base(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def stream_url(
        self, kind: str = "trade", symbols: tuple[str, ...] | None = None, market: Market = "spot"
    ) -> str:
        """Combined-stream URL for ``symbols`` (default all): spot ``/stream?streams=..``,
        USD-M ``/market/stream?streams=..``."""
        syms = symbols or self.symbols
        path = "/market/stream" if market == "usdm" else "/stream"
        return f"{self.ws_base}{path}?streams=" + "/".join(f"{s.lower()}@{kind}" for s in syms)

    @property
    def generated_count(self) -> int:
        return sum(self._generated.values())

    def generated(self, symbol: str) -> int:
        return self._generated[symbol]

    @property
    def frames_sent(self) -> int:
        return self.server.frames_sent

    @property
    def malformed_sent(self) -> int:
        return self.server.malformed_sent

    @property
    def connections(self) -> int:
        return self.server.connection_count

    @property
    def total_connections(self) -> int:
        return self.server.total_connections

    @property
    def rest_calls(self) -> int:
        return self.rest.stats.calls

    @property
    def rest_weight(self) -> int:
        return self.rest.stats.weight

    def used_weight(self, market: Market = "spot") -> int:
        """What ``X-MBX-USED-WEIGHT-1M`` reports for ``market`` now (this calendar minute's
        weight plus any ``report_used_weight`` extra)."""
        return self._call(lambda: self.rest.used_weight(market))

    def connection_attempts(
        self, window_s: float = CONNECTION_ATTEMPTS_WINDOW_S, ip: str | None = None
    ) -> int:
        """Websocket connection attempts (admitted or refused) in the last ``window_s`` seconds
        (up to an hour back), from ``ip`` or from every IP (``None``; on loopback that is the
        one client IP). Binance allows 300 per 5 minutes per IP; the simulator refuses the
        rest with HTTP 429."""
        return self._call(lambda: self.server.attempt_count(window_s, ip))

    @property
    def refused_connections(self) -> int:
        """Websocket upgrades refused for too many connection attempts."""
        return self.server.refused_attempts

    def rest_log(self) -> list[tuple[float, str, int]]:
        """``(time.monotonic(), path, status)`` of recent REST calls."""
        return list(self.rest.stats.log)

    @property
    def finished(self) -> bool:
        """True once max_trades/max_total_trades is reached or the replay is exhausted."""
        return self._finished

    def sent_ids(self, symbol: str) -> npt.NDArray[np.int64]:
        """Every trade id the exchange generated for ``symbol`` (sorted; includes stream-skipped
        and REST-forgotten ids)."""
        return self.histories[symbol].rows().ids.copy()

    def streamed_ids(self, symbol: str) -> npt.NDArray[np.int64]:
        """Ids published on the stream (generated minus the ones withheld by skip ranges)."""
        ids = self.sent_ids(symbol)
        skipped = self._skipped[symbol]
        if not skipped:
            return ids
        return np.setdiff1d(ids, np.concatenate(list(skipped)), assume_unique=True)

    def servable_ids(self, symbol: str) -> npt.NDArray[np.int64]:
        """Ids REST still serves (generated minus forgotten): a perfect ingestor's final set."""
        ids = self.sent_ids(symbol)
        return ids[~self.faults.forgotten_mask(symbol, ids)]

    def trades_frame(self, symbol: str) -> pd.DataFrame:
        """All generated trades of ``symbol``: trade_id, ts_ms, price, qty, buyer_maker."""
        r = self.histories[symbol].rows()
        return pd.DataFrame(
            {
                "trade_id": r.ids.copy(),
                "ts_ms": r.ts.copy(),
                "price": r.price.copy(),
                "qty": r.qty.copy(),
                "buyer_maker": r.maker.copy(),
            }
        )

    def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        *,
        futures: bool = False,
    ) -> list[list[Any]]:
        """The rows ``/api/v3/klines`` (``futures``: ``/fapi/v1/klines``) serves for these
        parameters (``limit`` None = the endpoint's default); raises ``klines.KlineError``
        (``code``, ``msg``) where REST answers 400."""
        return self.kline_book.rows(
            symbol, interval, start_ms, end_ms, limit, endpoint=USDM if futures else SPOT
        )

    @property
    def tape_start_ms(self) -> int | None:
        """Exchange time (ms, whole second) where the generated past ends and the live tape
        begins: every generated trade is at or after it (None for a replay)."""
        return self._tape_start_ms

    @property
    def history_start_ms(self) -> int | None:
        """Open time of the first 1m kline of the generated past (None without one)."""
        return None if self._past is None else self._past.start_1m_ms

    @property
    def history_1s_start_ms(self) -> int | None:
        """Open time of the first 1s kline of the generated past (None without one)."""
        return None if self._past is None else self._past.start_1s_ms

    @property
    def hedge_symbol(self) -> str | None:
        """The symbol every synthetic base follows (None for a replay)."""
        return self.market.hedge if isinstance(self.market, SyntheticMarket) else None

    @property
    def betas(self) -> dict[str, float]:
        """Known hedge ratio of every synthetic base symbol: base = alpha + beta * hedge + u."""
        return dict(self.market.beta) if isinstance(self.market, SyntheticMarket) else {}
