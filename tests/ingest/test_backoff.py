"""Reconnect backoff: full jitter below a doubling ceiling, capped, reset after success."""

from __future__ import annotations

import random

from ingest.backoff import Backoff


def test_delays_stay_below_a_doubling_capped_ceiling() -> None:
    backoff = Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(3))
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    delays = [backoff.next_delay() for _ in ceilings]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[4:]) > 4.0  # the ceiling really grew (seeded: not a lucky draw)


def test_reset_starts_over_and_jitter_spreads_clients() -> None:
    backoff = Backoff(base_s=1.0, cap_s=30.0, rng=random.Random(7))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0
    first_delays = {Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)}
    assert len(first_delays) == 20  # many clients do not reconnect in lockstep
