"""Reconnect delays: capped exponential backoff with full jitter, under Binance's attempt limit.

Pure and seeded-random friendly: ``Backoff.next_delay`` grows the ceiling as
``base * 2**attempt`` up to ``cap`` and draws uniformly below it (full jitter), and ``reset``
starts over after a connection proved healthy. ``AttemptLimit`` then stretches a delay so
attempts stay at least a second apart and never exceed Binance's "300 connections per attempt
every 5 minutes per IP" (spot websocket docs, "WebSocket Limits"), even for a link that flaps
right after delivering data, where the backoff has just been reset.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Stateful delay generator; one per connection loop."""

    base_s: float = 0.5
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; grows until ``reset``."""
        ceiling = min(self.cap_s, self.base_s * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Forget past failures (call after a connection delivered data)."""
        self.attempt = 0


@dataclass
class AttemptLimit:
    """Connection attempts of one process: a floor between them and a cap per window."""

    min_gap_s: float = 1.0
    per_window: int = 300
    window_s: float = 300.0
    attempts: deque[float] = field(default_factory=deque)

    def delay_for(self, now: float, wanted: float) -> float:
        """Seconds from ``now`` to the next attempt (at least ``wanted``); records it."""
        at = now + wanted
        if self.attempts:
            at = max(at, self.attempts[-1] + self.min_gap_s)
        while self.attempts and self.attempts[0] <= at - self.window_s:
            self.attempts.popleft()
        if len(self.attempts) >= self.per_window:
            at = max(at, self.attempts[-self.per_window] + self.window_s)
        self.attempts.append(at)
        return at - now
