"""Live state of the feed, shared by the reader, the watchdog and the writer.

``FeedState`` is the in-process record of what the connection is doing: its ``LinkState``,
reconnect count, the error and retry time of a failed attempt, a display reason for the last
disconnect, the time of the last frame overall and per symbol, the symbols flagged stale,
counters of rejected frames by kind and of trades dropped on a full buffer. The reader writes
it, the writer copies it into ``feed_status`` on every flush, each fact in its own column
(``reject_columns``); readers never parse the reason text. Plain attributes under the GIL; a
lock guards the counters.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ingest.storage.records import REJECT_KINDS, LinkState, RejectKind, reject_column


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def connect_failure_reason(host: str, error: str, retry_at_ms: int) -> str:
    """``cannot connect to HOST: ERROR; retry at 2024-06-01T00:00:08Z`` (display text, UTC).

    The error is cut to 120 characters so the retry time always fits in the 200-character
    ``feed_status.reason``; the same facts are stored as ``connect_error``/``retry_at_ms``.
    """
    retry_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(retry_at_ms / 1000)))
    return f"cannot connect to {host}: {error[:120]}; retry at {retry_at}"


@dataclass
class FeedState:
    """Connection facts for ``symbols``; ``source`` is ``binance`` or ``simulator``."""

    symbols: tuple[str, ...]
    source: str
    connected: bool = False
    link: LinkState = LinkState.STARTING
    connect_error: str = ""
    retry_at_ms: int | None = None
    reconnects: int = 0
    connections: int = 0
    connected_ms: int = 0
    reason: str = "starting"
    last_msg_ms: int | None = None
    last_trade_ms: dict[str, int] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    rejected: dict[RejectKind, int] = field(default_factory=dict)
    dropped: int = 0
    marks: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """Latest (mark price, funding rate, next funding ms) per USD-M symbol."""
    rest_note: str = ""
    """What holds REST back (``RestClient.condition``), copied in every two seconds."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_rejected(self, kind: RejectKind) -> bool:
        """Count a rejected frame; True the first time this kind is seen (log it then)."""
        with self._lock:
            seen = self.rejected.get(kind, 0)
            self.rejected[kind] = seen + 1
        return seen == 0

    def reject_columns(self) -> dict[str, int]:
        """The ``feed_status`` counters: ``rejected_<kind>`` for every kind, and the total."""
        with self._lock:
            counts = {reject_column(kind): self.rejected.get(kind, 0) for kind in REJECT_KINDS}
        return {**counts, "rejected_frames": sum(counts.values())}

    def failed_attempt(self, error: str, retry_at_ms: int, reason: str) -> None:
        """The last attempt failed before the handshake; the next one is at ``retry_at_ms``."""
        self.link, self.connect_error, self.retry_at_ms = (
            LinkState.CONNECT_FAILED,
            error,
            retry_at_ms,
        )
        self.reason = reason

    def opened(self, at_ms: int) -> None:
        """A connection is up: the failed attempt, if any, is history."""
        self.connected, self.link, self.connect_error, self.retry_at_ms = (
            True,
            LinkState.CONNECTED,
            "",
            None,
        )
        self.connections += 1
        self.connected_ms = at_ms
        self.reason = ""
