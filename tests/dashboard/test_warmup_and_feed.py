"""Pages over young or unreachable feeds: warm-up progress instead of blanks, and the reason
the feed cannot connect instead of "start the ingestor".

Real SQLite files seeded through ``ingest.storage``; the connect-failure rows carry the typed
columns the reader fills (``link_state``, ``connect_error``, ``retry_at_ms``), and one test runs
the real reader against a closed loopback port, so the dashboard is tested against what ingest
stores.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from analytics.correlation import rolling_correlation
from dashboard.data import pairs, windows
from dashboard.data.notices import Warmup
from dashboard.health import connect_failure
from dashboard.params import parse_view
from dashboard.services import DataService
from dashboard.wording import notice_text, warmup_text
from ingest.feedstate import FeedState, connect_failure_reason, now_ms
from ingest.settings import FeedSettings, Settings, load_settings
from ingest.source import BinanceSource
from ingest.storage import LinkState, make_engine, upsert_status
from tests.conftest import free_port, wait_until
from tests.dashboard.conftest import (
    NOW_MS,
    START_S,
    cointegrated_trades,
    page,
    seed,
    status_row,
    write_settings,
)

pytestmark = pytest.mark.usefixtures("app_context")
DNS_ERROR = "WebSocketAddressException: [Errno -2] Name or service not known"
OFFLINE_HINT = (
    "No internet or Binance blocked here? `make demo` runs fully offline on the built-in simulator."
)


def young_service(tmp_path: Path, seconds: int) -> DataService:
    """``seconds`` 1 s bars of BTC/ETH (window 300, z window 60, corr window 60), clock after."""
    settings = write_settings(tmp_path, f"young{seconds}.db")
    seed(settings.storage.url, cointegrated_trades(START_S, seconds))
    return DataService(settings, clock_ms=lambda: (START_S + seconds) * 1000)


def test_41_bars_warm_up_the_z_and_the_correlation(tmp_path: Path, use_service) -> None:
    service = young_service(tmp_path, 41)
    result = pairs.pair_result(service, parse_view(service.settings, {"pair": "BTC-ETH"}))
    assert result.analytics is None and len(result.ts) == 41
    assert result.warmup == Warmup(41, 300, "1s")
    assert warmup_text(result.warmup) == "warming up: 41 of 300 bars (about 4 min at 1s)"
    assert result.corr_warmup == Warmup(41, 61, "1s")
    assert warmup_text(result.corr_warmup) == "warming up: 41 of 61 bars (about 20 s at 1s)"
    assert not any(
        "needs" in notice_text(n) or "No analytics" in notice_text(n) for n in result.notices
    )
    with use_service(service):
        banner, _, _, _, _, _, _, progress, hidden = page("spread").refresh(1, None, "?", "s")
        assert banner == "z — (warming up)" and hidden is True
        assert progress[0].children == "warming up: 41 of 300 bars (about 4 min at 1s)"
        assert (progress[1].value, progress[1].max) == (41, 300)
        _, _, _, corr_progress, corr_hidden = page("correlation").refresh(1, None, "?", "s")
        assert corr_hidden is True
        assert corr_progress[0].children == "warming up: 41 of 61 bars (about 20 s at 1s)"
        cards, _, _ = page("overview").refresh(1, None, "?", "s")
        assert "warming up: 41 of 300 bars (about 4 min at 1s)" in str(cards[0])


def test_correlation_needs_only_its_own_window(tmp_path: Path, use_service) -> None:
    service = young_service(tmp_path, 100)  # corr window 60 < 100 bars < hedge window 300
    result = pairs.pair_result(service, parse_view(service.settings, {"pair": "BTC-ETH"}))
    assert result.analytics is None and result.warmup == Warmup(100, 300, "1s")
    assert result.corr_warmup is None
    aligned = result.window.aligned
    expected = rolling_correlation(aligned["base"], aligned["hedge"], 60)
    np.testing.assert_array_equal(result.corr, expected)
    assert np.isnan(result.corr[:60]).all() and np.isfinite(result.corr[60:]).all()
    assert result.last_corr == pytest.approx(expected[-1])
    with use_service(service):
        chart, _, _, progress, hidden = page("correlation").refresh(1, None, "?", "s")
        assert (progress, hidden) == ([], False)
        assert np.isfinite(np.asarray(chart.data[0].y, dtype=float)).sum() == 40
        cards, _, _ = page("overview").refresh(1, None, "?", "s")
        assert f"{expected[-1]:.3f}" in str(cards[0])  # the card's corr row


def test_api_reports_warming_up_until_the_first_z(
    tmp_path: Path, use_service, client: FlaskClient
) -> None:
    with use_service(young_service(tmp_path, 100)):
        body = client.get("/api/v1/analytics?pair=BTC-ETH").get_json()
        assert body["warming_up"] == {"bars": 100, "needed": 300}
        assert body["n"] == 100 and body["z"] is None and body["corr"] is not None
        rolling = client.get("/api/v1/analytics?pair=BTC-ETH&method=rolling&window=50").get_json()
        assert rolling["warming_up"] == {"bars": 100, "needed": 109}
        ready = client.get("/api/v1/analytics?pair=BTC-ETH&window=50").get_json()
        assert ready["warming_up"] is None and ready["z"] is not None
        backtest = client.get("/api/v1/backtest?pair=BTC-ETH").get_json()
        assert "warming up: 100 of 300 bars (about 3 min at 1s)" in backtest["notices"]
    assert client.get("/api/v1/analytics?pair=BTC-ETH").get_json()["warming_up"] is None


def failing_feed(
    directory: Path, retry_at_ms: int, settings: Settings | None = None
) -> DataService:
    """An empty database whose running ingestor cannot connect (next try at ``retry_at_ms``)."""
    settings = settings or write_settings(directory, "offline.db")
    reason = connect_failure_reason("stream.binance.com:9443", DNS_ERROR, retry_at_ms)
    rows = [
        status_row(
            symbol,
            updated_ms=NOW_MS - 400,
            last_trade_ms=None,
            connected=False,
            reconnects=3,
            source="binance",
            reason=reason,
            link_state=LinkState.CONNECT_FAILED,
            connect_error=DNS_ERROR,
            retry_at_ms=retry_at_ms,
        )
        for symbol in settings.symbols
    ]
    engine = make_engine(settings.storage.url)
    with engine.begin() as conn:
        upsert_status(conn, rows)
    engine.dispose()
    return DataService(settings, clock_ms=lambda: NOW_MS)


def test_overview_says_why_the_feed_has_no_data(tmp_path: Path, use_service) -> None:
    with use_service(failing_feed(tmp_path, NOW_MS + 8_000)):
        cards, _, notices = page("overview").refresh(1, None, "?", "s")
    text = " ".join(alert.children for alert in notices)
    assert (
        "The feed cannot connect to wss://stream.binance.com:9443: "
        f"{DNS_ERROR}. Next retry in about 8 s. {OFFLINE_HINT}"
    ) in text
    assert "Start the ingestor" not in str(cards) + text
    assert "No data yet for BTCUSDT and ETHUSDT: the feed cannot connect." in str(cards[0])
    assert "Next retry" not in str(cards)  # said once, above the cards


def test_a_past_retry_time_reads_retrying_now(tmp_path: Path) -> None:
    service = failing_feed(tmp_path, NOW_MS - 2_000)
    notices = windows.pair_window(service, parse_view(service.settings, {})).notices
    assert [n.level for n in notices] == ["warning", "danger"]
    assert f"{DNS_ERROR}. Retrying now. {OFFLINE_HINT}" in notice_text(notices[1])


def test_a_loopback_feed_points_at_the_simulator(tmp_path: Path) -> None:
    write_settings(tmp_path, "sim.db")
    env = {"PAIRWATCH_FEED__WS_URL": "ws://127.0.0.1:8765"}
    simulated = load_settings(tmp_path / "sim.db.yaml", environ=env)
    service = failing_feed(tmp_path, NOW_MS + 30_000, simulated)
    notice = windows.pair_window(service, parse_view(simulated, {})).notices[1]
    assert notice_text(notice).startswith("The feed cannot connect to ws://127.0.0.1:8765: ")
    assert "about 30 s. Is the simulator running? `make demo` starts it" in notice_text(notice)


def test_a_stopped_ingestor_is_not_a_connect_failure(tmp_path: Path) -> None:
    settings = failing_feed(tmp_path, NOW_MS + 8_000).settings
    later = DataService(settings, clock_ms=lambda: NOW_MS + 60_000)  # heartbeat 60 s old
    no_data, stopped = windows.pair_window(later, parse_view(settings, {})).notices
    assert "Start the ingestor or wait for the first trades" in notice_text(no_data)
    assert notice_text(stopped).startswith(
        "Ingestor stopped"
    ) and "cannot connect" not in notice_text(stopped)
    dropped = pd.DataFrame(
        [status_row("BTCUSDT", updated_ms=NOW_MS, last_trade_ms=None, connected=False)]
    )
    assert connect_failure(dropped, ("BTCUSDT",), NOW_MS) is None  # no failed attempt stored


def test_the_reader_stores_a_reason_the_dashboard_reads() -> None:
    """The real reader against a closed loopback port: host, error and retry time."""
    port = free_port()
    state = FeedState(symbols=("BTCUSDT",), source="binance")
    reader = BinanceSource(
        FeedSettings(ws_url=f"ws://127.0.0.1:{port}"), {"BTCUSDT": "BTCUSDT"}, deque(), 10, state
    )
    started_ms = now_ms()
    reader.start()
    try:
        reason, link, error, retry_at = wait_until(
            lambda: (
                (state.reason, state.link, state.connect_error, state.retry_at_ms)
                if state.reason.startswith("cannot connect")
                else None
            ),
            5.0,
            "a failed connection attempt",
        )
    finally:
        reader.stop()
    assert reason.startswith(
        f"cannot connect to 127.0.0.1:{port}: ConnectionRefusedError: [Errno 111] "
        "Connection refused; retry at "
    )
    assert link == LinkState.CONNECT_FAILED
    assert error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert retry_at is not None and retry_at >= started_ms
    row = status_row(
        "BTCUSDT",
        updated_ms=NOW_MS,
        last_trade_ms=None,
        connected=False,
        reason=reason,
        link_state=link,
        connect_error=error,
        retry_at_ms=retry_at,
    )
    failure = connect_failure(pd.DataFrame([row]), ("BTCUSDT",), NOW_MS)
    assert failure is not None
    assert failure.error == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert abs(failure.retry_at_ms - started_ms) < 2_000  # the first backoffs are short
