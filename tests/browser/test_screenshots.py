"""README screenshots of overview, spread, alerts, backtest and screener (1280x900, full page).

Each is saved under test-results/screenshots/readme-<page>.png and must stay under 300 KB.
With ``UPDATE_DOCS_SCREENSHOTS=1`` in the environment they are also copied to
docs/screenshots/<page>.png (committed, shown by the README); otherwise the repository is left
untouched. An excursion is triggered first when no alert exists yet, so the alerts grid and the
z-score chart have something to show; the screener is shot once its default 1m ranking spans
the full default window for every pair (the simulator's klines history provides the bars).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import (  # noqa: E402
    GRAPHS,
    Product,
    assert_no_dash_error,
    wait_for_data,
)
from tests.conftest import REPO, wait_until  # noqa: E402

pytestmark = pytest.mark.browser
README_PAGES = {
    "overview": "/",
    "spread": "/spread?pair=BTC-ETH",
    "alerts": "/alerts",
    "backtest": "/backtest?pair=BTC-ETH&entry=1.5&exit=0.3",
    "screener": "/screener",
}
MAX_BYTES = 300 * 1024
DOCS = REPO / "docs" / "screenshots"
SCREENER_ROWS = "#screener-grid .ag-center-cols-container .ag-row"


def full_screener_ranking(product: Product) -> bool:
    """Whether the default 1m ranking has all three pairs over its whole window."""
    body = product.get_json("/api/v1/screener?tf=1m")
    return [p["bars"] for p in body["pairs"]] == [body["window"]] * 3


def test_readme_screenshots(page, console, product, shots) -> None:
    if not product.alerts():
        product.simulator.start_excursion(sigma=10.0, duration_s=8.0)
        wait_until(product.alerts, 40, "an alert for the screenshots")
    wait_until(lambda: full_screener_ranking(product), 90, "a full default screener ranking")
    update = os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1"
    for name, path in README_PAGES.items():
        page.goto(product.url + path)
        for graph_id in GRAPHS.get(name, ()):
            wait_for_data(page, graph_id)
        if name == "alerts":
            expect(
                page.locator("#alerts-grid .ag-center-cols-container .ag-row").first
            ).to_be_visible()
        if name == "overview":
            expect(page.locator("#overview-card-SOL-ETH")).to_contain_text("completeness")
        if name == "screener":
            expect(page.locator(SCREENER_ROWS)).to_have_count(3)
            expect(page.locator("#screener-as-of")).to_contain_text("as of the 1m bar")
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            expect(page.locator(f"#pw-light-{symbol}")).to_have_attribute(
                "data-light", "green", timeout=30_000
            )
        assert_no_dash_error(page)
        shot = shots(page, f"readme-{name}")
        assert shot.stat().st_size < MAX_BYTES, f"{shot} is {shot.stat().st_size} bytes"
        if update:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, DOCS / f"{name}.png")
    console.assert_clean()
