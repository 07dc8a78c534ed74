"""Pages read loaded history as ordinary bars; ``/api/v1/status`` reports the history.

A database with 10 minutes of trades and, before them, a day of 1m klines (as the history
loader stores them): a 1m view with window 300 has its analytics at once, its bars reach back
into the klines, and the status body lists each history row with its text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dashboard import api
from dashboard.data import feed, pairs
from dashboard.params import parse_view
from dashboard.services import DataService
from ingest.storage import HistoryRow, insert_klines, make_engine, save_history
from tests.dashboard.conftest import NOW_MS, TRUE_BETA, cointegrated_trades, seed, write_settings

TRADES_FROM = (NOW_MS // 1000) - 600


def _minute_klines(symbol: str, prices: np.ndarray, first_s: int) -> list[dict[str, object]]:
    return [
        {
            "ts_s": first_s + 60 * i,
            "open": p,
            "high": p + 1.0,
            "low": p - 1.0,
            "close": p,
            "volume": 1.0,
            "quote_volume": p,
            "n_trades": 10,
        }
        for i, p in enumerate(prices)
    ]


def _service_with_history(tmp_path: Path) -> DataService:
    settings = write_settings(tmp_path, "history.db")
    seed(settings.storage.url, cointegrated_trades(TRADES_FROM, 600))
    minutes = 1440
    rng = np.random.default_rng(3)
    hedge = 3000.0 + np.cumsum(rng.normal(0.0, 2.0, minutes))
    noise = np.zeros(minutes)
    for i in range(1, minutes):
        noise[i] = 0.9 * noise[i - 1] + rng.normal(0.0, 5.0)
    base = TRUE_BETA * hedge + 500.0 + noise
    seam = -(-(TRADES_FROM + 1) // 60) * 60
    first = seam - 60 * minutes
    engine = make_engine(settings.storage.url)
    with engine.begin() as conn:
        for symbol, prices in (("BTCUSDT", base), ("ETHUSDT", hedge)):
            insert_klines(conn, symbol, "1m", _minute_klines(symbol, prices, first))
            row = HistoryRow(symbol, "1m", first, seam, seam, TRADES_FROM + 1, "loaded", "", 1)
            save_history(conn, row)
    engine.dispose()
    return DataService(settings, clock_ms=lambda: NOW_MS)


def test_a_minute_view_uses_the_klines_before_the_first_trade(tmp_path: Path) -> None:
    service = _service_with_history(tmp_path)
    view = parse_view(service.settings, {"pair": "BTC-ETH", "tf": "1m", "window": "300"})
    result = pairs.pair_result(service, view)
    assert result.analytics is not None
    assert len(result.ts) >= 300 and int(result.ts[0]) < TRADES_FROM - 300 * 60
    assert abs(result.analytics.latest.beta - TRUE_BETA) < 1.0


def test_status_lists_history_rows_with_their_text(tmp_path: Path) -> None:
    history = api._status_body(feed.status_report(_service_with_history(tmp_path)))["history"]
    assert [(h["symbol"], h["interval"], h["state"]) for h in history] == [
        ("BTCUSDT", "1m", "loaded"),
        ("ETHUSDT", "1m", "loaded"),
    ]
    assert history[0]["text"] == "history: BTCUSDT 1m 24 h loaded"  # a minute under a day
    assert history[0]["loaded"] == 1.0
