"""Controls change what the charts draw and are written into the URL; the URL restores them.

The shell's pair dropdown and timeframe radios (Dash 4 dropdown: a ``<button>`` trigger; the
radios: Bootstrap ``btn-check`` labels), the spread page's Radix sliders driven with the
keyboard, and the reverse direction: a shared link with a full query opens with every control
showing its value. Slider tests pause the refresh Interval first, so a changed figure can only
come from the control, not from the next live tick.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import (  # noqa: E402
    assert_no_dash_error,
    dropdown_text,
    figure,
    pick,
    thumb,
    wait_for_data,
    wait_for_figure,
)

pytestmark = pytest.mark.browser


def test_pair_and_timeframe_change_prices_chart_and_url(page, console, product) -> None:
    page.goto(product.url + "/prices")
    wait_for_figure(page, "prices-chart", "fig.traces.map(t => t.name).join() == 'BTCUSDT,ETHUSDT'")

    pick(page, "pw-pair", "SOL-ETH")
    expect(page).to_have_url(re.compile(r"/prices\?pair=SOL-ETH&tf=1s"))
    wait_for_figure(page, "prices-chart", "fig.traces.map(t => t.name).join() == 'SOLUSDT,ETHUSDT'")
    expect(page.locator("h4 + small")).to_have_text("SOLUSDT and ETHUSDT")
    one_second = figure(page, "prices-chart")
    assert one_second is not None and len(one_second["traces"][0]["x"]) > 20

    page.locator("#pw-timeframe label", has_text="1m").click()
    expect(page).to_have_url(re.compile(r"[?&]tf=1m(&|$)"))
    # minute bars, and many of them although the session is young: the klines history is in
    wait_for_figure(
        page,
        "prices-chart",
        "fig.traces.length == 2 && fig.traces[0].name == 'SOLUSDT' && fig.traces[0].x.length > 30"
        " && fig.traces[0].x.every((v, i, a) => i == 0 || a[i] - a[i - 1] >= 60000)",
    )
    # the nav links carry the shared state to the other pages
    expect(page.get_by_role("link", name="Spread & z")).to_have_attribute(
        "href", "/spread?pair=SOL-ETH&tf=1m&utc=0"
    )
    assert_no_dash_error(page)
    console.assert_clean()


def test_spread_sliders_change_z_chart_and_url(page, console, product) -> None:
    page.goto(product.url + "/spread?pair=BTC-ETH&z_window=10&z=2")
    wait_for_data(page, "spread-z-chart")
    wait_for_figure(page, "spread-z-chart", "fig.shapes.join() == '2,-2'")
    page.locator("#pw-pause").click()
    expect(page.locator("#pw-pause")).to_have_text("Resume")
    before = figure(page, "spread-z-chart")
    assert before is not None

    z_window = thumb(page, "spread-z-window")
    expect(z_window).to_have_attribute("aria-valuenow", "10")
    z_window.focus()
    z_window.press("ArrowRight")
    z_window.press("ArrowRight")
    expect(thumb(page, "spread-z-window")).to_have_attribute("aria-valuenow", "20")
    expect(page).to_have_url(re.compile(r"[?&]z_window=20(&|$)"))
    page.wait_for_function(
        """(old) => {
            const el = document.querySelector('#spread-z-chart .js-plotly-plot');
            const y = Array.from(el._fullData[0].y);
            return y.length > 0 && JSON.stringify(y) !== JSON.stringify(old);
        }""",
        arg=before["traces"][0]["y"],
    )

    threshold = thumb(page, "spread-threshold")
    threshold.focus()
    threshold.press("End")
    expect(thumb(page, "spread-threshold")).to_have_attribute("aria-valuenow", "5")
    expect(page).to_have_url(re.compile(r"[?&]z=5(&|$)"))
    wait_for_figure(page, "spread-z-chart", "fig.shapes.join() == '5,-5'")
    expect(page.locator("#spread-banner")).to_contain_text(re.compile(r"[±+−]5\.0"))
    assert_no_dash_error(page)
    console.assert_clean()


def test_url_restores_shell_and_spread_controls(page, console, product) -> None:
    query = "pair=SOL-ETH&tf=1s&utc=1&method=rolling&window=40&z_window=50&z=2.5&lookback=15"
    page.goto(f"{product.url}/spread?{query}")
    expect(page.locator("button#pw-pair")).to_contain_text("SOL-ETH")
    expect(page.locator("#pw-timeframe input[value='1s']")).to_be_checked()
    expect(page.locator("input#pw-utc")).to_be_checked()
    expect(page.locator("button#spread-method")).to_contain_text("rolling")
    expect(page.locator("#spread-window")).to_have_value("40")
    expect(thumb(page, "spread-z-window")).to_have_attribute("aria-valuenow", "50")
    expect(thumb(page, "spread-threshold")).to_have_attribute("aria-valuenow", "2.5")
    expect(thumb(page, "spread-lookback")).to_have_attribute("aria-valuenow", "1")  # 15 min
    expect(page.locator("h4 + small")).to_have_text("SOLUSDT − β·ETHUSDT")
    wait_for_figure(page, "spread-chart", "fig.xtitle == 'time (UTC)'")
    wait_for_figure(page, "spread-z-chart", "fig.shapes.join() == '2.5,-2.5'")
    assert dropdown_text(page, "pw-pair") == "SOL-ETH"
    # after the first refreshes the URL still carries the state it was opened with
    expect(page.locator("#pw-last-update")).to_contain_text("UTC")
    for part in query.split("&"):
        assert part in page.url, (part, page.url)
    assert_no_dash_error(page)
    console.assert_clean()


def test_url_restores_backtest_form_and_timeframe(page, console, product) -> None:
    page.goto(f"{product.url}/backtest?pair=BTC-ETH&tf=1m&entry=1.5&exit=0.3&fee_bps=2.5")
    expect(page.locator("#pw-timeframe input[value='1m']")).to_be_checked()
    expect(page.locator("#bt-entry")).to_have_value("1.5")
    expect(page.locator("#bt-exit")).to_have_value("0.3")
    expect(page.locator("#bt-fees")).to_have_value("2.5")
    expect(page.locator("#bt-stats")).to_contain_text("Total return")
    page.locator("#bt-entry").fill("1.8")
    page.locator("#bt-entry").blur()
    expect(page).to_have_url(re.compile(r"[?&]entry=1\.8(&|$)"))
    assert_no_dash_error(page)
    console.assert_clean()
