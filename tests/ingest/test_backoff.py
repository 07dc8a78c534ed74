"""Reconnect backoff: full jitter below a doubling ceiling, capped, reset after success, and
Binance's limit of 300 connection attempts per 5 minutes per IP (spot websocket docs)."""

from __future__ import annotations

import random

import pytest

from ingest.backoff import AttemptLimit, Backoff


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


def test_attempts_are_at_least_a_second_apart_even_after_a_reset() -> None:
    limit = AttemptLimit()
    assert limit.delay_for(100.0, 0.0) == 0.0
    assert limit.delay_for(100.1, 0.05) == pytest.approx(0.9)  # the backoff wanted 50 ms
    assert limit.delay_for(105.0, 2.0) == 2.0  # a longer wish is kept


def test_a_flapping_link_never_exceeds_300_attempts_in_5_minutes() -> None:
    limit = AttemptLimit(min_gap_s=0.0)  # only the window cap, as if the floor were gone
    now, times = 0.0, []
    for _ in range(1000):
        now += limit.delay_for(now, 0.0)
        times.append(now)
    worst = max(sum(1 for t in times if start <= t < start + 300.0) for start in times)
    assert worst == 300
    assert times[-1] >= 3 * 300.0  # 1,000 attempts need more than three windows
