"""Fault switches and malformed-frame payloads.

This module owns the mutable fault state of a running simulator (``FaultState``: drop after N
frames, drop mode, per-connection shutdown timer, stream-skipped and REST-forgotten id ranges,
malformed-frame cadence, REST error injection (status, ``Retry-After``, optional path prefix),
extra used weight reported by REST, silenced symbols, pause) and the bytes of each
malformed-frame kind. ``FaultState`` is only mutated on the simulator's event-loop thread (the
``Simulator`` control API marshals calls there), so readers on that thread need no lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ingest.simulator import wire
from ingest.simulator.config import IdRange, SimulatorConfig

HUGE_FRAME_BYTES = 1_100_000


@dataclass(slots=True)
class FaultState:
    """Current fault switches (event-loop thread only)."""

    drop_after_frames: int | None = None
    drop_mode: str = "abort"
    shutdown_after_s: float | None = None
    shutdown_grace_s: float = 1.0
    skip_ids: list[IdRange] = field(default_factory=list)
    forget_ids: list[IdRange] = field(default_factory=list)
    forget_mode: str = "absent"
    malformed_every: int | None = None
    malformed_kinds: tuple[str, ...] = ()
    rest_errors_left: int = 0
    rest_error_status: int = 429
    rest_retry_after: int = 1
    rest_error_path: str | None = None
    used_weight_extra: int = 0
    silenced_until: dict[str, float] = field(default_factory=dict)
    paused: bool = False

    @classmethod
    def from_config(cls, cfg: SimulatorConfig) -> FaultState:
        return cls(
            drop_after_frames=cfg.drop_after_frames,
            drop_mode=cfg.drop_mode,
            shutdown_after_s=cfg.shutdown_after_s,
            shutdown_grace_s=cfg.shutdown_grace_s,
            skip_ids=list(cfg.skip_ids),
            forget_ids=list(cfg.forget_ids),
            forget_mode=cfg.forget_mode,
            malformed_every=cfg.malformed_every,
            malformed_kinds=tuple(cfg.malformed_kinds),
            rest_errors_left=cfg.rest_errors,
            rest_error_status=cfg.rest_error_status,
            rest_retry_after=cfg.rest_retry_after,
            used_weight_extra=cfg.used_weight_extra,
        )

    def silenced(self) -> frozenset[str]:
        now = time.monotonic()
        return frozenset(s for s, until in self.silenced_until.items() if until > now)

    @staticmethod
    def _mask(ranges: list[IdRange], symbol: str, ids: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(ids), np.bool_)
        for r in ranges:
            if r.symbol == symbol:
                hit |= (ids >= r.first) & (ids <= r.last)
        return hit

    def skipped_mask(self, symbol: str, ids: np.ndarray) -> np.ndarray:
        """True where the id is withheld from the stream."""
        return self._mask(self.skip_ids, symbol, ids)

    def forgotten_mask(self, symbol: str, ids: np.ndarray) -> np.ndarray:
        """True where REST no longer serves the id."""
        return self._mask(self.forget_ids, symbol, ids)

    def is_forgotten(self, symbol: str, trade_id: int) -> bool:
        return any(r.symbol == symbol and r.contains(trade_id) for r in self.forget_ids)

    def forgotten_count(self, symbol: str) -> int:
        return sum(r.last - r.first + 1 for r in self.forget_ids if r.symbol == symbol)


def malformed_frame(kind: str, stream: str | None, event_ms: int) -> bytes:
    """One complete websocket frame of the given malformed ``kind``.

    ``stream`` is the connection's first stream for combined connections (None for raw ones);
    kinds that are valid JSON are wrapped in the combined envelope when it is given.
    """

    def wrap(raw: bytes) -> bytes:
        if stream is None:
            return raw
        return wire.combined(stream, [raw])[0]

    if kind == "invalid_json":
        return wire.frame(wrap(b'{"e":"trade","E":%d,"s":"BTC' % event_ms))
    if kind == "non_json":
        return wire.frame(b"this is not json")
    if kind == "json_array":
        return wire.frame(b"[1,2,3]")
    if kind == "missing_data":
        return wire.frame(b'{"stream":"%s"}' % (stream or "btcusdt@trade").encode())
    if kind == "binary":
        return wire.frame(wrap(b'{"e":"trade","E":%d}' % event_ms), wire.OP_BINARY)
    if kind == "unknown_event":
        return wire.frame(wrap(b'{"e":"mysteryEvent","E":%d,"s":"BTCUSDT"}' % event_ms))
    if kind == "wrong_types":
        return wire.frame(
            wrap(
                b'{"e":"trade","E":"%d","s":42,"t":"abc","p":61000.5,"q":null,'
                b'"T":"yesterday","m":"no","M":true}' % event_ms
            )
        )
    if kind == "huge":
        pad = b"x" * HUGE_FRAME_BYTES
        return wire.frame(wrap(b'{"e":"huge","E":%d,"pad":"%s"}' % (event_ms, pad)))
    if kind == "invalid_utf8":
        return wire.frame(wrap(b'{"e":"trade","E":%d,"s":"\xff\xfe\xc3\x28"}' % event_ms))
    raise ValueError(f"unknown malformed kind {kind!r}")
