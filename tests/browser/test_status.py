"""Feed status lights follow the simulator: green while trades flow, orange/red when it pauses.

Pausing the simulator keeps the websocket open but stops trades, so within the 5 s "live"
limit plus a refresh the lights must leave green, with the reason in the tooltip; after
``resume`` the ingestor (which may have reconnected meanwhile) brings them back to green.
The SIMULATED badge stays visible throughout.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import assert_no_dash_error  # noqa: E402

pytestmark = pytest.mark.browser
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
LIGHT_CLASS = {"green": "text-bg-success", "orange": "text-bg-warning", "red": "text-bg-danger"}


def test_light_turns_orange_on_pause_and_green_on_resume(page, console, product, shots) -> None:
    page.goto(product.url + "/prices")
    badge = page.locator("#pw-simulated")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("SIMULATED")
    for symbol in SYMBOLS:
        light = page.locator(f"#pw-light-{symbol}")
        expect(light).to_have_attribute("data-light", "green", timeout=20_000)
        expect(light).to_have_attribute("title", re.compile(r"^live: last trade"))
        expect(light).to_have_class(re.compile(LIGHT_CLASS["green"]))

    product.simulator.pause()
    try:
        light = page.locator("#pw-light-BTCUSDT")
        expect(light).to_have_attribute("data-light", re.compile("orange|red"), timeout=20_000)
        expect(light).to_have_attribute(
            "title", re.compile(r"stale|reconnect|disconnected|no trade|stopped")
        )
        expect(light).to_have_class(re.compile("text-bg-(warning|danger)"))
        expect(badge).to_be_visible()
        shots(page, "status-stale")
    finally:
        product.simulator.resume()

    for symbol in SYMBOLS:
        light = page.locator(f"#pw-light-{symbol}")
        expect(light).to_have_attribute("data-light", "green", timeout=30_000)
    expect(badge).to_be_visible()
    assert_no_dash_error(page)
    console.assert_clean()
