"""Live state of the feed, shared by the reader, the watchdog and the writer.

``FeedState`` is the in-process record of what the connection is doing: connected or not,
reconnect count, the reason for the last disconnect, the time of the last frame overall and per
symbol, the symbols flagged stale, counters of rejected frames by kind and of trades dropped on
a full buffer. The reader writes it, the writer copies it into ``feed_status`` on every flush
(``counters_note`` is how the counters reach the row's ``reason``; ``connect_failure_reason``
is the reason of a failed connection attempt). Plain attributes under the GIL; a lock guards the
counters.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def connect_failure_reason(host: str, error: str, retry_at_ms: int) -> str:
    """``cannot connect to HOST: ERROR; retry at 2024-06-01T00:00:08Z`` (the next try, UTC).

    The dashboard reads this shape back (``dashboard.health.CONNECT_FAILURE``) to say why a page
    is empty: change both together. The error is cut to 120 characters so the retry time
    always fits in the 200-character ``feed_status.reason``.
    """
    retry_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(round(retry_at_ms / 1000)))
    return f"cannot connect to {host}: {error[:120]}; retry at {retry_at}"


@dataclass
class FeedState:
    """Connection facts for ``symbols``; ``source`` is ``binance`` or ``simulator``."""

    symbols: tuple[str, ...]
    source: str
    connected: bool = False
    reconnects: int = 0
    connections: int = 0
    connected_ms: int = 0
    reason: str = "starting"
    last_msg_ms: int | None = None
    last_trade_ms: dict[str, int] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    rejected: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    marks: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """Latest (mark price, funding rate, next funding ms) per USD-M symbol."""
    rest_note: str = ""
    """What holds REST back (``RestClient.condition``), copied in every two seconds."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_rejected(self, kind: str) -> bool:
        """Count a rejected frame; True the first time this kind is seen (log it then)."""
        with self._lock:
            seen = self.rejected.get(kind, 0)
            self.rejected[kind] = seen + 1
        return seen == 0

    def rejected_total(self) -> int:
        """Frames rejected so far, all kinds together."""
        with self._lock:
            return sum(self.rejected.values())

    def counters_note(self) -> str:
        """The non-zero counters in a short line (``rejected invalid_json=2; dropped 40``)."""
        with self._lock:
            kinds = " ".join(f"{kind}={n}" for kind, n in sorted(self.rejected.items()))
        parts = [
            f"rejected {kinds}" if kinds else "",
            f"dropped {self.dropped}" if self.dropped else "",
        ]
        return "; ".join(part for part in parts if part)
