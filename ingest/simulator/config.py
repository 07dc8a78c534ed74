"""Simulator configuration: the ``SimulatorConfig`` dataclass and the ``IdRange`` value.

This module owns every knob of the offline Binance simulator (market model, klines history,
replay, server and the Binance limits it enforces, fault switches) and their validation.
``SimulatorConfig.validate()`` raises ``ValueError`` with a one-line message naming the field,
which the CLI turns into exit code 2. Runtime changes to the fault switches go through
``Simulator`` control methods; the config is only the starting state.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

GenerateMode = Literal["connected", "always"]
DropMode = Literal["abort", "close"]
ForgetMode = Literal["absent", "empty"]

MALFORMED_KINDS: tuple[str, ...] = (
    "invalid_json",
    "non_json",
    "json_array",
    "missing_data",
    "binary",
    "unknown_event",
    "wrong_types",
    "huge",
    "invalid_utf8",
)
"""Every malformed-frame kind the simulator can send (see ``faults.malformed_frame``)."""

DEFAULT_MALFORMED_CYCLE: tuple[str, ...] = (
    "invalid_json",
    "unknown_event",
    "wrong_types",
    "huge",
    "invalid_utf8",
)
"""Kinds cycled through by ``malformed_every`` unless ``malformed_kinds`` says otherwise."""

DEFAULT_START_PRICES: dict[str, float] = {
    "BTCUSDT": 60000.0,
    "ETHUSDT": 2500.0,
    "SOLUSDT": 150.0,
    "BNBUSDT": 550.0,
    "LTCUSDT": 70.0,
    "BCHUSDT": 350.0,
}

# Binance limits the server enforces (each can be lowered for a test).
SPOT_MAX_STREAMS = 1024
"""Streams per spot connection: "A single connection can listen to a maximum of 1024 streams"
(binance-spot-api-docs web-socket-streams.md, "WebSocket Limits", commit a5e0bc3)."""
USDM_MAX_STREAMS = 200
"""Streams per USD-M connection: "A single connection can listen to a maximum of 200 streams"
(developers.binance.me/docs/derivatives/usds-margined-futures/websocket-market-streams; the
developers.binance.com copy of the page says 1024, so the stricter figure is used)."""
MAX_CONNECTION_ATTEMPTS = 300
CONNECTION_ATTEMPTS_WINDOW_S = 300.0
""""There is a limit of 300 connections per attempt every 5 minutes per IP" (spot
web-socket-streams.md, "WebSocket Limits"; CHANGELOG 2023-02-17: "300 connections requests
every 5 minutes")."""

MAX_HISTORY_S = 90 * 86400.0
MAX_HISTORY_1S_S = 2 * 86400.0

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
_RANGE_RE = re.compile(r"^([A-Za-z0-9]{2,20}):(\d+)-(\d+)$")


def check_rest_error(count: int, status: int, retry_after: int) -> None:
    """Validate an injected REST error (config fields or ``inject_rest_errors`` arguments)."""
    if count < 0:
        raise ValueError(f"rest_errors={count}: must be >= 0")
    if not (400 <= status <= 599):
        raise ValueError(f"rest_error_status={status}: must be an HTTP error status 400..599")
    if retry_after < 0:
        raise ValueError(f"rest_retry_after={retry_after}: must be >= 0 seconds")


@dataclass(frozen=True, slots=True)
class IdRange:
    """Inclusive trade-id range ``first..last`` of one symbol (``"BTCUSDT:100-199"``)."""

    symbol: str
    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> IdRange:
        m = _RANGE_RE.match(text.strip())
        if not m:
            raise ValueError(
                f"bad id range {text!r}: expected SYMBOL:FIRST-LAST, e.g. BTCUSDT:100-199"
            )
        rng = cls(m.group(1).upper(), int(m.group(2)), int(m.group(3)))
        rng.check()
        return rng

    def check(self) -> None:
        if not _SYMBOL_RE.match(self.symbol):
            raise ValueError(f"bad id range symbol {self.symbol!r}: expected e.g. BTCUSDT")
        if self.first < 0 or self.last < self.first:
            raise ValueError(f"bad id range {self.first}-{self.last}: need 0 <= FIRST <= LAST")

    def contains(self, trade_id: int) -> bool:
        return self.first <= trade_id <= self.last


@dataclass(frozen=True, slots=True)
class ReplayFile:
    """A trade CSV to replay; ``symbol`` None means "take it from the file name"."""

    path: Path
    symbol: str | None = None

    @classmethod
    def parse(cls, text: str) -> ReplayFile:
        """``FILE`` or ``SYMBOL=FILE``."""
        sym, sep, rest = text.partition("=")
        if sep and _SYMBOL_RE.match(sym.upper()) and "/" not in sym:
            return cls(Path(rest), sym.upper())
        return cls(Path(text))


@dataclass(slots=True)
class SimulatorConfig:
    """Starting state of a ``Simulator``. All rates are per symbol; times in seconds."""

    # server
    host: str = "127.0.0.1"
    port: int = 0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 60.0
    max_backlog_bytes: int = 64 * 1024 * 1024
    max_streams_spot: int = SPOT_MAX_STREAMS
    """Streams one spot connection may carry; more closes it with 1008 (policy violation)."""
    max_streams_usdm: int = USDM_MAX_STREAMS
    """Streams one USD-M (``/market``) connection may carry; more closes it with 1008."""
    max_connection_attempts: int = MAX_CONNECTION_ATTEMPTS
    """Websocket connection attempts one IP may make per ``connection_attempts_window_s``; the
    next ones are refused with HTTP 429 until old attempts leave the window."""
    connection_attempts_window_s: float = CONNECTION_ATTEMPTS_WINDOW_S
    # synthetic market
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    hedge_symbol: str | None = None
    rate: float = 20.0
    rates: dict[str, float] = field(default_factory=dict)
    """Trades/s of single symbols, overriding ``rate`` (their 24 h volumes rank by it)."""
    halted: tuple[str, ...] = ()
    """Symbols the exchange lists but that do not trade (see ``rest``): exchangeInfo status
    ``BREAK`` (spot) or ``SETTLING`` (USD-M), a 24 h ticker of zeros, nothing streamed."""
    seed: int = 42
    beta: float = 22.0
    betas: dict[str, float] = field(default_factory=dict)
    proportional: bool = False
    """Every base tracks the hedge in relative terms: β = start price / hedge start price and
    the spread noise scaled by the base's price (``spread_sigma`` is then the first base's)."""
    start_prices: dict[str, float] = field(default_factory=dict)
    hedge_vol: float = 0.5
    spread_sigma: float = 8.0
    spread_half_life_s: float = 30.0
    tick_s: float = 0.01
    start_id: int = 1
    start_ids: dict[str, int] = field(default_factory=dict)
    agg_start_id: int = 1
    excursion_at_s: float | None = None
    excursion_sigma: float = 6.0
    excursion_duration_s: float = 10.0
    # klines (/api/v3/klines, /fapi/v1/klines)
    klines: bool = True
    """Serve klines; False answers every klines request ``-1120 Invalid interval.`` (an exchange
    without kline history)."""
    history_s: float = 7 * 86400.0
    """Length of the generated past before the live tape, served as 1m (and coarser) klines.
    Synthetic market only; a replay serves klines of its own trades only."""
    history_1s_s: float = 2 * 3600.0
    """Length of the generated past served as 1s klines (<= ``history_s``); the 1m klines in it
    are its 1s klines aggregated."""
    tape_start_ms: int | None = None
    """Exchange time (ms, floored to the second) where the generated past ends and the live tape
    begins; None = the wall clock when the ``Simulator`` is built. Must not lie in the future."""
    # replay (non-empty → replay mode, symbols come from the files)
    replay: tuple[ReplayFile, ...] = ()
    speed: float = 1.0
    replay_rebase_time: bool = False
    replay_chunk: int = 5000
    # generation control
    generate: GenerateMode = "connected"
    max_trades: int | None = None
    max_total_trades: int | None = None
    # fault switches (starting values; change at runtime via Simulator methods)
    drop_after_frames: int | None = None
    drop_mode: DropMode = "abort"
    shutdown_after_s: float | None = None
    shutdown_grace_s: float = 1.0
    skip_ids: tuple[IdRange, ...] = ()
    forget_ids: tuple[IdRange, ...] = ()
    forget_mode: ForgetMode = "absent"
    malformed_every: int | None = None
    malformed_kinds: tuple[str, ...] = DEFAULT_MALFORMED_CYCLE
    rest_errors: int = 0
    """Answer the first N REST calls with ``rest_error_status`` (as ``inject_rest_errors``)."""
    rest_error_status: int = 429
    rest_retry_after: int = 1
    """``Retry-After`` seconds sent with injected 418/429 answers."""
    used_weight_extra: int = 0
    """Added to every ``X-MBX-USED-WEIGHT-1M`` the REST API reports (and counted against the
    limit), as if another process on the IP used that weight (``Simulator.report_used_weight``)."""

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line message for the first bad field."""
        if not (0 <= self.port <= 65535):
            raise ValueError(f"port={self.port}: must be 0..65535")
        for name in ("max_streams_spot", "max_streams_usdm", "max_connection_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 1")
        if self.connection_attempts_window_s <= 0:
            raise ValueError(
                f"connection_attempts_window_s={self.connection_attempts_window_s}: must be > 0"
            )
        check_rest_error(self.rest_errors, self.rest_error_status, self.rest_retry_after)
        if self.used_weight_extra < 0:
            raise ValueError(f"used_weight_extra={self.used_weight_extra}: must be >= 0")
        if not self.replay:
            if not self.symbols:
                raise ValueError("symbols: need at least one symbol")
            for s in self.symbols:
                if not _SYMBOL_RE.match(s):
                    raise ValueError(f"symbols: {s!r} is not an upper-case symbol such as BTCUSDT")
            if len(set(self.symbols)) != len(self.symbols):
                raise ValueError(f"symbols: duplicates in {list(self.symbols)}")
            if self.hedge_symbol is not None and self.hedge_symbol not in self.symbols:
                raise ValueError(f"hedge_symbol={self.hedge_symbol!r}: not in symbols")
        rates = {"rate": self.rate} | {f"rates[{s}]": r for s, r in self.rates.items()}
        for name, rate in rates.items():
            if not (0 < rate <= 200_000):
                raise ValueError(f"{name}={rate}: must be > 0 and <= 200000 trades/s per symbol")
        if self.replay and (self.rates or self.halted):
            raise ValueError("rates, halted: knobs of the synthetic market, not of a replay")
        unknown = sorted(set(self.rates) - set(self.symbols))
        if unknown:
            raise ValueError(f"rates: {unknown} are not in symbols")
        for s in self.halted:
            if not _SYMBOL_RE.match(s) or s in self.symbols or self.halted.count(s) > 1:
                raise ValueError(
                    f"halted: {s!r} must be an upper-case symbol, listed once, not in symbols"
                )
        if not (0.001 <= self.tick_s <= 1.0):
            raise ValueError(f"tick_s={self.tick_s}: must be 0.001..1")
        for name in ("hedge_vol", "spread_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be >= 0")
        if self.spread_half_life_s <= 0:
            raise ValueError(f"spread_half_life_s={self.spread_half_life_s}: must be > 0")
        if self.start_id < 0 or self.agg_start_id < 0:
            raise ValueError("start_id/agg_start_id: must be >= 0")
        if self.speed < 0:
            raise ValueError(f"speed={self.speed}: must be >= 0 (0 = as fast as possible)")
        if self.generate not in ("connected", "always"):
            raise ValueError(f"generate={self.generate!r}: must be 'connected' or 'always'")
        for name in ("max_trades", "max_total_trades", "drop_after_frames", "malformed_every"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name}={v}: must be >= 1")
        for name in ("shutdown_after_s", "excursion_at_s"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"{name}={v}: must be >= 0")
        if not (0 <= self.history_s <= MAX_HISTORY_S):
            raise ValueError(
                f"history_s={self.history_s}: must be 0..{MAX_HISTORY_S:.0f} (90 days)"
            )
        if not (0 <= self.history_1s_s <= min(self.history_s, MAX_HISTORY_1S_S)):
            raise ValueError(
                f"history_1s_s={self.history_1s_s}: must be 0..min(history_s, "
                f"{MAX_HISTORY_1S_S:.0f}) (2 days)"
            )
        if self.tape_start_ms is not None and not (0 <= self.tape_start_ms <= time.time() * 1000):
            raise ValueError(
                f"tape_start_ms={self.tape_start_ms}: must be >= 0 and not in the future"
            )
        if self.drop_mode not in ("abort", "close"):
            raise ValueError(f"drop_mode={self.drop_mode!r}: must be 'abort' or 'close'")
        if self.forget_mode not in ("absent", "empty"):
            raise ValueError(f"forget_mode={self.forget_mode!r}: must be 'absent' or 'empty'")
        for k in self.malformed_kinds:
            if k not in MALFORMED_KINDS:
                raise ValueError(f"malformed_kinds: {k!r} unknown; allowed {list(MALFORMED_KINDS)}")
        if not self.malformed_kinds:
            raise ValueError("malformed_kinds: need at least one kind")
        for r in (*self.skip_ids, *self.forget_ids):
            r.check()
        for rf in self.replay:
            if not rf.path.is_file():
                raise ValueError(f"replay: file not found: {rf.path}")

    def start_id_for(self, symbol: str) -> int:
        return self.start_ids.get(symbol, self.start_id)

    def rate_for(self, symbol: str) -> float:
        return self.rates.get(symbol, self.rate)

    def start_price_for(self, symbol: str) -> float:
        return self.start_prices.get(symbol, DEFAULT_START_PRICES.get(symbol, 100.0))
