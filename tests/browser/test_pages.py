"""Every page loads from gunicorn with live simulator data, no console or Dash error, no overflow.

One test per page: open the deep link, wait until each chart draws real series (or the grid
renders), check the shell (SIMULATED badge, one status light per symbol, last-update text),
that the page is no wider than the 1280 px viewport, and save a full-page screenshot.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import GRAPHS, PAGES, assert_no_dash_error, wait_for_data  # noqa: E402

pytestmark = pytest.mark.browser
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_with_data_and_no_errors(page, console, product, shots, name: str) -> None:
    page.goto(product.url + PAGES[name])
    for graph_id in GRAPHS[name]:
        wait_for_data(page, graph_id)
    if name == "overview":
        for pair in ("BTC-ETH", "SOL-ETH"):
            expect(page.locator(f"#overview-card-{pair}")).to_contain_text("β")
            expect(page.locator(f"#overview-card-{pair} td").nth(3)).to_have_text(
                re.compile(r"^[+−-]\d+\.\d\d$")
            )
    if name == "alerts":
        expect(page.locator("#alerts-grid .ag-header-cell-text").first).to_have_text("Time")
        expect(page.locator("#alerts-rules")).to_contain_text("BTC-ETH")
    if name == "spread":
        expect(page.locator("#spread-banner")).to_contain_text(re.compile(r"z = [+−-]\d"))
        expect(page.locator("#spread-stats")).to_contain_text("Half-life")
    if name == "backtest":
        expect(page.locator("#bt-stats")).to_contain_text("Total return")

    expect(page.locator("#pw-simulated")).to_be_visible()
    for symbol in SYMBOLS:
        expect(page.locator(f"#pw-light-{symbol}")).to_have_attribute(
            "data-light", re.compile("green|orange|red")
        )
    expect(page.locator("#pw-last-update")).to_contain_text("updated")
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"page is {width[0]} px wide in a {width[1]} px viewport"

    shots(page, name)
    assert_no_dash_error(page)
    console.assert_clean()


def test_spread_warms_up_behind_a_progress_bar_then_draws(page, console, product) -> None:
    """A window longer than the stored bars: progress, not charts, until a short window."""
    page.goto(product.url + "/spread?pair=BTC-ETH&method=ols&window=100000")
    expect(page.locator("#spread-warmup")).to_contain_text(
        re.compile(r"^warming up: \d+ of 100000 bars \(about \d+ h at 1s\)$")
    )
    expect(page.locator("#spread-warmup .progress")).to_be_visible()
    expect(page.locator("#spread-charts")).to_be_hidden()
    expect(page.locator("#spread-banner")).to_have_text("z — (warming up)")

    page.locator("#spread-window").fill("20")
    page.locator("#spread-window").blur()
    expect(page.locator("#spread-charts")).to_be_visible()
    expect(page.locator("#spread-warmup .progress")).to_have_count(0)
    wait_for_data(page, "spread-chart")
    box = page.locator("#spread-chart .main-svg").first.bounding_box()
    assert box is not None and box["width"] > 400, box  # sized after being hidden
    assert_no_dash_error(page)
    console.assert_clean()
