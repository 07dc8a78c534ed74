"""A spread excursion in the simulator fires an alert in the ingestor that the alerts page shows.

``start_excursion`` pushes every base leg several stationary sigmas away for a few seconds; the
ingestor's alert rule on BTC-ETH (entry |z| 2, window 30) must fire, the API must list the new
alert, and the grid on /alerts must show that row (matched by its ``ts_ms``) with direction UP
or DOWN. The rules table shows the rule.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

from tests.browser.support import assert_no_dash_error  # noqa: E402
from tests.conftest import wait_until  # noqa: E402

pytestmark = pytest.mark.browser


def test_excursion_alert_appears_in_grid(page, console, product, shots) -> None:
    page.goto(product.url + "/alerts")
    expect(page.locator("#alerts-rules")).to_contain_text("z2")
    known = {(a["pair"], a["ts_ms"]) for a in product.alerts()}

    product.simulator.start_excursion(sigma=10.0, duration_s=8.0)
    fresh = wait_until(
        lambda: [a for a in product.alerts() if (a["pair"], a["ts_ms"]) not in known],
        40,
        "an alert fired by the excursion",
    )
    alert = fresh[0]
    assert alert["pair"] == "BTC-ETH" and alert["direction"] in {"UP", "DOWN"}

    stamp = f"{int(alert['ts_ms']):,}"  # the grid formats numbers with d3 ',.4~f'
    row = page.locator(
        "#alerts-grid .ag-center-cols-container .ag-row",
        has=page.locator(".ag-cell[col-id=ts_ms]", has_text=re.compile(f"^{stamp}$")),
    )
    expect(row).to_have_count(1, timeout=15_000)
    expect(row.locator(".ag-cell[col-id=direction]")).to_have_text(alert["direction"])
    expect(row.locator(".ag-cell[col-id=pair]")).to_have_text("BTC-ETH")
    expect(row.locator(".ag-cell[col-id=time]")).to_have_text(re.compile(r" IST$"))
    expect(page.locator("#alerts-notices")).to_be_empty()
    shots(page, "alerts-after-excursion")
    assert_no_dash_error(page)
    console.assert_clean()
