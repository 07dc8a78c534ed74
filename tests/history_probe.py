"""What a page would compute from the database: the newest z of a pair at a timeframe.

Shared by the history tests and ``bench_history``: reads bars the way the dashboard does
(``read_bars`` then ``resample_bars``, aligned with the configured bounded forward fill) and
runs ``compute_pair``; ``None`` while the window is not yet full.
"""

from __future__ import annotations

import math

from sqlalchemy import Engine

from analytics.bars import aligned_closes, resample_bars
from analytics.errors import AnalyticsError
from analytics.pipeline import PairParams, compute_pair
from analytics.vocabulary import BAR_SECONDS
from ingest.storage import last_bar_time, read_bars

TF_WINDOWS = {"1s": 300, "1m": 300, "5m": 200}
"""The windows of the issue's "done means": a z on each timeframe within seconds of start."""


def newest_z(engine: Engine, base: str, hedge: str, tf: str, window: int) -> float | None:
    """The z of the newest complete bar of ``base``/``hedge`` at ``tf`` (None: not enough)."""
    size = BAR_SECONDS[tf]
    with engine.connect() as conn:
        latest = last_bar_time(conn, (base, hedge))
        if len(latest) < 2:
            return None
        end = min(latest.values())
        start = end - (window + 80) * size
        legs = [resample_bars(read_bars(conn, s, start, end, size), tf) for s in (base, hedge)]
    aligned = aligned_closes(*legs, bar_seconds=size, max_stale_bars=5)
    try:
        result = compute_pair(
            aligned["base"].to_numpy(),
            aligned["hedge"].to_numpy(),
            PairParams(method="ols", window=window, z_window=60, corr_window=60),
            with_health=False,
        )
    except AnalyticsError:
        return None
    z = float(result.z[-1])
    return z if math.isfinite(z) else None
