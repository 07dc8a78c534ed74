"""Reconnect delays: capped exponential backoff with full jitter.

Pure and seeded-random friendly: ``Backoff.next_delay`` grows the ceiling as
``base * 2**attempt`` up to ``cap`` and draws uniformly below it (full jitter), and ``reset``
starts over after a connection proved healthy. Binance allows 300 connection attempts per 5
minutes per IP; the default cap of 30 s keeps a flapping link far below that.
"""

from __future__ import annotations

import random
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
