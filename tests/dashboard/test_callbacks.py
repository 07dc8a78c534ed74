"""Page and shell callbacks called as plain functions inside a request context."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash.exceptions import PreventUpdate

from dashboard import shell
from dashboard.refresh import GUARD
from dashboard.services import DataService
from ingest.storage import make_engine
from tests.dashboard.conftest import NOW_MS, page, write_settings

pytestmark = pytest.mark.usefixtures("app_context")


def test_spread_refresh_returns_charts_banner_and_stats() -> None:
    banner, color, spread, zfig, egfig, stats, notices, progress, hidden = page("spread").refresh(
        1, None, "?pair=BTC-ETH&tf=1s&z=0.5&lookback=15", "session-a"
    )
    assert color == "danger" and banner.startswith("ALERT")
    assert progress == [] and hidden is False
    assert len(spread.data[0].x) <= 2000 and len(zfig.data[0].x) <= 2000
    assert sorted(s.y0 for s in zfig.layout.shapes) == [-0.5, 0.5]
    assert "β" in str(stats) and "Open gap" in str(notices)
    assert "EG p" in str(stats) and "ADF of spread p" in str(stats)
    assert egfig.layout.yaxis.range == (0, 1) and len(egfig.data[0].x) > 0


def test_spread_banner_neutral_below_threshold() -> None:
    text, color = page("spread").banner(1.2, 2.0)
    assert color == "secondary" and "+1.20" in text
    assert page("spread").banner(-2.5, 2.0)[0].startswith("ALERT DOWN")


def test_spread_tick_skips_while_previous_refresh_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashboard.refresh.triggered_by", lambda _id: True)  # an Interval tick
    with GUARD.slot(("busy-session", "spread"), wait=False), pytest.raises(PreventUpdate):
        page("spread").refresh(1, None, "?pair=BTC-ETH", "busy-session")
    assert page("spread").refresh(2, None, "?pair=BTC-ETH", "busy-session")[2].data


def test_bad_query_values_fall_back_to_defaults() -> None:
    spread = page("spread")
    banner, color, *_ = spread.refresh(1, None, "?pair=%00%FF&tf=7h&z=abc&window=-3", "s")
    assert (banner, color) == tuple(spread.refresh(1, None, "?", "s")[:2])  # the default view
    assert banner.startswith("ALERT DOWN: z = -") and "< −2.0 " in banner  # default threshold


def test_prices_overview_correlation_render() -> None:
    prices, _volume, _ = page("prices").refresh(1, None, "?pair=BTC-ETH&norm=1", "s")
    assert [t.name for t in prices.data] == ["BTCUSDT", "ETHUSDT"]
    assert prices.data[0].y[0] == pytest.approx(100.0)
    cards, _heatmap, _ = page("overview").refresh(1, None, "?tf=1s", "s")
    assert len(cards) == 2 and "only one leg" in str(cards[1])
    assert "BTC-ETH" in str(cards[0]) and "/spread?pair=BTC-ETH" in str(cards[0])
    chart, matrix, _, progress, hidden = page("correlation").refresh(
        1, None, "?corr_window=30", "s"
    )
    assert chart.layout.yaxis.range == (-1.05, 1.05) and matrix.data[0].type == "heatmap"
    assert progress == [] and hidden is False


def test_alerts_history_filter_and_csv_guard() -> None:
    module = page("alerts")
    rows, rules, _ = module.refresh("BTC-ETH", "DOWN", None, None, 1, None, "?", "s")
    assert [r["direction"] for r in rows] == ["DOWN"]
    assert rows[0]["time"].endswith("IST")
    download = module.download(1, "all", "all", None, None, "?utc=1")
    assert "'=HYPERLINK" in download["content"] and ",-2.7," in download["content"]
    assert "UTC" in download["content"]
    assert "z2" in str(rules)


def test_backtest_run_and_download() -> None:
    module = page("backtest")
    query = "?method=rolling&window=120"
    # (clicks, entry, exit, fees, slippage, fill, lookback index, search)
    equity, _drawdown, rows, stats, notices = module.run(1, 1.5, 0.2, 1.0, 0.5, "next", 3, query)
    assert equity.data[0].name == "equity" and rows and "Total return" in str(stats)
    assert "next bar close" in str(stats) and "needs at least 2 days" in str(stats)
    assert "optimistic" not in str(notices)
    _, _, _, same_stats, same_notices = module.run(1, 1.5, 0.2, 1.0, 0.5, "same", 3, query)
    assert "optimistic" in str(same_stats) and "Same-bar fills are optimistic" in str(same_notices)
    csv = module.download(1, 1.5, 0.2, 1.0, 0.5, "next", 3, query)["content"]
    assert csv.splitlines()[0] == "entry,exit,side,entry_z,exit_z,beta,pnl,fees,reason"


def test_shell_sync_view_url_to_controls_and_back() -> None:
    _search, pair, tf, utc = shell.sync_view("?pair=SOL-ETH&tf=5m&utc=1", "BTC-ETH", "1s", False)
    assert (pair, tf, utc) == ("SOL-ETH", "5m", True)
    hrefs = shell.nav_hrefs("?pair=SOL-ETH&tf=5m&window=9", [{"path": "/prices"}])
    assert hrefs == ["/prices?pair=SOL-ETH&tf=5m"]


def test_status_lights_and_simulated_badge() -> None:
    lights, badge, stamp = shell.status_lights(1, None, "?utc=1")
    assert [light.className for light in lights] == [
        "badge text-bg-success",
        "badge text-bg-warning",
        "badge text-bg-danger",
    ]
    assert "stale" in lights[1].title and badge == {"display": "inline-block"}
    assert stamp.startswith("updated 2024-06-01 02:00:00 UTC")


def test_empty_database_pages_show_messages(tmp_path: Path, use_service) -> None:
    settings = write_settings(tmp_path, "e.db")
    make_engine(settings.storage.url).dispose()  # the ingestor's schema, no trades yet
    with use_service(DataService(settings, clock_ms=lambda: NOW_MS)):
        _, _, spread, _, _, _, notices, _, _ = page("spread").refresh(1, None, "?", "s")
        assert "No data yet" in str(notices)
        assert "No data yet" in spread.layout.annotations[0].text
        _, _, notices = page("prices").refresh(1, None, "?", "s")
        assert "No data yet" in str(notices)
