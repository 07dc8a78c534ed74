"""The correlation heatmap aligns its legs with the pairs' rule: ``max_stale_bars: 0`` fills none.

Regression: the heatmap's closes (now ``dashboard.data.windows.closes``) used
``ffill(limit=max_stale_bars or None)``, so the allowed value 0 became an unlimited fill and the
heatmap carried a silent leg forever while the pair pages showed NaN.
"""

from __future__ import annotations

from pathlib import Path

from dashboard.data import windows
from dashboard.services import DataService
from tests.dashboard.conftest import NOW_MS, START_S, cointegrated_trades, seed, write_settings


def _service(tmp_path: Path, stale: int) -> DataService:
    settings = write_settings(tmp_path, f"stale{stale}.db")
    quiet = range(START_S + 100, START_S + 120)  # ETH silent for 20 seconds
    trades = [
        t
        for t in cointegrated_trades(START_S, 300)
        if not (t.symbol == "ETHUSDT" and t.ts_ms // 1000 in quiet)
    ]
    seed(settings.storage.url, trades)
    analytics = settings.analytics.model_copy(update={"max_stale_bars": stale})
    return DataService(
        settings.model_copy(update={"analytics": analytics}), clock_ms=lambda: NOW_MS
    )


def test_zero_stale_bars_means_no_fill_in_the_heatmap(tmp_path: Path) -> None:
    closes, _ = windows.closes(_service(tmp_path, 0), "1s", 3600)
    assert not set(range(START_S + 100, START_S + 120)) & set(closes.index)


def test_a_stale_limit_fills_exactly_that_many_bars(tmp_path: Path) -> None:
    closes, _ = windows.closes(_service(tmp_path, 5), "1s", 3600)
    filled = set(range(START_S + 100, START_S + 120)) & set(closes.index)
    assert filled == set(range(START_S + 100, START_S + 105))
