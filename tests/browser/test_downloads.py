"""CSV downloads arrive through ``dcc.Download`` and parse with the expected header.

The alerts export lists the same alerts as the API (display time first, then the stored
fields); the backtest export lists the trades of the view in the form, at least those the grid
showed. Both are parsed with the csv module (exact header) and pandas (types, values).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import wait_for_data  # noqa: E402

pytestmark = pytest.mark.browser
ALERT_HEADER = [
    "time", "pair", "rule", "kind", "direction", "z", "eg_p", "spread", "beta", "state", "ts_ms",
]  # fmt: skip
TRADE_HEADER = ["entry", "exit", "side", "entry_z", "exit_z", "beta", "pnl", "fees", "reason"]


def header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def test_alerts_csv_download(page, console, product) -> None:
    page.goto(product.url + "/alerts")
    expect(page.locator("#alerts-rules table")).to_be_visible()
    stored = product.alerts()
    with page.expect_download() as info:
        page.locator("#alerts-download-btn").click()
    download = info.value
    assert download.suggested_filename == "pairwatch-alerts.csv"
    path = Path(download.path())
    assert header(path) == ALERT_HEADER
    frame = pd.read_csv(path)
    assert len(frame) >= len(stored)
    if not frame.empty:
        assert set(frame["direction"]) <= {"UP", "DOWN"}
        assert frame["time"].str.endswith(" IST").all()
        assert pd.api.types.is_integer_dtype(frame["ts_ms"])
        assert pd.api.types.is_float_dtype(frame["z"])
    console.assert_clean()


def run_until_a_trade_closes(page, rows, attempts: int = 12) -> None:
    """Re-run the backtest (new bars arrive every second) until it has a closed trade."""
    for _ in range(attempts):
        try:
            expect(rows.first).to_be_visible(timeout=5_000)
            return
        except AssertionError:
            page.locator("#bt-run").click()
    raise AssertionError(f"no closed backtest trade after {attempts} runs")


def test_backtest_trades_csv_download(page, console, product) -> None:
    # rolling β and z are causal: a new bar adds trades but never rewrites past ones (the static
    # ols fit would), so the export taken after the first run holds at least the grid's trades
    page.goto(product.url + "/backtest?pair=BTC-ETH&method=rolling&entry=0.5&exit=0.2&fee_bps=1")
    wait_for_data(page, "bt-equity")
    rows = page.locator("#bt-trades .ag-center-cols-container .ag-row")
    run_until_a_trade_closes(page, rows)
    shown = rows.count()
    with page.expect_download() as info:
        page.locator("#bt-download-btn").click()
    download = info.value
    assert download.suggested_filename == "pairwatch-backtest-trades.csv"
    path = Path(download.path())
    assert header(path) == TRADE_HEADER
    frame = pd.read_csv(path)
    assert len(frame) >= shown >= 1
    assert set(frame["side"]) <= {"long", "short"}
    assert frame["entry_z"].abs().min() >= 0.5
    assert frame["entry"].str.endswith(" IST").all()
    assert pd.api.types.is_float_dtype(frame["pnl"])
    console.assert_clean()
